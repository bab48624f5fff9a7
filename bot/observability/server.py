"""The aiohttp side server: GET /metrics, /healthz (process alive) and /readyz (Redis answers)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.domain.incident import Severity
from bot.observability.metrics import Metrics, StoreFigures
from bot.store.redis_store import IncidentStore, Snapshot, StoreUnavailable


def _ages(since: dict[Severity, float | None], now: float) -> dict[Severity, float]:
    return {sev: max(0.0, now - at) if at is not None else 0.0 for sev, at in since.items()}


def figures_of(snapshot: Snapshot, now: float) -> StoreFigures:
    return StoreFigures(
        counts=snapshot.counts,
        opened=snapshot.opened,
        resolved=snapshot.resolved,
        oldest_open_age=_ages(snapshot.oldest_open_since, now),
        oldest_active_age=_ages(snapshot.oldest_active_since, now),
    )


def build_side_app(
    store: IncidentStore, metrics: Metrics, started: asyncio.Event
) -> web.Application:
    """`started` is set once Slack requests can be served; until then /readyz says 503."""

    async def metrics_page(request: web.Request) -> web.Response:
        try:
            figures: StoreFigures | None = figures_of(await store.snapshot(), time.time())
        except StoreUnavailable:
            figures = None
        return web.Response(
            body=metrics.render(figures), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        if not started.is_set():
            return web.Response(status=503, text="starting\n")
        if await store.ping():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="incident store (Redis) unavailable\n")

    app = web.Application()
    app.add_routes(
        [
            web.get("/metrics", metrics_page),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
        ]
    )
    return app
