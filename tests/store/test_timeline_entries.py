"""Timeline entries are stored as compact JSON arrays; the older object form still reads."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.incident import EventKind, Severity, Status, TimelineEvent
from bot.store.redis_store import IncidentStore

NOW = 1_700_000_000.0


async def test_entries_are_compact_and_the_object_form_still_reads(
    store: IncidentStore, redis_url: str, prefix: str
) -> None:
    incident, _ = await store.create(title="t", severity=Severity.SEV2, actor="U0A", now=NOW)
    await store.transition(incident.id, Status.RESOLVED, actor="U0B", now=NOW + 1, note="fixed")
    await store.add_note(incident.id, 'say "hi" — ünïcode', actor="U0C", now=NOW + 2.5)
    key = f"{prefix}t:{incident.id}"
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await redis.lrange(key, 0, -1) == [
            '[1700000000.0,"U0A","opened","sev2"]',
            '[1700000001.0,"U0B","status","resolved","fixed"]',
            '[1700000002.5,"U0C","note","","say \\"hi\\" — ünïcode"]',
        ]
        older = TimelineEvent(at=NOW + 3, actor="U0D", kind=EventKind.NOTE, note="from v0.1")
        await redis.rpush(key, older.model_dump_json())
    finally:
        await redis.aclose()
    _, events, total = await store.get_with_timeline(incident.id)
    assert total == 4
    assert events[0] == TimelineEvent(at=NOW, actor="U0A", kind=EventKind.OPENED, value="sev2")
    assert events[1].note == "fixed" and events[1].value == "resolved"
    assert events[2].note == 'say "hi" — ünïcode'
    assert events[3] == older
