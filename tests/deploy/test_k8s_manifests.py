"""k8s/: kustomize builds it, the Kubernetes schema accepts it, it keeps the contract's names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_support import (
    ALERTMANAGER_CONFIG,
    ALERTMANAGER_TARGET,
    API_SECRET,
    API_TOKEN_KEY,
    DATASOURCE_UID,
    DATASOURCE_URL,
    GRAFANA_SECRET,
    K8S,
    KUBERNETES_VERSIONS,
    NAMESPACE,
    NODE_PORTS,
    REPO,
    SLACK_SECRET,
    WEBHOOK_PATH,
    Doc,
    find_tool,
    load_yaml,
    load_yaml_docs,
    run,
)

from bot.config import Settings

Lookup = Callable[[str, str], Doc]
WORKLOADS = {"Deployment", "StatefulSet"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def _pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def _container(workload: Doc, name: str) -> Doc:
    for container in _pod_spec(workload)["containers"]:
        if container["name"] == name:
            return container  # type: ignore[no-any-return]
    raise AssertionError(f"no container {name} in {workload['metadata']['name']}")


def _port_number(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise AssertionError(f"port {port!r} is not declared by container {container['name']}")


def test_builds_the_whole_stack(objects: list[Doc]) -> None:
    names = {(doc["kind"], doc["metadata"]["name"].rsplit("-", 1)[0]) for doc in objects}
    names |= {(doc["kind"], doc["metadata"]["name"]) for doc in objects}
    expected = {
        ("Namespace", NAMESPACE),
        ("Deployment", "incidentwatch"),
        ("Service", "incidentwatch-service"),
        ("Service", "incidentwatch-metrics"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
        ("Deployment", "prometheus"),
        ("Service", "prometheus-service"),
        ("ServiceAccount", "prometheus"),
        ("Role", "prometheus-discovery"),
        ("RoleBinding", "prometheus-discovery"),
        ("Deployment", "grafana"),
        ("Service", "grafana-service"),
        ("ConfigMap", "prometheus-config"),
        ("ConfigMap", "prometheus-rules"),
        ("ConfigMap", "grafana-dashboards"),
        ("ConfigMap", "grafana-datasources"),
        ("ConfigMap", "incidentwatch-config"),
        ("ServiceAccount", "alertmanager"),
        ("PersistentVolumeClaim", "alertmanager-data"),
        ("Deployment", "alertmanager"),
        ("Service", "alertmanager"),
        ("NetworkPolicy", "alertmanager"),
        ("ConfigMap", "alertmanager-config"),
    }
    assert expected <= names, expected - names


def test_everything_lives_in_the_monitoring_namespace(objects: list[Doc]) -> None:
    for doc in objects:
        if doc["kind"] in CLUSTER_SCOPED:
            continue
        assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]


def test_source_files_declare_the_namespace_too() -> None:
    """So that checkov and `kubectl apply -f` on one file see the real namespace."""
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or "provisioning" in path.parts:
            continue
        for doc in load_yaml_docs(path.read_text()):
            if doc.get("kind") not in CLUSTER_SCOPED:
                assert doc["metadata"].get("namespace") == NAMESPACE, f"{path}: {doc['kind']}"


def test_no_secret_is_committed(objects: list[Doc]) -> None:
    assert not [doc for doc in objects if doc["kind"] == "Secret"]
    tracked = run(["git", "ls-files", "k8s", "terraform"]).stdout.split()
    # (k8s/bot/config.env holds only non-secret settings: see test_the_bot_config_...)
    leaks = [n for n in tracked if Path(n).name == ".env" or n.endswith((".tfvars", ".tfstate"))]
    assert not leaks


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_validates_against_the_kubernetes_schema(
    version: str, rendered: str, tmp_path: Path
) -> None:
    validate = find_tool("kubernetes-validate")
    manifest = tmp_path / "stack.yaml"
    manifest.write_text(rendered)
    result = run([validate, "--strict", "--no-warn", "-k", version, str(manifest)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == rendered.count("\nkind: ") + int(
        rendered.startswith("kind: ")
    )


def test_the_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    """The validation above is strict: a typo in a manifest would fail it."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        "spec:\n  ports:\n    - port: 80\n      nodeport: 30000\n"
    )
    result = run(
        [find_tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSIONS[0], str(bad)]
    )
    assert result.returncode != 0
    assert "nodeport" in result.stdout + result.stderr


