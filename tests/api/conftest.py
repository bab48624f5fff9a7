"""The real bot with the HTTP API on, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from api_client import API_TOKEN, CHANNEL, ApiClient
from harness import BotProcess, run_bot
from slack_standin import SlackStandin


@pytest.fixture
async def api_bot(standin: SlackStandin, redis_url: str, prefix: str) -> AsyncIterator[BotProcess]:
    async with run_bot(
        standin, redis_url=redis_url, prefix=prefix, API_TOKEN=API_TOKEN, INCIDENT_CHANNEL=CHANNEL
    ) as bot:
        yield bot


@pytest.fixture
async def api(api_bot: BotProcess) -> AsyncIterator[ApiClient]:
    client = ApiClient(api_bot)
    yield client
    await client.close()
