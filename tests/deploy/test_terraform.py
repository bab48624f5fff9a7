"""terraform/: parsed with python-hcl2; it applies k8s/ itself (no second copy of the manifests).

`terraform init`/`validate` need provider downloads, which this network does not allow, so
they do not run here; when a terraform binary is on PATH, `terraform fmt -check` runs and
`terraform console` evaluates the image-splitting expressions (neither needs a provider).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest
from deploy_support import (
    API_SECRET,
    API_TOKEN_KEY,
    GRAFANA_SECRET,
    K8S,
    NAMESPACE,
    NODE_PORTS,
    SLACK_SECRET,
    TERRAFORM,
    Doc,
    find_tool,
    run,
)

Lookup = Callable[[str, str], Doc]


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on strings and labels; drop them, recursively."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        # (and its bookkeeping keys: __is_block__, __comments__)
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@pytest.fixture(scope="module")
def tf() -> dict[str, list[Any]]:
    """Every top-level block of terraform/*.tf, merged by block type."""
    merged: dict[str, list[Any]] = {}
    files = sorted(TERRAFORM.glob("*.tf"))
    assert files
    for path in files:
        with path.open() as handle:
            for block_type, blocks in _unquote(hcl2.load(handle)).items():
                merged.setdefault(block_type, []).extend(blocks)
    return merged


def _named(tf: dict[str, list[Any]], block_type: str) -> dict[str, Any]:
    return {name: body for block in tf.get(block_type, []) for name, body in block.items()}


def _typed(tf: dict[str, list[Any]], block_type: str, type_name: str) -> dict[str, Any]:
    """`resource`/`data` blocks of one type, by name (python-hcl2 gives one list item each)."""
    return {
        name: body
        for block in tf.get(block_type, [])
        for name, body in block.get(type_name, {}).items()
    }


def _resources(tf: dict[str, list[Any]], resource_type: str) -> dict[str, Any]:
    return _typed(tf, "resource", resource_type)


def test_the_stack_is_built_from_the_k8s_directory(tf: dict[str, list[Any]]) -> None:
    overlays = _typed(tf, "data", "kustomization_overlay")
    (stack,) = overlays.values()
    (source,) = stack["resources"]
    assert source == "${path.module}/../k8s"
    assert (TERRAFORM / source.replace("${path.module}", ".")).resolve() == K8S.resolve()
    assert (K8S / "kustomization.yaml").is_file()
    # Only the bot's image is changed on the way.
    overridable = {"resources", "images"}
    assert set(stack) <= overridable
    (image,) = stack["images"]
    assert image["name"] == "incidentwatch"


def test_every_object_of_the_build_is_applied_in_priority_order(tf: dict[str, list[Any]]) -> None:
    applied = _resources(tf, "kustomization_resource")
    assert set(applied) == {"p0", "p1", "p2"}
    for prio, name in enumerate(("p0", "p1", "p2")):
        body = applied[name]
        assert body["for_each"] == f"${{data.kustomization_overlay.stack.ids_prio[{prio}]}}"
        assert body["manifest"] == "${data.kustomization_overlay.stack.manifests[each.value]}"
    assert "kustomization_resource.p0" in str(applied["p1"]["depends_on"])
    assert "kustomization_resource.p1" in str(applied["p2"]["depends_on"])


def test_no_hand_copied_manifests() -> None:
    assert not [p for p in TERRAFORM.rglob("*") if p.suffix in {".yaml", ".yml", ".json"}]
    for path in TERRAFORM.glob("*.tf"):
        text = path.read_text()
        assert "kubernetes_manifest" not in text and "apiVersion" not in text, path.name
        assert "yamldecode" not in text and "file(" not in text, path.name
    # The only objects terraform makes itself are the three Secrets that k8s/ leaves out.


def test_the_secrets_match_what_the_pods_read(tf: dict[str, list[Any]], by_kind: Lookup) -> None:
    secrets = _resources(tf, "kubernetes_secret_v1")
    names = {
        body["metadata"][0]["name"]: body["metadata"][0]["namespace"] for body in secrets.values()
    }
    assert names == {
        SLACK_SECRET: "${local.namespace}",
        API_SECRET: "${local.namespace}",
        GRAFANA_SECRET: "${local.namespace}",
    }
    (locals_,) = tf["locals"]
    assert locals_["namespace"] == NAMESPACE
    slack = next(b for b in secrets.values() if b["metadata"][0]["name"] == SLACK_SECRET)
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert key in str(slack["data"])
    grafana = next(b for b in secrets.values() if b["metadata"][0]["name"] == GRAFANA_SECRET)
    files = {
        e["value"].rsplit("/", 1)[1]
        for c in by_kind("Deployment", "grafana")["spec"]["template"]["spec"]["containers"]
        for e in c["env"]
        if e["name"].endswith("__FILE")
    }
    assert set(grafana["data"]) == files == {"admin-user", "admin-password"}
    # The API token: the key the bot's env and Alertmanager's mounted file both read.
    api = next(b for b in secrets.values() if b["metadata"][0]["name"] == API_SECRET)
    assert api["data"] == {API_TOKEN_KEY: "${var.api_token}"}
    (bot,) = by_kind("Deployment", "incidentwatch")["spec"]["template"]["spec"]["containers"]
    refs = {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in bot["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs == {(API_SECRET, API_TOKEN_KEY)}
    am_pod = by_kind("Deployment", "alertmanager")["spec"]["template"]["spec"]
    (am_secret,) = [v["secret"] for v in am_pod["volumes"] if "secret" in v]
    assert am_secret["secretName"] == API_SECRET
    assert [i["key"] for i in am_secret["items"]] == [API_TOKEN_KEY]


def test_the_workloads_wait_for_every_secret(tf: dict[str, list[Any]]) -> None:
    secrets = _resources(tf, "kubernetes_secret_v1")
    waits = _resources(tf, "kustomization_resource")["p1"]["depends_on"]
    assert {f"${{kubernetes_secret_v1.{name}}}" for name in secrets} <= set(waits)


def test_variables(tf: dict[str, list[Any]]) -> None:
    variables = _named(tf, "variable")
    for name in ("kubeconfig_path", "kube_context", "image", "node_ip"):
        assert name in variables
        assert variables[name].get("description")
    for name in ("slack_bot_token", "slack_app_token", "slack_signing_secret"):
        assert variables[name]["sensitive"] is True, name
    assert variables["grafana_admin_password"]["sensitive"] is True
    assert variables["api_token"]["sensitive"] is True
    assert "default" not in variables["api_token"]  # Alertmanager cannot run without it
    assert "default" not in variables["slack_bot_token"]
    assert "default" not in variables["grafana_admin_password"]
    assert variables["image"]["default"] == "incidentwatch:local"
    assert variables["kube_context"]["default"] == "minikube"


def test_providers_use_the_variables(tf: dict[str, list[Any]]) -> None:
    providers = {name: body for block in tf["provider"] for name, body in block.items()}
    assert "var.kubeconfig_path" in providers["kustomization"]["kubeconfig_path"]
    assert providers["kustomization"]["context"] == "${var.kube_context}"
    assert "var.kubeconfig_path" in providers["kubernetes"]["config_path"]
    assert providers["kubernetes"]["config_context"] == "${var.kube_context}"


def test_versions_pin_terraform_and_every_provider(tf: dict[str, list[Any]]) -> None:
    (terraform,) = tf["terraform"]
    assert terraform["required_version"]
    (required,) = terraform["required_providers"]
    assert set(required) == {"kustomization", "kubernetes"}
    for name, spec in required.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec["version"]), f"{name} is not pinned exactly"
    assert required["kustomization"]["source"] == "kbst/kustomization"
    assert required["kubernetes"]["source"] == "hashicorp/kubernetes"


def test_outputs_give_the_urls_and_the_alertmanager_port_forward(
    tf: dict[str, list[Any]], by_kind: Lookup
) -> None:
    outputs = _named(tf, "output")
    (locals_,) = tf["locals"]
    ports = locals_["node_ports"]
    wanted = {
        "bot_url": ("bot", "incidentwatch-service"),
        "prometheus_url": ("prometheus", "prometheus-service"),
        "grafana_url": ("grafana", "grafana-service"),
    }
    assert set(outputs) == {*wanted, "alertmanager_port_forward"}
    for output, (key, service) in wanted.items():
        assert outputs[output]["value"] == f"http://${{var.node_ip}}:${{local.node_ports.{key}}}"
        assert ports[key] == NODE_PORTS[service]
        assert by_kind("Service", service)["spec"]["ports"][0]["nodePort"] == ports[key]
    # Alertmanager has no NodePort; the output is the command that reaches it.
    (port,) = by_kind("Service", "alertmanager")["spec"]["ports"]
    assert outputs["alertmanager_port_forward"]["value"] == (
        "kubectl --context ${var.kube_context} -n ${local.namespace} "
        f"port-forward service/alertmanager {port['port']}:{port['port']}"
    )
    assert "http://localhost:9093" in outputs["alertmanager_port_forward"]["description"]


def test_secrets_and_state_stay_out_of_git() -> None:
    ignored = (TERRAFORM / ".gitignore").read_text().split()
    assert {"terraform.tfvars", "*.tfstate", ".terraform/"} <= set(ignored)
    example = (TERRAFORM / "terraform.tfvars.example").read_text()
    assert "xoxb-..." in example


def test_terraform_fmt(tmp_path: Path) -> None:
    # The issue: run it "when a terraform binary is on PATH" (it needs no provider download).
    terraform = find_tool("terraform", required_in_ci=False)
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1"}
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)], env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def _expression(value: str) -> str:
    """The HCL source of an attribute python-hcl2 wrapped as "${...}"."""
    assert value.startswith("${") and value.endswith("}")
    return value[2:-1]


def test_the_image_variable_is_split_the_way_kustomize_needs(
    tf: dict[str, list[Any]], tmp_path: Path
) -> None:
    """The locals and the validation of var.image, evaluated by terraform itself (no providers)."""
    terraform = find_tool("terraform", required_in_ci=False)
    (locals_,) = tf["locals"]
    (validation,) = _named(tf, "variable")["image"]["validation"]
    cases = {
        "incidentwatch:local": ["incidentwatch", "local"],
        "localhost:5000/team/incidentwatch:1.2.3": ["localhost:5000/team/incidentwatch", "1.2.3"],
        "incidentwatch": None,
        "localhost:5000/incidentwatch": None,
    }
    parts = []
    for image in cases:
        literal = json.dumps(image)
        name, tag, valid = (
            _expression(e).replace("var.image", literal)
            for e in (locals_["image_name"], locals_["image_tag"], validation["condition"])
        )
        parts.append(f"({valid}) ? [{name}, {tag}] : null")
    assert _console(terraform, parts, tmp_path) == list(cases.values())


def test_the_api_token_must_be_long_and_not_the_example(
    tf: dict[str, list[Any]], tmp_path: Path
) -> None:
    """var.api_token's validation, evaluated by terraform: what README's openssl line makes
    passes; a short token, one with spaces or the example file's placeholder does not."""
    terraform = find_tool("terraform", required_in_ci=False)
    (validation,) = _named(tf, "variable")["api_token"]["validation"]
    with (TERRAFORM / "terraform.tfvars.example").open() as handle:
        placeholder = _unquote(hcl2.load(handle))["api_token"]
    cases = {
        "0123456789abcdef" * 3: True,  # `openssl rand -hex 24`: 48 characters
        "x" * 32: True,
        "x" * 31: False,
        "0123456789abcdef 0123456789abcdef": False,
        placeholder: False,
    }
    condition = _expression(validation["condition"])
    parts = [condition.replace("var.api_token", json.dumps(token)) for token in cases]
    assert _console(terraform, parts, tmp_path) == list(cases.values())


def _console(terraform: str, expressions: list[str], tmp_path: Path) -> Any:
    """Evaluate HCL expressions with `terraform console` (no providers, no network)."""
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1"}
    result = subprocess.run(
        [terraform, "console"],
        input=f"jsonencode([{', '.join(expressions)}])\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(json.loads(result.stdout))
