"""The /api/v1 handlers: incidents (create, list, show, update, notes) and the Alertmanager hook."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from http import HTTPStatus
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.api.alertmanager import AlertHandler, AlertSettings
from bot.api.models import (
    AlertmanagerPayload,
    AlertmanagerResult,
    AlertQuery,
    FieldProblem,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    ListQuery,
    NoteCreate,
    Problem,
    TimelineEntry,
    problem_fields,
)
from bot.api.openapi import API_PREFIX, spec
from bot.domain.commands import AddNote, Assign, Command, SetSeverity, Transition
from bot.domain.incident import (
    DEFAULT_SEVERITY,
    EventKind,
    NewEvent,
    format_id,
    parse_id,
)
from bot.service.events import IncidentEvents
from bot.service.incidents import (
    Details,
    IncidentService,
    Refusal,
    Refused,
    Unchanged,
    Updated,
)

Model = TypeVar("Model", bound=BaseModel)
PUBLIC = "public"  # route name of the handlers that need no token (the spec)
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IDEMPOTENCY_KEY_MAX = 255


@dataclass(frozen=True)
class ApiSettings:
    token: str
    actor: str
    max_body_bytes: int
    alerts: AlertSettings


class ApiProblem(Exception):
    """An error answer; the middleware renders it as application/problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        phrase = HTTPStatus(status).phrase
        self.problem = Problem(title=phrase, status=status, detail=detail, errors=errors)
        self.headers = headers or {}


def invalid(error: ValidationError) -> ApiProblem:
    """400 naming every invalid field."""
    fields = problem_fields(error.errors(include_url=False))
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return ApiProblem(400, detail, errors=fields)


