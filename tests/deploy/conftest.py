"""Fixtures of the deployment checks: the k8s/ stack built and parsed once per session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_support import (
    DASHBOARD,
    K8S,
    PROMETHEUS_CONFIG,
    RULES_DIR,
    Doc,
    find_tool,
    load_yaml,
    load_yaml_docs,
    run,
)


@pytest.fixture(scope="session")
def rendered() -> str:
    """`kubectl kustomize k8s/`: exactly what `kubectl apply -k k8s/` sends."""
    result = run([find_tool("kubectl"), "kustomize", str(K8S)])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def objects(rendered: str) -> list[Doc]:
    return load_yaml_docs(rendered)


@pytest.fixture(scope="session")
def by_kind(objects: list[Doc]) -> Callable[[str, str], Doc]:
    """One built object by kind and name (a generated ConfigMap by its name before the hash)."""

    def lookup(kind: str, name: str) -> Doc:
        for doc in objects:
            if doc["kind"] != kind:
                continue
            actual = doc["metadata"]["name"]
            if actual == name or (kind == "ConfigMap" and actual.rsplit("-", 1)[0] == name):
                return doc
        raise AssertionError(f"{kind}/{name} is not in the kustomize output")

    return lookup


@pytest.fixture(scope="session")
def prometheus_config() -> Doc:
    loaded: Doc = load_yaml(PROMETHEUS_CONFIG)
    return loaded


@pytest.fixture(scope="session")
def rule_files() -> list[Path]:
    files = sorted(RULES_DIR.glob("*.yml"))
    assert files, "no rule files in k8s/prometheus/rules"
    return files


@pytest.fixture(scope="session")
def rule_groups(rule_files: list[Path]) -> list[Doc]:
    return [group for path in rule_files for group in load_yaml(path)["groups"]]


@pytest.fixture(scope="session")
def dashboard() -> Doc:
    loaded: Doc = json.loads(DASHBOARD.read_text())
    return loaded
