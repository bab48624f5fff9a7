"""Seeds incidents through the store's own scripts (BulkWriter) in a realistic mix."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis

from bot.domain.incident import Severity, Status
from bot.store.bulk import BulkWriter, created_id

BATCH = 2000  # scripts per pipeline: big enough to amortise the round trip, small replies
WORKERS = 2  # pipelines in flight: Python builds one batch while Redis runs the other
CHANNEL = "C0INCIDENT"
SPACING_SECONDS = 60.0  # one incident a minute: a million reach ~2 years back
SEVERITIES = (Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4)
SEVERITY_WEIGHTS = (5, 15, 50, 30)
FINAL_STATUS = (Status.RESOLVED, Status.IN_PROGRESS, Status.OPEN)
STATUS_WEIGHTS = (70, 10, 20)
ASSIGNED_SHARE = 0.6  # of the incidents someone acknowledged
NOTE_SHARE = 0.3
SERVICES = ("Checkout API", "Payments", "Search", "Login", "Billing DB", "CDN", "Kafka", "Mobile")
SYMPTOMS = ("returns 502", "p99 latency over SLO", "error rate above 5%", "is down",
            "disk 95% full", "consumer lag growing", "certificate expires soon")  # fmt: skip
NOTE = "Rolled back the last deploy; error rate back to normal. Follow-up: add a canary stage."
SAMPLE_SIZE = 20_000  # ids (with their status) kept for the requests that need real targets


@dataclass
class Seeded:
    """What the seeding left: totals, plus a sample of ids by status for realistic requests."""

    total: int = 0
    by_status: dict[Status, list[int]] = field(default_factory=lambda: {s: [] for s in Status})
    noted: list[int] = field(default_factory=list)

    def remember(self, number: int, status: Status, rng: random.Random) -> None:
        ids = self.by_status[status]
        if len(ids) < SAMPLE_SIZE:
            ids.append(number)
        else:  # reservoir sampling keeps a uniform sample over all seeded ids
            slot = rng.randrange(self.total)
            if slot < SAMPLE_SIZE:
                ids[slot] = number


class Seeder:
    """Adds incidents in stages (1k, then up to 100k, ...) with one clock: incident k opens
    k minutes after `base`, is acknowledged minutes later and resolved hours later."""

    def __init__(self, redis: Redis, prefix: str, base: float, seed: int = 6) -> None:
        self._redis = redis
        self._prefix = prefix
        self._base = base
        self._rng = random.Random(seed)
        self.state = Seeded()

    async def grow_to(self, n: int, existing: int) -> float:
        """Open (and move along) incidents until ids reach `n`; returns the seconds taken.
        `existing` is the current last id (requests of earlier stages opened some too)."""
        started = time.perf_counter()
        todo = list(range(existing, n))
        chunks = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
        queue: asyncio.Queue[list[int]] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)
        await asyncio.gather(*(self._worker(queue) for _ in range(WORKERS)))
        return time.perf_counter() - started

    async def add_notes(self) -> tuple[int, float]:
        """A note on NOTE_SHARE of the incidents seeded since the last call (free text, counted
        apart from the per-incident memory); returns (notes, seconds)."""
        started = time.perf_counter()
        noted, self.state.noted = self.state.noted, []
        bulk = BulkWriter(self._redis, self._prefix)
        for number in noted:
            bulk.add_note(number, NOTE, actor=self._actor(), now=self._at(number) + 7200)
            if len(bulk) >= BATCH:
                await bulk.flush()
        await bulk.flush()
        return len(noted), time.perf_counter() - started

    def _at(self, index: int) -> float:
        return self._base + index * SPACING_SECONDS

    def _actor(self) -> str:
        return f"U0USER{self._rng.randrange(50):02d}"

    async def _worker(self, queue: asyncio.Queue[list[int]]) -> None:
        bulk = BulkWriter(self._redis, self._prefix)
        rng = self._rng
        while not queue.empty():
            chunk = queue.get_nowait()
            for index in chunk:
                bulk.create(
                    title=f"{rng.choice(SERVICES)} {rng.choice(SYMPTOMS)}",
                    severity=rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
                    actor=self._actor(),
                    now=self._at(index),
                    channel=CHANNEL,
                )
            ids = [created_id(reply) for reply in await bulk.flush()]
            for index, number in zip(chunk, ids, strict=True):
                self._move_along(bulk, index, number)
            await bulk.flush()

    def _move_along(self, bulk: BulkWriter, index: int, number: int) -> None:
        rng = self._rng
        opened = self._at(index)
        final = rng.choices(FINAL_STATUS, STATUS_WEIGHTS)[0]
        acked = final is Status.IN_PROGRESS or (final is Status.RESOLVED and rng.random() < 0.7)
        if acked:
            at = opened + rng.uniform(60, 1800)
            bulk.transition(number, Status.IN_PROGRESS, actor=self._actor(), now=at)
            if rng.random() < ASSIGNED_SHARE:
                bulk.assign(number, self._actor(), actor=self._actor(), now=at + 1)
        if final is Status.RESOLVED:
            at = opened + rng.uniform(3600, 48 * 3600)
            bulk.transition(number, Status.RESOLVED, actor=self._actor(), now=at)
        if rng.random() < NOTE_SHARE:
            self.state.noted.append(number)
        self.state.total += 1
        self.state.remember(number, final, rng)
