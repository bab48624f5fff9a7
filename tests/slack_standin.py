"""A local stand-in for the Slack Web API, response_url webhooks and Socket Mode."""

# What the real client side does (read from slack_sdk 3.48.0 / slack_bolt 1.30.0 source):
#
# * Bolt's AsyncSocketModeHandler (slack_bolt.adapter.socket_mode.aiohttp) wraps
#   slack_sdk.socket_mode.aiohttp.SocketModeClient and passes it `web_client` if given,
#   else `app.client`. The client gets its WebSocket URL from
#   `web_client.apps_connections_open(app_token=...)`, i.e. from that AsyncWebClient's
#   base_url with the xapp- token in `Authorization: Bearer`. So building the AsyncApp
#   with `client=AsyncWebClient(token=..., base_url=SLACK_API_URL)` routes Socket Mode
#   through SLACK_API_URL too; no separate web client is needed.
# * SocketModeClient.__init__ creates an aiohttp.ClientSession and schedules a task,
#   so the handler must be constructed inside a running event loop.
# * It connects with ws_connect(autoping=False, heartbeat=ping_interval), sends a ping
#   "sdk-ping-pong:<time>" right away and every ping_interval seconds, and reconnects
#   when no pong came back for 4 * ping_interval. aiohttp's server-side autoping answers
#   those pings, which is all the stand-in has to do. It answers server pings with pongs.
# * A {"type": "disconnect"} message makes it call apps.connections.open again and open
#   a new WebSocket (closing the old one first); a CLOSE frame does the same while
#   auto-reconnect is on. Hence: close the bot's handler before stopping the stand-in.
# * Acks are {"envelope_id": ..., "payload": {...}} with "payload" only when the Bolt
#   ack carried a body; a plain-text ack("pong") arrives as payload {"text": "pong"}.
# * base_url is joined with urljoin, so it must end with "/" (".../api" would post to
#   "/chat.postMessage" and lose the "api" segment).

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "iwtest"
TEAM_NAME = "IncidentWatch Test"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0TEST"
CHANNEL_NAME = "incidents"

# Form-encoded Web API calls carry these arguments as JSON strings; decode them so tests
# can assert on structure whichever encoding the client picked.
_JSON_FORM_FIELDS = frozenset({"blocks", "attachments", "view", "metadata", "unfurls"})

# The first ts handed out is "1733300000.000100": the default message_ts that
# slack_requests.block_actions() uses, so "post, then click" lines up without plumbing.
_TS_BASE_MICROS = 1_733_300_000 * 1_000_000
_TS_STEP_MICROS = 100


