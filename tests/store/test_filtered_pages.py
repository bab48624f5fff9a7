"""Pages filtered by status and severity, and dedupe links with their own TTL, on a real Redis."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.domain.commands import ListFilter
from bot.domain.incident import Incident, Severity, Status
from bot.store.consistency import check
from bot.store.redis_store import IncidentStore

NOW = 1_700_000_000.0
_examples = itertools.count()


async def _all_pages(
    store: IncidentStore, which: ListFilter, severity: Severity | None, limit: int
) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.page(which, severity=severity, before=cursor, limit=limit)
        assert len(page.incidents) <= limit
        seen += [i.id for i in page.incidents]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _expected(incidents: list[Incident], which: ListFilter, severity: Severity | None) -> list[int]:
    return sorted(
        (
            i.id
            for i in incidents
            if i.status in which.statuses and (severity is None or i.severity is severity)
        ),
        reverse=True,
    )


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history=st.lists(
        st.tuples(st.sampled_from(list(Severity)), st.sampled_from(list(Status)), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    limit=st.integers(1, 7),
)
async def test_every_filter_pages_newest_first_and_complete(
    redis_url: str, prefix: str, history: list[tuple[Severity, Status, bool]], limit: int
) -> None:
    """Whatever the statuses and severity changes, each filter x severity pages exactly its set."""
    # A fresh store per example, under the test's prefix (so the fixture still cleans up).
    store = IncidentStore.from_url(redis_url, f"{prefix}{next(_examples)}:")
    try:
        await _run_history(store, history, limit)
    finally:
        await store.close()


async def _run_history(
    store: IncidentStore, history: list[tuple[Severity, Status, bool]], limit: int
) -> None:
    for severity, status, bump in history:
        incident, _ = await store.create(title="t", severity=severity, actor="U1", now=NOW)
        if status is Status.IN_PROGRESS or status is Status.RESOLVED:
            await store.transition(incident.id, status, actor="U1", now=NOW)
        if bump:
            await store.set_severity(incident.id, Severity.SEV1, actor="U1", now=NOW)
    incidents = [i async for i in store.scan()]
    for which, severity in itertools.product(ListFilter, [None, *Severity]):
        assert await _all_pages(store, which, severity, limit) == _expected(
            incidents, which, severity
        ), (which, severity)
    report = await check(store)
    assert report.ok, report.problems


async def test_dedupe_ttl_is_per_call_and_restarts_on_each_sighting(
    store: IncidentStore, redis_url: str
) -> None:
    first, new = await store.create(
        title="a", severity=Severity.SEV2, actor="am", now=NOW, dedupe_key="alert:g", dedupe_ttl=900
    )
    assert new and await store.deduped("alert:g") == first.id
    key = f"{store.prefix}d:alert:g"
    redis = Redis.from_url(redis_url)
    await redis.expire(key, 10)
    again, new_again = await store.create(
        title="a", severity=Severity.SEV2, actor="am", now=NOW, dedupe_key="alert:g", dedupe_ttl=900
    )
    assert not new_again and again.id == first.id
    assert 890 < await redis.ttl(key) <= 900
    await redis.aclose()
    assert await store.deduped("alert:other") is None


async def test_upgrade_indexes_a_store_of_the_previous_layout(
    store: IncidentStore, redis_url: str, prefix: str
) -> None:
    for severity, status in [(Severity.SEV1, Status.OPEN), (Severity.SEV2, Status.RESOLVED)] * 3:
        incident, _ = await store.create(title="t", severity=severity, actor="U1", now=NOW)
        await store.transition(incident.id, status, actor="U1", now=NOW)
    assert await store.upgrade() == 0  # up to date: nothing to do
    # The previous layout: per-status sets, no status x severity ones.
    redis = Redis.from_url(redis_url)
    old = [k async for k in redis.scan_iter(match=f"{prefix}x:id:*")]
    await redis.delete(*old)
    await redis.zadd(f"{prefix}x:open", {"1": 1, "3": 3, "5": 5})
    await redis.zadd(f"{prefix}x:resolved", {"2": 2, "4": 4, "6": 6})
    assert not (await check(store)).ok
    assert await store.upgrade() == 6
    report = await check(store)
    assert report.ok, report.problems
    assert not await redis.exists(f"{prefix}x:open", f"{prefix}x:resolved")
    assert [i.id for i in (await store.page(ListFilter.OPEN)).incidents] == [5, 3, 1]
    assert await store.upgrade() == 0
    await redis.aclose()
