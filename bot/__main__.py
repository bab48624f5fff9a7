"""`python -m bot`: wire settings, store, Slack and the side server in one loop; stop cleanly."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from contextlib import AsyncExitStack

from aiohttp import web

from bot import __version__
from bot.api.alertmanager import AlertSettings
from bot.api.app import mount_api
from bot.api.openapi import API_PREFIX
from bot.api.routes import ApiSettings
from bot.config import ConfigError, Settings, configure_logging, load_settings
from bot.observability.metrics import Metrics
from bot.observability.server import build_side_app
from bot.runtime import check_store, console, open_store
from bot.service.incidents import IncidentService
from bot.slack.app import (
    EVENTS_PATH,
    TokenRejected,
    build_app,
    http_routes,
    start_socket_mode,
    verify_tokens,
    web_client,
)
from bot.slack.background import BackgroundTasks
from bot.slack.deps import SlackDeps
from bot.slack.effects import SlackEffects
from bot.slack.ids import ActionId, CallbackId
from bot.slack.messenger import Messenger
from bot.slack.relay import SlackRelay
from bot.store.embedded import EmbeddedRedisError
from bot.store.redis_store import IncidentStore, StoreUnavailable

log = logging.getLogger("bot")
DRAIN_SECONDS = 10.0


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the operator."""


async def _drop_server_header(request: web.Request, response: web.StreamResponse) -> None:
    # Versions of Python and aiohttp are nobody's business on an internet-facing port.
    response.headers.pop("Server", None)


async def _serve_site(
    app: web.Application, host: str, port: int, variable: str, stack: AsyncExitStack
) -> None:
    app.on_response_prepare.append(_drop_server_header)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=DRAIN_SECONDS)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else "unavailable"
        raise StartupError(f"cannot listen on {host}:{port} ({variable}): {reason}") from None


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run until `stop` is set; the exit stack unwinds in reverse: connections first, Redis last."""
    async with AsyncExitStack() as stack:
        store = await open_store(settings, stack)
        if not await store.ping():
            log.warning("Redis does not answer yet; /readyz reports 503 until it does")
        else:
            await _upgrade(store)
        labels = [a.metric_label for a in ActionId] + [c.metric_label for c in CallbackId]
        metrics = Metrics(__version__, handler_labels=labels)
        store.on_unavailable = metrics.redis_errors.inc
        service = IncidentService(store, metrics, policy=settings.policy)
        client = web_client(settings.secret("bot"), settings.slack_api_url)
        messenger = Messenger(client, metrics)
        stack.push_async_callback(messenger.close)
        tasks = BackgroundTasks()
        stack.push_async_callback(tasks.drain, DRAIN_SECONDS)
        effects = SlackEffects(messenger, service, time.time, tasks, settings.incident_channel)
        deps = SlackDeps(service, metrics, effects, tasks, time.time)
        http_mode = settings.mode == "http"
        started = asyncio.Event()
        await _serve_site(
            build_side_app(store, metrics, started),
            settings.host,
            settings.metrics_port,
            "METRICS_PORT",
            stack,
        )
        try:
            identity = await verify_tokens(client, None if http_mode else settings.secret("app"))
        except TokenRejected as exc:
            raise StartupError(str(exc)) from None
        signing = settings.secret("signing") if http_mode else None
        bolt = build_app(client, signing, deps, identity)
        # The web port serves Slack's events in HTTP mode and the API when enabled (either mode).
        web_app = web.Application()
        if http_mode:
            web_app.add_routes(http_routes(bolt))
        if settings.api_token is not None:
            relay = SlackRelay(effects)
            mount_api(web_app, service, relay, metrics, _api_settings(settings))
            log.info("HTTP API on :%d%s (docs at /docs)", settings.port, API_PREFIX)
        if http_mode or settings.api_token is not None:
            await _serve_site(web_app, settings.host, settings.port, "PORT", stack)
        if http_mode:
            where = f"http://{settings.host}:{settings.port}{EVENTS_PATH}"
        else:
            # Connecting retries while Slack is unreachable; as a task it never blocks SIGTERM.
            await start_socket_mode(bolt, settings.secret("app"), stack)
            where = "Socket Mode"
        started.set()
        log.info(
            "IncidentWatch %s ready: Slack via %s, metrics on :%d/metrics",
            __version__,
            where,
            settings.metrics_port,
        )
        await stop.wait()
        log.info("shutting down: finishing in-flight work (at most %.0fs)", DRAIN_SECONDS)


async def _upgrade(store: IncidentStore) -> None:
    try:
        if upgraded := await store.upgrade():
            log.info("re-indexed %d incidents written by an older version", upgraded)
    except StoreUnavailable:
        log.warning("Redis failed during the store's upgrade check; it runs again at next start")


def _api_settings(settings: Settings) -> ApiSettings:
    return ApiSettings(
        token=settings.secret("api"),
        actor=settings.api_token_name,
        max_body_bytes=settings.api_max_body_bytes,
        alerts=AlertSettings(
            severity_map=settings.alert_severity_map,
            auto_resolve=settings.alert_auto_resolve,
            link_ttl_seconds=settings.alert_link_ttl_seconds,
        ),
    )


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="IncidentWatch Slack bot")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "console", "check"],
        help="run the bot (default); try it in a terminal without Slack; check the store",
    )
    parser.add_argument("--user", default="console", help="console: who you act as")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(require_slack=args.command == "run")
    except ConfigError as exc:
        print(f"incidentwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        if args.command == "check":
            return asyncio.run(check_store(settings))
        asyncio.run(console(settings, args.user) if args.command == "console" else _run(settings))
    except (StartupError, EmbeddedRedisError) as exc:
        print(f"incidentwatch: {exc}", file=sys.stderr)
        return 1
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
