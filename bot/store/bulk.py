"""Pipelined bulk writes through the store's own Lua scripts (seeding, benchmarks, imports)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bot.domain.incident import EventKind, NewEvent, Severity, Status
from bot.store.redis_store import (
    INCIDENT_FIELDS,
    ScriptArgs,
    StoreUnavailable,
    amend_args,
    create_args,
    load_script,
    transition_args,
)


class BulkWriter:
    """Queues the same atomic scripts IncidentStore runs (same ARGV builders, same EVALSHA) and
    sends them in one pipeline per flush: each write stays atomic, but thousands share a round
    trip, so seeding a million incidents takes minutes instead of hours.

    Scripts run in queue order, but a script cannot see the reply of an earlier one in the same
    flush: queue creates, flush, and use the returned ids for the transitions of the next flush.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._route = f"{prefix}seq"
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(load_script(name))
            for name in ("create", "transition", "amend")
        }
        self._queued: list[tuple[AsyncScript, ScriptArgs]] = []

    def __len__(self) -> int:
        return len(self._queued)

    def create(
        self,
        *,
        title: str,
        severity: Severity,
        actor: str,
        now: float,
        description: str = "",
        channel: str | None = None,
    ) -> None:
        """Queue an `open`; its reply (from flush) is [1, [id, title, ...]] (see created_id)."""
        args = create_args(
            title=title,
            severity=severity,
            actor=actor,
            now=now,
            description=description,
            channel=channel,
        )
        self._queued.append((self._scripts["create"], args))

    def transition(self, incident_id: int, target: Status, *, actor: str, now: float) -> None:
        args = transition_args(incident_id, target, actor=actor, now=now)
        self._queued.append((self._scripts["transition"], args))

    def assign(self, incident_id: int, assignee: str, *, actor: str, now: float) -> None:
        event = NewEvent(at=now, actor=actor, kind=EventKind.ASSIGNED, value=assignee)
        args = amend_args(incident_id, "assignee", assignee, now, event)
        self._queued.append((self._scripts["amend"], args))

    def add_note(self, incident_id: int, text: str, *, actor: str, now: float) -> None:
        event = NewEvent(at=now, actor=actor, kind=EventKind.NOTE, note=text)
        self._queued.append((self._scripts["amend"], amend_args(incident_id, "", "", now, event)))

    async def flush(self) -> list[Any]:
        """Send everything queued in one pipeline (no MULTI: each script is atomic by itself);
        the raw script replies, in queue order. Raises StoreUnavailable if Redis fails."""
        if not self._queued:
            return []
        queued, self._queued = self._queued, []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for script, args in queued:
                    await script(keys=[self._route], args=[self._prefix, *args], client=pipe)
                replies: list[Any] = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable() from exc
        return replies


def created_id(reply: Any) -> int:
    """The id of the incident a create reply describes ([created, [id, title, ...]])."""
    return int(reply[1][INCIDENT_FIELDS.index("id")])
