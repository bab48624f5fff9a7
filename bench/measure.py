"""The requests under test and the two ways of sending them: one at a time, and saturating."""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from slack_requests import SlackDriver, SlackReply
from slack_standin import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, SlackStandin

from bench.procs import cpu_seconds, profiled
from bench.stats import summary_ms
from bot.domain.incident import Incident, Severity, Status
from bot.slack.blocks import incident_text, render_incident
from bot.slack.ids import ActionId

EFFECT_TIMEOUT = 10.0  # seconds to wait for a Slack call a request causes


@dataclass
class Shot:
    """One request: seconds until the HTTP answer, and until the user saw the answer."""

    ack: float
    seen: float | None
    ok: bool


class Failed(Exception):
    """The request did not do what it should (wrong status, wrong answer, no Slack call)."""


@dataclass
class Kind:
    """A kind of request: how to send one, what the user waits for, and what else it causes.

    `send` returns the reply and a check of it; `seen_by` is None when the answer is the HTTP
    response itself, else the Slack call ("api:<method>" or "response") that shows it;
    `trailing` are further Slack calls it causes (awaited, not timed, so requests never overlap).
    """

    name: str
    shape: str  # which baseline request it is compared with: "command" or "click"
    send: Callable[[], Awaitable[tuple[SlackReply, bool]]]
    seen_by: str | None = None
    trailing: tuple[str, ...] = ()

    @property
    def effects(self) -> int:
        """Slack calls (Web API or response_url) each request of this kind leads to."""
        return (self.seen_by is not None) + len(self.trailing)


async def once(kind: Kind, standin: SlackStandin | None, follow: bool) -> Shot:
    """Send one request; with `follow`, also wait for the Slack calls it causes (the stand-in's
    records are reset first, so only this request's calls are there)."""
    if follow and standin is not None:
        standin.reset()
    started = time.monotonic()
    reply, ok = await kind.send()
    if not follow or standin is None:
        return Shot(reply.elapsed, None, ok)
    seen: float | None = reply.elapsed
    try:
        if kind.seen_by is not None:
            seen = await _arrival(standin, kind.seen_by, reply) - started
        for method in kind.trailing:
            await _arrival(standin, method, reply)
    except AssertionError:
        return Shot(reply.elapsed, None, False)
    return Shot(reply.elapsed, seen, ok)


async def _arrival(standin: SlackStandin, what: str, reply: SlackReply) -> float:
    if what == "response":
        assert reply.response_key is not None
        posts = await standin.wait_for_response(reply.response_key, timeout=EFFECT_TIMEOUT)
        return posts[0].at
    method = what.removeprefix("api:")
    calls = await standin.wait_for_call(method, timeout=EFFECT_TIMEOUT)
    return calls[0].at


@dataclass
class Samples:
    """One-at-a-time results of one kind, gathered over several rounds."""

    acks: list[float] = field(default_factory=list)
    seens: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, Any]:
        return {"ack": summary_ms(self.acks), "seen": summary_ms(self.seens), "errors": self.errors}


async def sequential(
    kind: Kind, standin: SlackStandin | None, count: int, into: Samples, gap: float = 0.001
) -> Samples:
    """`count` requests one at a time (latency without queueing), each followed to its end."""
    for _ in range(count):
        shot = await once(kind, standin, follow=True)
        into.acks.append(shot.ack)
        if shot.seen is not None:
            into.seens.append(shot.seen)
        into.errors += not shot.ok
        # Requests arrive apart, as Slack's do: the trailing work of one (a Redis write after a
        # Slack call) is not measured as part of the next, and every request wakes the server.
        await asyncio.sleep(gap)
    return into


@dataclass
class Watched:
    """Processes whose CPU time a saturation run charges to its requests."""

    server_pid: int | None = None
    redis_cpu: Callable[[], Awaitable[float]] | None = None


async def saturate(
    kind: Kind,
    standin: SlackStandin | None,
    *,
    concurrency: int,
    seconds: float,
    watched: Watched,
    profile: Path | None = None,
) -> dict[str, Any]:
    """`concurrency` requests in flight for `seconds`: throughput, latency under load, and CPU
    time per request of the server (and of Redis), background Slack calls included; with
    `profile`, a py-spy flame graph of the server during the run."""
    if standin is not None:
        standin.reset()
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            try:
                shot = await once(kind, standin, follow=False)
            except (aiohttp.ClientError, Failed):
                errors += 1
                continue
            latencies.append(shot.ack)
            errors += not shot.ok

    cpu_before = cpu_seconds(watched.server_pid) if watched.server_pid else 0.0
    redis_before = await watched.redis_cpu() if watched.redis_cpu else 0.0
    client_before = _own_cpu()
    started = time.monotonic()
    async with profiled(watched.server_pid, profile):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.monotonic() - started
    client_cpu = _own_cpu() - client_before
    done = len(latencies)
    if standin is not None:
        await _drain(standin, done * kind.effects)
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "seconds": wall,
        "requests": done,
        "errors": errors,
        "rps": done / wall if wall else 0.0,
        "ack": summary_ms(latencies),
        # Share of one core the benchmark process (client and stand-in) used: near 1.0 means
        # the client, not the server, set the pace.
        "client_cores": client_cpu / wall if wall else 0.0,
    }
    if watched.server_pid and done:
        result["server_cpu_ms"] = (cpu_seconds(watched.server_pid) - cpu_before) / done * 1000
    if watched.redis_cpu and done:
        result["redis_cpu_us"] = (await watched.redis_cpu() - redis_before) / done * 1e6
    return result


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drain(standin: SlackStandin, expected: int, timeout: float = 30.0) -> None:
    """Wait until the background Slack calls of a saturation run have all arrived, so their
    CPU is charged to the run (polling: the stand-in's waiters scan its whole record)."""
    deadline = time.monotonic() + timeout
    while len(standin.calls) + len(standin.responses) < expected:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)  # the Redis write after the last Slack answer


