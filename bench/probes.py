"""Redis-side probes (memory per incident, round trips per request) and start-up to ready."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from harness import SIGNING_SECRET, run_bot
from redis.asyncio import Redis
from slack_requests import SlackDriver
from slack_standin import SlackStandin

from bench.measure import Kind, once
from bench.stats import summary_ms
from bot.store.redis_store import load_script

SCRIPTS = ("create", "transition", "amend", "page", "snapshot")
# MONITOR stamps each command with the server's clock: commands of one pipeline (or one script)
# run back to back; a new round trip starts at least a loopback round trip (>50 µs) later.
SAME_TRIP_SECONDS = 30e-6


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def memory_samples(redis: Redis, prefix: str, ids: Sequence[int], n: int) -> dict[str, Any]:
    """MEMORY USAGE of sample incidents (hash + timeline) and of the shared indexes per incident."""
    hashes = [await redis.memory_usage(f"{prefix}i:{i}", samples=0) or 0 for i in ids]
    timelines = [await redis.memory_usage(f"{prefix}t:{i}", samples=0) or 0 for i in ids]
    index_bytes = 0
    async for key in redis.scan_iter(match=f"{prefix}x:*", count=1000):
        index_bytes += await redis.memory_usage(key) or 0  # sampled: exact is O(N)
    return {
        "samples": len(ids),
        "hash_bytes": sum(hashes) / max(1, len(hashes)),
        "timeline_bytes": sum(timelines) / max(1, len(timelines)),
        "index_bytes_per_incident": index_bytes / max(1, n),
    }


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def redis_hop(redis: Redis, count: int, gap: float) -> dict[str, Any]:
    """PING one at a time from Python (redis-py, as the bot uses it), as far apart as the
    requests are: the least any request that touches Redis pays on this machine."""
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        await redis.ping()
        seconds.append(time.perf_counter() - started)
        await asyncio.sleep(gap)
    return summary_ms(seconds)


async def _reads(redis: Redis) -> int:
    return int((await redis.info("stats"))["total_reads_processed"])


async def round_trips(
    kind: Kind, standin: SlackStandin, redis: Redis, count: int
) -> dict[str, Any]:
    """Round trips per request (the server's read events, exact: a pipeline or a script is
    one), and the commands of one request from MONITOR, before and after its ack."""
    before = await _reads(redis)
    for _ in range(count):
        await once(kind, standin, follow=True)
        await asyncio.sleep(0.002)
    # Minus the INFO that takes the second reading (the first one's read is before `before`).
    total = (await _reads(redis) - before - 1) / count
    commands = await _monitor_one(kind, standin, redis)
    after = _trips([c for c in commands if c["after_ack"]])
    return {
        "per_request": total,
        "after_ack": after,
        "request_path": total - after,
        "commands": _describe(commands),
    }


async def _monitor_one(kind: Kind, standin: SlackStandin, redis: Redis) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with redis.monitor() as monitor:
            ready.set()
            while True:
                seen.append(await monitor.next_command())

    listener = asyncio.create_task(listen())
    await ready.wait()
    await asyncio.sleep(0.05)  # MONITOR's OK has arrived
    sent = time.time()
    shot = await once(kind, standin, follow=True)
    acked = sent + shot.ack
    await asyncio.sleep(0.05)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return [
        {**c, "after_ack": float(c["time"]) > acked}
        for c in seen
        if float(c["time"]) >= sent and not str(c["command"]).upper().startswith("INFO")
    ]


def _trips(commands: list[dict[str, Any]]) -> int:
    """Round trips among MONITOR lines: client commands not within SAME_TRIP_SECONDS of the
    previous client command (script-internal lines are part of their EVALSHA's trip)."""
    trips, last = 0, -1.0
    for c in commands:
        if c["client_type"] == "lua":
            last = float(c["time"])
            continue
        if float(c["time"]) - last > SAME_TRIP_SECONDS:
            trips += 1
        last = float(c["time"])
    return trips


_SHA_NAMES = {hashlib.sha1(load_script(name).encode()).hexdigest(): name for name in SCRIPTS}


def _describe(commands: list[dict[str, Any]]) -> str:
    """E.g. "EVALSHA create.lua (14 in Lua); after the ack: HSET"."""
    before: list[str] = []
    after: list[str] = []
    lua = 0
    for c in commands:
        if c["client_type"] == "lua":
            lua += 1  # MONITOR lists a script's commands right after its EVALSHA
            continue
        _close(before, after, lua)
        lua = 0
        words = str(c["command"]).split()
        name = words[0].upper() if words else "?"
        if name == "EVALSHA" and len(words) > 1:
            name = f"EVALSHA {_SHA_NAMES.get(words[1], words[1][:8])}.lua"
        (after if c["after_ack"] else before).append(name)
    _close(before, after, lua)
    text = ", ".join(before) or "none"
    return f"{text}; after the ack: {', '.join(after)}" if after else text


def _close(before: list[str], after: list[str], lua: int) -> None:
    """Append the count of Lua-run commands to the last EVALSHA listed."""
    last = after if after else before
    if lua and last:
        last[-1] += f" ({lua} in Lua)"


async def time_to_ready(
    standin: SlackStandin, redis_url: str | None, prefix: str, poll: float = 0.005
) -> float:
    """Seconds from starting `python -m bot` until it answers a signed slash command."""
    started = time.monotonic()
    async with (
        run_bot(standin, redis_url=redis_url, prefix=prefix, ready=False) as bot,
        SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver,
    ):
        while True:
            if bot.proc.returncode is not None:
                raise RuntimeError(f"the bot exited during start-up:\n{bot.log_text()}")
            try:
                reply = await driver.command("help")
                if reply.status == 200:
                    return time.monotonic() - started
            except aiohttp.ClientError:
                await driver.close()  # a refused connection may linger in the pool
            await asyncio.sleep(poll)


async def startup(
    standin: SlackStandin, redis_url: str, prefix: str, runs: int
) -> dict[str, dict[str, Any]]:
    """Start-up to ready with an external Redis (the private one) and with the embedded one."""
    external = [await time_to_ready(standin, redis_url, prefix) for _ in range(runs)]
    embedded = [await time_to_ready(standin, None, prefix) for _ in range(runs)]
    return {"external": summary_ms(external), "embedded": summary_ms(embedded)}
