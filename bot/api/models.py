"""The HTTP API's wire models: requests, responses and problem details (the OpenAPI spec)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)
from pydantic.config import JsonDict

from bot.domain.commands import ListFilter
from bot.domain.incident import (
    ACTOR_MAX,
    DESCRIPTION_MAX,
    NOTE_MAX,
    PRIORITY_TO_SEVERITY,
    TITLE_MAX,
    EventKind,
    Incident,
    Severity,
    Status,
    TimelineEvent,
    clean_block,
    clean_line,
)

Priority = Literal["low", "medium", "high"]
# Slack conversation ids (C…, G…, D…); the API only passes them on to chat.postMessage.
ChannelId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{2,30}$")]
MAX_PAGE = 100
DEFAULT_PAGE = 20


# One character that the domain's cleaning keeps (not blank, not a control or bidi character).
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
# The limits apply to the text as sent, so the published schema is exactly what is accepted;
# the domain's cleaning then only removes characters.
Title = Annotated[
    str, Field(min_length=1, max_length=TITLE_MAX, pattern=VISIBLE), AfterValidator(clean_line)
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX), AfterValidator(clean_block)]
NoteText = Annotated[
    str, Field(min_length=1, max_length=NOTE_MAX, pattern=VISIBLE), AfterValidator(clean_block)
]
Assignee = Annotated[
    str,
    Field(max_length=ACTOR_MAX, pattern=VISIBLE, description="A Slack user id (U…) or a name"),
    AfterValidator(clean_line),
]
# Bodies are JSON: no coercion (`"1"` is not 1, `false` is not 0).
_BODY = ConfigDict(extra="forbid", strict=True)


def _given(*names: str) -> list[JsonValue]:
    """JSON Schema: each of `names` present and not null (our optional fields are strings)."""
    return [{"required": [n], "properties": {n: {"type": "string"}}} for n in names]


# The cross-field rules of the validators below, in the published schema too.
_NOT_BOTH: JsonDict = {"not": {"allOf": _given("severity", "priority")}}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _maybe_at(epoch: float | None) -> datetime | None:
    return None if epoch is None else _at(epoch)


class FieldProblem(BaseModel):
    field: str = Field(description="Where: `title`, `severity`, `limit`, `alerts.0.labels`, …")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str = "about:blank"
    title: str = Field(description="The HTTP status phrase, e.g. `Conflict`")
    status: int
    detail: str = Field(description="What was wrong, for a person")
    errors: list[FieldProblem] | None = Field(
        default=None, description="For 400: each invalid field and why"
    )


class IncidentCreate(BaseModel):
    """Give `severity`, or the original service's `priority` (high→sev1, medium→sev2, low→sev3),
    or neither (sev3)."""

    model_config = ConfigDict(**_BODY, json_schema_extra=_NOT_BOTH)

    title: Title
    severity: Severity | None = None
    priority: Priority | None = None
    description: Description = ""
    assignee: Assignee | None = None
    channel: ChannelId | None = Field(
        default=None, description="Slack channel to announce in (default: INCIDENT_CHANNEL)"
    )

    @model_validator(mode="after")
    def _one_severity(self) -> IncidentCreate:
        if self.severity is not None and self.priority is not None:
            raise ValueError("give severity or priority, not both")
        return self

    @property
    def chosen_severity(self) -> Severity | None:
        return self.severity or (PRIORITY_TO_SEVERITY[self.priority] if self.priority else None)


class IncidentPatch(BaseModel):
    """The fields to change; the status follows the lifecycle (an illegal step is a 409)."""

    model_config = ConfigDict(
        **_BODY,
        json_schema_extra={
            **_NOT_BOTH,
            "anyOf": _given("status", "severity", "priority", "assignee"),
        },
    )

    status: Status | None = None
    severity: Severity | None = None
    priority: Priority | None = None
    assignee: Assignee | None = None

    @model_validator(mode="after")
    def _something(self) -> IncidentPatch:
        if self.severity is not None and self.priority is not None:
            raise ValueError("give severity or priority, not both")
        if (self.status, self.severity, self.priority, self.assignee) == (None, None, None, None):
            raise ValueError("give at least one of status, severity, priority, assignee")
        return self

    @property
    def chosen_severity(self) -> Severity | None:
        return self.severity or (PRIORITY_TO_SEVERITY[self.priority] if self.priority else None)


class NoteCreate(BaseModel):
    model_config = _BODY

    text: NoteText


class ListQuery(BaseModel):
    """The query of GET /incidents; every field is a query parameter."""

    model_config = ConfigDict(extra="forbid")

    status: ListFilter = Field(
        default=ListFilter.ALL, description="`active` is open and in progress together"
    )
    severity: Severity | None = None
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,17}$",
        description="`next_cursor` of the previous page",
    )


class AlertQuery(BaseModel):
    """The query of the Alertmanager webhook URL."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelId | None = Field(
        default=None, description="Slack channel to announce in (default: INCIDENT_CHANNEL)"
    )


class IncidentOut(BaseModel):
    id: int
    ref: str = Field(description="`INC-<id>`, as shown in Slack")
    title: str
    description: str
    severity: Severity
    status: Status
    assignee: str | None
    created_by: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    status_by: str = Field(description="Who set the current status")
    acknowledged_at: AwareDatetime | None
    resolved_at: AwareDatetime | None

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        return cls(
            id=incident.id,
            ref=incident.ref,
            title=incident.title,
            description=incident.description,
            severity=incident.severity,
            status=incident.status,
            assignee=incident.assignee,
            created_by=incident.created_by,
            created_at=_at(incident.created_at),
            updated_at=_at(incident.updated_at),
            status_by=incident.status_by,
            acknowledged_at=_maybe_at(incident.acknowledged_at),
            resolved_at=_maybe_at(incident.resolved_at),
        )


class TimelineEntry(BaseModel):
    at: AwareDatetime
    actor: str
    kind: EventKind
    value: str = Field(description="The new status, severity or assignee; empty for a note")
    note: str

    @classmethod
    def of(cls, event: TimelineEvent) -> TimelineEntry:
        return cls(
            at=_at(event.at), actor=event.actor, kind=event.kind, value=event.value, note=event.note
        )


class IncidentDetail(IncidentOut):
    timeline: list[TimelineEntry] = Field(description="The most recent entries, oldest first")
    timeline_total: int = Field(description="How many entries the timeline has in all")


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(strict=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    starts_at: str = Field(default="", alias="startsAt")
    ends_at: str = Field(default="", alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (see Alertmanager's `webhook_config` docs)."""

    model_config = ConfigDict(strict=True)

    version: Literal["4"]
    group_key: str = Field(min_length=1, alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default={}, alias="groupLabels")
    common_labels: dict[str, str] = Field(default={}, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default={}, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


AlertAction = Literal["opened", "noted", "reopened", "resolved", "unchanged", "ignored"]


class AlertmanagerResult(BaseModel):
    action: AlertAction = Field(
        description="opened: a new incident; noted: a timeline entry on the group's incident; "
        "reopened: its incident was resolved and is open again; resolved; unchanged: already "
        "resolved; ignored: a resolved group without a (live) incident"
    )
    incident: IncidentOut | None


def problem_fields(errors: list[Any]) -> list[FieldProblem]:
    """pydantic's error list as field/message pairs (the field as a dotted path)."""
    return [
        FieldProblem(
            field=".".join(str(part) for part in e["loc"]) or "body",
            message=str(e["msg"]).removeprefix("Value error, "),
        )
        for e in errors
    ]
