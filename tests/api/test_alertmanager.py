"""The Alertmanager webhook: payload mapping, and a real Alertmanager routing to the real bot."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from api_client import API_TOKEN, CHANNEL, ApiClient
from deploy.deploy_support import find_tool
from harness import BotProcess, free_port, run_bot
from slack_standin import SlackStandin

from bot.api.alertmanager import alerts_text, link_key, severity_of, title_of
from bot.api.models import AlertmanagerPayload
from bot.config import parse_severity_map
from bot.domain.incident import NOTE_MAX, TITLE_MAX, Severity, Status
from bot.store.redis_store import IncidentStore

WEBHOOK = "/api/v1/alertmanager"
DEFAULT_MAP = parse_severity_map("critical=sev1,error=sev2,warning=sev3,info=sev4")


def payload(status: str = "firing", group: str = '{}:{alertname="Errors"}', **extra: Any) -> Any:
    alert = {
        "status": status,
        "labels": {"alertname": "Errors", "severity": "critical", "instance": "api-1"},
        "annotations": {"summary": "Checkout 5xx above 5%"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=errors",
        "fingerprint": "abc",
    }
    body = {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incidentwatch",
        "groupLabels": {"alertname": "Errors"},
        "commonLabels": {"alertname": "Errors", "severity": "critical"},
        "commonAnnotations": {"summary": "Checkout 5xx above 5%"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    }
    body.update(extra)
    return body


def test_title_severity_and_text_of_a_group() -> None:
    parsed = AlertmanagerPayload.model_validate(payload())
    assert title_of(parsed) == "Checkout 5xx above 5%"
    assert severity_of(parsed, DEFAULT_MAP) is Severity.SEV1
    no_summary = AlertmanagerPayload.model_validate(payload(commonAnnotations={}))
    assert title_of(no_summary) == "Errors"
    bare = AlertmanagerPayload.model_validate(
        payload(commonAnnotations={}, commonLabels={}, groupLabels={"job": "api", "env": "prod"})
    )
    assert title_of(bare) == "env=prod job=api"
    long = AlertmanagerPayload.model_validate(payload(commonAnnotations={"summary": "s" * 400}))
    assert len(title_of(long)) == TITLE_MAX

    def sev(*labels: str, mapping: dict[str, Severity] = DEFAULT_MAP) -> Severity:
        alerts = [{"status": "firing", "labels": {"severity": label}} for label in labels] + [
            {"status": "resolved", "labels": {"severity": "critical"}}
        ]
        body = payload(commonLabels={}, alerts=alerts)
        return severity_of(AlertmanagerPayload.model_validate(body), mapping)

    assert sev("warning", "error") is Severity.SEV2  # the most severe firing one
    assert sev("info") is Severity.SEV4  # resolved alerts don't count
    assert sev("Page") is Severity.SEV3 and sev() is Severity.SEV3  # unmapped: the default
    assert sev("sev2") is Severity.SEV2
    assert sev("page", mapping=parse_severity_map("page=sev1")) is Severity.SEV1

    many = [
        {"status": "firing", "labels": {"alertname": "Errors", "instance": f"api-{i}"}}
        for i in range(25)
    ]
    text = alerts_text(
        AlertmanagerPayload.model_validate(payload(alerts=many, truncatedAlerts=5)), NOTE_MAX
    )
    assert text.startswith("25 firing, 0 resolved, 5 more not sent:")
    assert "instance=api-9" in text and "instance=api-10" not in text and "… and 15 more" in text
    huge = [{"status": "firing", "annotations": {"summary": "x" * 900}}] * 10
    assert len(alerts_text(AlertmanagerPayload.model_validate(payload(alerts=huge)), 500)) == 500
    assert link_key("a" * 5000) == link_key("a" * 5000) != link_key("b")
    assert len(link_key("a" * 5000)) == len("alert:") + 32


async def test_a_group_opens_once_notes_reopens_and_resolves(
    api: ApiClient, standin: SlackStandin
) -> None:
    async def send(body: Any, channel: str | None = None) -> dict[str, Any]:
        params = {"channel": channel} if channel else None
        reply = await api.call("POST", WEBHOOK, body, params=params)
        assert reply.status == 200, reply
        return dict(reply.body)

    opened = await send(payload(), channel="C0ALERTS")
    assert opened["action"] == "opened"
    incident = opened["incident"]
    assert (incident["title"], incident["severity"], incident["created_by"]) == (
        "Checkout 5xx above 5%",
        "sev1",
        "alertmanager",
    )
    assert "instance=api-1" in incident["description"]
    (post,) = await standin.wait_for_call("chat.postMessage")
    assert post.args["channel"] == "C0ALERTS"

    again = await send(payload())
    assert again["action"] == "noted" and again["incident"]["id"] == incident["id"]
    resolved = await send(payload("resolved"))
    assert resolved["action"] == "resolved" and resolved["incident"]["status"] == "resolved"
    assert (await send(payload("resolved")))["action"] == "unchanged"
    reopened = await send(payload())
    assert reopened["action"] == "reopened" and reopened["incident"]["status"] == "open"
    other = await send(payload(group='{}:{alertname="Latency"}'))
    assert other["action"] == "opened" and other["incident"]["id"] != incident["id"]
    assert (await send(payload("resolved", group="never-fired")))["action"] == "ignored"

    shown = await api.call("GET", f"/api/v1/incidents/{incident['id']}")
    kinds = [(e["kind"], e["value"]) for e in shown.body["timeline"]]
    assert kinds == [
        ("opened", "sev1"),
        ("note", ""),
        ("status", "resolved"),
        ("status", "open"),
    ]
    assert shown.body["timeline"][1]["note"].startswith("Still firing: 1 firing, 0 resolved")
    assert shown.body["timeline"][2]["note"] == "resolved by Alertmanager"
    assert shown.body["timeline"][3]["note"].startswith("Firing again:")
    # The group's message was refreshed in place for each change.
    updates = await standin.wait_for_call("chat.update", 3)
    assert {u.args["ts"] for u in updates} == {post.reply["ts"]}

    bad = await api.call("POST", WEBHOOK, {**payload(), "version": "3"})
    assert bad.status == 400 and "version" in bad.detail
    assert (await api.call("POST", WEBHOOK, payload(), token=None)).status == 401


async def test_auto_resolve_off_only_notes(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    async with run_bot(
        standin,
        redis_url=redis_url,
        prefix=prefix,
        API_TOKEN=API_TOKEN,
        ALERT_AUTO_RESOLVE="false",
        ALERT_SEVERITY_MAP="critical=sev2",
    ) as bot:
        client = ApiClient(bot)
        try:
            opened = await client.call("POST", WEBHOOK, payload())
            assert opened.body["incident"]["severity"] == "sev2"
            reply = await client.call("POST", WEBHOOK, payload("resolved"))
            assert reply.body["action"] == "noted"
            assert reply.body["incident"]["status"] == "open"
        finally:
            await client.close()


# A real Alertmanager, started by the test, routing to the bot's webhook.

ALERTMANAGER_BIN = "prometheus-alertmanager"  # Debian's name (.ci/run installs it)
K8S_CONFIG = Path(__file__).resolve().parents[2] / "k8s" / "alertmanager" / "alertmanager.yml"


def alertmanager_config(webhook_url: str, token_file: Path) -> str:
    """The shipped k8s config, pointed at the test's bot and token file, with timings in
    fractions of a second instead of minutes."""
    config = yaml.safe_load(K8S_CONFIG.read_text())
    config["route"].update(group_wait="100ms", group_interval="1s")
    (hook,) = config["receivers"][0]["webhook_configs"]
    hook["url"] = webhook_url
    hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return str(yaml.safe_dump(config))


def test_shipped_config_is_valid_for_alertmanager() -> None:
    checked = subprocess.run(
        [find_tool("amtool"), "check-config", str(K8S_CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (hook,) = yaml.safe_load(K8S_CONFIG.read_text())["receivers"][0]["webhook_configs"]
    assert hook["url"].endswith(f"incidentwatch-service.monitoring.svc.cluster.local:3000{WEBHOOK}")
    assert hook["send_resolved"] is True


@pytest.fixture
async def alertmanager(api_bot: BotProcess, tmp_path: Path) -> AsyncIterator[str]:
    binary = find_tool(ALERTMANAGER_BIN)
    token_file = tmp_path / "token"
    token_file.write_text(API_TOKEN)
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(f"http://127.0.0.1:{api_bot.port}{WEBHOOK}", token_file))
    port = free_port()
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip: one instance, no ports beyond this one
            stdout=log_file,
            stderr=log_file,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await _until(lambda: _ready(url), 20, lambda: log_path.read_text())
        yield url
    finally:
        proc.terminate()
        await proc.wait()


async def _ready(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/-/ready") as reply:
            return reply.status == 200
    except aiohttp.ClientError:
        return False


async def _until(check: Any, seconds: float, explain: Any) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds}s; {explain()}")


def _alert(instance: str, ends: datetime | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    alert: dict[str, Any] = {
        "labels": {"alertname": "CheckoutErrors", "severity": "critical", "instance": instance},
        "annotations": {"summary": "Checkout 5xx above 5%"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://prometheus.example/graph",
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return alert


async def test_real_alertmanager_opens_notes_and_resolves(
    alertmanager: str,
    api_bot: BotProcess,
    standin: SlackStandin,
    redis_url: str,
    prefix: str,
) -> None:
    store = IncidentStore.from_url(redis_url, prefix)

    async def post_alerts(alerts: list[dict[str, Any]]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{alertmanager}/api/v2/alerts", json=alerts) as reply,
        ):
            assert reply.status == 200, await reply.text()

    async def timeline_has(text: str) -> bool:
        incident, events, _ = await store.get_with_timeline(1)
        return incident is not None and any(text in e.note for e in events)

    def explain() -> str:
        return f"bot log:\n{api_bot.log_text()[-2000:]}"

    try:
        await post_alerts([_alert("api-1")])
        incident = await _until(lambda: store.get(1), 15, explain)
        assert (incident.title, incident.severity, incident.created_by) == (
            "Checkout 5xx above 5%",
            Severity.SEV1,
            "alertmanager",
        )
        (post,) = await standin.wait_for_call("chat.postMessage", timeout=10)
        assert post.args["channel"] == CHANNEL and "Checkout 5xx" in post.args["text"]

        # A second alert joins the group: a note on the same incident, not a new one.
        await post_alerts([_alert("api-1"), _alert("api-2")])
        await _until(lambda: timeline_has("2 firing"), 15, explain)
        assert await store.get(2) is None

        # Both resolved (endsAt in the past): the incident is resolved.
        past = datetime.now(UTC) - timedelta(seconds=5)
        await post_alerts([_alert("api-1", past), _alert("api-2", past)])
        await _until(lambda: timeline_has("resolved by Alertmanager"), 15, explain)
        resolved = await store.get(1)
        assert resolved is not None and resolved.status is Status.RESOLVED
        assert resolved.status_by == "alertmanager"
        updates = await standin.wait_for_call("chat.update", 2, timeout=10)
        assert "Resolved" in updates[-1].args["text"]
        assert await store.get(2) is None
    finally:
        await store.close()