@pytest.mark.parametrize(("service", "node_port"), sorted(NODE_PORTS.items()))
def test_node_ports(service: str, node_port: int, by_kind: Lookup) -> None:
    svc = by_kind("Service", service)
    assert svc["spec"]["type"] == "NodePort"
    assert [p.get("nodePort") for p in svc["spec"]["ports"]] == [node_port]


def test_service_ports_reach_the_right_container_ports(by_kind: Lookup) -> None:
    expected = {
        ("incidentwatch-service", "incidentwatch", "bot"): (3000, 3000),
        ("incidentwatch-metrics", "incidentwatch", "bot"): (9100, 9100),
        ("prometheus-service", "prometheus", "prometheus"): (9090, 9090),
        ("grafana-service", "grafana", "grafana"): (3000, 3000),
        ("alertmanager", "alertmanager", "alertmanager"): (9093, 9093),
    }
    for (service, deployment, container_name), (port, target) in expected.items():
        svc = by_kind("Service", service)
        workload = by_kind("Deployment", deployment)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items(), service
        (svc_port,) = svc["spec"]["ports"]
        assert svc_port["port"] == port
        assert _port_number(_container(workload, container_name), svc_port["targetPort"]) == target


def test_metrics_port_is_not_exposed_outside_the_cluster(by_kind: Lookup) -> None:
    assert by_kind("Service", "incidentwatch-metrics")["spec"]["type"] == "ClusterIP"
    exposed = by_kind("Service", "incidentwatch-service")["spec"]["ports"]
    assert [p["port"] for p in exposed] == [3000]


def test_every_selector_matches_its_pods(objects: list[Doc]) -> None:
    workloads = [doc for doc in objects if doc["kind"] in WORKLOADS]
    for workload in workloads:
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    for svc in (doc for doc in objects if doc["kind"] == "Service"):
        selector = svc["spec"]["selector"]
        matched = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, svc["metadata"]["name"]


def test_every_container_is_locked_down(objects: list[Doc]) -> None:
    for workload in (doc for doc in objects if doc["kind"] in WORKLOADS):
        name = workload["metadata"]["name"]
        pod = _pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] >= 10000, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in ctx["capabilities"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys(), name
            assert {"cpu", "memory"} <= resources["limits"].keys(), name
            assert container["livenessProbe"] and container["readinessProbe"], name
            image = container["image"]
            assert ":" in image and not image.endswith(":latest"), image


def test_the_bot_deployment(by_kind: Lookup) -> None:
    bot = by_kind("Deployment", "incidentwatch")
    pod = _pod_spec(bot)
    container = _container(bot, "bot")
    assert container["image"] == "incidentwatch:local"
    assert pod["automountServiceAccountToken"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert _port_number(container, container[probe]["httpGet"]["port"]) == 9100
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": 3000,
        "metrics": 9100,
    }
    env_from = container["envFrom"]
    assert {"secretRef": {"name": SLACK_SECRET}} in env_from
    config_maps = [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
    assert [name.rsplit("-", 1)[0] for name in config_maps] == ["incidentwatch-config"]
    env = {e["name"]: e for e in container.get("env", [])}
    assert env["PYTHONDONTWRITEBYTECODE"]["value"] == "1"
    # The API token from its own Secret; optional, so without that Secret the API is off and
    # the bot still starts (README, "Deploy on Minikube").
    assert env[API_TOKEN_KEY] == {
        "name": API_TOKEN_KEY,
        "valueFrom": {"secretKeyRef": {"name": API_SECRET, "key": API_TOKEN_KEY, "optional": True}},
    }
    # /tmp is the only writable place (the image writes nothing when REDIS_URL is set).
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp"}


def test_the_bot_config_points_at_the_redis_service(by_kind: Lookup) -> None:
    data = by_kind("ConfigMap", "incidentwatch-config")["data"]
    assert data["REDIS_URL"] == f"redis://redis.{NAMESPACE}.svc.cluster.local:6379/0"
    assert (data["PORT"], data["METRICS_PORT"]) == ("3000", "9100")
    # Only settings the bot knows, with values it accepts; never a secret in a ConfigMap.
    fields = {name.upper(): field for name, field in Settings.model_fields.items()}
    assert set(data) <= fields.keys()
    for key, value in data.items():
        if "SecretStr" in str(fields[key].annotation):
            assert key == "REDIS_URL" and "@" not in value, key
    tokens = {"slack_bot_token": "xoxb-0", "slack_app_token": "xapp-0"}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in data.items()}, **tokens)
    assert settings.redis_url is not None and settings.metrics_port == 9100
    redis_svc = by_kind("Service", "redis")
    assert redis_svc["spec"]["ports"][0]["port"] == 6379


