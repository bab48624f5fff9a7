"""`python -m bot check` as an operator runs it: exit 0 when consistent, 1 naming each problem."""

from __future__ import annotations

import subprocess
import sys

from harness import REPO
from redis.asyncio import Redis

from bot.domain.incident import Severity, Status
from bot.store.redis_store import IncidentStore


def run_check(redis_url: str, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )


async def test_check_command(store: IncidentStore, redis_url: str, prefix: str) -> None:
    for sev in (Severity.SEV1, Severity.SEV2, Severity.SEV3):
        await store.create(title="t", severity=sev, actor="U1", now=1.0)
    await store.transition(2, Status.RESOLVED, actor="U1", now=2.0)
    ok = run_check(redis_url, prefix)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "3 incidents checked: consistent"

    redis = Redis.from_url(redis_url)
    try:
        await redis.hincrby(f"{prefix}c", "resolved:sev2", 5)
    finally:
        await redis.aclose()
    drifted = run_check(redis_url, prefix)
    assert drifted.returncode == 1
    assert "problem: count resolved/sev2 is 6, but 1 incidents have it" in drifted.stdout


def test_check_with_redis_down_says_so() -> None:
    down = run_check("redis://127.0.0.1:1/0", "{x}:")
    assert down.returncode == 1
    assert down.stderr.strip() == "incidentwatch: the incident store (Redis) is unavailable"
