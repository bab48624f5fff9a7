"""Prometheus metric definitions; incident counts are filled from Redis at scrape time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.domain.commands import COMMAND_NAMES
from bot.domain.incident import Incident, Severity, Status

# From a minute to a week: incident response is measured in minutes to days.
RESPONSE_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800)
# Handler latencies from half a millisecond to Slack's 3-second deadline.
HANDLER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)
SLACK_METHODS = (
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.open",
    "response_url",
)
# The compatibility gauges of the original service, one per status.
LEGACY_GAUGES = {
    Status.OPEN: "incident_open_total",
    Status.IN_PROGRESS: "incident_in_progress_total",
    Status.RESOLVED: "incident_resolved_total",
}


class StoreFigures:
    """What the store reported at the last scrape; None fields mean Redis could not be read."""

    def __init__(
        self,
        counts: Mapping[tuple[Status, Severity], int],
        opened: Mapping[Severity, int],
        resolved: Mapping[Severity, int],
        oldest_open_age: Mapping[Severity, float],
        oldest_active_age: Mapping[Severity, float],
    ) -> None:
        self.counts = counts
        self.opened = opened
        self.resolved = resolved
        self.oldest_open_age = oldest_open_age
        self.oldest_active_age = oldest_active_age


class _StoreCollector(Collector):
    """Yields the Redis-derived series from the figures of the current scrape (none if unread)."""

    def __init__(self) -> None:
        self.figures: StoreFigures | None = None

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "incidentwatch_store_up", "1 if the incident store (Redis) answered this scrape"
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        figures = self.figures
        if figures is None:
            return
        for status, name in LEGACY_GAUGES.items():
            legacy = GaugeMetricFamily(name, f"Incidents now {status.value} (compatibility name)")
            legacy.add_metric([], sum(figures.counts[(status, sev)] for sev in Severity))
            yield legacy
        by_label = GaugeMetricFamily(
            "incidentwatch_incidents",
            "Incidents now, by status and severity",
            labels=["status", "severity"],
        )
        for (status, sev), value in figures.counts.items():
            by_label.add_metric([status.value, sev.value], value)
        yield by_label
        yield _per_severity(
            CounterMetricFamily(
                "incidentwatch_incidents_opened",
                "Incidents opened since the store was created (same on every replica)",
                labels=["severity"],
            ),
            figures.opened,
        )
        yield _per_severity(
            CounterMetricFamily(
                "incidentwatch_incidents_resolved",
                "Incidents resolved since the store was created (same on every replica)",
                labels=["severity"],
            ),
            figures.resolved,
        )
        yield _per_severity(
            GaugeMetricFamily(
                "incidentwatch_oldest_unacknowledged_seconds",
                "Age of the oldest incident still open (not acknowledged); 0 when none",
                labels=["severity"],
            ),
            figures.oldest_open_age,
        )
        yield _per_severity(
            GaugeMetricFamily(
                "incidentwatch_oldest_active_seconds",
                "Age of the oldest open or in-progress incident; 0 when none",
                labels=["severity"],
            ),
            figures.oldest_active_age,
        )


def _per_severity(
    family: GaugeMetricFamily | CounterMetricFamily, values: Mapping[Severity, float]
) -> Metric:
    for sev in Severity:
        family.add_metric([sev.value], values.get(sev, 0))
    return family


class Metrics:
    """All of this process's metrics in one registry (no global state, so tests can make many)."""

    def __init__(self, version: str, handler_labels: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.requests = Counter(
            "request_count",
            "Requests handled: Slack commands, actions and views, and HTTP API calls",
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "incidentwatch_handler_duration_seconds",
            "Time from a Slack request arriving to its acknowledgement, by command",
            ["command"],
            buckets=HANDLER_BUCKETS,
            registry=registry,
        )
        self.api_seconds = Histogram(
            "incidentwatch_api_request_duration_seconds",
            "HTTP API request handling time, by method and route template",
            ["method", "route"],
            buckets=HANDLER_BUCKETS,
            registry=registry,
        )
        self.api_responses = Counter(
            "incidentwatch_api_responses",
            "HTTP API responses, by method, route template and status code",
            ["method", "route", "code"],
            registry=registry,
        )
        self.slack_api_errors = Counter(
            "incidentwatch_slack_api_errors",
            "Slack Web API and response_url calls that failed, by method",
            ["method"],
            registry=registry,
        )
        self.redis_errors = Counter(
            "incidentwatch_redis_errors",
            "Operations that failed because Redis was unavailable",
            registry=registry,
        )
        self.time_to_acknowledge = Histogram(
            "incidentwatch_time_to_acknowledge_seconds",
            "From opening to the first acknowledgement, by severity",
            ["severity"],
            buckets=RESPONSE_BUCKETS,
            registry=registry,
        )
        self.time_to_resolve = Histogram(
            "incidentwatch_time_to_resolve_seconds",
            "From opening to resolution, by severity",
            ["severity"],
            buckets=RESPONSE_BUCKETS,
            registry=registry,
        )
        build = Gauge(
            "incidentwatch_build_info", "Build information", ["version"], registry=registry
        )
        build.labels(version).set(1)
        self._store = _StoreCollector()
        registry.register(self._store)
        # Every known label set exists from the start, so dashboards show 0 rather than no data.
        for name in (*COMMAND_NAMES, *handler_labels):
            self.handler_seconds.labels(name)
        for method in SLACK_METHODS:
            self.slack_api_errors.labels(method)
        for sev in Severity:
            self.time_to_acknowledge.labels(sev.value)
            self.time_to_resolve.labels(sev.value)

    def observe_transition(self, incident: Incident, previous: Status) -> None:
        """Record response times when a change acknowledges or resolves an incident."""
        sev = incident.severity.value
        if (
            incident.status is Status.IN_PROGRESS
            and incident.acknowledged_at == incident.updated_at
        ):
            self.time_to_acknowledge.labels(sev).observe(incident.updated_at - incident.created_at)
        if incident.status is Status.RESOLVED and incident.resolved_at is not None:
            self.time_to_resolve.labels(sev).observe(incident.resolved_at - incident.created_at)

    def render(self, figures: StoreFigures | None) -> bytes:
        """The exposition text, with the store's figures of this scrape (None: Redis unreadable)."""
        self._store.figures = figures
        return generate_latest(self.registry)
