"""SlackRelay: IncidentEvents for the other faces (HTTP API, alerts), done in the background."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from typing import Any

from bot.domain.incident import Incident
from bot.service.incidents import Details, IncidentService, Updated
from bot.slack.background import BackgroundTasks
from bot.slack.effects import ReplyTo, SlackEffects
from bot.store.redis_store import StoreUnavailable

log = logging.getLogger(__name__)


class SlackRelay:
    """Announces new incidents and refreshes their messages as the Slack face itself would. A
    script may open and change an incident within milliseconds, so each incident's Slack work runs
    in order (a change waits for the announcement, whose message it must update), and a refresh
    shows the incident as it is then. Nobody can be told ephemerally of a failed Slack call: it is
    counted and logged (Messenger)."""

    def __init__(
        self, effects: SlackEffects, service: IncidentService, tasks: BackgroundTasks
    ) -> None:
        self._effects = effects
        self._service = service
        self._tasks = tasks
        self._queues: dict[int, tuple[asyncio.Lock, int]] = {}

    def opened(self, incident: Incident, channel: str | None) -> None:
        # An explicit channel wins; otherwise INCIDENT_CHANNEL (there is no origin channel here).
        target = channel or self._effects.channel_for(None)
        if target is None:
            log.info("%s opened without a channel to announce it in", incident.ref)
            return
        to = ReplyTo(incident.created_by, None)
        self._in_order(incident.id, self._effects.announce(incident, target, to))

    def changed(self, result: Updated, actor: str) -> None:
        self._in_order(result.incident.id, self._refresh(result, actor))

    async def _refresh(self, result: Updated, actor: str) -> None:
        try:
            current = await self._service.details(result.incident.id)
        except StoreUnavailable:
            current = None
        if isinstance(current, Details):
            result = dataclasses.replace(result, incident=current.incident)
        await self._effects.after_change(result, actor, ReplyTo(actor, None), None)

    def _in_order(self, incident_id: int, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the incident's earlier work (asyncio.Lock wakes waiters FIFO)."""
        lock, users = self._queues.get(incident_id, (asyncio.Lock(), 0))
        self._queues[incident_id] = (lock, users + 1)

        async def run() -> None:
            try:
                async with lock:
                    await work
            finally:
                lock_now, left = self._queues[incident_id]
                if left == 1:
                    del self._queues[incident_id]
                else:
                    self._queues[incident_id] = (lock_now, left - 1)

        self._tasks.spawn(run())
