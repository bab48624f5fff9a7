"""Restart persistence: stop the real process, start a new one on the same data, nothing is lost.

Runs against the machine's Redis (REDIS_URL + a unique prefix) and against the embedded server
(REDIS_URL unset, DATA_DIR in tmp_path), and checks that SIGTERM and Ctrl-C (SIGINT to the
whole foreground process group) both stop the bot, embedded Redis included, with exit code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import signal
from pathlib import Path

import pytest
from harness import (
    SIGNING_SECRET,
    BotProcess,
    bot_and_driver,
    run_bot,
    serving,
)
from slack_requests import SlackDriver
from slack_standin import SlackStandin

WAIT = 10.0
# One row of `/incident list`: ":emoji: *INC-1* · SEV1 · title\nResolved · 3s ago ...".
_ROW = re.compile(r"\*INC-(\d+)\* · (SEV\d) · (.*)\n(Open|In progress|Resolved) · ")
# The series that come from Redis (so must survive a restart), as opposed to process counters.
_STORE_SERIES = re.compile(
    r"^(incident_(open|in_progress|resolved)_total|incidentwatch_incidents"
    r"|incidentwatch_incidents_(opened|resolved)_total)[ {]"
)


async def list_all(driver: SlackDriver) -> dict[int, tuple[str, str, str]]:
    """`/incident list all` as {id: (severity, title, status label)}, in the order shown."""
    reply = await driver.command("list all")
    assert reply.status == 200, reply.body_text
    assert reply.json["response_type"] == "ephemeral"
    rows: dict[int, tuple[str, str, str]] = {}
    for block in reply.json["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        match = _ROW.search(text)
        if match:
            rows[int(match[1])] = (match[2], match[3], match[4])
    return rows


async def store_series(bot: BotProcess) -> dict[str, float]:
    status, text = await bot.get("/metrics")
    assert status == 200
    series = {}
    for line in text.splitlines():
        if _STORE_SERIES.match(line):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


async def command_ok(driver: SlackDriver, text: str, expect: str) -> None:
    reply = await driver.command(text)
    assert reply.status == 200, reply.body_text
    assert expect in reply.json["text"], reply.json


def embedded_server_pid(bot: BotProcess) -> int:
    match = re.search(r"embedded \S+ \S+ started \(pid (\d+)\)", bot.log_text())
    assert match, bot.log_text()
    return int(match[1])


def lock_is_free(data_dir: Path) -> bool:
    """Can DATA_DIR/LOCK be flocked? The bot and its server hold it while either is alive."""
    fd = os.open(data_dir / "LOCK", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing also drops a lock taken here
    return True


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            stat = (entry / "stat").read_text()
            # A zombie (state Z) is dead, only waiting to be reaped.
            if text.encode() in cmdline and stat.rsplit(")", 1)[1].split()[0] != "Z":
                found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


async def wait_until_gone(pid: int, timeout: float = WAIT) -> bool:
    """The server is reparented when the bot exits, so it may take a moment to be reaped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pid_alive(pid):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_restart_with_external_redis_keeps_everything(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    async with bot_and_driver(standin, redis_url=redis_url, prefix=prefix) as (bot, driver):
        await serving(bot)
        await command_ok(driver, "open sev1 Checkout API returns 502", "INC-1")
        await command_ok(driver, "open sev2 Search is slow", "INC-2")
        await command_ok(driver, "open sev4 Typo on the status page", "INC-3")
        await command_ok(driver, "ack INC-2", "INC-2")
        await command_ok(driver, "resolve 1 rolled back the deploy", "INC-1")
        await standin.wait_for_call("chat.postMessage", count=3, timeout=WAIT)
        before = await list_all(driver)
        series_before = await store_series(bot)
        assert await bot.stop() == 0
    assert before == {
        3: ("SEV4", "Typo on the status page", "Open"),
        2: ("SEV2", "Search is slow", "In progress"),
        1: ("SEV1", "Checkout API returns 502", "Resolved"),
    }
    assert list(before) == [3, 2, 1]  # newest first
    assert series_before["incident_open_total"] == 1
    assert series_before["incident_in_progress_total"] == 1
    assert series_before["incident_resolved_total"] == 1
    assert series_before['incidentwatch_incidents{severity="sev1",status="resolved"}'] == 1

    async with bot_and_driver(standin, redis_url=redis_url, prefix=prefix) as (bot, driver):
        await serving(bot)
        after = await list_all(driver)
        assert after == before
        assert list(after) == list(before)
        assert await store_series(bot) == series_before
        # The timeline survived too, and the id counter: a new incident is INC-4.
        details = await driver.command("show 1")
        shown = str(details.json["blocks"])
        assert "rolled back the deploy" in shown and "Resolved" in shown
        await command_ok(driver, "open Fresh after restart", "INC-4")
        assert await bot.stop() == 0


def assert_embedded_files(data_dir: Path) -> None:
    """The AOF (appendonlydir, with its manifest and files) and the server version file."""
    aof = data_dir / "appendonlydir"
    listing = sorted(p.name for p in data_dir.iterdir())
    assert aof.is_dir(), listing
    assert any(p.name.endswith(".manifest") for p in aof.iterdir()), sorted(aof.iterdir())
    version = (data_dir / "SERVER_VERSION").read_text()
    assert re.fullmatch(r"(valkey|redis) \d+(\.\d+)*\n", version), version


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def test_restart_with_embedded_server_keeps_everything(
    standin: SlackStandin, data_dir: Path, prefix: str
) -> None:
    env = {"DATA_DIR": str(data_dir)}
    async with bot_and_driver(standin, redis_url=None, prefix=prefix, **env) as (bot, driver):
        await serving(bot)
        server = embedded_server_pid(bot)
        assert not lock_is_free(data_dir)  # the probe below means something
        assert server in processes_mentioning(str(data_dir))
        await command_ok(driver, "open sev1 Database failover", "INC-1")
        await command_ok(driver, "open sev3 Disk almost full", "INC-2")
        await command_ok(driver, "resolve INC-2 cleaned up", "INC-2")
        before = await list_all(driver)
        series_before = await store_series(bot)
        assert await bot.stop() == 0, bot.log_text()
        assert "embedded" in bot.log_text() and "stopped" in bot.log_text()

    assert await wait_until_gone(server), f"embedded server pid {server} outlived the bot"
    assert processes_mentioning(str(data_dir)) == []
    assert lock_is_free(data_dir)
    assert before == {
        2: ("SEV3", "Disk almost full", "Resolved"),
        1: ("SEV1", "Database failover", "Open"),
    }
    assert_embedded_files(data_dir)

    async with bot_and_driver(standin, redis_url=None, prefix=prefix, **env) as (bot, driver):
        await serving(bot)
        assert await list_all(driver) == before
        assert await store_series(bot) == series_before
        await command_ok(driver, "open Third", "INC-3")
        server = embedded_server_pid(bot)
        assert await bot.stop() == 0
    assert await wait_until_gone(server)
    assert lock_is_free(data_dir)


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "external"])
async def test_ctrl_c_stops_cleanly(
    standin: SlackStandin, redis_url: str, prefix: str, tmp_path: Path, embedded: bool
) -> None:
    data_dir = tmp_path / "data"
    overrides = {"DATA_DIR": str(data_dir)} if embedded else {"REDIS_URL": redis_url}
    async with run_bot(
        standin, redis_url=None, prefix=prefix, own_session=True, **overrides
    ) as bot:
        async with SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver:
            await command_ok(driver, "open Interrupted soon", "INC-1")
        server = embedded_server_pid(bot) if embedded else None
        os.killpg(bot.proc.pid, signal.SIGINT)
        try:
            code = await asyncio.wait_for(bot.proc.wait(), 20.0)
        except TimeoutError:
            pytest.fail(f"bot ignored Ctrl-C:\n{bot.log_text()}")
        log = bot.log_text()
        assert code == 0, log
        assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
        assert "stopped" in log
    if server is not None:
        assert await wait_until_gone(server), f"embedded server pid {server} outlived the bot"
        assert lock_is_free(data_dir)
