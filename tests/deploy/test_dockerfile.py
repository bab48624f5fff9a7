"""The Dockerfile: hadolint-clean, multi-stage, pinned, non-root, a HEALTHCHECK that works.

No image is built here: this machine has no container engine and no registry access for the base
image. The checks below read the Dockerfile itself, and the HEALTHCHECK command is run for real
against a local /healthz.
"""

from __future__ import annotations

import ast
import http.server
import importlib.metadata
import json
import re
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator

import pytest
from deploy_support import REPO, find_tool, load_yaml_docs, run

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    parsed = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            parsed.append((word.upper(), rest.strip()))
    return parsed


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def _healthcheck_command() -> list[str]:
    (args,) = [rest for word, rest in stages()[-1] if word == "HEALTHCHECK"]
    command: list[str] = json.loads(args.split("CMD", 1)[1].strip())
    return command


def test_hadolint_is_clean() -> None:
    result = run(
        [find_tool("hadolint"), "--no-color", "--failure-threshold", "style", "Dockerfile"]
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_multi_stage_with_a_pinned_slim_python_of_the_project() -> None:
    froms = [rest.split()[0] for word, rest in instructions() if word == "FROM"]
    assert len(froms) >= 2
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minor = re.search(r"3\.\d+", requires)
    assert minor
    for image in froms:
        name, _, tag = image.partition(":")
        assert name == "python"
        # an exact patch release and Debian release, never a floating tag
        assert re.fullmatch(rf"{re.escape(minor.group())}\.\d+-slim-[a-z]+", tag), image
    assert len(set(froms)) == 1  # build and runtime on the same base: same Python ABI


def test_dependencies_are_a_layer_cached_on_requirements_only() -> None:
    build = stages()[0]
    copies = [rest for word, rest in build if word == "COPY"]
    assert copies == ["requirements.txt ."]
    install = [i for i, (word, rest) in enumerate(build) if word == "RUN" and "pip install" in rest]
    copy_at = build.index(("COPY", "requirements.txt ."))
    assert install and install[0] > copy_at
    assert "-r requirements.txt" in build[install[0]][1]
    assert "--no-cache-dir" in build[install[0]][1]
    # The application code comes in only in the last stage, after the dependencies.
    final = stages()[-1]
    final_copies = [rest for word, rest in final if word == "COPY"]
    assert final_copies[0].startswith("--from=") and "/opt/venv" in final_copies[0]
    assert any(rest.startswith("bot/") for rest in final_copies[1:])


def test_runs_as_a_non_root_numeric_user_matching_the_pod() -> None:
    (user,) = [rest for word, rest in stages()[-1] if word == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) >= 10000 and (not gid or gid.isdigit())
    bot = (REPO / "k8s" / "bot" / "deployment.yaml").read_text()
    (deployment,) = load_yaml_docs(bot)
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsUser"] == int(uid)


def test_entrypoint_is_python_m_bot_and_ports_are_exposed() -> None:
    final = dict(stages()[-1])
    assert json.loads(final["ENTRYPOINT"]) == ["python", "-m", "bot"]
    assert final["EXPOSE"].split() == ["3000", "9100"]
    env = final["ENV"]
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "METRICS_PORT=9100", "PORT=3000"):
        assert setting in env


def test_healthcheck_asks_healthz_on_the_metrics_port_without_curl() -> None:
    (args,) = [rest for word, rest in stages()[-1] if word == "HEALTHCHECK"]
    assert "curl" not in args and "wget" not in args
    command = _healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2] and "METRICS_PORT" in command[2] and "9100" in command[2]
    assert re.search(r"--timeout=\d+s", args) and re.search(r"--interval=\d+s", args)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run_healthcheck(port: int) -> int:
    command = [sys.executable, *_healthcheck_command()[1:]]
    env = {"METRICS_PORT": str(port), "PATH": "/usr/bin:/bin"}
    return subprocess.run(command, env=env, capture_output=True, timeout=20, check=False).returncode


def test_the_healthcheck_command_really_works(health_server: http.server.HTTPServer) -> None:
    port = health_server.server_address[1]
    assert isinstance(port, int)
    _Health.status = 200
    assert _run_healthcheck(port) == 0
    _Health.status = 503
    try:
        assert _run_healthcheck(port) != 0
    finally:
        _Health.status = 200
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    assert _run_healthcheck(closed) != 0


def test_dockerignore_sends_only_what_the_image_needs() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**"  # everything excluded, then re-included one by one
    included = {line[1:] for line in lines if line.startswith("!")}
    assert included == {"requirements.txt", "bot/"}
    copied = {rest.split()[0] for word, rest in instructions() if word == "COPY"}
    copied.discard("--from=deps")
    assert {c.rstrip("/") for c in copied if not c.startswith("--")} <= {
        "requirements.txt",
        "bot",
    }


def test_the_image_installs_every_library_the_bot_imports() -> None:
    """The image has requirements.txt and bot/ only: a dev-only import would crash the pod."""
    imported: set[str] = set()
    for path in (REPO / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"bot", "__future__"}
    distributions = importlib.metadata.packages_distributions()

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    required = {
        canonical(re.split(r"[=<>!~;\[ ]", line, maxsplit=1)[0])
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    for module in sorted(third_party):
        provided_by = {canonical(d) for d in distributions.get(module, [module])}
        assert provided_by & required, f"bot imports {module}, not in requirements.txt"
