"""The `/incident` grammar: text -> a typed command, or a usage error that says what was wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.incident import (
    DEFAULT_SEVERITY,
    NOTE_MAX,
    TITLE_MAX,
    Severity,
    Status,
    clean_block,
    clean_line,
    format_id,
    parse_id,
)


class ListFilter(StrEnum):
    ACTIVE = "active"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    ALL = "all"

    @property
    def statuses(self) -> frozenset[Status]:
        if self is ListFilter.ACTIVE:
            return frozenset({Status.OPEN, Status.IN_PROGRESS})
        if self is ListFilter.ALL:
            return frozenset(Status)
        return frozenset({Status(self.value)})


USAGE: tuple[tuple[str, str], ...] = (
    ("open [sev1|sev2|sev3|sev4] <title>", "open an incident (default sev3) and announce it"),
    ("open", "open an incident with a form"),
    ("list [active|open|in_progress|resolved|all]", "list incidents, newest first"),
    ("show <id>", "details and timeline"),
    ("ack <id>  /  start <id>", "acknowledge: status in progress"),
    ("resolve <id> [note]", "resolve, with an optional note"),
    ("reopen <id>", "reopen a resolved incident"),
    ("update <id> status <open|in_progress|resolved>", "set the status"),
    ("assign <id> <@user|me>", "set the assignee"),
    ("sev <id> <sev1..sev4>", "change the severity"),
    ("note <id> <text>", "add a note to the timeline"),
    ("help", "this help"),
)


@dataclass(frozen=True)
class Help:
    name = "help"


@dataclass(frozen=True)
class Open:
    """`title` None means: ask for the details in a form."""

    severity: Severity
    title: str | None
    name = "open"


@dataclass(frozen=True)
class List:
    filter: ListFilter
    name = "list"


@dataclass(frozen=True)
class Show:
    id: int
    name = "show"


@dataclass(frozen=True)
class Transition:
    """`name` is the verb the user typed (ack, start, resolve, reopen, update)."""

    id: int
    target: Status
    name: str
    note: str = ""


@dataclass(frozen=True)
class Assign:
    """`user` is a Slack user id, or None for "the caller"."""

    id: int
    user: str | None
    name = "assign"


@dataclass(frozen=True)
class SetSeverity:
    id: int
    severity: Severity
    name = "sev"


@dataclass(frozen=True)
class AddNote:
    id: int
    text: str
    name = "note"


@dataclass(frozen=True)
class UsageError:
    message: str
    name = "invalid"


Command = Help | Open | List | Show | Transition | Assign | SetSeverity | AddNote
COMMAND_NAMES: tuple[str, ...] = (
    "help", "open", "list", "show", "ack", "start", "resolve",
    "reopen", "update", "assign", "sev", "note", "invalid",
)  # fmt: skip

_VERB_TARGETS = {
    "ack": Status.IN_PROGRESS,
    "start": Status.IN_PROGRESS,
    "resolve": Status.RESOLVED,
    "reopen": Status.OPEN,
}
_FILTER_ALIASES = {"in-progress": ListFilter.IN_PROGRESS, "inprogress": ListFilter.IN_PROGRESS}
_STATUS_ALIASES = {"in-progress": Status.IN_PROGRESS, "inprogress": Status.IN_PROGRESS}
# Slack sends mentions as <@U123|name> when the command escapes users (slack-manifest.yml does).
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$")
_SEVERITY_WORDS = {s.value: s for s in Severity}


def parse(text: str) -> Command | UsageError:
    """Parse the text after `/incident`. Never raises: bad input becomes a UsageError."""
    words = clean_block(text).split(None, 1)
    if not words:
        return Help()
    verb, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    if verb in ("help", "?", "-h", "--help"):
        return Help()
    if verb == "open":
        return _parse_open(rest)
    if verb == "list":
        return _parse_list(rest)
    parser = _ID_COMMANDS.get(verb)
    if parser is None:
        return UsageError(f"I don't know the command `{clean_line(verb)[:30]}`.")
    id_word, tail = _split_first(rest)
    if not id_word:
        return UsageError(f"`{verb}` needs an incident id, e.g. `{verb} INC-42`.")
    number = parse_id(id_word)
    if number is None:
        return UsageError(
            f"`{clean_line(id_word)[:30]}` is not an incident id; use e.g. `INC-42`, `#42` or `42`."
        )
    return parser(verb, number, tail.strip())


def _split_first(text: str) -> tuple[str, str]:
    """The first word and the rest, split on any whitespace (a note may start on a new line)."""
    parts = text.strip().split(None, 1)
    return (
        (parts[0], parts[1].strip()) if len(parts) == 2 else ((parts[0], "") if parts else ("", ""))
    )


def _parse_open(rest: str) -> Open | UsageError:
    first, tail = _split_first(rest)
    severity = _SEVERITY_WORDS.get(first.lower())
    title_text = tail if severity else rest
    title = clean_line(title_text)
    if not title:
        return Open(severity or DEFAULT_SEVERITY, None)
    if len(title) > TITLE_MAX:
        return UsageError(
            f"The title is {len(title)} characters long; the limit is {TITLE_MAX}. "
            "Put the details in a note."
        )
    return Open(severity or DEFAULT_SEVERITY, title)


def _parse_list(rest: str) -> List | UsageError:
    word = rest.strip().lower()
    if not word:
        return List(ListFilter.ACTIVE)
    chosen = _FILTER_ALIASES.get(word) or next((f for f in ListFilter if f.value == word), None)
    if chosen is None:
        choices = "|".join(f.value for f in ListFilter)
        return UsageError(f"`{clean_line(word)[:30]}` is not a list filter; use one of {choices}.")
    return List(chosen)


def _parse_show(verb: str, number: int, tail: str) -> Show | UsageError:
    return (
        Show(number)
        if not tail
        else UsageError(f"`show` takes only an id: `show {format_id(number)}`.")
    )


def _parse_verb(verb: str, number: int, tail: str) -> Transition | UsageError:
    if verb != "resolve" and tail:
        return UsageError(f"`{verb}` takes only an id: `{verb} {format_id(number)}`.")
    note = clean_block(tail)
    if len(note) > NOTE_MAX:
        return UsageError(f"The note is {len(note)} characters long; the limit is {NOTE_MAX}.")
    return Transition(number, _VERB_TARGETS[verb], verb, note)


def _parse_update(verb: str, number: int, tail: str) -> Transition | UsageError:
    field, value = _split_first(tail)
    choices = "|".join(s.value for s in Status)
    if field.lower() != "status" or not value.strip():
        return UsageError(f"Use `update {format_id(number)} status <{choices}>`.")
    word = value.strip().lower()
    target = _STATUS_ALIASES.get(word) or next((s for s in Status if s.value == word), None)
    if target is None:
        return UsageError(f"`{clean_line(word)[:30]}` is not a status; use one of {choices}.")
    return Transition(number, target, "update")


def _parse_assign(verb: str, number: int, tail: str) -> Assign | UsageError:
    if tail.lower() in ("me", "@me", "myself"):
        return Assign(number, None)
    match = _MENTION.match(tail)
    if match is None:
        return UsageError(
            f"Mention the person to assign: `assign {format_id(number)} @alice` (or `me`)."
        )
    return Assign(number, match.group(1))


def _parse_sev(verb: str, number: int, tail: str) -> SetSeverity | UsageError:
    severity = _SEVERITY_WORDS.get(tail.lower())
    if severity is None:
        return UsageError(
            f"Use `sev {format_id(number)} <sev1|sev2|sev3|sev4>` (sev1 is the most severe)."
        )
    return SetSeverity(number, severity)


def _parse_note(verb: str, number: int, tail: str) -> AddNote | UsageError:
    text = clean_block(tail)
    if not text:
        return UsageError(
            f"Write the note after the id: `note {format_id(number)} rolled back v2.3`."
        )
    if len(text) > NOTE_MAX:
        return UsageError(f"The note is {len(text)} characters long; the limit is {NOTE_MAX}.")
    return AddNote(number, text)


_ID_COMMANDS = {
    "show": _parse_show,
    "ack": _parse_verb,
    "start": _parse_verb,
    "resolve": _parse_verb,
    "reopen": _parse_verb,
    "update": _parse_update,
    "assign": _parse_assign,
    "sev": _parse_sev,
    "note": _parse_note,
}
