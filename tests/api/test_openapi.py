"""The published spec: served, complete, true to the live API (schemathesis), and its docs page."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import cast

from aiohttp import web
from api_client import API_TOKEN, ApiClient
from harness import BotProcess

from bot.api.alertmanager import AlertSettings
from bot.api.openapi import API_PREFIX, spec
from bot.api.routes import ApiSettings, IncidentRoutes
from bot.service.events import IncidentEvents
from bot.service.incidents import IncidentService

# Examples per operation: few in CI (fast), more on demand, e.g. SCHEMATHESIS_EXAMPLES=500.
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "10")


def test_every_route_is_in_the_spec_and_nothing_else() -> None:
    settings = ApiSettings("t" * 16, "api", 1024, AlertSettings({}, True, 60))
    routes = IncidentRoutes(
        cast(IncidentService, None), cast(IncidentEvents, None), settings
    ).routes()
    served = {
        (r.method.lower(), API_PREFIX + r.path) for r in routes if isinstance(r, web.RouteDef)
    }
    documented = {(m, path) for path, ops in spec()["paths"].items() for m in ops}
    assert served == documented


async def test_spec_and_docs_are_served_without_a_token(
    api: ApiClient, api_bot: BotProcess
) -> None:
    # Every route's latency series exists from the start (0, not absent).
    for method, path in (("POST", "/alertmanager"), ("GET", "/incidents/{id}")):
        labels = f'method="{method}",route="{API_PREFIX}{path}"'
        assert (
            await api_bot.metric(f"incidentwatch_api_request_duration_seconds_count{{{labels}}}")
            == 0
        )
    served = await api.call("GET", f"{API_PREFIX}/openapi.json", token=None)
    assert served.status == 200 and served.body == spec()
    assert served.body["openapi"] == "3.1.0"
    assert served.body["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"

    page = await api.call("GET", "/docs", token=None)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    init = await api.call("GET", "/docs/init.js", token=None)
    assert '"api/v1/openapi.json"' in str(init.body)
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")):
        reply = await api.call("GET", f"/docs/static/{asset}", token=None)
        assert reply.status == 200 and kind in reply.headers["Content-Type"], asset
        assert asset in str(page.body)


async def test_schemathesis_finds_no_5xx_and_no_deviation(
    api_bot: BotProcess, tmp_path: Path
) -> None:
    """Every check (status codes, content types, headers and bodies against the schema, auth
    enforced, invalid input refused, valid input accepted), all phases incl. stateful."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"http://127.0.0.1:{api_bot.port}{API_PREFIX}/openapi.json",
        "--header",
        f"Authorization: Bearer {API_TOKEN}",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--generation-database",
        "none",
        "--no-color",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    report = output.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
