"""The /incident slash command: parse, run, answer in the ack; Slack calls happen after it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.domain.commands import Command, UsageError, parse
from bot.service.incidents import (
    Details,
    FormWanted,
    HelpWanted,
    Listing,
    Opened,
    Refused,
    Unchanged,
    Updated,
)
from bot.slack.blocks import (
    CHANNEL_NOT_ALLOWED,
    describe,
    help_text,
    render_details,
    render_help,
    render_list,
    render_open_modal,
    store_problem,
)
from bot.slack.deps import SlackDeps
from bot.slack.effects import ReplyTo
from bot.slack.ids import SLASH_COMMAND
from bot.store.redis_store import StoreUnavailable

EPHEMERAL = "ephemeral"


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def incident_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await handle_command(deps, ack, command)

    app.command(SLASH_COMMAND)(incident_command)


async def handle_command(deps: SlackDeps, ack: AsyncAck, command: dict[str, Any]) -> None:
    parsed = parse(str(command.get("text", "")))
    with deps.timed(lambda: parsed.name):
        if isinstance(parsed, UsageError):
            await ack(
                text=help_text(parsed.message),
                blocks=render_help(parsed.message),
                response_type=EPHEMERAL,
            )
            return
        await _run(deps, ack, parsed, command)


async def _run(deps: SlackDeps, ack: AsyncAck, parsed: Command, command: dict[str, Any]) -> None:
    actor, channel = str(command["user_id"]), str(command["channel_id"])
    to = ReplyTo(actor, channel, command.get("response_url"))
    if not deps.service.policy.channel_allowed(channel):
        await ack(text=CHANNEL_NOT_ALLOWED, response_type=EPHEMERAL)
        return
    try:
        trigger = command.get("trigger_id")
        request_id = f"trigger:{trigger}" if trigger else None
        result = await deps.service.execute(parsed, actor, channel, request_id)
    except StoreUnavailable as error:
        await ack(text=store_problem(error), response_type=EPHEMERAL)
        return
    now = deps.clock()
    match result:
        case HelpWanted():
            await ack(text=help_text(), blocks=render_help(), response_type=EPHEMERAL)
        case FormWanted(severity=severity):
            await ack()
            view = render_open_modal(severity, channel)
            deps.tasks.spawn(deps.effects.open_form(str(command.get("trigger_id", "")), view, to))
        case Opened(incident=incident):
            target = deps.effects.channel_for(channel) or channel
            await ack(text=describe(result, target), response_type=EPHEMERAL)
            if result.new:
                deps.effects.announce(incident, target, to)
        case Updated() | Unchanged() | Refused():
            await ack(text=describe(result), response_type=EPHEMERAL)
            if isinstance(result, Updated):
                deps.effects.after_change(result, actor, to, None)
        case Listing():
            await ack(text="Incidents", blocks=render_list(result, now), response_type=EPHEMERAL)
        case Details(incident=incident):
            await ack(
                text=incident.ref, blocks=render_details(result, now), response_type=EPHEMERAL
            )
