"""A real Prometheus scrapes the real bot; every dashboard query and recording rule has data.

The bot is `python -m bot` in HTTP mode against the Slack stand-in and the test Redis (the shared
fixture bot_driver). Prometheus is Debian's `prometheus` binary with the config of k8s/ (its
kubernetes_sd block swapped for a static target at the bot's metrics port, the same rule files),
on a free port, scraping and evaluating every second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    Doc,
    Prometheus,
    dashboard_queries,
    grafana_to_promql,
    recording_rules,
    run_prometheus,
    static_prometheus_config,
)
from harness import BotProcess, free_port
from slack_requests import SlackDriver

pytestmark = pytest.mark.e2e

SCRAPE = "1s"
# Grafana's $__rate_interval is at least four scrape intervals; a minute spans all of this test.
RATE_INTERVAL = "1m"


@pytest.fixture
async def prometheus(
    bot_driver: tuple[BotProcess, SlackDriver],
    prometheus_config: Doc,
    rule_files: list[Path],
    tmp_path: Path,
) -> AsyncIterator[Prometheus]:
    bot, _ = bot_driver
    port = free_port()
    config = static_prometheus_config(
        prometheus_config, [f"127.0.0.1:{bot.metrics_port}"], rule_files
    )
    config["global"].update(
        scrape_interval=SCRAPE, scrape_timeout=SCRAPE, evaluation_interval=SCRAPE
    )
    for job in config["scrape_configs"]:
        if job["job_name"] == "prometheus":  # k8s/ has it at localhost:9090; here a free port
            job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
    async with run_prometheus(config, port, tmp_path) as server:
        yield server


async def _wait_for(
    prometheus: Prometheus, exprs: dict[str, str], timeout: float = 30.0
) -> dict[str, list[dict[str, Any]]]:
    """Poll until every expression returns at least one sample; the last results by name."""
    deadline = time.monotonic() + timeout
    while True:
        results = {name: await prometheus.query(expr) for name, expr in exprs.items()}
        empty = sorted(name for name, result in results.items() if not result)
        if not empty:
            return results
        if time.monotonic() > deadline:
            missing = "\n  ".join(f"{name}: {exprs[name]}" for name in empty)
            raise AssertionError(
                f"no data after {timeout:.0f}s for:\n  {missing}\n{prometheus.log_text()}"
            )
        await asyncio.sleep(0.5)


def _value(result: list[dict[str, Any]], **labels: str) -> float:
    (sample,) = [s for s in result if labels.items() <= s["metric"].items()]
    return float(sample["value"][1])


async def test_every_dashboard_query_and_recording_rule_has_data(
    bot_driver: tuple[BotProcess, SlackDriver],
    prometheus: Prometheus,
    dashboard: Doc,
    rule_groups: list[Doc],
) -> None:
    bot, driver = bot_driver
    # Every query of the dashboard, as Grafana sends it, and every recording rule's series.
    exprs = {
        where: grafana_to_promql(expr, RATE_INTERVAL)
        for where, expr in dashboard_queries(dashboard)
    }
    exprs |= {f"rule {rule['record']}": rule["record"] for rule in recording_rules(rule_groups)}

    # A fresh install (no incident ever): every panel already has data.
    await _wait_for(prometheus, {"bot up": 'up{job="incidentwatch"} == 1'})
    await _wait_for(prometheus, exprs)

    # A few incidents through the real Slack requests: opened, acknowledged, resolved.
    for text in ("open sev1 Checkout API returns 502", "open sev2 Slow search", "open sev3 Typo"):
        reply = await driver.command(text)
        assert reply.status == 200, reply.body_text
    for text in ("ack 1", "resolve 1 rolled back", "resolve 2 cache warmed"):
        reply = await driver.command(text)
        assert reply.status == 200, reply.body_text
    assert await bot.metric('incidentwatch_incidents{severity="sev1",status="resolved"}') == 1
    results = await _wait_for(prometheus, exprs)

    # The data is the truth of what just happened, not merely present.
    sev1 = '{severity="sev1"}'
    figures = await _wait_for(
        prometheus,
        {
            "resolved sev1": "status_severity:incidentwatch_incidents:max"
            '{status="resolved",severity="sev1"} == 1',
            "open now": "max(incident_open_total) == 1",
            "opened sev1": f"severity:incidentwatch_incidents_opened:increase1h{sev1} > 0",
            "acked sev1": f"severity:incidentwatch_time_to_acknowledge_seconds:p50_1d{sev1} >= 0",
            "requests": "sum(rate(request_count_total[1m])) > 0",
        },
    )
    assert _value(figures["open now"]) == 1
    by_status = results["By status and severity / A"]
    assert len(by_status) == 12  # every status x severity, zeros included
    assert not await prometheus.query('ALERTS{alertname="IncidentWatchBotDown"}')
    targets = await prometheus.get("/api/v1/targets")
    health = {t["labels"]["job"]: t["health"] for t in targets["data"]["activeTargets"]}
    assert health == {"prometheus": "up", "incidentwatch": "up"}
    rules = await prometheus.get("/api/v1/rules")
    for group in rules["data"]["groups"]:
        for rule in group["rules"]:
            assert rule["health"] == "ok", rule
