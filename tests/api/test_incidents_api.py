"""The HTTP API over real HTTP against the real process and Redis; Slack seen by the stand-in."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
from api_client import API_TOKEN, CHANNEL, ApiClient
from harness import SOCKET_MODE, BotProcess, run_bot
from slack_standin import SlackStandin

from bot.store.embedded import EmbeddedRedis, find_server_binary

INCIDENTS = "/api/v1/incidents"


async def test_every_endpoint_and_what_slack_sees(
    api: ApiClient, api_bot: BotProcess, standin: SlackStandin
) -> None:
    created = await api.call(
        "POST",
        INCIDENTS,
        {
            "title": "Checkout API returns 502",
            "priority": "high",
            "description": "since 14:02",
            "assignee": "U0ALICE",
        },
    )
    assert created.status == 201, created
    incident = created.body
    assert created.headers["Location"] == f"{INCIDENTS}/{incident['id']}"
    assert incident["ref"] == f"INC-{incident['id']}"
    assert (incident["severity"], incident["status"], incident["assignee"]) == (
        "sev1",
        "open",
        "U0ALICE",
    )
    assert incident["created_by"] == "api" and incident["created_at"].endswith("Z")
    (post,) = await standin.wait_for_call("chat.postMessage")
    assert post.args["channel"] == CHANNEL
    assert "SEV1" in post.args["text"] and "Checkout API returns 502" in json.dumps(
        post.args["blocks"]
    )

    number = incident["id"]
    shown = await api.call("GET", f"{INCIDENTS}/INC-{number}")
    assert shown.status == 200
    assert [e["kind"] for e in shown.body["timeline"]] == ["opened", "assigned"]
    assert shown.body["timeline_total"] == 2 and shown.body["description"] == "since 14:02"

    changed = await api.call(
        "PATCH", f"{INCIDENTS}/{number}", {"status": "in_progress", "severity": "sev2"}
    )
    assert changed.status == 200, changed
    assert (changed.body["status"], changed.body["severity"]) == ("in_progress", "sev2")
    assert changed.body["acknowledged_at"] is not None and changed.body["status_by"] == "api"
    # The announced message is updated in place (its ts), and each change is threaded.
    updates = await standin.wait_for_call("chat.update", 2)
    assert {u.args["ts"] for u in updates} == {post.reply["ts"]}
    assert all("SEV2" in u.args["text"] and "In progress" in u.args["text"] for u in updates)
    threads = await standin.wait_for_call("chat.postMessage", 3)
    assert {t.args.get("thread_ts") for t in threads[1:]} == {post.reply["ts"]}
    assert "api set *INC-" in threads[1].args["text"]

    # Asking for what it already has: 200, the same incident, no timeline entry, no Slack call.
    calls = len(standin.calls)
    same = await api.call("PATCH", f"{INCIDENTS}/{number}", {"status": "in_progress"})
    assert same.status == 200 and same.body == changed.body
    # An illegal step is a 409 and changes nothing, not even the other fields asked for.
    illegal = await api.call(
        "PATCH", f"{INCIDENTS}/{number}", {"status": "open", "severity": "sev4"}
    )
    assert illegal.status == 409 and "can become: resolved" in illegal.detail
    assert illegal.headers["Content-Type"].startswith("application/problem+json")

    note = await api.call("POST", f"{INCIDENTS}/{number}/notes", {"text": "rolled back v2.3\n"})
    assert note.status == 201
    assert (note.body["kind"], note.body["note"], note.body["actor"]) == (
        "note",
        "rolled back v2.3",
        "api",
    )
    await standin.wait_for_call("chat.update", 3)
    await standin.wait_for_call("chat.postMessage", 4)
    assert len(standin.calls) == calls + 2  # the note's update and thread reply only
    timeline = (await api.call("GET", f"{INCIDENTS}/{number}")).body["timeline"]
    assert [e["kind"] for e in timeline] == ["opened", "assigned", "status", "severity", "note"]
    assert timeline[-2:] == [
        {**timeline[-2], "value": "sev2", "actor": "api"},
        {**timeline[-1], "note": "rolled back v2.3"},
    ]

    resolved = await api.call("PATCH", f"{INCIDENTS}/{number}", {"status": "resolved"})
    assert resolved.status == 200 and resolved.body["resolved_at"] is not None

    # Counted in request_count_total and per route template, never per raw path.
    assert (await api_bot.metric("request_count_total") or 0) >= 8
    labels = 'method="PATCH",route="/api/v1/incidents/{id}"'
    assert (
        await api_bot.metric(f"incidentwatch_api_request_duration_seconds_count{{{labels}}}") == 4
    )
    assert (
        await api_bot.metric(
            'incidentwatch_api_responses_total{code="409",method="PATCH",route="/api/v1/incidents/{id}"}'
        )
        == 1
    )
    _, text = await api_bot.get("/metrics")
    assert f"/api/v1/incidents/{number}" not in text and "INC-" not in text


async def test_create_options_idempotency_and_filters(
    api: ApiClient, standin: SlackStandin
) -> None:
    other = await api.open("Search is slow", severity="sev3", channel="C0SEARCH")
    assert other["severity"] == "sev3"
    default = await api.open("Disk 80% full")
    assert default["severity"] == "sev3"  # neither severity nor priority
    first = await api.call(
        "POST", INCIDENTS, {"title": "Payments down"}, headers={"Idempotency-Key": "run-7"}
    )
    retry = await api.call(
        "POST", INCIDENTS, {"title": "Payments down"}, headers={"Idempotency-Key": "run-7"}
    )
    assert (first.status, retry.status) == (201, 200) and first.body["id"] == retry.body["id"]
    posts = await standin.wait_for_call("chat.postMessage", 3)
    await asyncio.sleep(0.2)
    assert len(standin.calls_to("chat.postMessage")) == 3  # the retry announced nothing
    assert [p.args["channel"] for p in posts] == ["C0SEARCH", CHANNEL, CHANNEL]

    await api.call("PATCH", f"{INCIDENTS}/{other['id']}", {"status": "resolved"})
    await api.call("PATCH", f"{INCIDENTS}/{default['id']}", {"priority": "high"})

    async def ids(**params: str) -> list[int]:
        reply = await api.call("GET", INCIDENTS, params=params)
        assert reply.status == 200, reply
        return [i["id"] for i in reply.body["items"]]

    all_ids = [first.body["id"], default["id"], other["id"]]
    assert await ids() == all_ids  # newest first; default `all`
    assert await ids(status="active") == all_ids[:2]
    assert await ids(status="resolved") == [other["id"]]
    assert await ids(severity="sev1") == [default["id"]]
    assert await ids(status="open", severity="sev3") == [first.body["id"]]
    assert await ids(status="in_progress") == []


async def test_every_error_status(api: ApiClient) -> None:
    number = (await api.open("Checkout down"))["id"]

    async def problem(
        status: int, method: str, path: str, body: object = None, **kw: object
    ) -> str:
        reply = await api.call(method, path, body, **kw)  # type: ignore[arg-type]
        assert reply.status == status, reply
        assert reply.headers["Content-Type"].startswith("application/problem+json"), reply
        assert reply.body["status"] == status and reply.body["title"], reply
        return reply.detail

    # 400: the field is named.
    assert "title" in await problem(400, "POST", INCIDENTS, {"title": "x" * 151})
    assert "title" in await problem(400, "POST", INCIDENTS, {"title": "  \t "})
    assert "severity" in await problem(400, "POST", INCIDENTS, {"title": "t", "severity": "sev9"})
    assert "priority" in await problem(400, "POST", INCIDENTS, {"title": "t", "priority": "urgent"})
    assert "not both" in await problem(
        400, "POST", INCIDENTS, {"title": "t", "severity": "sev1", "priority": "low"}
    )
    assert "statuss" in await problem(400, "PATCH", f"{INCIDENTS}/{number}", {"statuss": "open"})
    assert "at least one" in await problem(400, "PATCH", f"{INCIDENTS}/{number}", {})
    assert "text" in await problem(400, "POST", f"{INCIDENTS}/{number}/notes", {"text": " "})
    assert "text" in await problem(400, "POST", f"{INCIDENTS}/{number}/notes", {"text": "n" * 1001})
    assert "limit" in await problem(400, "GET", INCIDENTS, params={"limit": "101"})
    assert "status" in await problem(400, "GET", INCIDENTS, params={"status": "closed"})
    assert "cursor" in await problem(400, "GET", INCIDENTS, params={"cursor": "abc"})
    assert "id" in await problem(400, "GET", f"{INCIDENTS}/INC-x")
    assert "JSON" in await problem(
        400, "POST", INCIDENTS, raw=b'{"title": ', headers={"Content-Type": "application/json"}
    )
    missing = await api.call("POST", INCIDENTS, {"severity": "sev1"})
    assert missing.body["errors"] == [{"field": "title", "message": "Field required"}]

    # 401: no token, a wrong one (same length too), another scheme; nothing is written.
    for headers in (
        {},
        {"Authorization": f"Bearer {API_TOKEN[:-1]}x"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {API_TOKEN}"},
    ):
        reply = await api.call("POST", INCIDENTS, {"title": "x"}, token=None, headers=headers)
        assert reply.status == 401, reply
        assert reply.headers["WWW-Authenticate"].startswith('Bearer realm="incidentwatch"')
    assert len((await api.call("GET", INCIDENTS)).body["items"]) == 1

    # 404: unknown incidents, unknown routes.
    assert "INC-999" in await problem(404, "GET", f"{INCIDENTS}/999")
    assert "INC-999" in await problem(404, "PATCH", f"{INCIDENTS}/999", {"status": "resolved"})
    assert "INC-999" in await problem(404, "POST", f"{INCIDENTS}/999/notes", {"text": "x"})
    await problem(404, "GET", "/api/v1/tickets")

    # 409: an illegal step of the lifecycle.
    await api.call("PATCH", f"{INCIDENTS}/{number}", {"status": "resolved"})
    assert "can become: open" in await problem(
        409, "PATCH", f"{INCIDENTS}/{number}", {"status": "in_progress"}
    )

    # 413: by Content-Length, and for a chunked body with no length at all.
    big = json.dumps({"title": "t", "description": "d" * 300_000}).encode()
    headers = {"Content-Type": "application/json"}
    assert "bytes" in await problem(413, "POST", INCIDENTS, raw=big, headers=headers)

    async def chunks() -> object:
        for _ in range(40):
            yield b" " * 10_000

    assert "bytes" in await problem(413, "POST", INCIDENTS, raw=chunks(), headers=headers)  # type: ignore[arg-type]

    # 415: not JSON.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert "JSON" in await problem(415, "POST", INCIDENTS, raw=b"title=t", headers=form)
    assert "JSON" in await problem(415, "POST", INCIDENTS, raw=b'{"title": "t"}')

    # 405 with Allow.
    reply = await api.call("DELETE", f"{INCIDENTS}/{number}")
    assert reply.status == 405 and set(reply.headers["Allow"].split(", ")) == {"GET", "PATCH"}
    assert len((await api.call("GET", INCIDENTS)).body["items"]) == 1


async def test_pages_stay_complete_and_ordered_while_others_insert(api: ApiClient) -> None:
    """Cursor = the last id seen, so incidents opened meanwhile (higher ids) never shift a page:
    every incident that existed when paging started is seen exactly once, newest first."""
    before = [
        (await api.open(f"existing {i}", severity=f"sev{i % 4 + 1}"))["id"] for i in range(25)
    ]

    async def insert() -> None:
        for i in range(20):
            await api.open(f"concurrent {i}")

    inserting = asyncio.create_task(insert())
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        reply = await api.call("GET", INCIDENTS, params=params)
        assert reply.status == 200, reply
        seen += [i["id"] for i in reply.body["items"]]
        pages += 1
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
        await asyncio.sleep(0.01)  # let the inserts interleave with the paging
    await inserting
    assert pages >= 7
    assert seen == sorted(set(seen), reverse=True)  # strictly newest first, no duplicates
    assert set(before) <= set(seen)
    assert [n for n in seen if n <= max(before)] == sorted(before, reverse=True)

    sev2: list[int] = []
    cursor = None
    while True:
        params = {"severity": "sev2", "limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = await api.call("GET", INCIDENTS, params=params)
        sev2 += [i["id"] for i in reply.body["items"]]
        assert {i["severity"] for i in reply.body["items"]} <= {"sev2"}
        if (cursor := reply.body["next_cursor"]) is None:
            break
    assert sev2 == sorted(before[1::4], reverse=True)


async def test_socket_mode_serves_the_api_and_not_slack_events(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    async with run_bot(
        standin,
        redis_url=redis_url,
        prefix=prefix,
        **SOCKET_MODE,
        API_TOKEN=API_TOKEN,
        ALLOWED_CHANNELS="C0OPS",
    ) as bot:
        client = ApiClient(bot)
        try:
            for path, body in (
                (INCIDENTS, {"title": "t", "channel": "C0RANDOM"}),
                ("/api/v1/alertmanager?channel=C0RANDOM", {}),
            ):
                refused = await client.call("POST", path, body)
                assert refused.status == 400 and "ALLOWED_CHANNELS" in refused.detail, refused
            opened = await client.open("From a script")
            # No INCIDENT_CHANNEL and no channel given: nothing to announce in, said in the log.
            assert "opened without a channel" in bot.log_text()
            assert opened["status"] == "open"
            events = await client.call("POST", "/slack/events", raw=b"x", token=None)
            assert events.status == 404
            docs = await client.call("GET", "/docs", token=None)
            assert docs.status == 200 and "swagger-ui" in str(docs.body)
        finally:
            await client.close()
    assert not standin.calls_to("chat.postMessage")


async def test_api_off_without_a_token(bot: BotProcess) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.port}/api/v1/incidents") as reply,
    ):
        assert reply.status == 404


async def test_redis_down_is_a_503_with_retry_after(
    standin: SlackStandin, prefix: str, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", find_server_binary())
    await server.start()
    try:
        async with run_bot(
            standin, redis_url=server.url, prefix=prefix, API_TOKEN=API_TOKEN
        ) as bot:
            client = ApiClient(bot)
            try:
                number = (await client.open("Before the outage"))["id"]
                await server.stop()
                for method, path, body in (
                    ("POST", INCIDENTS, {"title": "During the outage"}),
                    ("GET", INCIDENTS, None),
                    ("GET", f"{INCIDENTS}/{number}", None),
                    ("PATCH", f"{INCIDENTS}/{number}", {"status": "resolved"}),
                    ("POST", f"{INCIDENTS}/{number}/notes", {"text": "x"}),
                ):
                    started = time.monotonic()
                    reply = await client.call(method, path, body)
                    assert time.monotonic() - started < 2.5, (method, path)
                    assert reply.status == 503, reply
                    assert reply.headers["Retry-After"] and "nothing was changed" in reply.detail
                await server.start()  # the same socket: the bot reconnects by itself
                assert (await client.call("GET", f"{INCIDENTS}/{number}")).status == 200
            finally:
                await client.close()
    finally:
        await server.stop()
