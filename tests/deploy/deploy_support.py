"""Shared by the deployment checks: the contract's names, tool lookup, the k8s/ files parsed.

The tools (checkov, kubernetes-validate, hadolint, promtool, prometheus, amtool, Alertmanager,
kubectl, terraform) are looked up in
$DEPLOY_TOOLS_BIN (set by .ci/run), then in .ci/.tools-venv/bin (where .ci/run installs them, so
a local run after one .ci/run finds them too), then on PATH. A missing tool skips its test, except
under CI (CI=true), where it fails: CI must never pass by not checking.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
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
ALERTMANAGER_CONFIG = K8S / "alertmanager" / "alertmanager.yml"

# The contract (DESIGN.md, issue 3).
NAMESPACE = "monitoring"
NODE_PORTS = {"incidentwatch-service": 32426, "prometheus-service": 31121, "grafana-service": 32300}
DATASOURCE_UID = "incidentwatch-prometheus"
DATASOURCE_URL = "http://prometheus-service.monitoring.svc.cluster.local:9090"
SLACK_SECRET = "incidentwatch-slack"
GRAFANA_SECRET = "grafana-admin"
# The HTTP API's bearer token (README, "HTTP API"): the bot's API_TOKEN (optional: without the
# Secret the API is off) and the file Alertmanager sends to the bot's webhook.
API_SECRET = "incidentwatch-api"
API_TOKEN_KEY = "API_TOKEN"
ALERTMANAGER_TARGET = "alertmanager.monitoring.svc.cluster.local:9093"
WEBHOOK_PATH = "/api/v1/alertmanager"
# Kubernetes versions to validate against: the default of the latest Minikube release (v1.38.x
# starts Kubernetes v1.35) and of Minikube's main branch (v1.36).
KUBERNETES_VERSIONS = ("1.35.0", "1.36.0")

Doc = dict[str, Any]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_tool(name: str, *aliases: str, required_in_ci: bool = True) -> str:
    """The tool's path (under its name or an alias, e.g. Debian's prometheus-alertmanager for
    alertmanager); skip the test if it is missing (fail under CI when required_in_ci)."""
    dirs = [d for d in os.environ.get("DEPLOY_TOOLS_BIN", "").split(os.pathsep) if d]
    dirs.append(str(TOOLS_VENV_BIN))
    for candidate in (name, *aliases):
        found = shutil.which(candidate, path=os.pathsep.join(dirs)) or shutil.which(candidate)
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
    config: Doc,
    targets: Sequence[str],
    rule_files: Sequence[str | Path],
    alertmanagers: Sequence[str] | None = None,
) -> Doc:
    """A copy of k8s/'s Prometheus config for a Prometheus without Kubernetes discovery.

    Each kubernetes_sd_configs block becomes a static target list and the relabelling that
    reads __meta_kubernetes_* labels (which static targets do not have) is dropped; with
    `alertmanagers`, the alerting block's static targets are replaced by those (a local
    Alertmanager instead of the cluster's Service); everything else (jobs, paths, intervals,
    the rest of the alerting block) stays as it is in k8s/.
    """
    derived = copy.deepcopy(config)
    derived["rule_files"] = [str(path) for path in rule_files]
    if alertmanagers is not None:
        for entry in derived["alerting"]["alertmanagers"]:
            entry["static_configs"] = [{"targets": list(alertmanagers)}]
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


class Prometheus:
    """A running Prometheus: its HTTP API and its log."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/api/v1/query", params={"query": expr}) as reply:
            body = await reply.json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def get(self, path: str) -> Any:
        async with self.session.get(self.url + path) as reply:
            return await reply.json()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@asynccontextmanager
async def run_prometheus(config: Doc, port: int, workdir: Path) -> AsyncIterator[Prometheus]:
    """Debian's `prometheus` with `config` on 127.0.0.1:port, its data and log in workdir."""
    binary = find_tool("prometheus")
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    log = workdir / "prometheus.log"
    with log.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *[
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.returncode is None, f"prometheus exited:\n{server.log_text()}"
            try:
                async with server.session.get(server.url + "/-/ready") as reply:
                    if reply.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, f"prometheus not ready:\n{server.log_text()}"
            await asyncio.sleep(0.1)
        yield server
    finally:
        await server.session.close()
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
