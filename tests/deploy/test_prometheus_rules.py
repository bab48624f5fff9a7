"""The Prometheus config and rules of k8s/prometheus, checked by promtool (Debian's 2.42).

Debian builds Prometheus without Kubernetes service discovery, so `promtool check config` runs on
a copy whose kubernetes_sd_configs blocks are swapped for a static target; the discovery blocks
themselves are checked here against the pods they must find.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import (
    ALERTMANAGER_TARGET,
    NAMESPACE,
    PROMTOOL_TESTS,
    Doc,
    alerting_rules,
    find_tool,
    load_yaml,
    recording_rules,
    run,
    static_prometheus_config,
)

Lookup = Callable[[str, str], Doc]
UNIT_TESTS = sorted(PROMTOOL_TESTS.glob("*.test.yml"))


def _job(config: Doc, name: str) -> Doc:
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == name]
    return job


def _relabel_matches(rules: list[Doc], labels: dict[str, str]) -> bool:
    """Apply the keep/drop rules of a relabel_configs list to one target's labels."""
    for rule in rules:
        action = rule.get("action", "replace")
        if action not in ("keep", "drop"):
            continue
        value = rule.get("separator", ";").join(labels.get(s, "") for s in rule["source_labels"])
        matched = re.fullmatch(rule.get("regex", "(.*)"), value) is not None
        if (action == "keep") != matched:
            return False
    return True


def _pod_targets(pod_labels: dict[str, str], container: Doc) -> list[dict[str, str]]:
    """The targets kubernetes_sd (role pod) makes of one container: one per declared port."""
    meta = {
        f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v
        for k, v in pod_labels.items()
    }
    meta["__meta_kubernetes_namespace"] = NAMESPACE
    return [
        {
            **meta,
            "__meta_kubernetes_pod_container_port_name": port.get("name", ""),
            "__meta_kubernetes_pod_container_port_number": str(port["containerPort"]),
        }
        for port in container.get("ports", [])
    ]


def test_discovery_finds_exactly_the_bot_metrics_ports(
    prometheus_config: Doc, objects: list[Doc]
) -> None:
    job = _job(prometheus_config, "incidentwatch")
    (sd,) = job["kubernetes_sd_configs"]
    assert sd["role"] == "pod"
    assert sd["namespaces"]["names"] == [NAMESPACE]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    kept = []
    for workload in (doc for doc in objects if doc["kind"] in {"Deployment", "StatefulSet"}):
        template = workload["spec"]["template"]
        for container in template["spec"]["containers"]:
            for target in _pod_targets(template["metadata"]["labels"], container):
                if _relabel_matches(job["relabel_configs"], target):
                    kept.append((workload["metadata"]["name"], target))
    assert [(name, t["__meta_kubernetes_pod_container_port_number"]) for name, t in kept] == [
        ("incidentwatch", "9100")
    ]
    target_labels = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"namespace", "pod"} <= target_labels  # the alerts' annotations name the pod


def test_discovery_has_the_rbac_it_needs(by_kind: Lookup) -> None:
    role = by_kind("Role", "prometheus-discovery")
    pods = [r for r in role["rules"] if "pods" in r["resources"] and r["apiGroups"] == [""]]
    assert pods and {"list", "watch"} <= set(pods[0]["verbs"])


def test_every_job_is_the_same_in_the_static_copy(prometheus_config: Doc) -> None:
    derived = static_prometheus_config(prometheus_config, ["127.0.0.1:9100"], ["rules.yml"])
    assert [j["job_name"] for j in derived["scrape_configs"]] == [
        j["job_name"] for j in prometheus_config["scrape_configs"]
    ]
    assert "kubernetes_sd_configs" not in yaml.safe_dump(derived)
    assert _job(derived, "incidentwatch")["static_configs"] == [{"targets": ["127.0.0.1:9100"]}]


def test_alerts_go_to_the_alertmanager_service(prometheus_config: Doc, by_kind: Lookup) -> None:
    (entry,) = prometheus_config["alerting"]["alertmanagers"]
    assert entry.get("scheme", "http") == "http"
    assert entry.get("api_version", "v2") == "v2"  # Alertmanager 0.27+ serves only v2
    assert entry.get("path_prefix", "/") == "/"
    assert entry["static_configs"] == [{"targets": [ALERTMANAGER_TARGET]}]
    # That address is the Service alertmanager's, on the port of the Alertmanager container.
    host, port = ALERTMANAGER_TARGET.rsplit(":", 1)
    name, namespace, *_ = host.split(".")
    svc = by_kind("Service", name)
    assert svc["metadata"]["namespace"] == namespace == NAMESPACE
    assert [p["port"] for p in svc["spec"]["ports"]] == [int(port)]


