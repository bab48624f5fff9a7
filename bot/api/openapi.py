"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json), made from the models."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot import __version__
from bot.api.models import (
    AlertmanagerPayload,
    AlertmanagerResult,
    AlertQuery,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    ListQuery,
    NoteCreate,
    Problem,
    TimelineEntry,
)

API_PREFIX = "/api/v1"
PROBLEM_TYPE = "application/problem+json"
_REF = "#/components/schemas/{model}"
_ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The incident number: `42` (`INC-42` is accepted too)",
    "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
}
_IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry-safe creation: the same key within 24 h returns the first incident "
    "(200 instead of 201) and opens nothing",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_ERRORS = {
    400: "Invalid input; `errors` names each field",
    401: "Missing or wrong bearer token",
    404: "No such incident",
    409: "Illegal status change (see the lifecycle)",
    413: "Body larger than API_MAX_BODY_BYTES",
    415: "Body is not JSON",
    503: "The incident store (Redis) is unavailable; nothing was changed",
}


@dataclass(frozen=True)
class Operation:
    method: Literal["get", "post", "patch"]
    path: str
    summary: str
    responses: tuple[tuple[int, type[BaseModel], str], ...]
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = ()


_BODY_ERRORS = (400, 401, 413, 415, 503)
OPERATIONS = (
    Operation(
        "post",
        "/incidents",
        "Open an incident; it is announced in Slack (channel, else INCIDENT_CHANNEL)",
        ((201, IncidentOut, "Opened"), (200, IncidentOut, "Already opened with this key")),
        _BODY_ERRORS,
        body=IncidentCreate,
        parameters=(_IDEMPOTENCY_PARAMETER,),
    ),
    Operation(
        "get",
        "/incidents",
        "List incidents, newest first, a page at a time",
        ((200, IncidentPage, "One page"),),
        (400, 401, 503),
        query=ListQuery,
    ),
    Operation(
        "get",
        "/incidents/{id}",
        "An incident with its timeline",
        ((200, IncidentDetail, "The incident"),),
        (400, 401, 404, 503),
        parameters=(_ID_PARAMETER,),
    ),
    Operation(
        "patch",
        "/incidents/{id}",
        "Change the status, severity or assignee (what it already has: 200, unchanged)",
        ((200, IncidentOut, "The incident after the change"),),
        (*_BODY_ERRORS, 404, 409),
        body=IncidentPatch,
        parameters=(_ID_PARAMETER,),
    ),
    Operation(
        "post",
        "/incidents/{id}/notes",
        "Add a note to the timeline",
        ((201, TimelineEntry, "The note as recorded"),),
        (*_BODY_ERRORS, 404),
        body=NoteCreate,
        parameters=(_ID_PARAMETER,),
    ),
    Operation(
        "post",
        "/alertmanager",
        "Alertmanager webhook (payload version 4): a firing group opens, notes or reopens its "
        "incident; a resolved one resolves it",
        ((200, AlertmanagerResult, "What was done"),),
        _BODY_ERRORS,
        body=AlertmanagerPayload,
        query=AlertQuery,
    ),
)


def _schemas() -> tuple[dict[Any, Any], dict[str, Any]]:
    """`$ref`s by (model, mode), and the component schemas they point to."""
    inputs = {m for op in OPERATIONS for m in (op.body, op.query) if m is not None}
    outputs = {model for op in OPERATIONS for _, model, _ in op.responses} | {Problem}
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)),
        *((m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)),
    ]
    refs, top = models_json_schema(pairs, ref_template=_REF)
    return dict(refs), top.get("$defs", {})


def _query_parameters(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as parameters; an absent parameter is the null of its field."""
    schema = components[model.__name__]
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k != "title" and v is not None}
        branches = [b for b in field.pop("anyOf", []) if b != {"type": "null"}]
        if branches:
            field.update(branches[0])
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field:
            parameter["description"] = field.pop("description")
        parameters.append({**parameter, "schema": field})
    return parameters


def _operation(op: Operation, refs: dict[Any, Any], components: dict[str, Any]) -> dict[str, Any]:
    problem = {"content": {PROBLEM_TYPE: {"schema": refs[(Problem, "serialization")]}}}
    responses: dict[str, Any] = {
        str(status): {
            "description": text,
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }
        for status, model, text in op.responses
    }
    if 201 in {status for status, _, _ in op.responses}:
        responses["201"]["headers"] = {
            "Location": {"description": "The incident's URL", "schema": {"type": "string"}}
        }
    for status in op.errors:
        responses[str(status)] = {"description": _ERRORS[status], **problem}
    operation: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}{op.path.replace('/', '_').replace('{', '').replace('}', '')}",
        "parameters": [
            *op.parameters,
            *(_query_parameters(op.query, components) if op.query else []),
        ],
        "responses": responses,
    }
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    return operation


@cache
def spec() -> dict[str, Any]:
    """The whole document, built once (the models don't change at run time)."""
    refs, components = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(API_PREFIX + op.path, {})[op.method] = _operation(op, refs, components)
    paths[f"{API_PREFIX}/openapi.json"] = {
        "get": {
            "summary": "This document",
            "operationId": "get_openapi",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "IncidentWatch API",
            "version": __version__,
            "description": "Open, list and update incidents; the Alertmanager webhook. Every "
            "change is announced or refreshed in Slack and recorded in the incident's timeline.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
