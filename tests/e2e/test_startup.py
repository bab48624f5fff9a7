"""Start-up as an operator sees it: `python -m bot` in a clean environment and directory.

Configuration mistakes must end with exit code 2 and one line naming the variable; a busy port
with exit code 1 and one line naming it; never a traceback, never a secret's value.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from harness import REPO, BotProcess, free_port, serving, wait_ready
from slack_requests import SlackDriver
from slack_standin import SlackStandin

# Distinctive fake secrets: if any of them shows up in the bot's output, it leaked.
BOT_TOKEN = "xoxb-startup-BOTSECRET-5f1c9a"
APP_TOKEN = "xapp-startup-APPSECRET-83d0e2"
SIGNING_SECRET = "startup-SIGNINGSECRET-a94b17"
REDIS_PASSWORD = "REDISPASSWORD-7c2e4d"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, REDIS_PASSWORD)
# Everything of the machine's environment that the bot reads (or Bolt reads behind its back).
_SCRUBBED = ("SLACK_", "REDIS_", "API_TOKEN", "INCIDENT_CHANNEL", "DATA_DIR", "PORT", "HOST")
_SCRUBBED_EXACT = ("METRICS_PORT", "LOG_LEVEL")
EXIT_TIMEOUT = 30.0


def clean_env(**settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED) and k not in _SCRUBBED_EXACT
    }
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    env.update(settings)
    return env


def run_to_exit(cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run the bot in `cwd` (no .env there unless the test wrote one) until it exits."""
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=cwd,
        env=clean_env(**settings),
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )


def assert_no_secrets(*outputs: str) -> None:
    for output in outputs:
        for secret in SECRETS:
            assert secret not in output, f"secret {secret[:12]}… leaked:\n{output}"


