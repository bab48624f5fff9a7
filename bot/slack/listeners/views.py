"""The "open an incident" modal: validate the submission, open the incident, announce it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.domain.incident import TITLE_MAX, Severity, clean_block, clean_line
from bot.slack.deps import SlackDeps
from bot.slack.effects import ReplyTo
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.store.redis_store import StoreUnavailable

STORE_DOWN_IN_FORM = "The incident store is unavailable; nothing was saved. Try again in a moment."
STORE_IN_DOUBT_IN_FORM = (
    "The incident store did not answer in time; the incident may still be opened. "
    "Check `/incident list` before submitting again."
)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def open_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await handle_open_submission(deps, ack, body, view)

    app.view(CallbackId.OPEN_INCIDENT.value)(open_submitted)


def _value(values: dict[str, Any], block: BlockId, element: InputId) -> dict[str, Any]:
    found = (values.get(block.value) or {}).get(element.value)
    return found if isinstance(found, dict) else {}


async def handle_open_submission(
    deps: SlackDeps, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    with deps.timed(lambda: CallbackId.OPEN_INCIDENT.metric_label):
        values = (view.get("state") or {}).get("values") or {}
        title = clean_line(str(_value(values, BlockId.TITLE, InputId.TITLE).get("value") or ""))
        selected = _value(values, BlockId.SEVERITY, InputId.SEVERITY).get("selected_option") or {}
        severity = next((s for s in Severity if s.value == selected.get("value")), None)
        description = clean_block(
            str(_value(values, BlockId.DESCRIPTION, InputId.DESCRIPTION).get("value") or "")
        )
        errors = {}
        if not title:
            errors[BlockId.TITLE.value] = "Give the incident a title."
        elif len(title) > TITLE_MAX:
            errors[BlockId.TITLE.value] = f"Keep the title within {TITLE_MAX} characters."
        if severity is None:
            errors[BlockId.SEVERITY.value] = "Choose a severity."
        if errors or severity is None:
            await ack(response_action="errors", errors=errors)
            return
        actor = str(body["user"]["id"])
        origin = str(view.get("private_metadata") or "") or None
        try:
            # The view id makes a retried or double submission open one incident, not two.
            view_id = view.get("id")
            opened = await deps.service.open(
                title,
                severity,
                actor,
                origin,
                description=description,
                dedupe_key=f"view:{view_id}" if view_id else None,
            )
        except StoreUnavailable as error:
            problem = STORE_IN_DOUBT_IN_FORM if error.in_doubt else STORE_DOWN_IN_FORM
            await ack(response_action="errors", errors={BlockId.TITLE.value: problem})
            return
        await ack()
        channel = deps.effects.channel_for(origin)
        if opened.new and channel:
            deps.effects.announce(opened.incident, channel, ReplyTo(actor, channel))
