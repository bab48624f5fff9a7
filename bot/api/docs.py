"""GET /docs: Swagger UI for the API, served from the swagger-ui-bundle wheel (no CDN needed)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
# Relative URLs, so the page also works behind a reverse proxy that adds a path prefix.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>IncidentWatch API</title>
  <link rel="stylesheet" href="docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/static/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""
# A file rather than an inline script, so the page runs under a strict Content-Security-Policy.
_INIT = """window.ui = SwaggerUIBundle({
  url: "%s",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
"""
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"


def docs_routes(spec_url: str) -> list[web.AbstractRouteDef]:
    """The page, its start script and Swagger UI's static files; no token needed (no data)."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=_PAGE, content_type="text/html", headers={"Content-Security-Policy": _CSP}
        )

    async def init(request: web.Request) -> web.Response:
        return web.Response(text=_INIT % spec_url.lstrip("/"), content_type="text/javascript")

    return [
        web.get(DOCS_PATH, page),
        web.get(f"{DOCS_PATH}/init.js", init),
        web.static(f"{DOCS_PATH}/static", Path(str(swagger_ui_path))),
    ]
