"""Secrets never reach logs, errors, replies or /metrics — even in a run full of failures."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import free_port, run_bot
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from slack_requests import SlackDriver, form_body, signed_headers, slash_command
from slack_standin import SlackStandin

from bot.store.embedded import find_server_binary

BOT_TOKEN = "xoxb-1111-2222-SECRETBOTTOKENVALUE"
SIGNING_SECRET = "SECRETSIGNINGSECRETVALUE0123456789"
REDIS_PASSWORD = "SECRETREDISPASSWORDVALUE"
SECRETS = (
    BOT_TOKEN,
    SIGNING_SECRET,
    REDIS_PASSWORD,
    "SECRETBOTTOKEN",
    "SECRETREDIS",
    "SECRETSIGNING",
)


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        [str(find_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path), "--requirepass", REDIS_PASSWORD],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    yield port
    server.kill()
    server.wait()


async def test_no_secret_anywhere_after_a_run_with_failures(
    redis_with_password: int, standin: SlackStandin, prefix: str
) -> None:
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis_with_password}/0"
    seen: list[str] = []
    async with run_bot(
        standin,
        redis_url=url,
        prefix=prefix,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        LOG_LEVEL="DEBUG",
    ) as bot:
        async with SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver:
            seen.append((await driver.command("open sev1 Fine")).body_text)
            standin.fail_next("chat.postMessage", status=500, times=5)
            standin.fail_next("chat.update", error="invalid_auth")
            seen.append((await driver.command("open sev2 Slack fails")).body_text)
            seen.append((await driver.command("ack 1")).body_text)
            seen.append((await driver.command("show 999")).body_text)
            body = form_body(slash_command("open sev1 Forged", response_url=standin.response_url()))
            seen.append(
                (await driver.post_raw(body, signed_headers("wrong-secret", body))).body_text
            )
            await asyncio.sleep(1.0)  # let the retries and background calls fail
            seen.append((await bot.get("/metrics"))[1])
            admin = Redis.from_url(url)
            with contextlib.suppress(RedisConnectionError):
                await admin.shutdown(nosave=True)
            await admin.aclose()
            seen.append((await driver.command("open sev1 Redis down")).body_text)
            seen.append((await bot.get("/readyz"))[1])
            seen.append((await bot.get("/metrics"))[1])
        await bot.stop()
        log = bot.log_text()
    assert "slack call failed" in log  # the run really did fail in places
    seen += [log, *(r.body.get("text", "") for r in standin.responses)]
    for text in seen:
        for secret in SECRETS:
            assert secret not in text
