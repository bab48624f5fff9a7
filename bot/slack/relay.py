"""SlackRelay: IncidentEvents for the other faces (HTTP API, alerts), done in the background."""

from __future__ import annotations

import logging

from bot.domain.incident import Incident
from bot.service.incidents import Updated
from bot.slack.effects import ReplyTo, SlackEffects

log = logging.getLogger(__name__)


class SlackRelay:
    """Announces new incidents and refreshes their messages as the Slack face itself would (in
    order per incident: SlackEffects). Nobody can be told ephemerally of a failed Slack call: it
    is counted and logged (Messenger)."""

    def __init__(self, effects: SlackEffects) -> None:
        self._effects = effects

    def opened(self, incident: Incident, channel: str | None) -> None:
        # An explicit channel wins; otherwise INCIDENT_CHANNEL (there is no origin channel here).
        target = channel or self._effects.channel_for(None)
        if target is None:
            log.info("%s opened without a channel to announce it in", incident.ref)
            return
        to = ReplyTo(incident.created_by, None)
        self._effects.announce(incident, target, to)

    def changed(self, result: Updated, actor: str) -> None:
        self._effects.after_change(result, actor, ReplyTo(actor, None), None)
