"""What the two ports expose: the side server only GET on its three paths, the web port only
POST /slack/events (and /api/v1 when API_TOKEN is set) — and no version banner."""

from __future__ import annotations

import aiohttp
from harness import BotProcess


async def request(method: str, url: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.request(method, url) as reply:
        await reply.read()
        return reply.status, dict(reply.headers)


async def test_what_each_port_exposes(bot: BotProcess) -> None:
    web = f"http://127.0.0.1:{bot.port}"
    for path in ("/metrics", "/healthz", "/readyz"):
        status, headers = await request("GET", bot.metrics_url + path)
        assert status == 200 and "Server" not in headers, path
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert (await request(method, bot.metrics_url + path))[0] == 405, (method, path)
    for path in ("/", "/admin", "/slack/events", "/metrics/../metrics2", "/.env"):
        assert (await request("GET", bot.metrics_url + path))[0] == 404, path
    for path in ("/", "/metrics", "/healthz", "/api/v1/incidents", "/docs", "/.env"):
        status, headers = await request("GET", web + path)
        assert status == 404 and "Server" not in headers, path
    assert (await request("GET", bot.events_url))[0] == 405
