"""The consistency check finds drifted counts and indexes, and passes after any legal history."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.domain.incident import Severity, Status
from bot.store.consistency import check
from bot.store.redis_store import IncidentStore

NOW = 1_700_000_000.0
steps = st.lists(
    st.tuples(
        st.sampled_from(["open", "move", "sev"]),
        st.integers(1, 6),
        st.sampled_from(list(Status)),
        st.sampled_from(list(Severity)),
    ),
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps)
async def test_any_history_stays_consistent(
    store: IncidentStore, history: list[tuple[str, int, Status, Severity]]
) -> None:
    for kind, number, status, severity in history:
        if kind == "open":
            await store.create(title="t", severity=severity, actor="U1", now=NOW)
        elif kind == "move":
            await store.transition(number, status, actor="U1", now=NOW)
        else:
            await store.set_severity(number, severity, actor="U1", now=NOW)
        report = await check(store)
        assert report.ok, report.problems


async def test_drift_is_reported(store: IncidentStore, redis_url: str, prefix: str) -> None:
    await store.create(title="t", severity=Severity.SEV1, actor="U1", now=NOW)
    assert (await check(store)).ok
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await redis.hincrby(f"{prefix}c", "open:sev1", 2)
        await redis.zrem(f"{prefix}x:active", "1")
    finally:
        await redis.aclose()
    report = await check(store)
    assert report.incidents == 1
    assert "count open/sev1 is 3, but 1 incidents have it" in report.problems
    assert "index active: missing [1], unexpected []" in report.problems
