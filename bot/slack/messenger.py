"""Slack Web API and response_url calls that never raise: failures are counted and logged."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.observability.metrics import Metrics

log = logging.getLogger(__name__)
RESPONSE_URL_TIMEOUT = aiohttp.ClientTimeout(total=10)


class Messenger:
    def __init__(self, client: AsyncWebClient, metrics: Metrics) -> None:
        self._client = client
        self._metrics = metrics
        self._session: aiohttp.ClientSession | None = None

    async def call(self, method: str, **arguments: Any) -> dict[str, Any] | None:
        """One Web API call; the response data, or None after counting and logging the failure."""
        try:
            response = await self._client.api_call(method, json=arguments)
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            reason = exc.response.get("error", "unknown") if exc.response is not None else "unknown"
            self._failed(method, str(reason))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._failed(method, type(exc).__name__)
        return None

    async def respond(self, response_url: str, message: dict[str, Any]) -> bool:
        """Post to a response_url (ephemeral replies, replacing an ephemeral list in place)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=RESPONSE_URL_TIMEOUT)
        try:
            async with self._session.post(response_url, json=message) as reply:
                if reply.status < 400:
                    return True
                self._failed("response_url", f"HTTP {reply.status}")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._failed("response_url", type(exc).__name__)
        return False

    def _failed(self, method: str, reason: str) -> None:
        self._metrics.slack_api_errors.labels(method).inc()
        log.warning("slack call failed: method=%s reason=%s", method, reason)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
