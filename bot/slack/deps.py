"""What every listener needs, passed in explicitly (no globals), plus request timing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter

from bot.observability.metrics import Metrics
from bot.service.incidents import IncidentService
from bot.slack.background import BackgroundTasks
from bot.slack.effects import SlackEffects


@dataclass(frozen=True)
class SlackDeps:
    service: IncidentService
    metrics: Metrics
    effects: SlackEffects
    tasks: BackgroundTasks
    clock: Callable[[], float]

    @contextmanager
    def timed(self, label: Callable[[], str]) -> Iterator[None]:
        """Count one Slack request and time it until the ack, under a label known at the end."""
        self.metrics.requests.inc()
        started = perf_counter()
        try:
            yield
        finally:
            self.metrics.handler_seconds.labels(label()).observe(perf_counter() - started)