def assert_config_error(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert_no_secrets(result.stdout, result.stderr)


_TOKENS = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": APP_TOKEN}
_ALL = {"SLACK_BOT_TOKEN": BOT_TOKEN, **_TOKENS}
# id -> (settings, the variable the one line must name). Run concurrently, once per module.
CONFIG_ERRORS: dict[str, tuple[dict[str, str], str]] = {
    # SLACK_BOT_TOKEN unset, empty or blank, in either mode.
    **{
        f"bot-token-{name}-{mode}": (
            {
                **_TOKENS,
                "SLACK_MODE": mode,
                **({} if value is None else {"SLACK_BOT_TOKEN": value}),
            },
            "SLACK_BOT_TOKEN",
        )
        for name, value in (("unset", None), ("empty", ""), ("blank", "   "))
        for mode in ("http", "socket")
    },
    # A newcomer's first run, nothing set: the bot token is what to set first.
    "nothing-configured": ({}, "SLACK_BOT_TOKEN"),
    "http-without-signing-secret": (
        {"SLACK_MODE": "http", "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN},
        "SLACK_SIGNING_SECRET",
    ),
    # No app token: HTTP mode is the default, and it needs the signing secret.
    "default-mode-without-signing-secret": ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET"),
    "socket-without-app-token": (
        {
            "SLACK_MODE": "socket",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        },
        "SLACK_APP_TOKEN",
    ),
    "port-not-a-number": ({**_ALL, "PORT": "notanumber"}, "PORT"),
    "port-out-of-range": ({**_ALL, "PORT": "70000"}, "PORT"),
    "metrics-port-not-a-number": ({**_ALL, "METRICS_PORT": "nine-thousand"}, "METRICS_PORT"),
    "unknown-mode": ({**_ALL, "SLACK_MODE": "websocket"}, "SLACK_MODE"),
}


@pytest.fixture(scope="module")
def config_error_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every CONFIG_ERRORS case, run concurrently (each is a Python start-up, ~0.5 s)."""
    cwd = tmp_path_factory.mktemp("config-errors")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case: pool.submit(run_to_exit, cwd, **settings)
            for case, (settings, _) in CONFIG_ERRORS.items()
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
def test_configuration_error(
    case: str, config_error_runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    assert_config_error(config_error_runs[case], CONFIG_ERRORS[case][1])


# -- runs that get past configuration ------------------------------------------------------


@asynccontextmanager
async def running(
    cwd: Path, *, pick_ports: bool = True, retry_taken_ports: bool = True, **settings: str
) -> AsyncIterator[BotProcess]:
    """Start the bot in `cwd`, always stopped after. PORT and METRICS_PORT are picked here
    unless given; if one of those is taken by another process before the bot binds it (these
    machines are shared), start again on fresh ones. The caller waits for the rest."""
    for attempt in range(3):
        ports = {"PORT": str(free_port()), "METRICS_PORT": str(free_port())}
        picked = {k: v for k, v in ports.items() if k not in settings and pick_ports}
        env = clean_env(**picked, **settings)
        log_path = cwd / "bot.log"
        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=cwd, env=env, stdout=log_file, stderr=log_file
            )
        port, metrics_port = (int(env.get(k, "0")) for k in ("PORT", "METRICS_PORT"))
        bot = BotProcess(proc, port, metrics_port, log_path, env)
        if not (retry_taken_ports and picked) or attempt == 2:
            break
        if not await _lost_a_port(bot, picked):
            break
        await bot.stop()
    try:
        yield bot
    finally:
        await bot.stop()


async def _lost_a_port(bot: BotProcess, picked: dict[str, str]) -> bool:
    """Wait until the bot is ready or has exited; True if it exited for want of a port that
    was picked for it (not one a test made busy on purpose)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXIT_TIMEOUT
    while bot.proc.returncode is None and loop.time() < deadline:
        if " ready: " in bot.log_text():
            return False
        await asyncio.sleep(0.05)
    log = bot.log_text()
    return "address already in use" in log and any(f"({name})" in log for name in picked)


async def test_dotenv_in_the_working_directory_is_honoured(
    tmp_path: Path, standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    port, dotenv_metrics_port, metrics_port = free_port(), free_port(), free_port()
    (tmp_path / ".env").write_text(
        "\n".join(
            [
                "# written like the README's example",
                f"SLACK_BOT_TOKEN={BOT_TOKEN}",
                f'SLACK_SIGNING_SECRET="{SIGNING_SECRET}"',
                "SLACK_MODE=http",
                f"SLACK_API_URL={standin.base_url}",
                "HOST=127.0.0.1",
                f"PORT={port}",
                f"METRICS_PORT={dotenv_metrics_port}",
                f"REDIS_URL={redis_url}",
                f"REDIS_PREFIX={prefix}",
                "",
            ]
        )
    )
    # A real environment variable wins over the .env file.
    async with running(tmp_path, pick_ports=False, METRICS_PORT=str(metrics_port)) as bot:
        bot.port = port
        await wait_ready(bot)
        await serving(bot)
        # The signing secret from .env verifies the request, the token from .env calls Slack.
        async with SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver:
            reply = await driver.command("open sev2 Configured from .env")
        assert reply.status == 200, reply.body_text
        assert "INC-1" in reply.json["text"]
        (post,) = await standin.wait_for_call("chat.postMessage", timeout=10.0)
        assert post.headers["authorization"] == f"Bearer {BOT_TOKEN}"
        assert await bot.stop() == 0
    log = bot.log_text()
    assert "Traceback" not in log
    assert_no_secrets(log)


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("variable", ["PORT", "METRICS_PORT"])
async def test_port_in_use(
    tmp_path: Path, standin: SlackStandin, redis_url: str, prefix: str, variable: str
) -> None:
    with _listening_socket() as taken:
        busy = str(taken.getsockname()[1])
        settings = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.base_url,
            "HOST": "127.0.0.1",
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix,
            variable: busy,
        }
        async with running(tmp_path, **settings) as bot:
            code = await asyncio.wait_for(bot.proc.wait(), EXIT_TIMEOUT)
    log = bot.log_text()
    assert code == 1, log
    assert "Traceback" not in log
    errors = [line for line in log.splitlines() if line.startswith("incidentwatch:")]
    assert len(errors) == 1, log
    assert f"({variable})" in errors[0] and busy in errors[0], errors[0]
    assert_no_secrets(log)


async def test_dead_redis_still_starts_and_reports_not_ready(
    tmp_path: Path, standin: SlackStandin, prefix: str
) -> None:
    dead = free_port()
    settings = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.base_url,
        "HOST": "127.0.0.1",
        "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{dead}/0",
        "REDIS_PREFIX": prefix,
    }
    async with running(tmp_path, **settings) as bot:
        await wait_for_status(bot, "/healthz", 200)
        await serving(bot)  # start-up is over: the 503 below is Redis's, not "starting"
        status, body = await bot.get("/readyz")
        assert status == 503 and "Redis" in body, body
        status, text = await bot.get("/metrics")
        assert status == 200
        assert "incidentwatch_store_up 0.0" in text
        # Slack users hear that the store is down, within Slack's 3 seconds.
        async with SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver:
            reply = await driver.command("list")
        assert reply.status == 200, reply.body_text
        assert reply.json["response_type"] == "ephemeral"
        assert "unavailable" in reply.json["text"], reply.json
        assert reply.elapsed < 3.0, reply.elapsed
        assert await bot.stop() == 0
    log = bot.log_text()
    assert "Traceback" not in log
    assert_no_secrets(log)


async def wait_for_status(bot: BotProcess, path: str, wanted: int, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = None
    while loop.time() < deadline:
        if bot.proc.returncode is not None:
            raise AssertionError(f"bot exited with {bot.proc.returncode}:\n{bot.log_text()}")
        try:
            status, _ = await bot.get(path)
        except OSError as exc:  # aiohttp's connection errors are OSErrors
            last = exc
        else:
            if status == wanted:
                return
            last = status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never answered {wanted} (last: {last}):\n{bot.log_text()}")


@pytest.mark.parametrize(
    ("mode", "variable", "bot_token", "app_token", "refused"),
    [
        ("socket", "SLACK_APP_TOKEN", BOT_TOKEN, "xoxb-startup-WRONGKIND-0d9e", None),
        ("socket", "SLACK_APP_TOKEN", BOT_TOKEN, APP_TOKEN, "apps.connections.open"),
        ("socket", "SLACK_BOT_TOKEN", BOT_TOKEN, APP_TOKEN, "auth.test"),
        ("http", "SLACK_BOT_TOKEN", "xapp-startup-WRONGKIND-77a1", None, None),
        ("http", "SLACK_BOT_TOKEN", BOT_TOKEN, None, "auth.test"),
    ],
    ids=[
        "socket-bot-token-as-app-token",
        "socket-revoked-app-token",
        "socket-revoked-bot-token",
        "http-app-token-as-bot-token",
        "http-revoked-bot-token",
    ],
)
async def test_token_refused_by_slack_stops_start_up(
    tmp_path: Path,
    standin: SlackStandin,
    redis_url: str,
    prefix: str,
    mode: str,
    variable: str,
    bot_token: str,
    app_token: str | None,
    refused: str | None,
) -> None:
    """Like @slack/socket-mode's unrecoverable start errors: say which variable, and exit
    (rather than reconnect forever, logging a traceback every 10 s)."""
    if refused is not None:
        standin.fail_next(refused, error="invalid_auth", times=1000)
    settings = {
        "SLACK_MODE": mode,
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.base_url,
        "HOST": "127.0.0.1",
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
    }
    if app_token is not None:
        settings["SLACK_APP_TOKEN"] = app_token
    async with running(tmp_path, **settings) as bot:
        # Done when the bot exits, or as soon as it starts retrying instead (a regression).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXIT_TIMEOUT
        while bot.proc.returncode is None and loop.time() < deadline:
            if "Retrying" in bot.log_text() or " ready: " in bot.log_text():
                break
            await asyncio.sleep(0.05)
        exited_by_itself = bot.proc.returncode is not None
        await bot.stop(signal.SIGKILL)
    log = bot.log_text()
    assert exited_by_itself, log
    assert bot.proc.returncode == 1, log
    errors = [line for line in log.splitlines() if line.startswith("incidentwatch:")]
    assert len(errors) == 1 and variable in errors[0], log
    assert "Traceback" not in log
    assert_no_secrets(log)


def _unreachable_slack_settings(redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
        "HOST": "127.0.0.1",
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
    }


async def test_slack_unreachable_at_start_is_not_fatal(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    """Slack (or the network) down while the bot starts: start anyway, and say so."""
    async with running(tmp_path, **_unreachable_slack_settings(redis_url, prefix)) as bot:
        await wait_ready(bot)
        await serving(bot)
        assert await bot.stop() == 0
        log = bot.log_text()
    assert "unreachable" in log.lower(), log
    assert "Traceback" not in log
    assert_no_secrets(log)


async def test_commands_are_answered_while_the_slack_web_api_is_unreachable(
    tmp_path: Path, standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    """Answering a command needs Redis only; the announcement can wait for Slack."""
    async with running(tmp_path, **_unreachable_slack_settings(redis_url, prefix)) as bot:
        await wait_ready(bot)
        await serving(bot)
        async with SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver:
            reply = await driver.command("open sev3 Slack API is down")
        assert await bot.stop() == 0
    assert reply.status == 200, reply.body_text
    assert "INC-1" in reply.json["text"], reply.json
    assert reply.elapsed < 3.0, reply.elapsed


class HeldAuthStandin(SlackStandin):
    """Holds auth.test (the bot's start-up token check) until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "auth.test":
            await self.release.wait()
        return await super()._api(request)


async def test_ready_means_serving_slack(tmp_path: Path, redis_url: str, prefix: str) -> None:
    """Kubernetes routes Slack's requests to the pod once /readyz says 200 (the bot's
    readinessProbe): by then PORT must accept them, however slow the start-up check is."""
    async with HeldAuthStandin() as standin:
        settings = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.base_url,
            "HOST": "127.0.0.1",
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix,
        }
        # No retries: they wait for a "ready" that the held auth.test holds back.
        async with running(tmp_path, retry_taken_ports=False, **settings) as bot:
            await wait_for_status(bot, "/healthz", 200)
            # The side server is up while the token check still waits for Slack: not ready.
            status, body = await bot.get("/readyz")
            if status != 503 and "while checking" in bot.log_text():
                pytest.skip("machine too slow: the bot's own 5 s check timed out before the probe")
            assert status == 503, body
            standin.release.set()
            await wait_ready(bot)
            _, writer = await asyncio.open_connection("127.0.0.1", bot.port)
            writer.close()
            await writer.wait_closed()
            assert await bot.stop() == 0
