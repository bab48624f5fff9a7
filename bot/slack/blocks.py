"""Pure Block Kit renderers: incidents, lists, details, help, the modal and the feedback texts."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.domain.commands import USAGE, ListFilter
from bot.domain.incident import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    EventKind,
    Incident,
    Severity,
    Status,
    TimelineEvent,
    format_id,
)
from bot.service.incidents import (
    Details,
    Listing,
    Opened,
    Refusal,
    Refused,
    Unchanged,
    Updated,
)
from bot.slack.ids import ActionId, BlockId, CallbackId, InputId
from bot.store.redis_store import StoreUnavailable

Block = dict[str, Any]

# Block Kit limits (api.slack.com/reference/block-kit).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_FALLBACK_TEXT = 3000
TIMELINE_NOTE_SHOWN = 300

CHANNEL_NOT_ALLOWED = "IncidentWatch is not enabled in this channel."
STORE_DOWN = (
    ":warning: The incident store is unavailable, so nothing was changed. Try again in a moment."
)
STORE_IN_DOUBT = (
    ":warning: The incident store did not answer in time. If you changed something, it may "
    "still be applied: check with `/incident show` or `/incident list` before trying again."
)


def store_problem(error: StoreUnavailable) -> str:
    """What to tell the user when Redis failed: nothing changed, or it may still change."""
    return STORE_IN_DOUBT if error.in_doubt else STORE_DOWN


STATUS_EMOJI = {
    Status.OPEN: ":red_circle:",
    Status.IN_PROGRESS: ":large_orange_circle:",
    Status.RESOLVED: ":white_check_mark:",
}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_BUTTONS: dict[Status, tuple[tuple[ActionId, str, str | None], ...]] = {
    Status.OPEN: (
        (ActionId.ACKNOWLEDGE, "Acknowledge", "primary"),
        (ActionId.RESOLVE, "Resolve", None),
        (ActionId.ASSIGN_ME, "Assign to me", None),
    ),
    Status.IN_PROGRESS: (
        (ActionId.RESOLVE, "Resolve", "primary"),
        (ActionId.ASSIGN_ME, "Assign to me", None),
    ),
    Status.RESOLVED: ((ActionId.REOPEN, "Reopen", None),),
}
_DONE = {
    "ack": "acknowledged",
    "start": "started work on",
    "resolve": "resolved",
    "reopen": "reopened",
    "assign": "assigned",
    "sev": "changed the severity of",
    "note": "added a note to",
}


def escape(text: str) -> str:
    """Escape user text for mrkdwn, so `<!channel>` or `<@U…>` in it can never ping anybody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(actor: str) -> str:
    """A Slack user id as a mention; any other actor (api, console…) as escaped text."""
    return f"<@{actor}>" if _USER_ID.match(actor) else escape(actor)


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes}m"
    if days == 0:
        return f"{hours}h {minutes % 60}m"
    return f"{days}d {hours % 24}h"


