"""A small JSON client for the bot's HTTP API (bearer token by default)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from harness import BotProcess

API_TOKEN = "api-test-token-0123456789abcdef"
CHANNEL = "C0INCIDENTS"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def detail(self) -> str:
        return str(self.body.get("detail", "")) if isinstance(self.body, dict) else ""


class ApiClient:
    """Requests to the bot's web port; JSON in, JSON (or problem+json) out, bearer by default."""

    def __init__(self, bot: BotProcess) -> None:
        self.base = f"http://127.0.0.1:{bot.port}"
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = API_TOKEN,
        params: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            raw = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        async with self._session.request(
            method, self.base + path, data=raw, headers=sent, params=params
        ) as reply:
            text = await reply.text()
            try:
                parsed = json.loads(text) if text else None
            except json.JSONDecodeError:
                parsed = text
            return Reply(reply.status, dict(reply.headers), parsed)

    async def open(self, title: str, **fields: Any) -> dict[str, Any]:
        reply = await self.call("POST", "/api/v1/incidents", {"title": title, **fields})
        assert reply.status == 201, reply
        return dict(reply.body)