def test_the_static_copy_keeps_the_alerting_block_or_points_it_elsewhere(
    prometheus_config: Doc,
) -> None:
    kept = static_prometheus_config(prometheus_config, ["127.0.0.1:9100"], ["rules.yml"])
    assert kept["alerting"] == prometheus_config["alerting"]  # promtool checks the real one
    local = static_prometheus_config(
        prometheus_config, ["127.0.0.1:9100"], ["rules.yml"], alertmanagers=["127.0.0.1:9093"]
    )
    (entry,) = local["alerting"]["alertmanagers"]
    assert entry["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]
    assert prometheus_config["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": [ALERTMANAGER_TARGET]}
    ]


def test_promtool_check_config(
    prometheus_config: Doc, rule_files: list[Path], tmp_path: Path
) -> None:
    promtool = find_tool("promtool")
    derived = static_prometheus_config(prometheus_config, ["127.0.0.1:9100"], rule_files)
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(derived, sort_keys=False))
    result = run([promtool, "check", "config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    # ... and the rule files were checked as part of it.
    assert f"SUCCESS: {len(_all_rules(rule_files))} rules found" in result.stdout + result.stderr


def test_promtool_check_rules(rule_files: list[Path]) -> None:
    result = run([find_tool("promtool"), "check", "rules", *map(str, rule_files)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    assert UNIT_TESTS
    result = run([find_tool("promtool"), "test", "rules", *map(str, UNIT_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_load_the_shipped_rules(rule_files: list[Path]) -> None:
    for path in UNIT_TESTS:
        listed = {(path.parent / f).resolve() for f in load_yaml(path)["rule_files"]}
        assert listed == {f.resolve() for f in rule_files}


def _all_rules(rule_files: list[Path]) -> list[Doc]:
    return [r for p in rule_files for g in load_yaml(p)["groups"] for r in g["rules"]]


def _alert_cases() -> list[Doc]:
    return [
        case
        for path in UNIT_TESTS
        for t in load_yaml(path)["tests"]
        for case in t.get("alert_rule_test", [])
    ]


def _expr_cases() -> list[Doc]:
    return [
        case
        for path in UNIT_TESTS
        for t in load_yaml(path)["tests"]
        for case in t.get("promql_expr_test", [])
    ]


def test_every_alert_is_shown_firing_and_not_firing(rule_groups: list[Doc]) -> None:
    cases = _alert_cases()
    for rule in alerting_rules(rule_groups):
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c.get("exp_alerts") for c in mine), f"{rule['alert']} never shown firing"
        assert any(not c.get("exp_alerts") for c in mine), f"{rule['alert']} never shown silent"


def test_every_recording_rule_has_a_known_answer(rule_groups: list[Doc]) -> None:
    tested = {c["expr"] for c in _expr_cases() if c.get("exp_samples")}
    for rule in recording_rules(rule_groups):
        assert rule["record"] in tested, f"{rule['record']} has no promql_expr_test"


def test_alerts_carry_severity_and_text(rule_groups: list[Doc]) -> None:
    for rule in alerting_rules(rule_groups):
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.parametrize(
    ("alert", "fragment"),
    [
        (
            "IncidentWatchSev1Unacknowledged",
            'incidentwatch_oldest_unacknowledged_seconds{severity="sev1"}',
        ),
        ("IncidentWatchSev1Unacknowledged", "> 300"),
        ("IncidentWatchIncidentActiveTooLong", "incidentwatch_oldest_active_seconds"),
        ("IncidentWatchBotDown", 'up{job="incidentwatch"} == 0'),
        ("IncidentWatchBotAbsent", 'absent(up{job="incidentwatch"})'),
        ("IncidentWatchStoreUnreachable", "incidentwatch_store_up == 0"),
        ("IncidentWatchSlackApiErrors", "incidentwatch_slack_api_errors_total"),
        ("IncidentWatchRedisErrors", "incidentwatch_redis_errors_total"),
    ],
)
def test_the_alerts_the_issue_asks_for(alert: str, fragment: str, rule_groups: list[Doc]) -> None:
    (rule,) = [r for r in alerting_rules(rule_groups) if r["alert"] == alert]
    assert fragment in rule["expr"]


def test_the_bot_job_name_matches_the_alerts(
    prometheus_config: Doc, rule_groups: list[Doc]
) -> None:
    jobs = {j["job_name"] for j in prometheus_config["scrape_configs"]}
    for rule in alerting_rules(rule_groups):
        for job in re.findall(r'job="([^"]+)"', rule["expr"]):
            assert job in jobs


def test_replica_safe_aggregation(rule_groups: list[Doc]) -> None:
    """Redis-derived figures are identical on every replica: max them, never sum them."""
    redis_derived = (
        "incidentwatch_incidents",
        "incidentwatch_incidents_opened_total",
        "incidentwatch_incidents_resolved_total",
        "incidentwatch_oldest_",
    )
    for rule in recording_rules(rule_groups) + alerting_rules(rule_groups):
        expr: Any = rule["expr"]
        if any(name in expr for name in redis_derived):
            assert "sum" not in expr, rule.get("record", rule.get("alert"))