def when(at: float) -> str:
    """A time every reader sees in their own time zone (fallback: UTC)."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _button(action: ActionId, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action.value,
        "text": _plain(truncate(label, MAX_BUTTON_TEXT)),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def status_text(incident: Incident) -> str:
    return f"{STATUS_EMOJI[incident.status]} {incident.status.label}"


def incident_text(incident: Incident) -> str:
    """The notification/fallback text of an incident message (plain, escaped)."""
    return truncate(
        f"{incident.ref} [{incident.severity.value.upper()}] {escape(incident.title)} "
        f"({incident.status.label})",
        MAX_FALLBACK_TEXT,
    )


def _age(incident: Incident, now: float) -> str:
    if incident.resolved_at is not None:
        return f"resolved after {duration(incident.resolved_at - incident.created_at)}"
    return f"{duration(now - incident.created_at)} (since {when(incident.created_at)})"


def _summary(incident: Incident, now: float) -> list[Block]:
    header = truncate(f"{incident.ref} · {incident.title}", MAX_HEADER_TEXT)
    blocks: list[Block] = [{"type": "header", "text": _plain(header)}]
    if header != f"{incident.ref} · {incident.title}":
        blocks.append({"type": "section", "text": _plain(incident.title)})
    assignee = mention(incident.assignee) if incident.assignee else "_unassigned_"
    fields = [
        f"*Severity*\n{incident.severity.label}",
        f"*Status*\n{status_text(incident)}",
        f"*Opened by*\n{mention(incident.created_by)}",
        f"*Assignee*\n{assignee}",
        f"*Age*\n{_age(incident, now)}",
        f"*Last change*\n{mention(incident.status_by)}, {when(incident.updated_at)}",
    ]
    blocks.append({"type": "section", "fields": [_mrkdwn(f) for f in fields]})
    if incident.description:
        blocks.append(_section(escape(truncate(incident.description, DESCRIPTION_MAX))))
    return blocks


def render_incident(incident: Incident, now: float) -> list[Block]:
    """The channel message of an incident, with buttons for the legal next steps only."""
    value = str(incident.id)
    buttons = [_button(a, label, value, style) for a, label, style in _BUTTONS[incident.status]]
    return [
        *_summary(incident, now),
        {"type": "actions", "block_id": BlockId.INCIDENT_ACTIONS.value, "elements": buttons},
    ]


def _row(incident: Incident, now: float) -> str:
    who = f" · {mention(incident.assignee)}" if incident.assignee else ""
    return (
        f"{STATUS_EMOJI[incident.status]} *{incident.ref}* · {incident.severity.value.upper()} · "
        f"{escape(incident.title)}\n{incident.status.label} · {_age(incident, now)}{who}"
    )


def render_list(listing: Listing, now: float) -> list[Block]:
    name = listing.filter.value.replace("_", " ")
    incidents = listing.page.incidents
    if not incidents:
        return [_section(f"No {name} incidents. :tada:")]
    blocks: list[Block] = [_section(f"*{name.capitalize()} incidents*, newest first")]
    blocks += [_section(_row(incident, now)) for incident in incidents]
    if listing.page.next_cursor is not None:
        value = f"{listing.filter.value}:{listing.page.next_cursor}"
        next_button = _button(ActionId.LIST_PAGE, "Next page", value)
        blocks.append(
            {"type": "actions", "block_id": BlockId.LIST_ACTIONS.value, "elements": [next_button]}
        )
    return blocks


def parse_page_value(value: str) -> tuple[ListFilter, int] | None:
    """The value of a "Next page" button back to (filter, cursor); None if it was tampered with."""
    name, _, cursor = value.partition(":")
    which = next((f for f in ListFilter if f.value == name), None)
    return (which, int(cursor)) if which is not None and cursor.isdigit() else None


def event_text(event: TimelineEvent) -> str:
    who = mention(event.actor)
    match event.kind:
        case EventKind.OPENED:
            text = f"{who} opened it as {event.value.upper()}"
        case EventKind.STATUS:
            text = f"{who} set the status to {Status(event.value).label}"
        case EventKind.ASSIGNED:
            text = f"{who} assigned it to {mention(event.value)}"
        case EventKind.SEVERITY:
            text = f"{who} changed the severity to {event.value.upper()}"
        case EventKind.NOTE:
            text = f"{who} noted"
        case EventKind.REFUSED:
            text = f"{who} tried to set the status to {Status(event.value).label} (not allowed)"
    if event.note:
        text += f": {escape(truncate(event.note, TIMELINE_NOTE_SHOWN))}"
    return text


def render_details(details: Details, now: float) -> list[Block]:
    """Details and as much of the timeline as fits Block Kit's limits."""
    blocks = _summary(details.incident, now)
    shown = len(details.events)
    heading = (
        "*Timeline*"
        if shown == details.total_events
        else f"*Timeline* (last {shown} of {details.total_events})"
    )
    blocks.append(_section(heading))
    chunk = ""
    for event in details.events:
        line = f"{when(event.at)} — {event_text(event)}"
        if chunk and len(chunk) + len(line) + 1 > MAX_SECTION_TEXT:
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
        if len(blocks) >= MAX_BLOCKS - 1:
            break
    if chunk:
        blocks.append(_section(chunk))
    return blocks[:MAX_BLOCKS]


def render_help(problem: str | None = None) -> list[Block]:
    lines = "\n".join(f"`/incident {escape(syntax)}` — {text}" for syntax, text in USAGE)
    blocks = [_section(f"*IncidentWatch* — run incidents from Slack\n{lines}")]
    blocks.append(_context("Ids can be written `INC-42`, `#42` or `42`."))
    if problem:
        blocks.insert(0, _section(f":warning: {escape(problem)}"))
    return blocks


