"""Prometheus -> Alertmanager -> the bot, each one real and configured from k8s/.

- the bot: `python -m bot` (HTTP mode, the Slack stand-in, the test Redis) with API_TOKEN set, as
  the Deployment sets it from Secret incidentwatch-api;
- Alertmanager (Debian's binary): the alertmanager.yml of the kustomize build (ConfigMap
  alertmanager-config) and the Deployment's arguments; only the webhook's host (the bot's free
  port instead of incidentwatch-service), the token file, the addresses and the waits (fractions
  of a second instead of minutes) are changed;
- Prometheus: the static copy of k8s/'s config (as in test_prometheus_scrape.py), its alerting
  block pointed at that Alertmanager, with the shipped rules and one test rule.

The test rule fires while a sev4 incident is open, so the alert is driven from Slack: opening a
sev4 makes Alertmanager open one incident for the alert group, resolving the sev4 resolves it.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml
from deploy_support import (
    WEBHOOK_PATH,
    Doc,
    Prometheus,
    find_tool,
    run_prometheus,
    static_prometheus_config,
)
from harness import BotProcess, bot_and_driver, free_port
from slack_requests import SlackDriver
from slack_standin import SlackStandin

pytestmark = pytest.mark.e2e

Lookup = Callable[[str, str], Doc]
TOKEN = "routing-test-token-0123456789abcdef0123456789"
CHANNEL = "C0ALERTS"
TEST_ALERT = "RoutingTestSev4Open"
TEST_RULES = {
    "groups": [
        {
            "name": "routing-test",
            "rules": [
                {
                    "alert": TEST_ALERT,
                    "expr": 'max(incidentwatch_incidents{severity="sev4",status="open"}) > 0',
                    "labels": {"severity": "warning"},
                    "annotations": {"summary": "A sev4 incident is open"},
                }
            ],
        }
    ]
}


async def _until(
    check: Callable[[], Awaitable[Any]], seconds: float, explain: Callable[[], str]
) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds:.0f}s; {explain()}")


def _alertmanager_args(by_kind: Lookup, config: Path, data: Path, port: int) -> list[str]:
    """The Deployment's arguments, with the file and network locations of this test."""
    (container,) = by_kind("Deployment", "alertmanager")["spec"]["template"]["spec"]["containers"]
    local = {
        "--config.file": str(config),
        "--storage.path": str(data),
        "--web.listen-address": f"127.0.0.1:{port}",
    }
    args = []
    for arg in container["args"]:
        flag, _, _ = arg.partition("=")
        args.append(f"{flag}={local[flag]}" if flag in local else arg)
    assert set(local) <= {a.partition("=")[0] for a in args}
    return args


@pytest.fixture
async def bot_with_api(
    standin: SlackStandin, redis_url: str, prefix: str
) -> AsyncIterator[tuple[BotProcess, SlackDriver]]:
    async with bot_and_driver(
        standin, redis_url=redis_url, prefix=prefix, API_TOKEN=TOKEN, INCIDENT_CHANNEL=CHANNEL
    ) as pair:
        yield pair


@dataclass
class Alertmanager:
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
async def alertmanager(
    bot_with_api: tuple[BotProcess, SlackDriver], by_kind: Lookup, tmp_path: Path
) -> AsyncIterator[Alertmanager]:
    bot, _ = bot_with_api
    config: Doc = yaml.safe_load(
        by_kind("ConfigMap", "alertmanager-config")["data"]["alertmanager.yml"]
    )
    config["route"].update(group_wait="100ms", group_interval="1s")
    (hook,) = config["receivers"][0]["webhook_configs"]
    shipped = urlsplit(hook["url"])
    assert shipped.path == WEBHOOK_PATH
    hook["url"] = shipped._replace(netloc=f"127.0.0.1:{bot.port}").geturl()
    token_file = tmp_path / "API_TOKEN"
    token_file.write_text(TOKEN)
    hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))

    port = free_port()
    args = _alertmanager_args(by_kind, config_file, tmp_path / "alertmanager-data", port)
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            find_tool("alertmanager", "prometheus-alertmanager"),
            *args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        assert proc.returncode is None, log.read_text(errors="replace")
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{url}/-/ready") as reply:
                return reply.status == 200
        except aiohttp.ClientError:
            return False

    try:
        await _until(ready, 20, lambda: log.read_text(errors="replace"))
        yield Alertmanager(url, log)
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def prometheus(
    bot_with_api: tuple[BotProcess, SlackDriver],
    alertmanager: Alertmanager,
    prometheus_config: Doc,
    rule_files: list[Path],
    tmp_path: Path,
) -> AsyncIterator[Prometheus]:
    bot, _ = bot_with_api
    test_rules = tmp_path / "routing-test.rules.yml"
    test_rules.write_text(yaml.safe_dump(TEST_RULES))
    config = static_prometheus_config(
        prometheus_config,
        [f"127.0.0.1:{bot.metrics_port}"],
        [*rule_files, test_rules],
        alertmanagers=[urlsplit(alertmanager.url).netloc],
    )
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    port = free_port()
    for job in config["scrape_configs"]:
        if job["job_name"] == "prometheus":
            job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
    async with run_prometheus(config, port, tmp_path) as server:
        yield server


async def _incidents(bot: BotProcess) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.port}/api/v1/incidents", headers=headers) as reply,
    ):
        assert reply.status == 200, await reply.text()
        body = await reply.json()
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_an_alert_opens_and_resolves_one_incident(
    bot_with_api: tuple[BotProcess, SlackDriver],
    prometheus: Prometheus,
    alertmanager: Alertmanager,
    standin: SlackStandin,
) -> None:
    bot, driver = bot_with_api

    def explain() -> str:
        return (
            f"prometheus:\n{prometheus.log_text()}\nalertmanager:\n{alertmanager.log_text()}"
            f"\nbot:\n{bot.log_text()[-3000:]}"
        )

    # Prometheus uses the Alertmanager of its alerting block (the v2 API, its default).
    async def discovered() -> list[str]:
        found = await prometheus.get("/api/v1/alertmanagers")
        return [a["url"] for a in found["data"]["activeAlertmanagers"]]

    assert await _until(discovered, 10, explain) == [f"{alertmanager.url}/api/v2/alerts"]

    async def alert_incident(status: str) -> dict[str, Any] | None:
        for incident in await _incidents(bot):
            if incident["created_by"] == "alertmanager" and incident["status"] == status:
                return incident
        return None

    # A sev4 opened in Slack: the test alert fires, Alertmanager opens an incident for its group.
    reply = await driver.command("open sev4 Disk 80% full on build agents")
    assert reply.status == 200, reply.body_text
    (sev4,) = await _incidents(bot)
    opened = await _until(lambda: alert_incident("open"), 30, explain)
    assert opened["title"] == "A sev4 incident is open"
    assert opened["severity"] == "sev3"  # severity=warning, by the default ALERT_SEVERITY_MAP
    assert opened["id"] != sev4["id"]
    posts = await standin.wait_for_call("chat.postMessage", 2)
    assert CHANNEL in {post.args["channel"] for post in posts}

    # The sev4 resolved in Slack: the alert resolves, and so does its incident.
    reply = await driver.command(f"resolve {sev4['id']} cleaned up")
    assert reply.status == 200, reply.body_text
    resolved = await _until(lambda: alert_incident("resolved"), 30, explain)
    assert resolved["id"] == opened["id"]
    # One incident for the group, never a second one.
    incidents = await _incidents(bot)
    assert [i["id"] for i in incidents if i["created_by"] == "alertmanager"] == [opened["id"]]