def json_response(model: BaseModel, status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        text=model.model_dump_json(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_body(request: web.Request, model: type[Model], limit: int) -> Model:
    """The body as `model`: 415 unless JSON, 413 past `limit` bytes (read no further), 400 if
    invalid."""
    if not _is_json(request.content_type):
        raise ApiProblem(415, "send a JSON body with Content-Type: application/json")
    too_large = ApiProblem(413, f"the body is larger than {limit} bytes")
    if (request.content_length or 0) > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.content.iter_any():
        data += chunk
        if len(data) > limit:
            raise too_large
    try:
        return model.model_validate_json(bytes(data))
    except ValidationError as error:
        raise invalid(error) from None


def read_query(request: web.Request, model: type[Model]) -> Model:
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise ApiProblem(400, f"give each query parameter once: {', '.join(repeated)}")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as error:
        raise invalid(error) from None


def incident_id(request: web.Request) -> int:
    number = parse_id(request.match_info["id"])
    if number is None:
        raise ApiProblem(400, "the id must look like 42 or INC-42")
    return number


def refusal(result: Refused) -> ApiProblem:
    ref = format_id(result.incident_id)
    if result.reason is Refusal.MISSING or result.incident is None:
        return ApiProblem(404, f"there is no incident {ref}")
    if result.reason is Refusal.FORBIDDEN:
        return ApiProblem(403, f"{ref} is sev1: only the sev1 responders may do that")
    current = result.incident.status
    possible = ", ".join(sorted(result.incident.next_statuses)) or "none"
    target = result.target.value if result.target else "that"
    return ApiProblem(
        409, f"{ref} is {current}, so it can't become {target}; it can become: {possible}"
    )


class IncidentRoutes:
    """Handlers over the IncidentService; Slack hears of every change through `events`."""

    def __init__(
        self, service: IncidentService, events: IncidentEvents, settings: ApiSettings
    ) -> None:
        self._service = service
        self._events = events
        self._settings = settings
        self._actor = settings.actor
        self._alerts = AlertHandler(service, events, settings.alerts)
        self._spec = spec()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/incidents", self.create),
            web.get("/incidents", self.list, allow_head=False),
            web.get("/incidents/{id}", self.show, allow_head=False),
            web.patch("/incidents/{id}", self.update),
            web.post("/incidents/{id}/notes", self.add_note),
            web.post("/alertmanager", self.alertmanager),
            web.get("/openapi.json", self.openapi, name=PUBLIC, allow_head=False),
        ]

    async def _body(self, request: web.Request, model: type[Model]) -> Model:
        return await read_body(request, model, self._settings.max_body_bytes)

    def _check_channel(self, channel: str | None) -> None:
        """An announcement channel asked for must be one where the bot may speak."""
        if channel and not self._service.policy.channel_allowed(channel):
            raise ApiProblem(400, "channel: not one of ALLOWED_CHANNELS")

    async def _change(self, command: Command) -> Updated | Unchanged:
        """One change as the API's actor; a refusal becomes its error answer."""
        result = await self._service.execute(command, self._actor, None)
        if isinstance(result, Refused):
            raise refusal(result)
        if not isinstance(result, Updated | Unchanged):
            raise AssertionError(result)  # pragma: no cover — changes answer with these
        return result

    async def create(self, request: web.Request) -> web.Response:
        body = await self._body(request, IncidentCreate)
        self._check_channel(body.channel)
        opened = await self._service.open(
            body.title,
            body.chosen_severity or DEFAULT_SEVERITY,
            self._actor,
            body.channel,
            description=body.description,
            dedupe_key=_idempotency_key(request),
            dedupe_ttl=IDEMPOTENCY_TTL_SECONDS,
        )
        incident = opened.incident
        if opened.new:
            if body.assignee:
                incident = (await self._change(Assign(incident.id, body.assignee))).incident
            self._events.opened(incident, body.channel)
        location = f"{API_PREFIX}/incidents/{incident.id}"
        return json_response(
            IncidentOut.of(incident), 201 if opened.new else 200, Location=location
        )

    async def list(self, request: web.Request) -> web.Response:
        query = read_query(request, ListQuery)
        listing = await self._service.list(
            query.status,
            int(query.cursor) if query.cursor else None,
            severity=query.severity,
            limit=query.limit,
        )
        cursor = listing.page.next_cursor
        page = IncidentPage(
            items=[IncidentOut.of(i) for i in listing.page.incidents],
            next_cursor=str(cursor) if cursor is not None else None,
        )
        return json_response(page)

    async def show(self, request: web.Request) -> web.Response:
        result = await self._service.details(incident_id(request))
        if isinstance(result, Refused):
            raise refusal(result)
        return json_response(_detail(result))

    async def update(self, request: web.Request) -> web.Response:
        """Status first, so an illegal step (409) changes nothing; then severity, assignee. Asking
        for what the incident already has is not an error: 200, no timeline entry."""
        number = incident_id(request)
        body = await self._body(request, IncidentPatch)
        commands: list[Command] = []
        if body.status is not None:
            commands.append(Transition(number, body.status, "update"))
        if (severity := body.chosen_severity) is not None:
            commands.append(SetSeverity(number, severity))
        if body.assignee is not None:
            commands.append(Assign(number, body.assignee))
        results = [await self._change(command) for command in commands]
        for result in results:
            if isinstance(result, Updated):
                self._events.changed(result, self._actor)
        return json_response(IncidentOut.of(results[-1].incident))

    async def add_note(self, request: web.Request) -> web.Response:
        number = incident_id(request)
        body = await self._body(request, NoteCreate)
        result = await self._change(AddNote(number, body.text))
        if isinstance(result, Updated):
            self._events.changed(result, self._actor)
        event = NewEvent(
            at=result.incident.updated_at, actor=self._actor, kind=EventKind.NOTE, note=body.text
        )
        return json_response(TimelineEntry.of(event), 201)

    async def alertmanager(self, request: web.Request) -> web.Response:
        query = read_query(request, AlertQuery)
        self._check_channel(query.channel)
        payload = await self._body(request, AlertmanagerPayload)
        action, incident = await self._alerts.handle(payload, query.channel)
        result = AlertmanagerResult(
            action=action, incident=IncidentOut.of(incident) if incident else None
        )
        return json_response(result)

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self._spec)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise ApiProblem(400, f"Idempotency-Key: 1 to {IDEMPOTENCY_KEY_MAX} characters")
    return "api:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _detail(details: Details) -> IncidentDetail:
    return IncidentDetail(
        **IncidentOut.of(details.incident).model_dump(),
        timeline=[TimelineEntry.of(e) for e in details.events],
        timeline_total=details.total_events,
    )
