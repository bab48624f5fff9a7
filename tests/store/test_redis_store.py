"""IncidentStore against a real Redis: ids, counts after every change, races, pages, snapshot."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.domain.commands import ListFilter
from bot.domain.incident import EventKind, Severity, Status
from bot.store.consistency import check
from bot.store.redis_store import (
    INCIDENT_FIELDS,
    IncidentStore,
    Outcome,
    StoreUnavailable,
    load_script,
)

NOW = 1_700_000_000.0


async def _open(store: IncidentStore, title: str = "db down", sev: Severity = Severity.SEV2) -> int:
    incident, created = await store.create(title=title, severity=sev, actor="U0ALICE", now=NOW)
    assert created
    return incident.id


async def test_ids_come_from_one_counter_and_are_never_reused(store: IncidentStore) -> None:
    ids = await asyncio.gather(*(_open(store, f"t{i}") for i in range(50)))
    assert sorted(ids) == list(range(1, 51))


async def test_create_stores_everything_and_counts(store: IncidentStore) -> None:
    incident, _ = await store.create(
        title="<!channel> *Checkout* & co",
        severity=Severity.SEV1,
        actor="U0ALICE",
        now=NOW,
        description="line 1\nline 2",
        channel="C1",
    )
    again = await store.get(incident.id)
    assert again == incident
    assert incident.title == "<!channel> *Checkout* & co"  # stored verbatim, escaped on render
    assert incident.status is Status.OPEN and incident.channel == "C1"
    snap = await store.snapshot()
    assert snap.counts[(Status.OPEN, Severity.SEV1)] == 1
    assert snap.opened[Severity.SEV1] == 1
    assert snap.oldest_open_since[Severity.SEV1] == NOW
    assert snap.oldest_active_since[Severity.SEV1] == NOW
    assert snap.oldest_open_since[Severity.SEV2] is None


async def test_bad_input_writes_nothing(store: IncidentStore) -> None:
    with pytest.raises(ValueError):
        await store.create(title="x" * 151, severity=Severity.SEV1, actor="U1", now=NOW)
    with pytest.raises(ValueError):
        await store.create(title="  ", severity=Severity.SEV1, actor="U1", now=NOW)
    assert (await store.page(ListFilter.ALL)).incidents == []
    assert await store.get(1) is None


async def test_lifecycle_with_counts_and_timeline(store: IncidentStore) -> None:
    number = await _open(store)
    ack = await store.transition(number, Status.IN_PROGRESS, actor="U0BOB", now=NOW + 60)
    assert ack.outcome is Outcome.OK and ack.previous == "open"
    assert ack.incident is not None and ack.incident.acknowledged_at == NOW + 60
    assert (await check(store)).ok

    same = await store.transition(number, Status.IN_PROGRESS, actor="U0CAROL", now=NOW + 61)
    assert same.outcome is Outcome.SAME
    assert same.incident is not None and same.incident.status_by == "U0BOB"

    illegal = await store.transition(number, Status.OPEN, actor="U0BOB", now=NOW + 62)
    assert illegal.outcome is Outcome.ILLEGAL and illegal.previous == "in_progress"

    done = await store.transition(number, Status.RESOLVED, actor="U0BOB", now=NOW + 600, note="ok")
    assert done.incident is not None and done.incident.resolved_at == NOW + 600
    snap = await store.snapshot()
    assert snap.resolved[Severity.SEV2] == 1
    assert snap.oldest_active_since[Severity.SEV2] is None
    assert (await check(store)).ok

    reopened = await store.transition(number, Status.OPEN, actor="U0BOB", now=NOW + 700)
    assert reopened.incident is not None and reopened.incident.resolved_at is None
    assert (await store.snapshot()).oldest_open_since[Severity.SEV2] == NOW + 700

    incident, events, total = await store.get_with_timeline(number)
    assert incident is not None and total == 4
    assert [e.kind for e in events] == [EventKind.OPENED] + [EventKind.STATUS] * 3
    assert events[2].note == "ok" and events[2].actor == "U0BOB"


async def test_missing_incident(store: IncidentStore) -> None:
    assert (
        await store.transition(99, Status.RESOLVED, actor="U1", now=NOW)
    ).outcome is Outcome.MISSING
    assert (await store.add_note(99, "x", actor="U1", now=NOW)).outcome is Outcome.MISSING
    assert await store.get_with_timeline(99) == (None, [], 0)


async def test_severity_change_moves_counts_and_ages(store: IncidentStore) -> None:
    number = await _open(store, sev=Severity.SEV3)
    change = await store.set_severity(number, Severity.SEV1, actor="U1", now=NOW + 5)
    assert change.outcome is Outcome.OK and change.previous == "sev3"
    snap = await store.snapshot()
    assert snap.counts[(Status.OPEN, Severity.SEV1)] == 1
    assert snap.counts[(Status.OPEN, Severity.SEV3)] == 0
    assert snap.oldest_open_since[Severity.SEV1] == NOW
    assert snap.oldest_open_since[Severity.SEV3] is None
    same = await store.set_severity(number, Severity.SEV1, actor="U1", now=NOW + 6)
    assert same.outcome is Outcome.SAME


async def test_assign_and_note(store: IncidentStore) -> None:
    number = await _open(store)
    change = await store.assign(number, "U0BOB", actor="U0ALICE", now=NOW + 1)
    assert change.incident is not None and change.incident.assignee == "U0BOB"
    assert (
        await store.assign(number, "U0BOB", actor="U0ALICE", now=NOW + 2)
    ).outcome is Outcome.SAME
    await store.add_note(number, "rolled back\nv2.3", actor="U0BOB", now=NOW + 3)
    _, events, _ = await store.get_with_timeline(number)
    assert events[-1].kind is EventKind.NOTE and events[-1].note == "rolled back\nv2.3"


async def test_twenty_concurrent_resolves_exactly_one_wins(prefix: str, redis_url: str) -> None:
    # Separate clients, as separate replicas would be.
    stores = [IncidentStore.from_url(redis_url, prefix) for _ in range(20)]
    try:
        number = await _open(stores[0])
        results = await asyncio.gather(
            *(
                s.transition(number, Status.RESOLVED, actor=f"U{i}", now=NOW)
                for i, s in enumerate(stores)
            )
        )
        assert sum(r.outcome is Outcome.OK for r in results) == 1
        assert sum(r.outcome is Outcome.SAME for r in results) == 19
        snap = await stores[0].snapshot()
        assert snap.counts[(Status.RESOLVED, Severity.SEV2)] == 1
        assert snap.resolved[Severity.SEV2] == 1
        _, _, total = await stores[0].get_with_timeline(number)
        assert total == 2
    finally:
        for s in stores:
            await s.close()


async def test_pages_are_newest_first_and_complete(store: IncidentStore) -> None:
    ids = [await _open(store, f"t{i}") for i in range(23)]
    for number in ids[::3]:
        await store.transition(number, Status.RESOLVED, actor="U1", now=NOW)
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.page(ListFilter.ALL, before=cursor, limit=10)
        seen += [i.id for i in page.incidents]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(ids, reverse=True)
    active = await store.page(ListFilter.ACTIVE, limit=100)
    assert [i.id for i in active.incidents] == [
        n for n in sorted(ids, reverse=True) if n not in ids[::3]
    ]
    resolved = await store.page(ListFilter.RESOLVED, limit=100)
    assert {i.id for i in resolved.incidents} == set(ids[::3])
    exact = await store.page(ListFilter.ALL, limit=23)
    assert exact.next_cursor is None and len(exact.incidents) == 23


async def test_dedupe_key_returns_the_first_incident(store: IncidentStore) -> None:
    first, created = await store.create(
        title="a", severity=Severity.SEV1, actor="U1", now=NOW, dedupe_key="view:V1"
    )
    again, created_again = await store.create(
        title="a", severity=Severity.SEV1, actor="U1", now=NOW, dedupe_key="view:V1"
    )
    assert created and not created_again and again.id == first.id
    assert (await store.snapshot()).counts[(Status.OPEN, Severity.SEV1)] == 1


async def test_message_location_is_kept(store: IncidentStore) -> None:
    number = await _open(store)
    await store.set_message(number, "C9", "1700000000.000100")
    incident = await store.get(number)
    assert incident is not None and (incident.channel, incident.message_ts) == (
        "C9",
        "1700000000.000100",
    )


async def test_unreachable_redis_raises_store_unavailable(prefix: str) -> None:
    dead = IncidentStore.from_url("redis://127.0.0.1:1/0", prefix, timeout=0.5)
    try:
        assert not await dead.ping()
        with pytest.raises(StoreUnavailable) as info:
            await dead.create(title="x", severity=Severity.SEV1, actor="U1", now=NOW)
        assert str(info.value) == "incident store unavailable"
    finally:
        await dead.close()


async def test_guarded_transition_refuses_sev1_and_records_the_attempt(
    store: IncidentStore,
) -> None:
    sev1 = await _open(store, sev=Severity.SEV1)
    sev2 = await _open(store, sev=Severity.SEV2)
    refused = await store.transition(sev1, Status.RESOLVED, actor="U0EVE", now=NOW, guarded=True)
    assert refused.outcome is Outcome.FORBIDDEN
    assert refused.incident is not None and refused.incident.status is Status.OPEN
    _, events, _ = await store.get_with_timeline(sev1)
    assert events[-1].kind is EventKind.REFUSED and events[-1].actor == "U0EVE"
    allowed = await store.transition(sev2, Status.RESOLVED, actor="U0EVE", now=NOW, guarded=True)
    assert allowed.outcome is Outcome.OK
    assert (await check(store)).ok


def test_scripts_return_incident_values_in_the_order_the_store_reads_them() -> None:
    common = load_script("page").split("local function incident_values")[0]
    listed = re.search(r"INCIDENT_FIELDS = \{(.*?)\}", common, re.DOTALL)
    assert listed is not None
    assert tuple(re.findall(r"'(\w+)'", listed.group(1))) == INCIDENT_FIELDS


async def test_every_field_comes_back_from_every_script(store: IncidentStore) -> None:
    number = await _open(store)
    await store.set_message(number, "C0INCIDENT", "1733300000.000100")
    assert (await store.assign(number, "U0BOB", actor="U0ALICE", now=NOW + 1)).incident
    change = await store.transition(number, Status.RESOLVED, actor="U0BOB", now=NOW + 2)
    stored = await store.get(number)
    assert change.incident == stored
    assert stored is not None and stored.resolved_at == NOW + 2 and stored.assignee == "U0BOB"
    assert stored.message_ts == "1733300000.000100"
    page = await store.page(ListFilter.RESOLVED)
    assert page.incidents == [stored]
