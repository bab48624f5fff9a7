"""Processes the benchmark runs beside the bot: a private Redis and the two baseline servers."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import REPO, free_port
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.store.embedded import find_server_binary

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc; Linux only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" that ends the command name: state is field 0, utime 11, stime 12.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def redis_binary(explicit: str | None) -> Path:
    """The server to benchmark against: the given one, else the one `python -m bot` embeds
    (valkey-server, pinned in requirements.txt), so every machine measures the same server."""
    return find_server_binary(explicit)


@dataclass
class PrivateRedis:
    url: str  # TCP on loopback
    socket_url: str  # the same server through its Unix socket
    pid: int
    version: str


@asynccontextmanager
async def private_redis(binary: Path) -> AsyncIterator[PrivateRedis]:
    """A throw-away server on a free loopback port and a Unix socket: no persistence, no
    eviction, no other users (so INFO deltas and MONITOR see only the bot and the benchmark)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="iw-bench-redis-") as folder:
        socket = Path(folder) / "redis.sock"
        options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        options += ["--unixsocket", str(socket), "--unixsocketperm", "700"]
        proc = await asyncio.create_subprocess_exec(
            str(binary),
            *options,
            "--dir",
            folder,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        redis = Redis.from_url(url, decode_responses=True)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    info = await redis.info("server")
                    break
                except (RedisError, OSError):
                    if time.monotonic() > deadline or proc.returncode is not None:
                        raise
                    await asyncio.sleep(0.02)
            version = f"{binary.name} {info.get('valkey_version') or info['redis_version']}"
            yield PrivateRedis(url, f"unix://{socket}", proc.pid, version)
        finally:
            await redis.aclose()
            proc.terminate()
            await proc.wait()


@dataclass
class Baseline:
    name: str
    url: str
    pid: int


@asynccontextmanager
async def baseline_server(
    kind: str, api_url: str, signing_secret: str, bot_token: str, redis_url: str | None = None
) -> AsyncIterator[Baseline]:
    """`python -m bench.baseline <kind>` in its own process, like the bot (its own core, GIL)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.baseline",
        kind,
        "--port",
        str(port),
        "--api-url",
        api_url,
        "--signing-secret",
        signing_secret,
        "--bot-token",
        bot_token,
        *(["--redis-url", redis_url] if redis_url else []),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                break
            except OSError:
                if time.monotonic() > deadline or proc.returncode is not None:
                    raise RuntimeError(f"baseline {kind} did not start") from None
                await asyncio.sleep(0.02)
        yield Baseline(kind, f"http://127.0.0.1:{port}/slack/events", proc.pid)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@asynccontextmanager
async def profiled(pid: int | None, out: Path | None) -> AsyncIterator[None]:
    """py-spy samples process `pid` while the block runs and writes a flame graph (SVG) to
    `out`; nothing happens when either is None. (`pip install py-spy`; needs ptrace rights.)"""
    if pid is None or out is None:
        yield
        return
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    proc = await asyncio.create_subprocess_exec(
        binary,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--nonblocking",  # never pause the process under test
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        await proc.wait()
