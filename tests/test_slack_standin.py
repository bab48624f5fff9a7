"""Tests of the Slack stand-in and request builders against the real slack_sdk and Bolt."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_requests import (
    SlackDriver,
    block_actions,
    form_body,
    payload_body,
    sign,
    signed_headers,
    slash_command,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_standin import SlackStandin

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*INC-1* db down"}}]


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandin]:
    async with SlackStandin() as s:
        yield s


def web_client(standin: SlackStandin, token: str | None = "xoxb-test") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=standin.base_url)


# -- Web API ---------------------------------------------------------------------------


async def test_web_client_calls_are_recorded_with_parsed_args(standin: SlackStandin) -> None:
    client = web_client(standin)
    posted = await client.chat_postMessage(channel="C0INCIDENT", text="db down", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="C0INCIDENT", text="again")
    updated = await client.chat_update(channel="C0INCIDENT", ts=posted["ts"], text="resolved")
    view = {"type": "modal", "callback_id": "open", "title": {"type": "plain_text", "text": "x"}}
    opened = await client.views_open(trigger_id="1.2.abc", view=view)
    ephemeral = await client.chat_postEphemeral(channel="C0INCIDENT", user="U0ALICE", text="hi")
    me = await client.auth_test()
    info = await client.conversations_info(channel="C0INCIDENT")
    link = await client.chat_getPermalink(channel="C0INCIDENT", message_ts=posted["ts"])
    other = await client.reactions_add(channel="C0INCIDENT", timestamp=posted["ts"], name="eyes")

    assert posted["ts"] == "1733300000.000100"  # lines up with block_actions()' default
    assert float(posted["ts"]) < float(second["ts"]) < float(ephemeral["message_ts"])
    assert posted["channel"] == "C0INCIDENT"
    assert posted["message"]["blocks"] == BLOCKS
    assert posted["message"]["bot_id"] == "B0BOT"
    assert updated["ts"] == posted["ts"] and updated["text"] == "resolved"
    assert opened["view"]["id"].startswith("V") and opened["view"]["callback_id"] == "open"
    assert me["user_id"] == "U0BOT" and me["bot_id"] == "B0BOT" and me["team_id"] == "T0TEST"
    assert me["is_enterprise_install"] is False
    assert info["channel"] == {**info["channel"], "id": "C0INCIDENT", "name": "incidents"}
    assert link["permalink"].endswith("/archives/C0INCIDENT/p1733300000000100")
    assert other.data == {"ok": True}

    post_call = standin.calls_to("chat.postMessage")[0]
    assert post_call.args["blocks"] == BLOCKS
    assert post_call.args["channel"] == "C0INCIDENT"
    assert post_call.headers["authorization"] == "Bearer xoxb-test"
    assert standin.calls_to("views.open")[0].args["view"] == view
    assert standin.calls_to("chat.getPermalink")[0].args["message_ts"] == posted["ts"]
    assert [c.method for c in standin.calls] == [
        "chat.postMessage",
        "chat.postMessage",
        "chat.update",
        "views.open",
        "chat.postEphemeral",
        "auth.test",
        "conversations.info",
        "chat.getPermalink",
        "reactions.add",
    ]
    assert all(a.at <= b.at for a, b in zip(standin.calls, standin.calls[1:], strict=False))

    standin.reset()
    assert standin.calls == []
    again = await client.chat_postMessage(channel="C0INCIDENT", text="after reset")
    assert float(again["ts"]) > float(ephemeral["message_ts"])  # ts stay unique across reset


async def test_form_encoded_json_fields_are_decoded(standin: SlackStandin) -> None:
    client = web_client(standin)
    await client.api_call(
        "chat.postMessage",
        data={"channel": "C0INCIDENT", "text": "[x] not json", "blocks": json.dumps(BLOCKS)},
    )
    (call,) = standin.calls_to("chat.postMessage")
    assert call.args == {"channel": "C0INCIDENT", "text": "[x] not json", "blocks": BLOCKS}


async def test_auth_errors(standin: SlackStandin) -> None:
    cases = [(None, "not_authed"), ("bogus", "invalid_auth"), ("xapp-1", "not_allowed_token_type")]
    for token, expected in cases:
        with pytest.raises(SlackApiError) as err:
            await web_client(standin, token).chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == expected
    opened = await web_client(standin).apps_connections_open(app_token="xapp-1-test")
    assert opened["url"].startswith("ws://127.0.0.1:")
    with pytest.raises(SlackApiError) as err:
        await web_client(standin).apps_connections_open(app_token="xoxb-wrong")
    assert err.value.response["error"] == "not_allowed_token_type"


async def test_fail_next(standin: SlackStandin) -> None:
    client = web_client(standin)

    standin.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 500
    await client.chat_postMessage(channel="C1", text="x")  # only the next one failed

    standin.fail_next("chat.update", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C1", ts="1.2", text="x")
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "channel_not_found"
    await client.chat_update(channel="C1", ts="1.2", text="x")

    standin.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"
    assert [c.status for c in standin.calls_to("chat.postMessage")] == [500, 200, 429]


async def test_rate_limit_retry_handler_retries(standin: SlackStandin) -> None:
    client = web_client(standin)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    standin.fail_next("chat.postMessage", retry_after=0)  # the SDK adds < 1 s of jitter
    posted = await client.chat_postMessage(channel="C1", text="x")
    assert posted["ok"] is True
    assert [c.status for c in standin.calls_to("chat.postMessage")] == [429, 200]


async def test_wait_for_call_times_out_with_a_summary(standin: SlackStandin) -> None:
    await web_client(standin).auth_test()
    with pytest.raises(AssertionError, match=r"chat\.update.*'auth\.test': 1"):
        await standin.wait_for_call("chat.update", timeout=0.05)
    with pytest.raises(AssertionError, match="response_url 'nope'"):
        await standin.wait_for_response("nope", timeout=0.05)


async def test_response_url_posts_are_recorded(standin: SlackStandin) -> None:
    url = standin.response_url("k1")
    assert url.endswith("/response/k1")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "hello", "response_type": "ephemeral"}) as r:
            assert (r.status, await r.text()) == (200, "ok")
        async with session.post(url, data=b"not json") as r:
            assert (r.status, await r.text()) == (400, "invalid_payload")

    auto = standin.response_url()
    assert auto != standin.response_url()  # auto keys are unique
    sent = await AsyncWebhookClient(auto).send(text="replaced", replace_original=True)
    assert (sent.status_code, sent.body) == (200, "ok")

    posts = await standin.wait_for_response("k1", count=2)
    assert posts[0].body == {"text": "hello", "response_type": "ephemeral"}
    assert posts[1].body == {"_raw": "not json"}
    (hook,) = await standin.wait_for_response(auto.rsplit("/", 1)[-1])
    assert hook.body == {"text": "replaced", "replace_original": True}


# -- request builders and signatures ---------------------------------------------------


def test_signed_headers_pass_slack_sdk_verification() -> None:
    verifier = SignatureVerifier(SECRET)
    body = form_body(slash_command("open sev1 db down", response_url="http://x/response/1"))
    headers = signed_headers(SECRET, body)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"sev1", b"sev2"), headers)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(body, stale)
    ts = headers["X-Slack-Request-Timestamp"]
    assert headers["X-Slack-Signature"] == sign(SECRET, ts, body)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)


def test_bodies_decode_like_slack_posts_them() -> None:
    fields = slash_command("list", response_url="http://x/response/1", trigger_id="1.2.3")
    assert set(fields) == {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
        "user_name", "command", "text", "api_app_id", "is_enterprise_install",
        "response_url", "trigger_id",
    }  # fmt: skip
    assert {k: v[0] for k, v in parse_qs(form_body(fields).decode()).items()} == fields

    payload = block_actions("ack", "42", response_url="http://x/response/2", is_ephemeral=True)
    assert "message" not in payload and payload["container"]["is_ephemeral"] is True
    decoded = parse_qs(payload_body(payload).decode())
    assert json.loads(decoded["payload"][0]) == payload


# -- Socket Mode -----------------------------------------------------------------------


def ping_app(standin: SlackStandin, **kw: Any) -> AsyncApp:
    # client= rather than token=: Bolt ignores (and warns about) token when given a client,
    # and this client's base_url is what routes both Web API and Socket Mode to the stand-in.
    app = AsyncApp(client=web_client(standin), **kw)

    @app.command("/incident")
    async def command(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack("pong")
        await respond("later")

    @app.action("ack")
    async def action(ack: AsyncAck) -> None:
        await ack()

    @app.view("open")
    async def view(ack: AsyncAck) -> None:
        await ack()

    return app


async def test_socket_mode_with_bolt(standin: SlackStandin) -> None:
    app = ping_app(standin)
    handler = AsyncSocketModeHandler(app, "xapp-test")
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await standin.wait_for_socket()
        (opened,) = standin.calls_to("apps.connections.open")
        assert opened.headers["authorization"] == "Bearer xapp-test"

        response_url = standin.response_url("sock")
        envelope = await standin.send_envelope(
            "slash_commands", slash_command("ping", response_url=response_url)
        )
        ack = await standin.wait_for_ack(envelope)
        assert ack == {"envelope_id": envelope, "payload": {"text": "pong"}}
        (later,) = await standin.wait_for_response("sock")
        assert later.body["text"] == "later"
        assert standin.calls_to("auth.test")  # Bolt authorised through the stand-in too

        click = block_actions("ack", "1", response_url=standin.response_url())
        clicked = await standin.send_envelope("interactive", click)
        assert await standin.wait_for_ack(clicked) == {"envelope_id": clicked}

        # Slack asks clients to reconnect now and then; the SDK opens a fresh URL.
        await standin.send_disconnect()
        await standin.wait_for_socket(connections=2)
        assert len(standin.calls_to("apps.connections.open")) == 2
        again = await standin.send_envelope(
            "slash_commands", slash_command("ping", response_url=standin.response_url())
        )
        assert (await standin.wait_for_ack(again))["payload"] == {"text": "pong"}
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


# -- HTTP mode -------------------------------------------------------------------------


@pytest.fixture
async def bolt_http(standin: SlackStandin) -> AsyncIterator[str]:
    """A Bolt app served at POST /slack/events the way an aiohttp bot would serve it."""
    app = ping_app(standin, signing_secret=SECRET)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", events)
    runner = web.AppRunner(server, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        await runner.cleanup()


async def test_driver_against_bolt_over_http(standin: SlackStandin, bolt_http: str) -> None:
    async with SlackDriver(bolt_http, SECRET, standin) as driver:
        reply = await driver.command("ping")
        # Bolt answers a text-only ack as text/plain; Slack shows it as an ephemeral message.
        assert (reply.status, reply.body_text, reply.json) == (200, "pong", None)
        assert reply.response_key is not None
        (later,) = await standin.wait_for_response(reply.response_key)
        assert later.body["text"] == "later"

        clicked = await driver.click("ack", "42")
        assert clicked.status == 200
        submitted = await driver.submit_view("open", {"title": {"t": {"value": "x"}}})
        assert submitted.status == 200

        body = form_body(slash_command("ping", response_url=standin.response_url()))
        bad = await driver.post_raw(body, signed_headers("wrong-secret", body))
        assert bad.status == 401
        old = int(time.time()) - 6 * 60
        stale = await driver.post_raw(body, signed_headers(SECRET, body, timestamp=old))
        assert stale.status == 401
