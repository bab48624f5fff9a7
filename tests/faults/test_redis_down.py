"""Redis stops under a running bot: clear answers within 2 s, 503 on /readyz, nothing half-written,
and the bot recovers by itself when Redis is back."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import bot_and_driver, embedded_server_pids
from slack_standin import SlackStandin

from bot.store.consistency import check
from bot.store.embedded import EmbeddedRedis, find_server_binary
from bot.store.redis_store import IncidentStore

UNAVAILABLE = "incident store is unavailable, so nothing was changed"


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", find_server_binary())
    await server.start()
    yield server
    await server.stop()


async def test_redis_down_then_back(private_redis: EmbeddedRedis, prefix: str) -> None:
    url = private_redis.url
    async with (
        SlackStandin() as standin,
        bot_and_driver(standin, redis_url=url, prefix=prefix) as (bot, driver),
    ):
        assert "INC-1" in (await driver.command("open sev1 Before the outage")).body_text
        (post,) = await standin.wait_for_call("chat.postMessage")

        assert private_redis.pid is not None
        os.kill(private_redis.pid, signal.SIGKILL)
        await private_redis.stop()

        for text in ("open sev1 During the outage", "ack 1", "list", "show 1", "note 1 hello"):
            started = time.monotonic()
            reply = await driver.command(text)
            assert time.monotonic() - started < 2.0, text
            assert reply.status == 200 and UNAVAILABLE in reply.body_text, (text, reply.body_text)

        click = await driver.click("incident_resolve", "1", message_ts=post.reply["ts"])
        assert click.status == 200
        (told,) = await standin.wait_for_response(click.response_key or "")
        assert UNAVAILABLE in told.body["text"]
        next_page = await driver.click("incident_list_page", "active:5")
        assert next_page.status == 200
        (told,) = await standin.wait_for_response(next_page.response_key or "")
        assert UNAVAILABLE in told.body["text"] and not told.body["replace_original"]

        values = {
            "title": {"title_input": {"value": "Typed during the outage"}},
            "severity": {"severity_select": {"selected_option": {"value": "sev1"}}},
        }
        form = await driver.submit_view(
            "incident_open_modal", values, private_metadata="C0INCIDENT"
        )
        assert form.json is not None and form.json["response_action"] == "errors"
        assert "nothing was saved" in form.json["errors"]["title"]  # the form stays open

        assert (await bot.get("/readyz"))[0] == 503
        assert await bot.get("/healthz") == (200, "ok\n")
        status, text = await bot.get("/metrics")
        assert status == 200 and "incidentwatch_store_up 0.0" in text
        assert (
            "incident_open_total"
            not in text.replace("# HELP", "").split("incidentwatch_store_up")[1]
        )

        await private_redis.start()  # same data dir, same socket: the bot reconnects by itself
        assert "acknowledged *INC-1*" in (await driver.command("ack 1")).body_text
        assert (await bot.get("/readyz"))[0] == 200
        assert await bot.metric("incident_in_progress_total") == 1
        assert await bot.metric("incident_open_total") == 0
        assert (await bot.metric("incidentwatch_redis_errors_total") or 0) >= 6
        assert "Traceback" not in bot.log_text()

    store = IncidentStore.from_url(url, prefix)
    try:
        report = await check(store)
        assert report.ok and report.incidents == 1, report.problems
    finally:
        await store.close()


async def test_hung_redis_answers_in_doubt_within_2_seconds(
    private_redis: EmbeddedRedis, prefix: str
) -> None:
    async with (
        SlackStandin() as standin,
        bot_and_driver(standin, redis_url=private_redis.url, prefix=prefix) as (bot, driver),
    ):
        assert "No active incidents" in (await driver.command("list")).body_text  # connected
        assert private_redis.pid is not None
        os.kill(private_redis.pid, signal.SIGSTOP)  # Redis hangs: requests reach it, no answer
        try:
            started = time.monotonic()
            reply = await driver.command("open sev1 Sent to a hung Redis")
            assert time.monotonic() - started < 2.0
            assert "did not answer in time" in reply.body_text
            assert "may still be applied" in reply.body_text
        finally:
            os.kill(private_redis.pid, signal.SIGCONT)
        # Redis is back: the bot answers again, and whatever ran, ran whole.
        assert (await driver.command("list all")).status == 200
        assert "Traceback" not in bot.log_text()
    store = IncidentStore.from_url(private_redis.url, prefix)
    try:
        assert (await check(store)).ok
    finally:
        await store.close()


async def test_the_embedded_server_is_restarted_when_it_dies(
    standin: SlackStandin, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    async with bot_and_driver(
        standin, redis_url=None, prefix="{iwtest-embedded}:", DATA_DIR=str(data)
    ) as (bot, driver):
        assert "INC-1" in (await driver.command("open sev2 Before the crash")).body_text
        (pid,) = embedded_server_pids(data)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while "restarting it" not in bot.log_text() or (await bot.get("/readyz"))[0] != 200:
            assert time.monotonic() < deadline, bot.log_text()
            await asyncio.sleep(0.05)
        assert "INC-2" in (await driver.command("open sev2 After the crash")).body_text
        assert "Before the crash" in (await driver.command("list")).body_text
        assert await bot.stop() == 0
