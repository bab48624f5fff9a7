"""What follows an ack: announce, refresh the message, thread the activity, tell the user."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.domain.commands import ListFilter
from bot.domain.incident import Incident
from bot.service.incidents import IncidentService, Refused, Unchanged, Updated
from bot.slack.background import BackgroundTasks
from bot.slack.blocks import (
    activity_text,
    describe,
    incident_text,
    render_incident,
    render_list,
    store_problem,
)
from bot.slack.messenger import Messenger
from bot.store.redis_store import StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyTo:
    """Where to tell one person something: a response_url, or else an ephemeral in a channel."""

    user: str
    channel: str | None
    response_url: str | None = None


@dataclass(frozen=True)
class MessageAt:
    channel: str
    ts: str


class SlackEffects:
    """Slack work after the ack, in background tasks. A person or a script may open and change an
    incident within milliseconds, so each incident's message work runs in order (a change waits
    for the announcement whose message it updates) and every refresh shows the incident as it is
    by then, so the message always ends on the latest state."""

    def __init__(
        self,
        messenger: Messenger,
        service: IncidentService,
        clock: Callable[[], float],
        tasks: BackgroundTasks,
        incident_channel: str | None = None,
    ) -> None:
        self._messenger = messenger
        self._service = service
        self._clock = clock
        self._tasks = tasks
        self._incident_channel = incident_channel
        self._queues: dict[int, tuple[asyncio.Lock, int]] = {}

    def channel_for(self, origin: str | None) -> str | None:
        return self._incident_channel or origin

    async def tell(self, to: ReplyTo, text: str) -> None:
        message: dict[str, Any] = {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": text,
        }
        if to.response_url and await self._messenger.respond(to.response_url, message):
            return
        if to.channel:
            await self._messenger.call(
                "chat.postEphemeral", channel=to.channel, user=to.user, text=text
            )

    async def next_page(
        self, to: ReplyTo, response_url: str, which: ListFilter, before: int
    ) -> None:
        """Replace a list with its next page (a "Next page" click, after its ack)."""
        try:
            listing = await self._service.list(which, before=before)
        except StoreUnavailable as error:
            await self.tell(to, store_problem(error))
            return
        message = {
            "response_type": "ephemeral",
            "replace_original": True,
            "text": "Incidents",
            "blocks": render_list(listing, self._clock()),
        }
        await self._messenger.respond(response_url, message)

    async def open_form(self, trigger_id: str, view: dict[str, Any], to: ReplyTo) -> None:
        if await self._messenger.call("views.open", trigger_id=trigger_id, view=view) is None:
            await self.tell(
                to, "I could not open the form. Try `/incident open sev2 <title>` instead."
            )

    def announce(self, incident: Incident, channel: str, to: ReplyTo) -> None:
        """Post the incident message in the channel and remember where it is (in the background)."""
        self._in_order(incident.id, self._announce(incident, channel, to))

    async def _announce(self, incident: Incident, channel: str, to: ReplyTo) -> None:
        posted = await self._messenger.call(
            "chat.postMessage",
            channel=channel,
            text=incident_text(incident),
            blocks=render_incident(incident, self._clock()),
        )
        if posted is None:
            await self.tell(
                to,
                f"*{incident.ref}* is open, but I could not post it in <#{channel}>. "
                "Invite me there (`/invite @IncidentWatch`) or set INCIDENT_CHANNEL.",
            )
            return
        try:
            await self._service.remember_message(
                incident.id, str(posted["channel"]), str(posted["ts"])
            )
        except StoreUnavailable:
            log.warning("could not remember the message of %s: store unavailable", incident.ref)

    def after_change(
        self,
        result: Updated | Unchanged | Refused,
        actor: str,
        to: ReplyTo,
        clicked: MessageAt | None,
    ) -> None:
        """Explain a refusal; bring the incident's message up to date; thread the change."""
        if not isinstance(result, Updated):
            self._tasks.spawn(self.tell(to, describe(result)))
        if result.incident is not None:
            self._in_order(result.incident.id, self._refresh(result, actor, to, clicked))

    async def _refresh(
        self,
        result: Updated | Unchanged | Refused,
        actor: str,
        to: ReplyTo,
        clicked: MessageAt | None,
    ) -> None:
        assert result.incident is not None
        try:
            incident = await self._service.get(result.incident.id) or result.incident
        except StoreUnavailable:
            incident = result.incident
        where = _message_of(incident) or clicked
        if where is None:
            return
        updated = await self._messenger.call(
            "chat.update",
            channel=where.channel,
            ts=where.ts,
            text=incident_text(incident),
            blocks=render_incident(incident, self._clock()),
        )
        if updated is None:
            if isinstance(result, Updated):
                await self.tell(
                    to, f"*{incident.ref}* was changed, but its message could not be refreshed."
                )
            return
        if isinstance(result, Updated):
            await self._messenger.call(
                "chat.postMessage",
                channel=where.channel,
                thread_ts=where.ts,
                text=activity_text(result, actor),
            )

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


def _message_of(incident: Incident) -> MessageAt | None:
    if incident.channel and incident.message_ts:
        return MessageAt(incident.channel, incident.message_ts)
    return None
