"""The Bolt AsyncApp factory, its one error handler, and the two ways in: HTTP and Socket Mode."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import (
    ClientConnectorError,
    ClientError,
    ServerConnectionError,
    ServerDisconnectedError,
    web,
)
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import SlackDeps
from bot.slack.listeners import register_all

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


SLACK_TIMEOUT_SECONDS = 10
SLACK_RETRIES = 2


def web_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client with bounded retries on rate limits, 5xx and refused connections."""
    retry_on = [ClientConnectorError, ServerConnectionError, ServerDisconnectedError]
    return AsyncWebClient(
        token=token,
        # slack_sdk joins base_url and the method with urljoin: without the slash "/api" is lost.
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=SLACK_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=SLACK_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=SLACK_RETRIES, error_types=retry_on),
        ],
    )


class _ClientWinsFilter(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client and authorize win; they do."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


_BOLT_LOG = logging.getLogger("bot.slack.bolt")
_BOLT_LOG.addFilter(_ClientWinsFilter())


def build_app(
    client: AsyncWebClient,
    signing_secret: str | None,
    deps: SlackDeps,
    identity: dict[str, Any] | None = None,
) -> AsyncApp:
    """An AsyncApp whose listeners finish before the response (they only touch Redis, ~1 ms);
    Slack Web API calls run as background tasks, so acks never wait for Slack. `identity` is the
    bot's auth.test answer from start-up: Bolt's default would call auth.test on the request path
    (until it once succeeds), so with Slack unreachable every command would wait for it."""
    fixed = AuthorizeResult(
        enterprise_id=(identity or {}).get("enterprise_id"),
        team_id=(identity or {}).get("team_id"),
        bot_token=client.token,
        bot_id=(identity or {}).get("bot_id"),
        bot_user_id=(identity or {}).get("user_id"),
    )

    async def authorize() -> AuthorizeResult:
        return fixed

    app = AsyncApp(
        client=client,
        authorize=authorize,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        process_before_response=True,
        logger=_BOLT_LOG,
    )
    register_all(app, deps)

    @app.error
    async def unexpected(error: Exception) -> BoltResponse:
        ref = uuid.uuid4().hex[:8]
        log.error("unexpected error ref=%s: %s", ref, type(error).__name__, exc_info=error)
        message = {
            "response_type": "ephemeral",
            "text": f":warning: Something went wrong (ref {ref}). Please try again.",
        }
        return BoltResponse(
            status=200, body=json.dumps(message), headers={"content-type": "application/json"}
        )

    return app


def http_routes(app: AsyncApp) -> list[web.RouteDef]:
    async def events(request: web.Request) -> web.Response:
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="request body is not UTF-8\n")
        headers: dict[str, str | Sequence[str]] = {
            k: request.headers.getall(k) for k in request.headers
        }
        try:
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
            response = await app.async_dispatch(bolt_request)
        except Exception as error:  # Bolt's own parsing of a malformed (but signed) request
            ref = uuid.uuid4().hex[:8]
            log.warning("unreadable Slack request ref=%s: %s", ref, type(error).__name__)
            return web.Response(status=400, text=f"unreadable request (ref {ref})\n")
        return await to_aiohttp_response(response)

    return [web.post(EVENTS_PATH, events)]


class TokenRejected(Exception):
    """Slack refused a token; the message names the variable and Slack's reason, never the value."""


async def verify_tokens(client: AsyncWebClient, app_token: str | None) -> dict[str, Any] | None:
    """Ask Slack once whether it takes the tokens, so a wrong one stops start-up with one line
    instead of endless reconnects; returns the bot's identity (auth.test), None if Slack could
    not say. Slack being unreachable is not fatal: we connect when it is."""
    # One quick try each, no retries: this only decides whether start-up may go on.
    once = AsyncWebClient(
        token=client.token, base_url=client.base_url, timeout=5, retry_handlers=[]
    )
    identity: dict[str, Any] | None = None
    try:
        identity = dict((await once.auth_test()).data)  # type: ignore[arg-type]
        if app_token is not None:
            await once.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        variable = "SLACK_BOT_TOKEN" if identity is None else "SLACK_APP_TOKEN"
        reason = exc.response.get("error", "unknown") if exc.response is not None else "unknown"
        if reason in _REJECTIONS:
            raise TokenRejected(f"{variable} was refused by Slack ({reason})") from None
        log.warning("could not check %s with Slack (%s); going on", variable, reason)
    except (ClientError, TimeoutError, OSError) as exc:
        log.warning(
            "Slack unreachable while checking the tokens (%s); going on", type(exc).__name__
        )
    return identity


_REJECTIONS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
     "not_allowed_token_type", "missing_scope", "no_permission"}
)  # fmt: skip


async def start_socket_mode(app: AsyncApp, app_token: str, stack: AsyncExitStack) -> None:
    """Connect Socket Mode in the background (apps.connections.open goes through app.client)."""
    handler = AsyncSocketModeHandler(app, app_token)
    stack.push_async_callback(handler.close_async)
    connecting = asyncio.get_running_loop().create_task(handler.connect_async())  # type: ignore[no-untyped-call]
    stack.callback(connecting.cancel)
