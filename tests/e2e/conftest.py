"""End-to-end fixtures: the Slack stand-in, the real bot process, a signed-request driver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness import BotProcess, bot_and_driver
from slack_requests import SlackDriver
from slack_standin import SlackStandin


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
