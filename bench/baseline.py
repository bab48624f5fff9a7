"""The baselines: a bare Bolt AsyncApp with default settings that only acks, the same acking
inline (as the bot runs), inline after one Redis round trip (the least a command that touches
Redis can cost), and a bare aiohttp handler that answers 200 (the floor); all on the bot's own
aiohttp serving stack."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import EVENTS_PATH, http_routes
from bot.store.redis_store import IncidentStore


def bolt_app(
    signing_secret: str,
    bot_token: str,
    api_url: str,
    *,
    process_before_response: bool = False,
    before_ack: Callable[[], Awaitable[object]] | None = None,
) -> web.Application:
    """Bolt as its docs show it: defaults (process_before_response=False), signature checking,
    token verification; every slash command and button is acked and nothing else. With
    process_before_response=True (as the bot runs it) it shows Bolt's own dispatch cost;
    `before_ack` is awaited first (one Redis round trip, for the least a real command costs)."""
    bolt = AsyncApp(
        signing_secret=signing_secret,
        client=AsyncWebClient(token=bot_token, base_url=api_url),
        process_before_response=process_before_response,
    )

    async def only_ack(ack: AsyncAck) -> None:
        if before_ack is not None:
            await before_ack()
        await ack()

    bolt.command(re.compile(".*"))(only_ack)
    bolt.action(re.compile(".*"))(only_ack)
    app = web.Application()
    app.add_routes(http_routes(bolt))  # the same adapter route the bot serves
    return app


def floor_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.add_routes([web.post(EVENTS_PATH, ok)])
    return app


async def serve(app: web.Application, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # access_log=None, as the bot runs it: the comparison is of the handlers, not of logging.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("kind", choices=["bolt", "bolt-inline", "bolt-redis", "aiohttp"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--bot-token", required=True)
    parser.add_argument("--redis-url", help="bolt-redis: the Redis to ping before each ack")
    args = parser.parse_args()
    if args.kind == "aiohttp":
        app = floor_app()
    elif args.kind == "bolt-redis":
        # The bot's own client settings (timeouts, retry, hiredis), so only the work differs.
        store = IncidentStore.from_url(args.redis_url, "{bench-baseline}:")
        app = bolt_app(
            args.signing_secret,
            args.bot_token,
            args.api_url,
            process_before_response=True,
            before_ack=store.ping,
        )
    else:
        inline = args.kind == "bolt-inline"
        app = bolt_app(
            args.signing_secret, args.bot_token, args.api_url, process_before_response=inline
        )
    asyncio.run(serve(app, args.port))


if __name__ == "__main__":
    main()
