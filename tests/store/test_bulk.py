"""BulkWriter: pipelined writes leave exactly what the store's own one-at-a-time writes leave."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.domain.incident import EventKind, Severity, Status
from bot.store.bulk import BulkWriter, created_id
from bot.store.consistency import check
from bot.store.redis_store import IncidentStore, StoreUnavailable

NOW = 1_700_000_000.0


async def test_bulk_history_matches_the_store_and_stays_consistent(
    store: IncidentStore, redis_url: str, prefix: str
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        bulk = BulkWriter(redis, prefix)
        for i in range(30):
            bulk.create(title=f"t{i}", severity=list(Severity)[i % 4], actor="U0A", now=NOW + i)
        assert len(bulk) == 30
        ids = [created_id(reply) for reply in await bulk.flush()]
        assert ids == list(range(1, 31))
        for number in ids[:20]:
            bulk.transition(number, Status.IN_PROGRESS, actor="U0B", now=NOW + 100)
        for number in ids[:10]:
            bulk.transition(number, Status.RESOLVED, actor="U0B", now=NOW + 200)
            bulk.add_note(number, "root cause: a cable", actor="U0B", now=NOW + 300)
        bulk.assign(ids[25], "U0C", actor="U0B", now=NOW + 400)
        replies = await bulk.flush()
        assert [r[0] for r in replies[:3]] == ["ok", "ok", "ok"]
    finally:
        await redis.aclose()

    # The same incident, made one write at a time, reads back identically (but for its id).
    one, _ = await store.create(title="t0", severity=Severity.SEV1, actor="U0A", now=NOW)
    await store.transition(one.id, Status.IN_PROGRESS, actor="U0B", now=NOW + 100)
    await store.transition(one.id, Status.RESOLVED, actor="U0B", now=NOW + 200)
    await store.add_note(one.id, "root cause: a cable", actor="U0B", now=NOW + 300)
    bulk_made, bulk_events, _ = await store.get_with_timeline(1)
    store_made, store_events, _ = await store.get_with_timeline(one.id)
    assert bulk_made is not None and store_made is not None
    assert bulk_made.model_copy(update={"id": one.id}) == store_made
    assert bulk_events == store_events
    assert [e.kind for e in bulk_events] == [
        EventKind.OPENED,
        EventKind.STATUS,
        EventKind.STATUS,
        EventKind.NOTE,
    ]
    assigned = await store.get(26)
    assert assigned is not None and assigned.assignee == "U0C"

    snap = await store.snapshot()
    assert sum(n for (status, _), n in snap.counts.items() if status is Status.RESOLVED) == 11
    report = await check(store)
    assert report.ok, report.problems
    assert report.incidents == 31


async def test_empty_flush_sends_nothing_and_bad_input_is_refused_before_queueing(
    redis_url: str, prefix: str
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        bulk = BulkWriter(redis, prefix)
        assert await bulk.flush() == []
        with pytest.raises(ValueError):
            bulk.create(title=" ", severity=Severity.SEV1, actor="U0A", now=NOW)
        assert len(bulk) == 0
    finally:
        await redis.aclose()


async def test_unreachable_redis_is_store_unavailable(prefix: str) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        bulk = BulkWriter(redis, prefix)
        bulk.create(title="t", severity=Severity.SEV1, actor="U0A", now=NOW)
        with pytest.raises(StoreUnavailable):
            await bulk.flush()
    finally:
        await redis.aclose()
