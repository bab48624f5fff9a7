"""Start the real `python -m bot` process against the Slack stand-in and a real Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from slack_requests import SlackDriver
from slack_standin import SlackStandin

REPO = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-e2e-bot-token"
APP_TOKEN = "xapp-e2e-app-token"
# run_bot overrides for Socket Mode (an empty signing secret counts as unset: it is not needed).
SOCKET_MODE = {"SLACK_MODE": "socket", "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": ""}
# Variables of the machine that must not leak into the bot under test.
_SCRUBBED = (
    "SLACK_",
    "REDIS_",
    "API_TOKEN",
    "INCIDENT_CHANNEL",
    "DATA_DIR",
    "PORT",
    "HOST",
    "METRICS_PORT",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    port: int
    metrics_port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def get(self, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.metrics_url + path) as reply,
        ):
            return reply.status, await reply.text()

    async def metric(self, name: str) -> float | None:
        """The value of one series (name with labels exactly as exposed), or None if absent."""
        _, text = await self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signum)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode


def bot_env(
    standin: SlackStandin, port: int, metrics_port: int, **overrides: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_MODE="http",
        SLACK_API_URL=standin.base_url,
        HOST="127.0.0.1",
        PORT=str(port),
        METRICS_PORT=str(metrics_port),
        LOG_LEVEL="INFO",
    )
    env.update(overrides)
    return env


async def wait_ready(bot: BotProcess, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if bot.proc.returncode is not None:
                raise AssertionError(f"bot exited with {bot.proc.returncode}:\n{bot.log_text()}")
            try:
                async with session.get(bot.metrics_url + "/readyz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"bot not ready after {timeout}s:\n{bot.log_text()}")


def embedded_server_pids(data_dir: Path) -> list[int]:
    """Pids of the embedded server running on `data_dir` (found by its socket path)."""
    # The server renames its process to "valkey-server unixsocket:<path>".
    pattern = str(data_dir.resolve() / "redis.sock")
    found = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


async def serving(bot: BotProcess, timeout: float = 20.0) -> None:
    """Wait until the bot accepts connections on PORT (for starts that skip wait_ready)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", bot.port)
        except OSError:
            if bot.proc.returncode is not None or loop.time() >= deadline:
                raise AssertionError(f"nothing serves PORT {bot.port}:\n{bot.log_text()}") from None
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return


@asynccontextmanager
async def run_bot(
    standin: SlackStandin,
    *,
    redis_url: str | None,
    prefix: str,
    ready: bool = True,
    own_session: bool = False,
    **overrides: str,
) -> AsyncIterator[BotProcess]:
    """`python -m bot` in HTTP mode (unless overridden), in a scratch working directory so a
    developer's .env is never read; REDIS_URL unset (None) means the embedded server.
    `own_session`: the bot leads its own process group, as in a terminal, so a test can press
    Ctrl-C (SIGINT to the whole group) without hitting pytest."""
    extra = dict(overrides)
    if redis_url is not None:
        extra["REDIS_URL"] = redis_url
    extra.setdefault("REDIS_PREFIX", prefix)
    with tempfile.TemporaryDirectory(prefix="iw-e2e-") as scratch:
        log_path = Path(scratch) / "bot.log"
        for attempt in range(3):
            # A free port can be taken by another process before the bot binds it: try again.
            port, metrics_port = free_port(), free_port()
            env = bot_env(standin, port, metrics_port, **extra)
            with log_path.open("wb") as log_file:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    cwd=scratch,
                    env=env,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=own_session,
                )
            bot = BotProcess(proc, port, metrics_port, log_path, env)
            if not ready:
                break
            try:
                await wait_ready(bot)
                break
            except AssertionError:
                await bot.stop()
                if attempt == 2 or "address already in use" not in bot.log_text():
                    raise
        try:
            yield bot
        finally:
            await bot.stop()


@asynccontextmanager
async def bot_and_driver(
    standin: SlackStandin, *, redis_url: str | None, prefix: str, **overrides: str
) -> AsyncIterator[tuple[BotProcess, SlackDriver]]:
    async with (
        run_bot(standin, redis_url=redis_url, prefix=prefix, **overrides) as bot,
        SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver,
    ):
        yield bot, driver