def help_text(problem: str | None = None) -> str:
    if not problem:
        return "IncidentWatch commands"
    return f"{escape(problem)} Type `/incident help` for the commands."


def render_open_modal(severity: Severity, channel: str) -> dict[str, Any]:
    """The form behind a bare `/incident open`; private_metadata carries the origin channel."""
    options = [{"text": _plain(s.label), "value": s.value} for s in Severity]
    initial = options[list(Severity).index(severity)]
    return {
        "type": "modal",
        "callback_id": CallbackId.OPEN_INCIDENT.value,
        "private_metadata": channel,
        "title": _plain("Open an incident"),
        "submit": _plain("Open"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": BlockId.TITLE.value,
                "label": _plain("Title"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": InputId.TITLE.value,
                    "max_length": TITLE_MAX,
                    "placeholder": _plain("Checkout API returns 502"),
                },
            },
            {
                "type": "input",
                "block_id": BlockId.SEVERITY.value,
                "label": _plain("Severity"),
                "element": {
                    "type": "static_select",
                    "action_id": InputId.SEVERITY.value,
                    "options": options,
                    "initial_option": initial,
                },
            },
            {
                "type": "input",
                "block_id": BlockId.DESCRIPTION.value,
                "label": _plain("Description"),
                "optional": True,
                "element": {
                    "type": "plain_text_input",
                    "action_id": InputId.DESCRIPTION.value,
                    "multiline": True,
                    "max_length": DESCRIPTION_MAX,
                },
            },
        ],
    }


def describe(result: Opened | Updated | Unchanged | Refused, channel: str | None = None) -> str:
    """The short feedback line for whoever typed or clicked."""
    match result:
        case Opened(incident=incident, new=new):
            where = f" in <#{channel}>" if channel else ""
            verb = "Opened" if new else "Already opened"
            sev = incident.severity.value.upper()
            return f":rotating_light: {verb} *{incident.ref}* ({sev}){where}."
        case Updated(incident=incident, what=what):
            return f":white_check_mark: You {_done(what, incident)}."
        case Unchanged(incident=incident, what=what):
            return _already(what, incident)
        case Refused(incident_id=number, reason=Refusal.MISSING):
            return f"There is no incident {format_id(number)}. See `/incident list all`."
        case Refused(incident_id=number, reason=Refusal.FORBIDDEN):
            return (
                f":no_entry: Only the sev1 responders may resolve or reopen *{format_id(number)}*; "
                "your attempt was recorded in its timeline."
            )
        case Refused(incident=incident, target=target):
            return _illegal(incident, target)
    raise AssertionError(result)  # pragma: no cover — the match above is exhaustive


def activity_text(result: Updated, actor: str) -> str:
    """The thread reply that tells the channel who changed what."""
    return f"{mention(actor)} {_done(result.what, result.incident)}"


def _done(what: str, incident: Incident) -> str:
    ref = f"*{incident.ref}*"
    if what == "update":
        return f"set {ref} to {incident.status.label}"
    if what == "assign" and incident.assignee:
        return f"assigned {ref} to {mention(incident.assignee)}"
    if what == "sev":
        return f"changed the severity of {ref} to {incident.severity.label}"
    return f"{_DONE.get(what, 'updated')} {ref}"


def _already(what: str, incident: Incident) -> str:
    ref = f"*{incident.ref}*"
    if what == "assign" and incident.assignee:
        return f"{ref} is already assigned to {mention(incident.assignee)}."
    if what == "sev":
        return f"{ref} already is {incident.severity.label}."
    return f"{ref} is already {incident.status.label.lower()} (by {mention(incident.status_by)})."


def _illegal(incident: Incident | None, target: Status | None) -> str:
    if incident is None or target is None:
        return "That change is not possible."
    nexts = ", ".join(s.label.lower() for s in sorted(incident.next_statuses))
    return (
        f"*{incident.ref}* is {incident.status.label.lower()} (by {mention(incident.status_by)}), "
        f"so it can't become {target.label.lower()}; from here it can become: {nexts}."
    )
