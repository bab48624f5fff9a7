"""The provisioned Grafana dashboard (k8s/grafana/dashboards/incidentwatch.json).

Valid for Grafana's file provisioning, bound to the provisioned datasource by uid, every
expression valid PromQL over metrics the bot exposes (or the shipped recording rules), and the
panels the issue asks for. That each expression returns data from a real bot is proved by
test_prometheus_scrape.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from deploy_support import (
    DATASOURCE_UID,
    K8S,
    Doc,
    dashboard_queries,
    find_tool,
    grafana_to_promql,
    load_yaml,
    panels_of,
    recording_rules,
    run,
)

# The bot's metrics (DESIGN.md and the issue); histograms with their series suffixes.
BOT_METRICS = {
    "request_count_total",
    "incident_open_total",
    "incident_in_progress_total",
    "incident_resolved_total",
    "incidentwatch_incidents",
    "incidentwatch_incidents_opened_total",
    "incidentwatch_incidents_resolved_total",
    "incidentwatch_oldest_unacknowledged_seconds",
    "incidentwatch_oldest_active_seconds",
    "incidentwatch_slack_api_errors_total",
    "incidentwatch_redis_errors_total",
    "incidentwatch_store_up",
    "incidentwatch_build_info",
    "up",
} | {
    f"{histogram}_{suffix}"
    for histogram in (
        "incidentwatch_time_to_acknowledge_seconds",
        "incidentwatch_time_to_resolve_seconds",
        "incidentwatch_handler_duration_seconds",
    )
    for suffix in ("bucket", "sum", "count")
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
KEYWORDS |= {"unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    names = set(re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text))
    return {n for n in names if n.lower() not in KEYWORDS}


def test_valid_for_grafana_provisioning(dashboard: Doc) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"])
    assert dashboard["title"] == "IncidentWatch"
    assert dashboard.get("id") is None  # provisioning assigns the database id
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["panels"] and dashboard["time"]["from"].startswith("now-")
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_layout_fits_the_grid(dashboard: Doc) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_uses_the_provisioned_datasource_by_uid(dashboard: Doc) -> None:
    provisioning = load_yaml(K8S / "grafana" / "provisioning" / "datasources.yaml")
    assert provisioning["apiVersion"] == 1
    uids = {source["uid"] for source in provisioning["datasources"]}
    assert uids == {DATASOURCE_UID}
    wanted = {"type": "prometheus", "uid": DATASOURCE_UID}
    for panel in panels_of(dashboard):
        assert panel["datasource"] == wanted, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == wanted, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_the_dashboard_provider_reads_the_generated_config_map() -> None:
    providers = load_yaml(K8S / "grafana" / "provisioning" / "dashboards.yaml")
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")
    kustomization = load_yaml(K8S / "kustomization.yaml")
    (generator,) = [
        g for g in kustomization["configMapGenerator"] if g["name"] == "grafana-dashboards"
    ]
    assert generator["files"] == ["grafana/dashboards/incidentwatch.json"]


def test_every_expression_is_valid_promql(dashboard: Doc, tmp_path: Path) -> None:
    """promtool parses each query (with Grafana's $__rate_interval set) as a recording rule."""
    queries = dashboard_queries(dashboard)
    rules = [
        {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(expr, "5m")}
        for i, (_, expr) in enumerate(queries)
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([find_tool("promtool"), "check", "rules", str(path)])
    listing = "\n".join(f"  dashboard:query_{i}: {where}" for i, (where, _) in enumerate(queries))
    assert result.returncode == 0, result.stdout + result.stderr + "\n" + listing


def test_every_expression_reads_metrics_that_exist(dashboard: Doc, rule_groups: list[Doc]) -> None:
    known = BOT_METRICS | {rule["record"] for rule in recording_rules(rule_groups)}
    for where, expr in dashboard_queries(dashboard):
        unknown = metric_names(expr) - known
        assert not unknown, f"{where}: {sorted(unknown)} in {expr}"


def test_the_panels_the_issue_asks_for(dashboard: Doc) -> None:
    exprs = " ".join(expr for _, expr in dashboard_queries(dashboard))
    wanted = {
        "open / in progress / resolved now": ["incident_open_total", "incident_in_progress_total"],
        "by severity": ["incidentwatch_incidents"],
        "opened and resolved per hour": [
            "severity:incidentwatch_incidents_opened:increase1h",
            "severity:incidentwatch_incidents_resolved:increase1h",
        ],
        "time to acknowledge and to resolve": [
            "severity:incidentwatch_time_to_acknowledge_seconds:p50_1d",
            "severity:incidentwatch_time_to_resolve_seconds:p50_1d",
        ],
        "request rate": ["request_count_total"],
        "handler latency by command": ["incidentwatch_handler_duration_seconds_bucket"],
        "Slack and Redis errors": [
            "incidentwatch_slack_api_errors_total",
            "incidentwatch_redis_errors_total",
        ],
        "bot up": ['up{job="incidentwatch"}', "incidentwatch_store_up"],
    }
    for topic, fragments in wanted.items():
        for fragment in fragments:
            assert fragment in exprs, topic


def test_the_metric_name_parser() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (command, le) (rate(x_bucket{job="a"}[5m]))) '
        "or on (severity) vector(0) + max(up) * b:c:d"
    )
    assert metric_names(expr) == {"x_bucket", "up", "b:c:d"}