def test_redis_is_a_persistent_statefulset(by_kind: Lookup) -> None:
    redis = by_kind("StatefulSet", "redis")
    headless = by_kind("Service", "redis")
    assert headless["spec"]["clusterIP"] == "None"
    assert redis["spec"]["serviceName"] == "redis"
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    container = _container(redis, "redis")
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]
    conf = by_kind("ConfigMap", "redis-config")["data"]["redis.conf"]
    directives = dict(
        line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert directives["appendonly"] == "yes"
    assert directives["dir"] == "/data"
    assert directives["maxmemory-policy"] == "noeviction"
    assert container["args"][-1].endswith("/redis.conf")
    assert "PONG" in " ".join(container["readinessProbe"]["exec"]["command"])


def test_prometheus_may_only_read_pods_in_its_namespace(
    objects: list[Doc], by_kind: Lookup
) -> None:
    assert not [doc for doc in objects if doc["kind"] in {"ClusterRole", "ClusterRoleBinding"}]
    role = by_kind("Role", "prometheus-discovery")
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
        assert "*" not in rule["resources"] and "secrets" not in rule["resources"]
    assert "pods" in role["rules"][0]["resources"]
    binding = by_kind("RoleBinding", "prometheus-discovery")
    assert binding["roleRef"]["name"] == "prometheus-discovery"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "prometheus", "namespace": NAMESPACE}
    ]
    assert _pod_spec(by_kind("Deployment", "prometheus"))["serviceAccountName"] == "prometheus"


