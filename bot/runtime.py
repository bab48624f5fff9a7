"""Start-up pieces shared by `python -m bot` and its subcommands: Redis, store, console, check."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import AsyncExitStack

from bot import __version__
from bot.config import Settings
from bot.console import Console, LineReader, repl
from bot.observability.metrics import Metrics
from bot.service.incidents import IncidentService
from bot.store import consistency
from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError, find_server_binary
from bot.store.redis_store import IncidentStore, StoreUnavailable

log = logging.getLogger(__name__)


async def redis_url(settings: Settings, stack: AsyncExitStack) -> str:
    """REDIS_URL, or else an embedded redis-server that `stack` stops on the way out."""
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    embedded = EmbeddedRedis(
        settings.data_dir.resolve(), find_server_binary(settings.redis_server_bin)
    )
    url = await embedded.start()
    stack.push_async_callback(embedded.stop)
    watcher = asyncio.get_running_loop().create_task(_keep_running(embedded, url))
    stack.callback(watcher.cancel)  # runs before stop(): a deliberate stop is no crash
    log.info(
        "embedded %s started, data in %s", embedded.server_version, settings.data_dir.resolve()
    )
    return url


async def _keep_running(embedded: EmbeddedRedis, url: str) -> None:
    """Restart the embedded server if it dies under the bot; its data is on disk (AOF)."""
    while True:
        code = await embedded.wait()
        log.error("the embedded %s exited (code %s); restarting it", embedded.server_version, code)
        await embedded.stop()  # releases the data directory's lock
        delay = 0.5
        while True:
            try:
                if await embedded.start() != url:
                    log.error("the embedded Redis came back on another address; restart the bot")
                    return
                break
            except EmbeddedRedisError as exc:
                log.error(
                    "could not restart the embedded Redis (%s); next try in %.1fs", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


async def open_store(settings: Settings, stack: AsyncExitStack) -> IncidentStore:
    """The store on REDIS_URL (or the embedded Redis), closed by `stack` before Redis stops."""
    store = IncidentStore.from_url(await redis_url(settings, stack), settings.redis_prefix)
    stack.push_async_callback(store.close)
    return store


async def console(settings: Settings, user: str) -> None:
    """`python -m bot console`: the terminal face on this process's stdin and stdout."""
    async with AsyncExitStack() as stack:
        store = await open_store(settings, stack)
        if not await store.ping():
            log.warning("Redis does not answer yet; commands fail until it does")
        service = IncidentService(store, Metrics(__version__), policy=settings.policy)
        reader = LineReader(sys.stdin)
        loop = asyncio.get_running_loop()
        # Ctrl-C ends the session like end of input, so the embedded Redis still stops cleanly.
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, reader.interrupt)
        # Emoji and user text must never crash a terminal that is not UTF-8.
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="replace")
        await repl(Console(service, user), reader, sys.stdout, echo=not sys.stdin.isatty())


async def check_store(settings: Settings) -> int:
    """`python -m bot check`: recompute counts and indexes from the incidents; 0 when they agree."""
    async with AsyncExitStack() as stack:
        store = await open_store(settings, stack)
        try:
            report = await consistency.check(store)
        except StoreUnavailable:
            print("incidentwatch: the incident store (Redis) is unavailable", file=sys.stderr)
            return 1
    for problem in report.problems:
        print(f"problem: {problem}")
    verdict = "consistent" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"{report.incidents} incidents checked: {verdict}")
    return 0 if report.ok else 1
