"""Recompute counts and indexes from the stored incidents and compare (`python -m bot check`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.domain.incident import Severity, Status
from bot.store.redis_store import IncidentStore


@dataclass
class Report:
    incidents: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check(store: IncidentStore) -> Report:
    """O(N) in incidents: meant for operators and tests, never for a request path."""
    report = Report()
    counts: Counter[tuple[Status, Severity]] = Counter()
    expected: dict[str, set[int]] = {"all": set(), "active": set()}
    for severity in Severity:
        for name in ("open", "active", *(f"id:{status}" for status in Status)):
            expected[f"{name}:{severity}"] = set()
    async for incident in store.scan():
        report.incidents += 1
        counts[(incident.status, incident.severity)] += 1
        expected["all"].add(incident.id)
        expected[f"id:{incident.status}:{incident.severity}"].add(incident.id)
        if incident.status is not Status.RESOLVED:
            expected["active"].add(incident.id)
            expected[f"active:{incident.severity}"].add(incident.id)
        if incident.status is Status.OPEN:
            expected[f"open:{incident.severity}"].add(incident.id)
    snapshot = await store.snapshot()
    for key, stored in snapshot.counts.items():
        if stored != counts[key]:
            status, severity = key
            report.problems.append(
                f"count {status}/{severity} is {stored}, but {counts[key]} incidents have it"
            )
    for name, ids in expected.items():
        indexed = await store.index_ids(name)
        if indexed != ids:
            missing, extra = sorted(ids - indexed)[:5], sorted(indexed - ids)[:5]
            report.problems.append(f"index {name}: missing {missing}, unexpected {extra}")
    last = await store.last_id()
    if expected["all"] and max(expected["all"]) > last:
        report.problems.append(f"id counter {last} is below the highest id {max(expected['all'])}")
    return report