def test_prometheus_mounts_its_config_and_rules_where_the_config_expects(
    by_kind: Lookup, prometheus_config: Doc
) -> None:
    prometheus = by_kind("Deployment", "prometheus")
    container = _container(prometheus, "prometheus")
    volumes = {v["name"]: v for v in _pod_spec(prometheus)["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    config_arg = next(a for a in container["args"] if a.startswith("--config.file="))
    config_dir, config_file = config_arg.split("=", 1)[1].rsplit("/", 1)
    config_map = by_kind("ConfigMap", mounts[config_dir]["configMap"]["name"].rsplit("-", 1)[0])
    assert config_file in config_map["data"]
    (rule_glob,) = prometheus_config["rule_files"]
    rules_dir, pattern = rule_glob.rsplit("/", 1)
    rules_map = by_kind("ConfigMap", mounts[rules_dir]["configMap"]["name"].rsplit("-", 1)[0])
    assert rules_map["metadata"]["name"].startswith("prometheus-rules")
    assert all(Path(name).match(pattern) for name in rules_map["data"])
    assert any(m["mountPath"] == "/prometheus" for m in container["volumeMounts"])
    assert "--storage.tsdb.path=/prometheus" in container["args"]


def test_grafana_is_provisioned_from_the_repository(by_kind: Lookup) -> None:
    grafana = by_kind("Deployment", "grafana")
    container = _container(grafana, "grafana")
    volumes = {v["name"]: v for v in _pod_spec(grafana)["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}

    datasources = load_yaml(K8S / "grafana" / "provisioning" / "datasources.yaml")
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == DATASOURCE_URL
    assert source["uid"] == DATASOURCE_UID
    ds_map = mounts["/etc/grafana/provisioning/datasources"]["configMap"]["name"]
    assert ds_map.startswith("grafana-datasources-")

    providers = load_yaml(K8S / "grafana" / "provisioning" / "dashboards.yaml")
    (provider,) = providers["providers"]
    dashboards_dir = provider["options"]["path"]
    dashboards_map = by_kind(
        "ConfigMap", mounts[dashboards_dir]["configMap"]["name"].rsplit("-", 1)[0]
    )
    # One copy: the ConfigMap is generated from the JSON file of the repository, unchanged.
    repo_file = K8S / "grafana" / "dashboards" / "incidentwatch.json"
    assert dashboards_map["data"] == {"incidentwatch.json": repo_file.read_text()}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (
        env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == f"{dashboards_dir}/incidentwatch.json"
    )


def test_grafana_admin_credentials_come_from_a_secret(by_kind: Lookup) -> None:
    grafana = by_kind("Deployment", "grafana")
    container = _container(grafana, "grafana")
    env = {e["name"]: e for e in container["env"]}
    assert not [name for name in env if "PASSWORD" in name and not name.endswith("__FILE")]
    secret_volumes = {
        v["name"]: v["secret"]["secretName"] for v in _pod_spec(grafana)["volumes"] if "secret" in v
    }
    assert list(secret_volumes.values()) == [GRAFANA_SECRET]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] in secret_volumes]
    assert (
        env["GF_SECURITY_ADMIN_PASSWORD__FILE"]["value"] == f"{mount['mountPath']}/admin-password"
    )
    assert env["GF_SECURITY_ADMIN_USER__FILE"]["value"] == f"{mount['mountPath']}/admin-user"


def test_every_pod_is_covered_by_a_network_policy(objects: list[Doc]) -> None:
    policies = [doc for doc in objects if doc["kind"] == "NetworkPolicy"]
    for workload in (doc for doc in objects if doc["kind"] in WORKLOADS):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(
            p["spec"]["podSelector"]["matchLabels"].items() <= labels.items() for p in policies
        ), workload["metadata"]["name"]


def _mounts(workload: Doc, container_name: str) -> dict[str, tuple[Doc, Doc]]:
    """mountPath -> (the mount, its volume)."""
    volumes = {v["name"]: v for v in _pod_spec(workload)["volumes"]}
    return {
        m["mountPath"]: (m, volumes[m["name"]])
        for m in _container(workload, container_name)["volumeMounts"]
    }


def _webhook() -> Doc:
    config = load_yaml(ALERTMANAGER_CONFIG)
    (hook,) = [h for r in config["receivers"] for h in r.get("webhook_configs", [])]
    return hook  # type: ignore[no-any-return]


def test_alertmanager_runs_the_shipped_config_alone(by_kind: Lookup) -> None:
    alertmanager = by_kind("Deployment", "alertmanager")
    pod = _pod_spec(alertmanager)
    container = _container(alertmanager, "alertmanager")
    assert alertmanager["spec"]["replicas"] == 1
    assert alertmanager["spec"]["strategy"]["type"] == "Recreate"  # one writer of the volume
    assert pod["automountServiceAccountToken"] is False
    assert (
        by_kind("ServiceAccount", pod["serviceAccountName"])["automountServiceAccountToken"]
        is False
    )
    args = dict(arg.split("=", 1) for arg in container["args"])
    assert args["--cluster.listen-address"] == ""  # clustering (gossip) off
    assert args["--web.listen-address"] == ":9093"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"web": 9093}
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    for probe in ("livenessProbe", "readinessProbe"):
        assert _port_number(container, container[probe]["httpGet"]["port"]) == 9093
    mounts = _mounts(alertmanager, "alertmanager")
    # The config: the ConfigMap kustomize makes of k8s/alertmanager/alertmanager.yml, unchanged.
    config_dir, config_file = args["--config.file"].rsplit("/", 1)
    mount, volume = mounts[config_dir]
    assert mount["readOnly"] is True
    config_map = by_kind("ConfigMap", volume["configMap"]["name"].rsplit("-", 1)[0])
    assert config_map["metadata"]["name"].startswith("alertmanager-config-")
    assert config_map["data"] == {config_file: ALERTMANAGER_CONFIG.read_text()}
    # Silences and the notification log on a small volume of their own.
    _, storage = mounts[args["--storage.path"]]
    claim = by_kind("PersistentVolumeClaim", storage["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"]


def test_alertmanager_reads_the_api_token_where_its_config_expects(by_kind: Lookup) -> None:
    authorization = _webhook()["http_config"]["authorization"]
    # The token is only ever a file: never a value in the config (a ConfigMap).
    assert set(authorization) == {"type", "credentials_file"}
    assert authorization["type"] == "Bearer"
    secret_dir, key = authorization["credentials_file"].rsplit("/", 1)
    assert (secret_dir, key) == (f"/etc/alertmanager/secrets/{API_SECRET}", API_TOKEN_KEY)
    mount, volume = _mounts(by_kind("Deployment", "alertmanager"), "alertmanager")[secret_dir]
    assert mount["readOnly"] is True
    secret = volume["secret"]
    assert secret["secretName"] == API_SECRET
    assert secret["items"] == [{"key": API_TOKEN_KEY, "path": key}]
    assert secret.get("optional", False) is False  # no token: the pod waits, visibly
    assert secret["defaultMode"] == 0o440
    # The bot takes the same key of the same Secret (see test_the_bot_deployment).
    bot = _container(by_kind("Deployment", "incidentwatch"), "bot")
    (env,) = [e for e in bot["env"] if e["name"] == API_TOKEN_KEY]
    ref = env["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (API_SECRET, API_TOKEN_KEY)


def test_alertmanager_delivers_to_the_bot_service(by_kind: Lookup) -> None:
    hook = _webhook()
    url = urlsplit(hook["url"])
    svc = by_kind("Service", "incidentwatch-service")
    assert url.scheme == "http"
    assert url.hostname == f"{svc['metadata']['name']}.{NAMESPACE}.svc.cluster.local"
    (port,) = svc["spec"]["ports"]
    assert url.port == port["port"] == 3000
    assert url.path == WEBHOOK_PATH
    assert hook["send_resolved"] is True


def test_alertmanager_is_reachable_only_inside_the_cluster(by_kind: Lookup) -> None:
    svc = by_kind("Service", "alertmanager")
    assert svc["spec"]["type"] == "ClusterIP"
    (port,) = svc["spec"]["ports"]
    assert "nodePort" not in port
    # The address Prometheus' alerting block uses (test_prometheus_rules.py checks that side).
    address = f"{svc['metadata']['name']}.{NAMESPACE}.svc.cluster.local:{port['port']}"
    assert address == ALERTMANAGER_TARGET


def test_amtool_accepts_the_deployed_config(by_kind: Lookup, tmp_path: Path) -> None:
    """The ConfigMap's file, as the pod reads it (tests/api checks the repository file)."""
    (name, text), *_ = by_kind("ConfigMap", "alertmanager-config")["data"].items()
    config = tmp_path / name
    config.write_text(text)
    result = run([find_tool("amtool"), "check-config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert yaml.safe_load(text)["route"]["receiver"] == "incidentwatch"


def _peer_matches(peer: Doc, labels: dict[str, str]) -> bool:
    """A NetworkPolicy peer against a pod of this namespace (other namespaces never match)."""
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return False
    wanted = peer.get("podSelector", {}).get("matchLabels", {})
    return bool(wanted.items() <= labels.items())


def _port_matches(rule_ports: list[Doc] | None, container: Doc, port: int) -> bool:
    if not rule_ports:
        return True
    return any(_port_number(container, p["port"]) == port for p in rule_ports if "port" in p)


def _allowed(objects: list[Doc], source: str, target: str, port: int) -> bool:
    """Whether the NetworkPolicies let pods of workload `source` open `target`:`port`."""
    workloads = {doc["metadata"]["name"]: doc for doc in objects if doc["kind"] in WORKLOADS}
    src_labels = workloads[source]["spec"]["template"]["metadata"]["labels"]
    dst_labels = workloads[target]["spec"]["template"]["metadata"]["labels"]
    (dst_container, *_) = _pod_spec(workloads[target])["containers"]
    policies = [doc["spec"] for doc in objects if doc["kind"] == "NetworkPolicy"]

    def direction(kind: str, own: dict[str, str], other: dict[str, str], key: str) -> bool:
        selecting = [
            p
            for p in policies
            if kind in p["policyTypes"] and p["podSelector"]["matchLabels"].items() <= own.items()
        ]
        return not selecting or any(
            (key not in rule or any(_peer_matches(peer, other) for peer in rule[key]))
            and _port_matches(rule.get("ports"), dst_container, port)
            for p in selecting
            for rule in p.get(kind.lower(), [])
        )

    return direction("Egress", src_labels, dst_labels, "to") and direction(
        "Ingress", dst_labels, src_labels, "from"
    )


@pytest.mark.parametrize(
    ("source", "target", "port", "allowed"),
    [
        ("prometheus", "alertmanager", 9093, True),  # alerts
        ("alertmanager", "incidentwatch", 3000, True),  # the webhook
        ("incidentwatch", "alertmanager", 9093, False),
        ("grafana", "alertmanager", 9093, False),
        ("alertmanager", "redis", 6379, False),
        ("alertmanager", "prometheus", 9090, False),
        ("alertmanager", "incidentwatch", 9100, False),
        ("incidentwatch", "redis", 6379, True),
        ("prometheus", "incidentwatch", 9100, True),
    ],
)
def test_network_policies_around_alertmanager(
    objects: list[Doc], source: str, target: str, port: int, allowed: bool
) -> None:
    assert _allowed(objects, source, target, port) is allowed


def test_alertmanager_may_resolve_names(by_kind: Lookup) -> None:
    policy = by_kind("NetworkPolicy", "alertmanager")["spec"]
    dns = [
        rule
        for rule in policy["egress"]
        if any(
            p.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
            for p in rule["to"]
        )
    ]
    (rule,) = dns
    assert {(p["port"], p["protocol"]) for p in rule["ports"]} == {(53, "UDP"), (53, "TCP")}
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }


def test_the_readme_documents_the_secrets_the_manifests_use() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Deploy on Minikube", 1)[1].split("\n## ", 1)[0]
    assert f"kubectl -n {NAMESPACE} create secret generic {SLACK_SECRET}" in section
    assert f"create secret generic {GRAFANA_SECRET}" in section
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "admin-user", "admin-password"):
        assert key in section
    assert (
        f"kubectl -n {NAMESPACE} create secret generic {API_SECRET} \\\n"
        f'  --from-literal={API_TOKEN_KEY}="$(openssl rand -hex 24)"'
    ) in section
    # Alertmanager has no NodePort: the README says how to reach it.
    assert "port-forward service/alertmanager 9093:9093" in section
    assert "kubectl apply -k k8s/" in section
    for port in NODE_PORTS.values():
        assert str(port) in section
