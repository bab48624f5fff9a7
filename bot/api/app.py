"""Mounts /api/v1 and /docs on a web app: bearer auth, problem+json errors, request metrics."""

from __future__ import annotations

import hmac
import logging
import uuid
from time import perf_counter

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.api.docs import docs_routes
from bot.api.openapi import API_PREFIX
from bot.api.routes import PUBLIC, ApiProblem, ApiSettings, IncidentRoutes
from bot.observability.metrics import Metrics
from bot.service.events import IncidentEvents
from bot.service.incidents import IncidentService
from bot.store.redis_store import StoreUnavailable

log = logging.getLogger(__name__)
# Label values stay bounded whatever clients send.
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"})
UNMATCHED = "unmatched"
STORE_RETRY_SECONDS = "5"


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def _observe(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        metrics.requests.inc()
        started = perf_counter()
        response = await handler(request)
        method = request.method if request.method in METHODS else "other"
        route = _route(request)
        metrics.api_seconds.labels(method, route).observe(perf_counter() - started)
        metrics.api_responses.labels(method, route, str(response.status)).inc()
        return response

    return observe


def _problem_response(error: ApiProblem) -> web.Response:
    return web.Response(
        text=error.problem.model_dump_json(exclude_none=True),
        status=error.problem.status,
        content_type="application/problem+json",
        headers=error.headers,
    )


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error, including the router's 404/405 and the unexpected, as problem+json."""
    try:
        return await handler(request)
    except ApiProblem as error:
        return _problem_response(error)
    except StoreUnavailable:
        return _problem_response(
            ApiProblem(
                503,
                "the incident store is unavailable; nothing was changed",
                headers={"Retry-After": STORE_RETRY_SECONDS},
            )
        )
    except web.HTTPException as http:
        allow = getattr(http, "allowed_methods", None)
        headers = {"Allow": ", ".join(sorted(allow))} if allow else None
        detail = f"{http.reason}: {request.method} {request.path}"
        return _problem_response(ApiProblem(http.status, detail, headers=headers))
    except Exception as unexpected:
        ref = uuid.uuid4().hex[:8]
        log.error("unexpected API error ref=%s", ref, exc_info=unexpected)
        return _problem_response(ApiProblem(500, f"something went wrong (ref {ref})"))


def _authenticate(token: str) -> Middleware:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.route.name == PUBLIC:
            return await handler(request)
        given = request.headers.get("Authorization", "").encode()
        # Constant time: how much of a guess matched must not show in the response time.
        if not hmac.compare_digest(given, expected):
            challenge = 'Bearer realm="incidentwatch"'
            if given:
                challenge += ', error="invalid_token"'
            raise ApiProblem(
                401,
                "send Authorization: Bearer <API_TOKEN>",
                headers={"WWW-Authenticate": challenge},
            )
        return await handler(request)

    return authenticate


def mount_api(
    root: web.Application,
    service: IncidentService,
    events: IncidentEvents,
    metrics: Metrics,
    settings: ApiSettings,
) -> None:
    """Add /api/v1 (token required but for the spec) and /docs to `root`."""
    api = web.Application(middlewares=[_observe(metrics), problems, _authenticate(settings.token)])
    api.add_routes(IncidentRoutes(service, events, settings).routes())
    root.add_subapp(API_PREFIX, api)
    root.add_routes(docs_routes(f"{API_PREFIX}/openapi.json"))
    # Every route's series exist from the start, so dashboards show 0 rather than no data.
    for resource in api.router.resources():
        for route in resource:
            metrics.api_seconds.labels(route.method, resource.canonical)
