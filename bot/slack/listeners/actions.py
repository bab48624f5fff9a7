"""Buttons: incident steps on the incident message, and "Next page" on a list."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.domain.commands import UsageError, parse
from bot.domain.incident import parse_id
from bot.service.incidents import Details, FormWanted, HelpWanted, Listing, Opened
from bot.slack.blocks import CHANNEL_NOT_ALLOWED, parse_page_value, store_problem
from bot.slack.deps import SlackDeps
from bot.slack.effects import MessageAt, ReplyTo
from bot.slack.ids import BUTTON_COMMANDS, ActionId
from bot.store.redis_store import StoreUnavailable

STALE = "That button is out of date; use `/incident list` to find the incident."


INCIDENT_BUTTONS = tuple(ActionId(a) for a in BUTTON_COMMANDS)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def incident_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await handle_incident_button(deps, ack, body, action)

    async def list_page(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await handle_list_page(deps, ack, body, action)

    # One listener for every incident button: Bolt tries listeners in turn, at ~10 µs each.
    app.action(re.compile("|".join(f"^{re.escape(a.value)}$" for a in INCIDENT_BUTTONS)))(
        incident_button
    )
    app.action(ActionId.LIST_PAGE.value)(list_page)


def _reply_to(body: dict[str, Any]) -> ReplyTo:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return ReplyTo(str(body["user"]["id"]), channel, body.get("response_url"))


def _clicked(body: dict[str, Any]) -> MessageAt | None:
    container = body.get("container") or {}
    if container.get("is_ephemeral") or not container.get("message_ts"):
        return None
    return MessageAt(str(container.get("channel_id")), str(container["message_ts"]))


async def handle_incident_button(
    deps: SlackDeps, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
) -> None:
    action_id = ActionId(action["action_id"])
    with deps.timed(lambda: action_id.metric_label):
        to = _reply_to(body)
        number = parse_id(str(action.get("value", "")))
        if number is None or not deps.service.policy.channel_allowed(to.channel):
            await ack()
            deps.tasks.spawn(
                deps.effects.tell(to, STALE if number is None else CHANNEL_NOT_ALLOWED)
            )
            return
        try:
            command = parse(BUTTON_COMMANDS[action_id].format(number))
            assert not isinstance(command, UsageError), command  # the table holds valid commands
            result = await deps.service.execute(command, to.user, to.channel)
        except StoreUnavailable as error:
            await ack()
            deps.tasks.spawn(deps.effects.tell(to, store_problem(error)))
            return
        await ack()
        if isinstance(result, Opened | Listing | Details | HelpWanted | FormWanted):
            return  # buttons only change incidents; these cannot come back
        deps.effects.after_change(result, to.user, to, _clicked(body))


async def handle_list_page(
    deps: SlackDeps, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
) -> None:
    """Read-only, so the ack comes first and the page follows through response_url."""
    with deps.timed(lambda: ActionId.LIST_PAGE.metric_label):
        await ack()
        to = _reply_to(body)
        page = parse_page_value(str(action.get("value", "")))
        if page is None or not to.response_url:
            deps.tasks.spawn(deps.effects.tell(to, STALE))
            return
        deps.tasks.spawn(deps.effects.next_page(to, to.response_url, *page))
