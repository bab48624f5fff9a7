"""Shared by the deployment checks: the contract's names, tool lookup, the k8s/ files parsed.

The tools (checkov, kubernetes-validate, hadolint, promtool, kubectl, terraform) are looked up in
$DEPLOY_TOOLS_BIN (set by .ci/run), then in .ci/.tools-venv/bin (where .ci/run installs them, so
a local run after one .ci/run finds them too), then on PATH. A missing tool skips its test, except
under CI (CI=true), where it fails: CI must never pass by not checking.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
TERRAFORM = REPO / "terraform"
TOOLS_VENV_BIN = REPO / ".ci" / ".tools-venv" / "bin"
PROMETHEUS_CONFIG = K8S / "prometheus" / "prometheus.yml"
RULES_DIR = K8S / "prometheus" / "rules"
PROMTOOL_TESTS = Path(__file__).resolve().parent / "promtool"
DASHBOARD = K8S / "grafana" / "dashboards" / "incidentwatch.json"

# The contract (DESIGN.md, issue 3).
NAMESPACE = "monitoring"
NODE_PORTS = {"incidentwatch-service": 32426, "prometheus-service": 31121, "grafana-service": 32300}
DATASOURCE_UID = "incidentwatch-prometheus"
DATASOURCE_URL = "http://prometheus-service.monitoring.svc.cluster.local:9090"
SLACK_SECRET = "incidentwatch-slack"
GRAFANA_SECRET = "grafana-admin"
# Kubernetes versions to validate against: the default of the latest Minikube release (v1.38.x
# starts Kubernetes v1.35) and of Minikube's main branch (v1.36).
KUBERNETES_VERSIONS = ("1.35.0", "1.36.0")

Doc = dict[str, Any]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_tool(name: str, *, required_in_ci: bool = True) -> str:
    """The tool's path; skip the test if it is missing (fail under CI when required_in_ci)."""
    dirs = [d for d in os.environ.get("DEPLOY_TOOLS_BIN", "").split(os.pathsep) if d]
    dirs.append(str(TOOLS_VENV_BIN))
    found = shutil.which(name, path=os.pathsep.join(dirs)) or shutil.which(name)
    if found:
        return found
    message = f"{name} not found in $DEPLOY_TOOLS_BIN, {TOOLS_VENV_BIN} or PATH (run .ci/run once)"
    if in_ci() and required_in_ci:
        pytest.fail(f"{message}; under CI every deploy check must run", pytrace=False)
    pytest.skip(message)


def run(
    args: Sequence[str],
    *,
    cwd: Path = REPO,
    timeout: float = 90,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def load_yaml_docs(text: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def static_prometheus_config(
    config: Doc, targets: Sequence[str], rule_files: Sequence[str | Path]
) -> Doc:
    """A copy of k8s/'s Prometheus config for a Prometheus without Kubernetes discovery.

    Each kubernetes_sd_configs block becomes a static target list and the relabelling that
    reads __meta_kubernetes_* labels (which static targets do not have) is dropped; everything
    else (jobs, paths, intervals) stays as it is in k8s/.
    """
    derived = copy.deepcopy(config)
    derived["rule_files"] = [str(path) for path in rule_files]
    for job in derived["scrape_configs"]:
        if "kubernetes_sd_configs" not in job:
            continue
        del job["kubernetes_sd_configs"]
        job["static_configs"] = [{"targets": list(targets)}]
        kept = [
            rule
            for rule in job.get("relabel_configs", [])
            if not any(
                str(source).startswith("__meta_kubernetes")
                for source in rule.get("source_labels", [])
            )
        ]
        if kept:
            job["relabel_configs"] = kept
        else:
            job.pop("relabel_configs", None)
    return derived


def panels_of(dashboard: Doc) -> list[Doc]:
    """Every panel of a dashboard except rows (panels nested in collapsed rows included)."""
    found: list[Doc] = []
    for panel in dashboard["panels"]:
        found.extend(panel.get("panels", []))
        if panel.get("type") != "row":
            found.append(panel)
    return found


def dashboard_queries(dashboard: Doc) -> list[tuple[str, str]]:
    """(panel title / refId, PromQL) for every query of the dashboard."""
    return [
        (f"{panel['title']} / {target['refId']}", target["expr"])
        for panel in panels_of(dashboard)
        for target in panel.get("targets", [])
    ]


def grafana_to_promql(expr: str, interval: str = "1m") -> str:
    """Replace Grafana's interval variables by a fixed range, as Grafana does at query time."""
    for variable in ("$__rate_interval", "$__interval", "$__range"):
        expr = expr.replace(variable, interval)
    return expr


def recording_rules(groups: list[Doc]) -> list[Doc]:
    return [rule for group in groups for rule in group["rules"] if "record" in rule]


def alerting_rules(groups: list[Doc]) -> list[Doc]:
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]
