"""`python -m bench [--max N] [--smoke]`: seed, measure the real bot and two baselines, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
from harness import BOT_TOKEN, REPO, SIGNING_SECRET, run_bot
from redis.asyncio import Redis
from slack_requests import SlackDriver
from slack_standin import SlackStandin

from bench import probes
from bench.measure import (
    ClickPool,
    Kind,
    Samples,
    Watched,
    baseline_kinds,
    click_kind,
    deep_page_kind,
    list_kind,
    metrics_kind,
    open_kind,
    saturate,
    sequential,
    show_kind,
)
from bench.procs import baseline_server, private_redis, redis_binary
from bench.report import markdown, targets
from bench.seed import SPACING_SECONDS, Seeder
from bot.domain.incident import Status

SIZES = (1_000, 100_000, 1_000_000)
PREFIX = "{incidentwatch}:"
RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    sequential: int  # requests one at a time, per kind and stage
    saturate_seconds: float
    concurrency: int
    round_trip_samples: int
    startup_runs: int
    profiles: str | None = None  # folder for py-spy flame graphs of the bot, if wanted
    # Seconds between one-at-a-time requests. Slack's arrive seconds apart, so every request
    # meets idle cores (on this VM a core idle for a few ms is parked, and waking it costs each
    # process on the path); back to back, 1 ms apart, they stay awake: that is reported too.
    gap: float = 0.010
    back_to_back_gap: float = 0.001


def make_plan(max_n: int, smoke: bool) -> Plan:
    if smoke:  # CI: proves the harness end to end in well under a minute
        return Plan((min(max_n, 1_000),), 40, 0.5, 16, 3, 1)
    sizes = tuple(n for n in SIZES if n <= max_n) or (max_n,)
    return Plan(sizes, 500, 3.0, 16, 20, 3)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "description": (
            f"{os.cpu_count()} cores ({cpu}), {mem_kb / 2**20:.0f} GiB, Linux "
            f"{platform.release()}, Python {platform.python_version()}"
        ),
        "libraries": ", ".join(
            f"{name} {_version(name)}"
            for name in ("slack-bolt", "aiohttp", "redis", "hiredis", "pydantic")
        ),
        "load_start": os.getloadavg()[0],
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", "bot") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


async def run(plan: Plan, command: str, redis_server: str | None) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "command": command,
        "started_at": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": commit(),
        "machine": machine(),
        "plan": asdict(plan),
        "stages": [],
    }
    async with AsyncExitStack() as stack:
        standin = await stack.enter_async_context(SlackStandin())
        server = await stack.enter_async_context(private_redis(redis_binary(redis_server)))
        result["redis"] = server.version
        # The bot reaches Redis through its Unix socket, as with the default (embedded) server.
        redis = Redis.from_url(server.socket_url, decode_responses=True, socket_timeout=60)
        stack.push_async_callback(redis.aclose)
        log(f"private {server.version} at {server.socket_url}; starting the bot and the baselines")
        bot = await stack.enter_async_context(
            run_bot(standin, redis_url=server.socket_url, prefix=PREFIX)
        )
        driver = await stack.enter_async_context(
            SlackDriver(bot.events_url, SIGNING_SECRET, standin)
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())
        baselines = {}
        for name in ("bolt", "bolt-inline", "bolt-redis", "aiohttp"):
            base = await stack.enter_async_context(
                baseline_server(
                    name, standin.base_url, SIGNING_SECRET, BOT_TOKEN, server.socket_url
                )
            )
            base_driver = await stack.enter_async_context(
                SlackDriver(base.url, SIGNING_SECRET, standin)
            )
            baselines[name] = (base.pid, baseline_kinds(base_driver))

        seeder = Seeder(redis, PREFIX, time.time() - max(plan.sizes) * SPACING_SECONDS - 86400)
        pool = ClickPool()
        pooled: set[int] = set()
        rng = random.Random(6)
        bot_watch = Watched(bot.proc.pid, lambda: probes.redis_cpu(redis))
        for n in plan.sizes:
            stage: dict[str, Any] = {"n": n}
            stage["seed"], stage["memory"] = await _seed(seeder, redis, n)
            sample = seeder.state.by_status
            for status in Status:
                fresh = [i for i in sample[status] if i not in pooled][:2000]
                pool.known.extend((i, status) for i in fresh)
                pooled.update(fresh)
            active = sorted(sample[Status.OPEN] + sample[Status.IN_PROGRESS])
            shown = sample[Status.RESOLVED] + sample[Status.IN_PROGRESS]
            kinds = [
                open_kind(driver),
                list_kind(driver),
                deep_page_kind(driver, active[len(active) // 2]),
                show_kind(driver, shown, rng),
                click_kind(driver, pool),
                metrics_kind(session, bot.metrics_url + "/metrics"),
            ]
            runs = [Run("bot", kind, standin, bot_watch, redis) for kind in kinds]
            for name, (pid, base_kinds) in baselines.items():
                runs += [Run(name, kind, None, Watched(pid), None) for kind in base_kinds]
            figures = await _measure(runs, plan, n, last=n == plan.sizes[-1])
            stage["redis_hop"] = await probes.redis_hop(redis, plan.sequential, plan.gap)
            stage["requests"] = {run.kind.name: f for run, f in figures if run.group == "bot"}
            stage["baselines"] = {
                name: {run.kind.name: f for run, f in figures if run.group == name}
                for name in baselines
            }
            result["stages"].append(stage)
        log("start-up to ready: external Redis, then embedded")
        result["startup"] = await probes.startup(
            standin, server.socket_url, PREFIX, plan.startup_runs
        )
    result["memory"] = result["stages"][-1]["memory"]
    result["machine"]["load_end"] = os.getloadavg()[0]
    result["seconds"] = time.monotonic() - started
    result["targets"] = targets(result)
    return result


async def _seed(seeder: Seeder, redis: Redis, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    existing = int(await redis.get(f"{PREFIX}seq") or 0)
    added = max(0, n - existing)
    log(f"seeding {added:,} incidents (to {n:,})")
    before = await probes.used_memory(redis)
    seconds = await seeder.grow_to(n, existing)
    seeded = await probes.used_memory(redis)
    notes, note_seconds = await seeder.add_notes()
    noted = await probes.used_memory(redis)
    sample = [i for ids in seeder.state.by_status.values() for i in ids[:10]]
    memory = {
        "per_incident_bytes": (seeded - before) / added if added else None,
        "per_note_bytes": (noted - seeded) / notes if notes else None,
        **await probes.memory_samples(redis, PREFIX, sample, n),
    }
    seed = {
        "added": added,
        "seconds": seconds + note_seconds,
        "rate": added / seconds if seconds else None,
        "notes": notes,
    }
    log(
        f"seeded in {seed['seconds']:.1f}s ({seed['rate'] or 0:,.0f}/s); "
        f"{memory['per_incident_bytes'] or 0:,.0f} B/incident without notes"
    )
    return seed, memory


@dataclass(frozen=True)
class Run:
    """One kind of request against one server: the bot or a baseline (`group`)."""

    group: str
    kind: Kind
    standin: SlackStandin | None  # where its Slack calls land (None: it makes none)
    watched: Watched
    redis: Redis | None  # the bot's Redis, for the round-trip probe


async def _one_at_a_time(runs: list[Run], count: int, gap: float, per_round: int) -> list[Samples]:
    """Interleaved rounds: every kind and baseline gets a slice of each round, so a burst of
    other work on the machine hits them alike (the shorter the slices, the more alike)."""
    samples = [Samples() for _ in runs]
    rounds = max(1, count // per_round)
    for _ in range(rounds):
        for run, into in zip(runs, samples, strict=True):
            await sequential(run.kind, run.standin, count // rounds, into, gap=gap)
    return samples


async def _measure(
    runs: list[Run], plan: Plan, stage_n: int, last: bool
) -> list[tuple[Run, dict[str, Any]]]:
    """One at a time (at the last stage also back to back), then the Redis probe, then each
    saturated in turn."""
    for run in runs:
        # Warm-up: first-request costs (Bolt's auth.test, new pooled connections) are not it.
        await sequential(run.kind, run.standin, 5, Samples())
    samples = await _one_at_a_time(runs, plan.sequential, plan.gap, per_round=10)
    # Back to back, each kind's requests come 50 in a row: its server stays as warm as it can.
    hot = None
    if last:
        hot = await _one_at_a_time(runs, plan.sequential, plan.back_to_back_gap, per_round=50)
    results = []
    for i, (run, into) in enumerate(zip(runs, samples, strict=True)):
        figures: dict[str, Any] = {"shape": run.kind.shape, "sequential": into.summary()}
        if hot is not None:
            figures["back_to_back"] = hot[i].summary()
        if run.redis is not None and run.standin is not None:
            figures["round_trips"] = await probes.round_trips(
                run.kind, run.standin, run.redis, plan.round_trip_samples
            )
        profile = None
        if plan.profiles is not None and run.group == "bot":
            slug = "".join(c if c.isalnum() else "-" for c in run.kind.name)
            profile = Path(plan.profiles) / f"{stage_n}-{slug}.svg"
        figures["saturated"] = await saturate(
            run.kind,
            run.standin,
            concurrency=plan.concurrency,
            seconds=plan.saturate_seconds,
            watched=run.watched,
            profile=profile,
        )
        ack, sat = figures["sequential"]["ack"], figures["saturated"]
        log(
            f"{run.group} {run.kind.name}: p50 {ack['p50']:.2f} ms, p99 {ack['p99']:.2f} ms; "
            f"{sat['rps']:,.0f} req/s at {plan.concurrency} in flight"
        )
        results.append((run, figures))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--max", type=int, default=SIZES[-1], help="largest N (of 1,000, 100,000, 1,000,000)"
    )
    parser.add_argument("--smoke", action="store_true", help="one small stage, for CI (< 1 min)")
    parser.add_argument(
        "--redis-server",
        help="server binary, e.g. redis-server (default: the pinned valkey-server the bot embeds)",
    )
    parser.add_argument("--out", type=Path, help="folder for the .json and .md results")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy flame graphs of the bot under saturation, in <out>/profiles (needs py-spy)",
    )
    args = parser.parse_args(argv)
    out = args.out or (RESULTS / "tmp" if args.smoke else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    plan = make_plan(args.max, args.smoke)
    if args.profile:
        (out / "profiles").mkdir(exist_ok=True)
        plan = replace(plan, profiles=str(out / "profiles"))
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    result = asyncio.run(run(plan, command.strip(), args.redis_server))
    name = "smoke" if args.smoke else "latest"
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    page = markdown(result)
    (out / f"{name}.md").write_text(page)
    print(page)
    log(f"written {out / name}.json and .md in {result['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
