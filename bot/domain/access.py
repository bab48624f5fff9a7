"""Optional access control: where the bot answers, and who may resolve or reopen sev1 incidents."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.incident import Status

GUARDED_TARGETS = frozenset({Status.RESOLVED, Status.OPEN})


@dataclass(frozen=True)
class AccessPolicy:
    """None means "no restriction" (the default); an empty set would lock everybody out."""

    allowed_channels: frozenset[str] | None = None
    sev1_responders: frozenset[str] | None = None

    def channel_allowed(self, channel: str | None) -> bool:
        return self.allowed_channels is None or (channel or "") in self.allowed_channels

    def guards(self, actor: str, target: Status) -> bool:
        """Whether this actor moving an incident to `target` must be refused if it is sev1."""
        return (
            self.sev1_responders is not None
            and target in GUARDED_TARGETS
            and actor not in self.sev1_responders
        )
