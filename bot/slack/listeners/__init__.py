"""Bolt listeners, one module per surface, each with register(app, deps)."""

from slack_bolt.async_app import AsyncApp

from bot.slack.deps import SlackDeps
from bot.slack.listeners import actions, commands, views


def register_all(app: AsyncApp, deps: SlackDeps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
