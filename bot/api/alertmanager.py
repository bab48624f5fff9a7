"""Alertmanager's webhook (payload v4): a group opens one incident; notes, reopens, resolves it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from bot.api.models import AlertAction, AlertmanagerAlert, AlertmanagerPayload
from bot.domain.commands import AddNote, Transition
from bot.domain.incident import (
    DEFAULT_SEVERITY,
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    Incident,
    Severity,
    Status,
    clean_line,
)
from bot.service.events import IncidentEvents
from bot.service.incidents import IncidentService, Refused, Unchanged, Updated

ALERT_ACTOR = "alertmanager"
RESOLVED_NOTE = "resolved by Alertmanager"
ALERTS_LISTED = 10


@dataclass(frozen=True)
class AlertSettings:
    severity_map: Mapping[str, Severity]
    auto_resolve: bool
    link_ttl_seconds: int


def link_key(group_key: str) -> str:
    """The dedupe key linking an alert group to its incident (hashed: group keys are long)."""
    return "alert:" + hashlib.sha256(group_key.encode()).hexdigest()[:32]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title_of(payload: AlertmanagerPayload) -> str:
    """The group's common summary, else its alert name, else its group labels."""
    candidates = (
        payload.common_annotations.get("summary", ""),
        payload.common_labels.get("alertname", ""),
        " ".join(f"{k}={v}" for k, v in sorted(payload.group_labels.items())),
    )
    title = next((c for c in map(clean_line, candidates) if c), "Alertmanager alert")
    return _shorten(title, TITLE_MAX)


def severity_of(payload: AlertmanagerPayload, mapping: Mapping[str, Severity]) -> Severity:
    """The most severe mapped `severity` label among the firing alerts (default sev3)."""
    order = list(Severity)
    labels = {payload.common_labels.get("severity", "")} | {
        a.labels.get("severity", "") for a in payload.alerts if a.status == "firing"
    }
    found = [
        mapping.get(label.lower()) or (Severity(label.lower()) if label.lower() in order else None)
        for label in labels
    ]
    return min((s for s in found if s is not None), key=order.index, default=DEFAULT_SEVERITY)


def _alert_line(alert: AlertmanagerAlert, common: Mapping[str, str]) -> str:
    """One alert: its name, the labels that set it apart from the group, and its summary."""
    name = alert.labels.get("alertname", "alert")
    own = " ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in common)
    text = alert.annotations.get("summary") or alert.annotations.get("description", "")
    return clean_line(f"• [{alert.status}] {name} {own}" + (f" — {text}" if text else ""))


def alerts_text(payload: AlertmanagerPayload, limit: int) -> str:
    firing = sum(a.status == "firing" for a in payload.alerts)
    head = f"{firing} firing, {len(payload.alerts) - firing} resolved"
    if payload.truncated_alerts:
        head += f", {payload.truncated_alerts} more not sent"
    lines = [_alert_line(a, payload.common_labels) for a in payload.alerts[:ALERTS_LISTED]]
    if len(payload.alerts) > ALERTS_LISTED:
        lines.append(f"… and {len(payload.alerts) - ALERTS_LISTED} more")
    source = payload.alerts[0].generator_url or payload.external_url
    return _shorten("\n".join([head + ":", *lines, *([source] if source else [])]), limit)


class AlertHandler:
    """Turns one webhook delivery into at most one write (plus the opening), atomically deduped:
    the group's link to its incident is the store's dedupe key, set by the create script itself."""

    def __init__(
        self, service: IncidentService, events: IncidentEvents, settings: AlertSettings
    ) -> None:
        self._service = service
        self._events = events
        self._settings = settings

    async def handle(
        self, payload: AlertmanagerPayload, channel: str | None
    ) -> tuple[AlertAction, Incident | None]:
        if payload.status == "firing":
            return await self._firing(payload, channel)
        return await self._resolved(payload)

    async def _firing(
        self, payload: AlertmanagerPayload, channel: str | None
    ) -> tuple[AlertAction, Incident | None]:
        opened = await self._service.open(
            title_of(payload),
            severity_of(payload, self._settings.severity_map),
            ALERT_ACTOR,
            channel,
            description=f"Opened by Alertmanager. {alerts_text(payload, DESCRIPTION_MAX - 30)}",
            dedupe_key=link_key(payload.group_key),
            dedupe_ttl=self._settings.link_ttl_seconds,
        )
        incident = opened.incident
        if opened.new:
            self._events.opened(incident, channel)
            return "opened", incident
        if incident.status is Status.RESOLVED:
            note = f"Firing again: {alerts_text(payload, NOTE_MAX - 20)}"
            return await self._apply(Transition(incident.id, Status.OPEN, "reopen", note))
        note = f"Still firing: {alerts_text(payload, NOTE_MAX - 20)}"
        return await self._apply(AddNote(incident.id, note))

    async def _resolved(self, payload: AlertmanagerPayload) -> tuple[AlertAction, Incident | None]:
        number = await self._service.deduped(link_key(payload.group_key))
        if number is None:
            return "ignored", None
        if self._settings.auto_resolve:
            return await self._apply(Transition(number, Status.RESOLVED, "resolve", RESOLVED_NOTE))
        return await self._apply(AddNote(number, "Alertmanager reports the alerts resolved."))

    async def _apply(self, command: Transition | AddNote) -> tuple[AlertAction, Incident | None]:
        result = await self._service.execute(command, ALERT_ACTOR, None)
        if isinstance(result, Updated):
            self._events.changed(result, ALERT_ACTOR)
            return _ACTIONS[result.what], result.incident
        if isinstance(result, Refused) and result.incident is None:
            return "ignored", None
        if isinstance(result, Unchanged | Refused):
            return "unchanged", result.incident
        raise AssertionError(result)  # pragma: no cover — execute answers a change with these


_ACTIONS: dict[str, AlertAction] = {"reopen": "reopened", "resolve": "resolved", "note": "noted"}
