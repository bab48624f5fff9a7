"""Slack Web API and response_url calls that never raise: failures are counted and logged."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.observability.metrics import Metrics

log = logging.getLogger(__name__)
# The Web API client's own timeout (SLACK_TIMEOUT_SECONDS) applies only to sessions it makes
# itself; calls through our pooled session are bounded by this one, the same 10 seconds.
SLACK_CALL_TIMEOUT = aiohttp.ClientTimeout(total=10)


class Messenger:
    def __init__(self, client: AsyncWebClient, metrics: Metrics) -> None:
        self._client = client
        self._metrics = metrics
        self._session: aiohttp.ClientSession | None = None

    async def call(self, method: str, **arguments: Any) -> dict[str, Any] | None:
        """One Web API call; the response data, or None after counting and logging the failure."""
        self._pool()
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
        try:
            async with self._pool().post(response_url, json=message) as reply:
                if reply.status < 400:
                    return True
                self._failed("response_url", f"HTTP {reply.status}")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._failed("response_url", type(exc).__name__)
        return False

    def _pool(self) -> aiohttp.ClientSession:
        """One keep-alive connection pool for every Slack call. Without it slack_sdk opens a new
        session, TCP connection and TLS handshake for each Web API call (measured by bench/: the
        Web API calls were most of the CPU of an open or a click)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=SLACK_CALL_TIMEOUT)
            self._client.session = self._session
        return self._session

    def _failed(self, method: str, reason: str) -> None:
        self._metrics.slack_api_errors.labels(method).inc()
        log.warning("slack call failed: method=%s reason=%s", method, reason)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
