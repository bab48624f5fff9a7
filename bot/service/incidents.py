"""IncidentService: runs a parsed command for an actor against the store and says what happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.access import AccessPolicy
from bot.domain.commands import (
    AddNote,
    Assign,
    Command,
    Help,
    List,
    ListFilter,
    Open,
    SetSeverity,
    Show,
    Transition,
)
from bot.domain.incident import Incident, Severity, Status, TimelineEvent
from bot.observability.metrics import Metrics
from bot.store.redis_store import (
    DEDUPE_TTL_SECONDS,
    Change,
    IncidentStore,
    Outcome,
    Page,
)

PAGE_SIZE = 10


class Refusal(StrEnum):
    MISSING = "missing"
    ILLEGAL = "illegal"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Opened:
    incident: Incident
    new: bool


@dataclass(frozen=True)
class Updated:
    """A change was committed; `what` names it (ack, resolve, assign, sev, note…)."""

    incident: Incident
    what: str
    previous: str


@dataclass(frozen=True)
class Unchanged:
    """The incident already was in the asked-for state."""

    incident: Incident
    what: str


@dataclass(frozen=True)
class Refused:
    incident_id: int
    reason: Refusal
    incident: Incident | None = None
    target: Status | None = None


@dataclass(frozen=True)
class Listing:
    filter: ListFilter
    page: Page


@dataclass(frozen=True)
class Details:
    incident: Incident
    events: list[TimelineEvent]
    total_events: int


@dataclass(frozen=True)
class HelpWanted:
    pass


@dataclass(frozen=True)
class FormWanted:
    severity: Severity


Result = Opened | Updated | Unchanged | Refused | Listing | Details | HelpWanted | FormWanted


class IncidentService:
    def __init__(
        self,
        store: IncidentStore,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        policy: AccessPolicy | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self.policy = policy or AccessPolicy()

    async def execute(
        self, command: Command, actor: str, channel: str | None, request_id: str | None = None
    ) -> Result:
        """Run one command; raises StoreUnavailable when Redis is down.
        `request_id` (e.g. Slack's trigger_id) makes a repeated `open` return the first incident."""
        return await self._dispatch(command, actor, channel, request_id)

    async def _dispatch(
        self, command: Command, actor: str, channel: str | None, request_id: str | None
    ) -> Result:
        now = self._clock()
        match command:
            case Help():
                return HelpWanted()
            case Open(severity=severity, title=title):
                if title is None:
                    return FormWanted(severity)
                return await self.open(title, severity, actor, channel, dedupe_key=request_id)
            case List(filter=which):
                return await self.list(which)
            case Show(id=number):
                return await self.details(number)
            case Transition(id=number, target=target, name=verb, note=note):
                change = await self._store.transition(
                    number,
                    target,
                    actor=actor,
                    now=now,
                    note=note,
                    guarded=self.policy.guards(actor, target),
                )
                if change.outcome is Outcome.OK and change.incident is not None:
                    self._metrics.observe_transition(change.incident, Status(change.previous))
                return _result(number, verb, change, target)
            case Assign(id=number, user=user):
                change = await self._store.assign(number, user or actor, actor=actor, now=now)
                return _result(number, "assign", change)
            case SetSeverity(id=number, severity=severity):
                change = await self._store.set_severity(number, severity, actor=actor, now=now)
                return _result(number, "sev", change)
            case AddNote(id=number, text=text):
                change = await self._store.add_note(number, text, actor=actor, now=now)
                return _result(number, "note", change)

    async def open(
        self,
        title: str,
        severity: Severity,
        actor: str,
        channel: str | None,
        *,
        description: str = "",
        dedupe_key: str | None = None,
        dedupe_ttl: int = DEDUPE_TTL_SECONDS,
    ) -> Opened:
        """Open an incident; a `dedupe_key` seen in the last `dedupe_ttl` seconds returns the
        incident it opened instead (new=False)."""
        incident, new = await self._store.create(
            title=title,
            severity=severity,
            actor=actor,
            now=self._clock(),
            description=description,
            channel=channel,
            dedupe_key=dedupe_key,
            dedupe_ttl=dedupe_ttl,
        )
        return Opened(incident, new)

    async def list(
        self,
        which: ListFilter,
        before: int | None = None,
        *,
        severity: Severity | None = None,
        limit: int = PAGE_SIZE,
    ) -> Listing:
        page = await self._store.page(which, severity=severity, before=before, limit=limit)
        return Listing(which, page)

    async def deduped(self, dedupe_key: str) -> int | None:
        """The incident that `open(..., dedupe_key=...)` opened, while the key lives."""
        return await self._store.deduped(dedupe_key)

    async def get(self, number: int) -> Incident | None:
        """The incident as stored now (one read)."""
        return await self._store.get(number)

    async def details(self, number: int) -> Details | Refused:
        incident, events, total = await self._store.get_with_timeline(number)
        if incident is None:
            return Refused(number, Refusal.MISSING)
        return Details(incident, events, total)

    async def remember_message(self, incident_id: int, channel: str, ts: str) -> None:
        await self._store.set_message(incident_id, channel, ts)


def _result(number: int, what: str, change: Change, target: Status | None = None) -> Result:
    incident = change.incident
    if change.outcome is Outcome.MISSING or incident is None:
        return Refused(number, Refusal.MISSING)
    if change.outcome is Outcome.ILLEGAL:
        return Refused(number, Refusal.ILLEGAL, incident, target)
    if change.outcome is Outcome.FORBIDDEN:
        return Refused(number, Refusal.FORBIDDEN, incident, target)
    if change.outcome is Outcome.SAME:
        return Unchanged(incident, what)
    return Updated(incident, what, change.previous)