@dataclass
class Call:
    """One Web API request the stand-in received (recorded even when it was failed)."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]  # keys lower-cased
    at: float
    status: int = 200
    reply: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResponsePost:
    """One POST to a response_url handed out by SlackStandin.response_url()."""

    key: str
    body: dict[str, Any]
    at: float


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


class SlackStandin:
    """Serves /api/<method>, /response/<key> and /socket/<n> on 127.0.0.1, records it all."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[ResponsePost] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.base_url = ""
        self._root = ""
        self._runner: web.AppRunner | None = None
        # One condition for every recorded thing: waiters re-check their predicate on
        # each notify, so there is no polling and no per-method bookkeeping.
        self._changed = asyncio.Condition()
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, float] = {}
        self._ts = itertools.count(1)
        self._keys = itertools.count(1)
        self._views = itertools.count(1)
        self._tickets = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._hellos = 0

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/socket/{ticket}", self._socket)
        # access_log=None: a benchmark drives thousands of requests through here.
        # shutdown_timeout: stop() must not wait a minute for a straggling keep-alive.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # port 0: the OS picks a free port, no race
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self._root}/api/"

    async def stop(self) -> None:
        # Open WebSocket handlers would otherwise hold runner.cleanup() until its timeout.
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"stand-in stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- inspection and control ------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def responses_to(self, key: str) -> list[ResponsePost]:
        return [r for r in self.responses if r.key == key]

    def response_url(self, key: str | None = None) -> str:
        if key is None:
            key = f"r{next(self._keys)}-{uuid.uuid4().hex[:8]}"
        return f"{self._root}/response/{key}"

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail.

        retry_after given -> HTTP 429 + Retry-After, {"ok": false, "error": "ratelimited"};
        else error given -> HTTP 200 {"ok": false, "error": error} (how Slack reports
        channel_not_found and friends); else HTTP `status` {"ok": false, ...}.
        """
        queue = self._failures.setdefault(method, deque())
        queue.extend(_Failure(status, error, retry_after) for _ in range(times))

    def slow_down(self, method: str, seconds: float) -> None:
        """Answer every later call of `method` only after `seconds` (recorded when answered)."""
        self._delays[method] = seconds

    def reset(self) -> None:
        """Forget recorded calls, responses and acks (not pending failures, not the ts clock)."""
        self.calls.clear()
        self.responses.clear()
        self.socket_acks.clear()

    # The wait_for_* methods take `timeout` (ASYNC109) on purpose: a failed wait must
    # raise an AssertionError that lists what did arrive, which asyncio.timeout() can't.
    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        await self._wait(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            lambda: f"{count} call(s) of {method}, got {len(self.calls_to(method))}",
        )
        return self.calls_to(method)

    async def wait_for_response(
        self,
        key: str,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[ResponsePost]:
        await self._wait(
            lambda: len(self.responses_to(key)) >= count,
            timeout,
            lambda: f"{count} post(s) to response_url {key!r}, got {len(self.responses_to(key))}",
        )
        return self.responses_to(key)

    # -- Socket Mode -------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        """How many WebSocket connections got a hello so far (reconnects count)."""
        return self._hellos

    async def wait_for_socket(
        self,
        timeout: float = 10.0,
        *,
        connections: int = 1,
    ) -> None:
        await self._wait(
            lambda: self._hellos >= connections and self._live_socket() is not None,
            timeout,
            lambda: f"{connections} Socket Mode connection(s), got {self._hellos}",
        )

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
    ) -> str:
        """Send an envelope the way Slack does; returns its envelope_id.

        accepts_response_payload defaults to what Slack sends: true for slash_commands
        and for interactive view_submission/block_suggestion payloads, false otherwise.
        """
        ws = self._live_socket()
        if ws is None:
            raise AssertionError("no open Socket Mode connection; call wait_for_socket() first")
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive"
                and payload.get("type") in {"view_submission", "block_suggestion"}
            )
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            # Only Events API envelopes carry retry fields; Bolt maps them to
            # x-slack-retry-* headers, so adding them elsewhere would fake retries.
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        await ws.send_str(json.dumps(envelope))
        return envelope_id

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does every few hours."""
        ws = self._live_socket()
        if ws is None:
            raise AssertionError("no open Socket Mode connection")
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}}
        await ws.send_str(json.dumps(message))

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        await self._wait(
            lambda: find() is not None,
            timeout,
            lambda: f"an ack for envelope {envelope_id}, got {len(self.socket_acks)} other ack(s)",
        )
        ack = find()
        assert ack is not None
        return ack

    # -- internals -------------------------------------------------------------------

    async def _wait(
        self, ready: Callable[[], bool], seconds: float, what: Callable[[], str]
    ) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), seconds)
            except TimeoutError:
                raise AssertionError(
                    f"timed out after {seconds}s waiting for {what()}; {self._summary()}"
                ) from None

    def _summary(self) -> str:
        methods = Counter(c.method for c in self.calls)
        keys = Counter(r.key for r in self.responses)
        return (
            f"received calls: {dict(methods) or 'none'}; "
            f"response_url posts: {dict(keys) or 'none'}; "
            f"socket connections: {self._hellos}; acks: {len(self.socket_acks)}"
        )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _next_ts(self) -> str:
        micros = _TS_BASE_MICROS + next(self._ts) * _TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _live_socket(self) -> web.WebSocketResponse | None:
        return next((ws for ws in reversed(self._sockets) if not ws.closed), None)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _parse_args(request)
        if method in self._delays:
            await asyncio.sleep(self._delays[method])
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = Call(method=method, args=args, headers=headers, at=time.monotonic())
        extra_headers: dict[str, str] = {}

        failure = self._failures.get(method)
        if failure:
            f = failure.popleft()
            if f.retry_after is not None:
                call.status = 429
                call.reply = {"ok": False, "error": "ratelimited"}
                extra_headers["Retry-After"] = str(f.retry_after)
            elif f.error is not None:
                call.reply = {"ok": False, "error": f.error}
            else:
                call.status = f.status
                call.reply = {"ok": False, "error": "internal_error"}
        else:
            auth_error = _auth_error(method, headers.get("authorization"), args)
            if auth_error is not None:
                call.reply = {"ok": False, "error": auth_error}
            else:
                call.reply = self._answer(method, args)

        self.calls.append(call)
        await self._notify()
        return web.json_response(call.reply, status=call.status, headers=extra_headers)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if method == "auth.test":
            return {
                "ok": True,
                "url": f"https://{TEAM_DOMAIN}.slack.com/",
                "team": TEAM_NAME,
                "user": "incidentwatch",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "apps.connections.open":
            ticket = next(self._tickets)
            return {"ok": True, "url": f"ws://{self._root.removeprefix('http://')}/socket/{ticket}"}
        if method == "chat.postMessage":
            ts = self._next_ts()
            return {"ok": True, "channel": channel, "ts": ts, "message": _message(args, ts)}
        if method == "chat.update":
            ts = str(args.get("ts", ""))
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "text": args.get("text", ""),
                "message": _message(args, ts),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in {"views.open", "views.push", "views.update", "views.publish"}:
            return {"ok": True, "view": self._view(args)}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts}",
            }
        if method == "conversations.info":
            return {"ok": True, "channel": _channel(channel)}
        return {"ok": True}

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        given = args.get("view")
        view: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        view_id = str(args.get("view_id") or f"V0VIEW{next(self._views):04d}")
        view.setdefault("type", "modal")
        view.setdefault("blocks", [])
        view.setdefault("private_metadata", "")
        view.setdefault("callback_id", "")
        view.setdefault("external_id", str(args.get("external_id", "")))
        view.update(
            {
                "id": view_id,
                "team_id": TEAM_ID,
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
                "clear_on_close": view.get("clear_on_close", False),
                "notify_on_close": view.get("notify_on_close", False),
                "root_view_id": view_id,
                "previous_view_id": None,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
            }
        )
        return view

    async def _response(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        ok = isinstance(body, dict)
        self.responses.append(
            ResponsePost(key=key, body=body if ok else {"_raw": raw}, at=time.monotonic())
        )
        await self._notify()
        # hooks.slack.com answers a plain "ok", or 400 "invalid_payload" for non-JSON.
        if not ok:
            return web.Response(status=400, text="invalid_payload")
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)  # autoping answers the SDK's pings
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": sum(1 for s in self._sockets if not s.closed),
                    "debug_info": {
                        "host": "applink-standin",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        self._hellos += 1
        await self._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue  # Slack ignores junk frames too
                if isinstance(data, dict) and "envelope_id" in data:
                    self.socket_acks.append(data)
                    await self._notify()
        finally:
            with contextlib.suppress(ValueError):
                self._sockets.remove(ws)
        return ws


async def _parse_args(request: web.Request) -> dict[str, Any]:
    # slack_sdk sends some methods' arguments in the query string even on POST
    # (auth.test, apps.connections.open), others as JSON or form bodies.
    args: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return args
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            args.update(body)
        return args
    form = await request.post()
    for name, value in form.items():
        if not isinstance(value, str):
            continue  # uploaded file parts: not needed by this project
        if name in _JSON_FORM_FIELDS:
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
                continue
        args[name] = value
    return args


def _auth_error(method: str, authorization: str | None, args: dict[str, Any]) -> str | None:
    token = None
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return "invalid_auth"
    elif isinstance(args.get("token"), str):
        token = args["token"]  # Slack still accepts a token form field
    if not token:
        return "not_authed"
    wanted = "xapp-" if method == "apps.connections.open" else "xoxb-"
    if token.startswith(wanted):
        return None
    if token.startswith(("xoxb-", "xoxp-", "xapp-")):
        return "not_allowed_token_type"
    return "invalid_auth"


def _message(args: dict[str, Any], ts: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "user": BOT_USER_ID,
        "type": "message",
        "ts": ts,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": args.get("text", ""),
        "team": TEAM_ID,
    }
    for key in ("blocks", "attachments", "thread_ts", "metadata"):
        if key in args:
            message[key] = args[key]
    return message


def _channel(channel_id: str) -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": CHANNEL_NAME,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": False,
        "is_archived": False,
        "is_general": False,
        "is_member": True,
        "created": 1_733_000_000,
        "creator": "U0ALICE",
        "name_normalized": CHANNEL_NAME,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "Incident announcements", "creator": "", "last_set": 0},
    }
