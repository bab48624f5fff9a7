"""Shared fixtures: real Redis under a unique key prefix per test; the bot; the Slack stand-in."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from harness import BotProcess, bot_and_driver
from redis.asyncio import Redis
from slack_requests import SlackDriver
from slack_standin import SlackStandin

from bot.store.embedded import find_server_binary
from bot.store.redis_store import IncidentStore

# TEST_REDIS_URL=<url> picks a Redis; TEST_REDIS_URL=private forces a private server for the run.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_private_server: subprocess.Popen[bytes] | None = None


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_sessionstart(session: pytest.Session) -> None:
    """Use the machine's Redis on 6379; on a machine without one, start a private server."""
    global REDIS_URL, _private_server
    wanted = os.environ.get("TEST_REDIS_URL")
    if wanted != "private" and (wanted or _answers(6379)):
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="iw-test-redis-")
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    _private_server = subprocess.Popen(
        [str(find_server_binary()), *options, "--dir", folder], stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not _answers(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    REDIS_URL = f"redis://127.0.0.1:{port}/0"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _private_server is not None:
        _private_server.terminate()
        _private_server.wait(10)


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A fresh key prefix (one hash tag); every key under it is deleted after the test."""
    value = f"{{iwtest-{uuid.uuid4().hex[:12]}}}:"
    yield value
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{value}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
async def store(prefix: str) -> AsyncIterator[IncidentStore]:
    incident_store = IncidentStore.from_url(REDIS_URL, prefix)
    yield incident_store
    await incident_store.close()


# End-to-end fixtures: the Slack stand-in, the real bot process, a signed-request driver.


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandin]:
    async with SlackStandin() as running:
        yield running


@pytest.fixture
async def bot_driver(
    standin: SlackStandin, redis_url: str, prefix: str
) -> AsyncIterator[tuple[BotProcess, SlackDriver]]:
    async with bot_and_driver(standin, redis_url=redis_url, prefix=prefix) as pair:
        yield pair


@pytest.fixture
def bot(bot_driver: tuple[BotProcess, SlackDriver]) -> BotProcess:
    return bot_driver[0]


@pytest.fixture
def driver(bot_driver: tuple[BotProcess, SlackDriver]) -> SlackDriver:
    return bot_driver[1]
