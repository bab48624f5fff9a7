"""IncidentEvents: how a face that is not Slack tells the Slack side what it opened or changed."""

from __future__ import annotations

from typing import Protocol

from bot.domain.incident import Incident
from bot.service.incidents import Updated


class IncidentEvents(Protocol):
    """Implementations must return at once (schedule their work), so callers never wait on Slack."""

    def opened(self, incident: Incident, channel: str | None) -> None:
        """A new incident; `channel` is where the caller asked to announce it, if anywhere."""

    def changed(self, result: Updated, actor: str) -> None:
        """A committed change to an incident, made by `actor`."""
