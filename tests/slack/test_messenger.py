"""Messenger: every Slack call goes through one keep-alive pool, closed with the messenger."""

from __future__ import annotations

from slack_standin import SlackStandin

from bot.observability.metrics import Metrics
from bot.slack.app import web_client
from bot.slack.messenger import Messenger


async def test_web_api_and_response_url_calls_share_one_pool(standin: SlackStandin) -> None:
    client = web_client("xoxb-test", standin.base_url)
    messenger = Messenger(client, Metrics("test"))
    try:
        assert client.session is None  # nothing is opened before the first call
        posted = await messenger.call("chat.postMessage", channel="C1", text="one")
        assert posted is not None and posted["ok"]
        pool = client.session
        assert pool is not None and not pool.closed
        assert await messenger.call("chat.update", channel="C1", ts=posted["ts"], text="two")
        assert await messenger.respond(standin.response_url("k"), {"text": "three"})
        assert client.session is pool  # reused, not a new session (and connection) per call
        assert [c.method for c in standin.calls] == ["chat.postMessage", "chat.update"]
        assert [r.body["text"] for r in standin.responses_to("k")] == ["three"]
    finally:
        await messenger.close()
    assert pool.closed


async def test_a_call_after_close_opens_a_new_pool(standin: SlackStandin) -> None:
    client = web_client("xoxb-test", standin.base_url)
    messenger = Messenger(client, Metrics("test"))
    await messenger.call("chat.postMessage", channel="C1", text="one")
    first = client.session
    await messenger.close()
    try:
        assert await messenger.call("chat.postMessage", channel="C1", text="two") is not None
        assert client.session is not first and client.session is not None
    finally:
        await messenger.close()
