"""Build and sign Slack's HTTP requests (slash commands, interactivity) and post them to a bot."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from slack_standin import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    CHANNEL_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
    SlackStandin,
)

# The legacy verification token Slack still puts in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "vErIfIcAtIoNtOkEnStAnDiN"


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 over "v0:<timestamp>:<raw body>"."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(signing_secret, ts, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def new_trigger_id() -> str:
    """A fresh trigger_id in Slack's "<n>.<n>.<hex>" shape."""
    return f"{int(time.time() * 1000)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def slash_command(
    text: str,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0INCIDENT",
    channel_name: str = CHANNEL_NAME,
    response_url: str,
    trigger_id: str | None = None,
    command: str = "/incident",
    team_id: str = TEAM_ID,
) -> dict[str, str]:
    """Every field Slack posts for a slash command, in Slack's order, all strings.

    The same dict is the Socket Mode payload of a slash_commands envelope.
    """
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def _user(user_id: str, user_name: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID}


def block_actions(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0INCIDENT",
    message_ts: str = "1733300000.000100",
    response_url: str,
    block_id: str = "actions",
    action_type: str = "button",
    message: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    button_text: str | None = None,
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """The block_actions payload Slack posts when a button on a message is clicked.

    For a click on an ephemeral message Slack sends no "message" (the bot never gets
    its own ephemeral back), so is_ephemeral=True leaves it out as well.
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": CHANNEL_NAME},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text or action_id, "emoji": True},
                "value": value,
                "type": action_type,
                "action_ts": _action_ts(),
            }
        ],
    }
    if not is_ephemeral:
        payload["message"] = message or {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": message_ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": "",
            "team": TEAM_ID,
            "blocks": [],
        }
    return payload


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    private_metadata: str = "",
    view_id: str = "V0TEST",
    title: str = "Open an incident",
    blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The view_submission payload; values is {block_id: {action_id: {"type", "value"...}}}."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def payload_body(payload: dict[str, Any]) -> bytes:
    """Interactivity is posted form-encoded with one field holding the JSON payload."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


@dataclass
class SlackReply:
    """What the bot answered to one request Slack-style posted at it."""

    status: int
    body_text: str
    json: Any | None
    response_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0  # seconds from send to full response; Slack gives up after 3


class SlackDriver:
    """Posts signed requests to a bot's POST /slack/events like Slack does."""

    def __init__(self, events_url: str, signing_secret: str, standin: SlackStandin) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.standin = standin
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily so the driver can be built outside a running loop; one session
        # (one keep-alive pool) per driver so a benchmark measures the bot, not TCP setup.
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _key(self, url: str | None) -> tuple[str, str]:
        if url is None:
            url = self.standin.response_url()
        return url, url.rsplit("/", 1)[-1]

    async def command(self, text: str, **kw: Any) -> SlackReply:
        """Post a slash command; kw go to slash_command() (response_url defaults to a fresh one)."""
        url, key = self._key(kw.pop("response_url", None))
        body = form_body(slash_command(text, response_url=url, **kw))
        return await self._post_signed(body, key)

    async def click(self, action_id: str, value: str, **kw: Any) -> SlackReply:
        """Post a block_actions click; kw go to block_actions()."""
        url, key = self._key(kw.pop("response_url", None))
        body = payload_body(block_actions(action_id, value, response_url=url, **kw))
        return await self._post_signed(body, key)

    async def submit_view(
        self, callback_id: str, values: dict[str, dict[str, dict[str, Any]]], **kw: Any
    ) -> SlackReply:
        """Post a view_submission; kw go to view_submission(). No response_url is involved."""
        return await self._post_signed(payload_body(view_submission(callback_id, values, **kw)))

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> SlackReply:
        return await self._post(body, headers, None)

    async def _post_signed(self, body: bytes, key: str | None = None) -> SlackReply:
        return await self._post(body, signed_headers(self.signing_secret, body), key)

    async def _post(self, body: bytes, headers: dict[str, str], key: str | None) -> SlackReply:
        started = time.perf_counter()
        async with self._client().post(self.events_url, data=body, headers=headers) as resp:
            text = await resp.text()
            elapsed = time.perf_counter() - started
            parsed: Any | None = None
            if text:
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
            return SlackReply(
                status=resp.status,
                body_text=text,
                json=parsed,
                response_key=key,
                headers=dict(resp.headers),
                elapsed=elapsed,
            )
