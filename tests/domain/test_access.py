"""The optional access policy: off by default; channel allow-list; sev1 resolve/reopen guard."""

from bot.domain.access import AccessPolicy
from bot.domain.incident import Status


def test_default_allows_everything() -> None:
    policy = AccessPolicy()
    assert policy.channel_allowed("C1") and policy.channel_allowed(None)
    assert not policy.guards("U1", Status.RESOLVED)


def test_channel_allow_list() -> None:
    policy = AccessPolicy(allowed_channels=frozenset({"C1"}))
    assert policy.channel_allowed("C1")
    assert not policy.channel_allowed("C2") and not policy.channel_allowed(None)


def test_sev1_guard_covers_resolve_and_reopen_only() -> None:
    policy = AccessPolicy(sev1_responders=frozenset({"U0LEAD"}))
    assert policy.guards("U1", Status.RESOLVED) and policy.guards("U1", Status.OPEN)
    assert not policy.guards("U1", Status.IN_PROGRESS)
    assert not policy.guards("U0LEAD", Status.RESOLVED)