# -- the kinds of request --------------------------------------------------------------------


def _json(reply: SlackReply) -> dict[str, Any]:
    return reply.json if isinstance(reply.json, dict) else {}


def open_kind(driver: SlackDriver) -> Kind:
    async def send() -> tuple[SlackReply, bool]:
        reply = await driver.command("open sev2 Checkout API returns 502 for 3% of requests")
        return reply, reply.status == 200 and "Opened" in str(_json(reply).get("text"))

    return Kind("open", "command", send, seen_by="api:chat.postMessage")


def list_kind(driver: SlackDriver) -> Kind:
    async def send() -> tuple[SlackReply, bool]:
        reply = await driver.command("list")
        return reply, reply.status == 200 and len(_json(reply).get("blocks") or []) >= 11

    return Kind("list", "command", send)


def deep_page_kind(driver: SlackDriver, cursor: int) -> Kind:
    """The "Next page" button far down the active list (clicked on the ephemeral list)."""
    value = f"active:{cursor}"

    async def send() -> tuple[SlackReply, bool]:
        reply = await driver.click(ActionId.LIST_PAGE.value, value, is_ephemeral=True)
        return reply, reply.status == 200

    return Kind("list, deep page", "click", send, seen_by="response")


def show_kind(driver: SlackDriver, ids: list[int], rng: random.Random) -> Kind:
    async def send() -> tuple[SlackReply, bool]:
        number = rng.choice(ids)
        reply = await driver.command(f"show INC-{number}")
        return reply, reply.status == 200 and _json(reply).get("text") == f"INC-{number}"

    return Kind("show", "command", send)


@dataclass
class ClickPool:
    """Seeded incidents with the status the benchmark knows they have; each click takes one
    out (so no two requests in flight touch the same incident) and moves it one step along:
    open -> acknowledge -> in progress -> resolve -> resolved -> reopen -> open. Every click
    is a real, legal transition."""

    known: deque[tuple[int, Status]] = field(default_factory=deque)


_NEXT_STEP = {
    Status.OPEN: (ActionId.ACKNOWLEDGE, Status.IN_PROGRESS),
    Status.IN_PROGRESS: (ActionId.RESOLVE, Status.RESOLVED),
    Status.RESOLVED: (ActionId.REOPEN, Status.OPEN),
}


def clicked_message() -> dict[str, Any]:
    """The incident message a button sits on: Slack sends it, blocks and all, with each click
    on a channel message, and Bolt decodes all of it (the baselines get the same)."""
    at = 1_733_300_000.0
    incident = Incident(
        id=4242,
        title="Checkout is down for some customers in eu-west-1",
        severity=Severity.SEV2,
        created_by="U0ALICE",
        status_by="U0ALICE",
        created_at=at,
        updated_at=at,
        channel="C0INCIDENT",
        message_ts="1733300000.000100",
    )
    return {
        "user": BOT_USER_ID,
        "type": "message",
        "ts": incident.message_ts,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": incident_text(incident),
        "team": TEAM_ID,
        "blocks": render_incident(incident, at + 600),
    }


def click_kind(driver: SlackDriver, pool: ClickPool) -> Kind:
    message = clicked_message()

    async def send() -> tuple[SlackReply, bool]:
        if not pool.known:
            raise Failed("every incident of the pool is in flight")
        number, status = pool.known.popleft()
        action, after = _NEXT_STEP[status]
        reply = await driver.click(action.value, str(number), message=message)
        if reply.status == 200:
            pool.known.append((number, after))  # a failed one leaves the pool: status unknown
        return reply, reply.status == 200

    # The message is refreshed in place (what the user sees), then the change is threaded.
    return Kind(
        "click", "click", send, seen_by="api:chat.update", trailing=("api:chat.postMessage",)
    )


def metrics_kind(session: aiohttp.ClientSession, url: str) -> Kind:
    async def send() -> tuple[SlackReply, bool]:
        started = time.perf_counter()
        async with session.get(url) as resp:
            text = await resp.text()
        reply = SlackReply(resp.status, "", None, elapsed=time.perf_counter() - started)
        return reply, resp.status == 200 and "incident_open_total" in text

    return Kind("GET /metrics", "get", send)


def baseline_kinds(driver: SlackDriver) -> list[Kind]:
    """What the baselines answer: the same signed slash command and button click bodies."""
    message = clicked_message()

    async def command() -> tuple[SlackReply, bool]:
        reply = await driver.command("list")
        return reply, reply.status == 200

    async def click() -> tuple[SlackReply, bool]:
        reply = await driver.click(ActionId.ACKNOWLEDGE.value, "1", message=message)
        return reply, reply.status == 200

    return [Kind("command", "command", command), Kind("click", "click", click)]
