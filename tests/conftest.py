"""Shared fixtures: the machine's real Redis under a unique key prefix per test, cleaned after."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.store.redis_store import IncidentStore

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
