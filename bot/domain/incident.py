"""The Incident model, its statuses and severities, the legal transitions and the timeline."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

TITLE_MAX = 150
DESCRIPTION_MAX = 3000
NOTE_MAX = 1000
ACTOR_MAX = 64

# C0/C1 control characters and bidi overrides: invisible in Slack, but can break rendering
# or disguise text. Newlines and tabs stay where multi-line text is allowed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")


def clean_line(text: str) -> str:
    """One-line text: control characters removed, line breaks folded into spaces, trimmed."""
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def clean_block(text: str) -> str:
    """Multi-line text: control characters removed (newlines and tabs kept), trimmed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


Title = Annotated[str, AfterValidator(clean_line), Field(min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, AfterValidator(clean_block), Field(max_length=DESCRIPTION_MAX)]
NoteText = Annotated[str, AfterValidator(clean_block), Field(max_length=NOTE_MAX)]
Actor = Annotated[str, AfterValidator(clean_line), Field(min_length=1, max_length=ACTOR_MAX)]


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.OPEN: "Open",
    Status.IN_PROGRESS: "In progress",
    Status.RESOLVED: "Resolved",
}


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @property
    def label(self) -> str:
        return _SEVERITY_LABELS[self]


_SEVERITY_LABELS = {
    Severity.SEV1: "SEV1 (critical)",
    Severity.SEV2: "SEV2 (high)",
    Severity.SEV3: "SEV3 (medium)",
    Severity.SEV4: "SEV4 (low)",
}

DEFAULT_SEVERITY = Severity.SEV3

# The original REST service's priorities.
PRIORITY_TO_SEVERITY = {"high": Severity.SEV1, "medium": Severity.SEV2, "low": Severity.SEV3}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN}),
}


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def sources_of(target: Status) -> frozenset[Status]:
    """The statuses from which `target` may be reached (what the store's compare-and-set checks)."""
    return frozenset(s for s, nexts in TRANSITIONS.items() if target in nexts)


_ID = re.compile(r"^(?:inc-?|#)?0*(\d{1,9})$", re.IGNORECASE)


def format_id(number: int) -> str:
    return f"INC-{number}"


def parse_id(text: str) -> int | None:
    """`42`, `#42`, `INC-42`, `inc-42` -> 42; anything else -> None."""
    match = _ID.match(text.strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


class EventKind(StrEnum):
    OPENED = "opened"
    STATUS = "status"
    ASSIGNED = "assigned"
    SEVERITY = "severity"
    NOTE = "note"
    REFUSED = "refused"


class TimelineEvent(BaseModel):
    """One line of an incident's history: who did what, and when (epoch seconds), as stored."""

    model_config = ConfigDict(frozen=True)

    at: float
    actor: str
    kind: EventKind
    value: str = ""
    note: str = ""


class NewEvent(TimelineEvent):
    """A timeline event about to be written: the actor and note are cleaned and bounded."""

    actor: Actor
    note: NoteText = ""


class Incident(BaseModel):
    """An incident as stored; `status_by` is who set the current status. Text is cleaned once,
    on the way in (NewIncident, NewEvent), so reading back skips that work."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(ge=1)
    title: str
    description: str = ""
    severity: Severity = DEFAULT_SEVERITY
    status: Status = Status.OPEN
    created_by: str
    created_at: float
    updated_at: float
    status_by: str
    assignee: str | None = None
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    channel: str | None = None
    message_ts: str | None = None

    @property
    def ref(self) -> str:
        return format_id(self.id)

    @property
    def next_statuses(self) -> frozenset[Status]:
        return TRANSITIONS[self.status]


class NewIncident(Incident):
    """An incident about to be opened: the title, description and people are cleaned and
    bounded."""

    title: Title
    description: Description = ""
    created_by: Actor
    status_by: Actor
