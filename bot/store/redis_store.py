"""IncidentStore: the Redis repository. Every write is one atomic Lua script (one round trip)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.domain.commands import ListFilter
from bot.domain.incident import (
    EventKind,
    Incident,
    NewEvent,
    NewIncident,
    Severity,
    Status,
    TimelineEvent,
    sources_of,
)

DEDUPE_TTL_SECONDS = 24 * 3600
TIMELINE_SHOWN = 50
_FIRST_PAGE = 10**18


class StoreUnavailable(Exception):
    """Redis could not be reached or answered with an error. `in_doubt`: it did not answer in
    time, so a write sent to it may still be applied (a hung Redis runs it when it wakes up)."""

    def __init__(self, *, in_doubt: bool = False) -> None:
        super().__init__(
            "incident store did not answer in time" if in_doubt else "incident store unavailable"
        )
        self.in_doubt = in_doubt


class Outcome(StrEnum):
    OK = "ok"
    SAME = "same"
    ILLEGAL = "illegal"
    FORBIDDEN = "forbidden"
    MISSING = "missing"


@dataclass(frozen=True)
class Change:
    """What an atomic write did; `previous` is the old status or field value."""

    outcome: Outcome
    incident: Incident | None
    previous: str


@dataclass(frozen=True)
class Page:
    incidents: list[Incident]
    next_cursor: int | None


@dataclass(frozen=True)
class Snapshot:
    """Counts maintained on write, plus when the oldest open/active incident entered that state."""

    counts: dict[tuple[Status, Severity], int]
    opened: dict[Severity, int]
    resolved: dict[Severity, int]
    oldest_open_since: dict[Severity, float | None]
    oldest_active_since: dict[Severity, float | None]


def load_script(name: str) -> str:
    """The text of scripts/<name>.lua with the shared helpers prepended (what EVALSHA runs)."""
    folder = resources.files("bot.store") / "scripts"
    return (folder / "common.lua").read_text() + (folder / f"{name}.lua").read_text()


ScriptArgs = tuple[str | int | float, ...]
_EVENT_FIELDS = ("at", "actor", "kind", "value", "note")


def event_entry(event: TimelineEvent, kind: EventKind | None = None) -> str:
    """A timeline entry as stored: a JSON array [at, actor, kind, value, note] without its
    trailing empty fields. Half the bytes of the object form (which is still read): at a
    million incidents of a few entries each, ~100 bytes of Redis memory per incident.
    `kind` stores the event as another kind (a refused attempt at it)."""
    stored_kind = kind or event.kind
    fields: list[object] = [event.at, event.actor, stored_kind.value, event.value, event.note]
    while fields[-1] == "":
        fields.pop()
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _event(entry: str) -> TimelineEvent:
    data = json.loads(entry)
    if isinstance(data, list):
        data = dict(zip(_EVENT_FIELDS, data, strict=False))
    return TimelineEvent.model_validate(data)


def create_args(
    *,
    title: str,
    severity: Severity,
    actor: str,
    now: float,
    description: str = "",
    channel: str | None = None,
    dedupe_key: str | None = None,
    dedupe_ttl: int = DEDUPE_TTL_SECONDS,
) -> ScriptArgs:
    """ARGV (after the prefix) of create.lua; validates first, so bad input never half-writes."""
    draft = NewIncident(
        id=1,
        title=title,
        description=description,
        severity=severity,
        created_by=actor,
        status_by=actor,
        created_at=now,
        updated_at=now,
    )
    event = NewEvent(at=now, actor=actor, kind=EventKind.OPENED, value=severity)
    return (
        draft.title,
        draft.description,
        severity.value,
        draft.created_by,
        repr(now),
        channel or "",
        event_entry(event),
        dedupe_key or "",
        dedupe_ttl,
    )


# What transition.lua compares the current status with, per target.
_ALLOWED_FROM = {target: ",".join(sorted(sources_of(target))) for target in Status}


def transition_args(
    incident_id: int,
    target: Status,
    *,
    actor: str,
    now: float,
    note: str = "",
    guarded: bool = False,
) -> ScriptArgs:
    """ARGV (after the prefix) of transition.lua."""
    event = NewEvent(at=now, actor=actor, kind=EventKind.STATUS, value=target, note=note)
    return (
        incident_id,
        target.value,
        event.actor,
        repr(now),
        _ALLOWED_FROM[target],
        event_entry(event),
        "1" if guarded else "0",
        event_entry(event, EventKind.REFUSED),
    )


def amend_args(
    incident_id: int, field: str, value: str, now: float, event: TimelineEvent
) -> ScriptArgs:
    """ARGV (after the prefix) of amend.lua; field '' only appends the event (a note)."""
    return (incident_id, field, value, repr(now), event_entry(event))


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


# The order in which scripts return an incident's values (INCIDENT_FIELDS in common.lua).
INCIDENT_FIELDS = tuple(Incident.model_fields)


def _incident(values: Sequence[str | None] | Mapping[str, str]) -> Incident:
    """An incident from a script's values (in INCIDENT_FIELDS order) or from HGETALL's dict."""
    pairs: Iterable[tuple[str, str | None]]
    if isinstance(values, Mapping):
        pairs = values.items()
    else:
        pairs = zip(INCIDENT_FIELDS, values, strict=True)
    return Incident.model_validate({k: v for k, v in pairs if v})


class IncidentStore:
    """Incidents in Redis under one key prefix (with a hash tag, so it also runs on a Cluster)."""

    def __init__(self, redis: Redis, prefix: str, *, timeout: float | None = None) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        # Called once per operation that failed for want of Redis (the metrics count them).
        self.on_unavailable: Callable[[], None] = lambda: None
        self._route = f"{prefix}seq"
        self._create = self._script("create")
        self._transition = self._script("transition")
        self._amend = self._script("amend")
        self._page = self._script("page")
        self._snapshot = self._script("snapshot")
        self._reindex = self._script("reindex")

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """One whole operation within the timeout (asyncio's; redis-py's socket_timeout would
        wrap every command's send in a task of its own), Redis failures as StoreUnavailable."""
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except (RedisError, OSError) as exc:
            self.on_unavailable()
            raise StoreUnavailable(
                in_doubt=isinstance(exc, RedisTimeoutError | TimeoutError)
            ) from exc

    @classmethod
    def from_url(cls, url: str, prefix: str, *, timeout: float = 1.0) -> IncidentStore:
        """Short timeouts, so with Redis down users hear so within a second or two. One retry,
        on connection errors only (a stale pooled connection after a Redis restart): a timed-out
        write may have run, so it is never sent twice."""
        redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=timeout / 2,
            retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
            health_check_interval=30,
        )
        return cls(redis, prefix, timeout=timeout)

    @property
    def prefix(self) -> str:
        return self._prefix

    def _script(self, name: str) -> AsyncScript:
        return self._redis.register_script(load_script(name))

    async def _run(self, script: AsyncScript, *args: str | int | float) -> Any:
        async with self._guard():
            return await script(keys=[self._route], args=[self._prefix, *args])

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def create(
        self,
        *,
        title: str,
        severity: Severity,
        actor: str,
        now: float,
        description: str = "",
        channel: str | None = None,
        dedupe_key: str | None = None,
        dedupe_ttl: int = DEDUPE_TTL_SECONDS,
    ) -> tuple[Incident, bool]:
        """Open an incident; returns it and whether it is new (False: dedupe_key seen before, in
        the last `dedupe_ttl` seconds; each sighting restarts that time)."""
        args = create_args(
            title=title,
            severity=severity,
            actor=actor,
            now=now,
            description=description,
            channel=channel,
            dedupe_key=dedupe_key,
            dedupe_ttl=dedupe_ttl,
        )
        created, values = await self._run(self._create, *args)
        return _incident(values), bool(created)

    async def transition(
        self,
        incident_id: int,
        target: Status,
        *,
        actor: str,
        now: float,
        note: str = "",
        guarded: bool = False,
    ) -> Change:
        """Compare-and-set the status; `guarded` refuses (and records the attempt) on a sev1."""
        args = transition_args(
            incident_id, target, actor=actor, now=now, note=note, guarded=guarded
        )
        return _change(await self._run(self._transition, *args))

    async def assign(self, incident_id: int, assignee: str, *, actor: str, now: float) -> Change:
        event = NewEvent(at=now, actor=actor, kind=EventKind.ASSIGNED, value=assignee)
        return await self._amend_field(incident_id, "assignee", assignee, now, event)

    async def set_severity(
        self, incident_id: int, severity: Severity, *, actor: str, now: float
    ) -> Change:
        event = NewEvent(at=now, actor=actor, kind=EventKind.SEVERITY, value=severity)
        return await self._amend_field(incident_id, "severity", severity.value, now, event)

    async def add_note(self, incident_id: int, text: str, *, actor: str, now: float) -> Change:
        event = NewEvent(at=now, actor=actor, kind=EventKind.NOTE, note=text)
        return await self._amend_field(incident_id, "", "", now, event)

    async def _amend_field(
        self, incident_id: int, field: str, value: str, now: float, event: TimelineEvent
    ) -> Change:
        result = await self._run(self._amend, *amend_args(incident_id, field, value, now, event))
        return _change(result)

    async def set_message(self, incident_id: int, channel: str, ts: str) -> None:
        """Remember where the incident's message is, so later changes can update it in place."""
        async with self._guard():
            await self._redis.hset(
                f"{self._prefix}i:{incident_id}", mapping={"channel": channel, "message_ts": ts}
            )

    async def get(self, incident_id: int) -> Incident | None:
        async with self._guard():
            flat = cast(dict[str, str], await self._redis.hgetall(f"{self._prefix}i:{incident_id}"))
        return _incident(flat) if flat else None

    async def get_with_timeline(
        self, incident_id: int, *, last: int = TIMELINE_SHOWN
    ) -> tuple[Incident | None, list[TimelineEvent], int]:
        """The incident, its last `last` timeline events and the total count, in one round trip."""
        key = f"{self._prefix}t:{incident_id}"
        async with self._guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(f"{self._prefix}i:{incident_id}")
            pipe.lrange(key, -last, -1)
            pipe.llen(key)
            flat, raw_events, total = await pipe.execute()
        if not flat:
            return None, [], 0
        incident = _incident(flat)
        events = [_event(raw) for raw in raw_events]
        return incident, events, int(total)

    async def upgrade(self) -> int:
        """Bring a store written by an older version up to date (O(1) when it is); returns how
        many incidents were re-indexed."""
        statuses, severities = ",".join(Status), ",".join(Severity)
        return int(await self._run(self._reindex, statuses, severities))

    async def deduped(self, dedupe_key: str) -> int | None:
        """The incident a live dedupe key points to, if any."""
        async with self._guard():
            number = await self._redis.get(f"{self._prefix}d:{dedupe_key}")
        return int(number) if number else None

    async def page(
        self,
        which: ListFilter,
        *,
        severity: Severity | None = None,
        before: int | None = None,
        limit: int = 10,
    ) -> Page:
        """Newest first, below the id `before`: O(log N + limit) whatever the history size."""
        if severity is None and which in (ListFilter.ALL, ListFilter.ACTIVE):
            indexes = [which.value]
        else:
            severities = list(Severity) if severity is None else [severity]
            indexes = [f"id:{st}:{sv}" for st in sorted(which.statuses) for sv in severities]
        result = await self._run(self._page, before or _FIRST_PAGE, limit, *indexes)
        cursor = result[0]
        return Page([_incident(values) for values in result[1:]], int(cursor) if cursor else None)

    async def scan(self, *, batch: int = 1000) -> AsyncIterator[Incident]:
        """Every incident, oldest first, fetched `batch` at a time (for operators' checks: O(N))."""
        after = 0
        while True:
            async with self._guard():
                ids = cast(
                    list[str],
                    await self._redis.zrangebyscore(
                        f"{self._prefix}x:all", f"({after}", "+inf", start=0, num=batch
                    ),
                )
                if not ids:
                    return
                async with self._redis.pipeline(transaction=False) as pipe:
                    for number in ids:
                        pipe.hgetall(f"{self._prefix}i:{number}")
                    hashes = await pipe.execute()
            for flat in hashes:
                if flat:
                    yield _incident(flat)
            after = int(ids[-1])

    async def index_ids(self, index: str) -> set[int]:
        """The ids in one index (all, active, id:open:sev1, open:sev1, active:sev1, …)."""
        async with self._guard():
            ids = cast(list[str], await self._redis.zrange(f"{self._prefix}x:{index}", 0, -1))
        return {int(i) for i in ids}

    async def last_id(self) -> int:
        async with self._guard():
            return int(await self._redis.get(f"{self._prefix}seq") or 0)

    async def snapshot(self) -> Snapshot:
        severities = list(Severity)
        flat_counts, open_since, active_since = await self._run(
            self._snapshot, *(s.value for s in severities)
        )
        raw = {k: int(v) for k, v in _pairs(flat_counts).items()}
        return Snapshot(
            counts={(st, sv): raw.get(f"{st}:{sv}", 0) for st in Status for sv in Severity},
            opened={sv: raw.get(f"opened:{sv}", 0) for sv in Severity},
            resolved={sv: raw.get(f"resolved_total:{sv}", 0) for sv in Severity},
            oldest_open_since=_since_by_severity(severities, open_since),
            oldest_active_since=_since_by_severity(severities, active_since),
        )


def _since_by_severity(
    severities: list[Severity], values: list[str]
) -> dict[Severity, float | None]:
    return {sv: float(v) if v else None for sv, v in zip(severities, values, strict=True)}


def _change(result: list[Any]) -> Change:
    outcome, previous, values = Outcome(result[0]), str(result[1]), result[2]
    return Change(outcome, _incident(values) if values else None, previous)
