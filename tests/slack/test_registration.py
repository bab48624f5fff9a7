"""Every id the renderers and the manifest use reaches a listener ("the button does nothing")."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_requests import block_actions, form_body, payload_body, slash_command, view_submission
from slack_standin import SlackStandin

from bot.domain.commands import ListFilter
from bot.domain.incident import Incident, Severity, Status
from bot.observability.metrics import Metrics
from bot.service.incidents import IncidentService, Listing
from bot.slack.app import build_app, web_client
from bot.slack.background import BackgroundTasks
from bot.slack.blocks import render_incident, render_list, render_open_modal
from bot.slack.deps import SlackDeps
from bot.slack.effects import SlackEffects
from bot.slack.ids import SLASH_COMMAND, ActionId
from bot.slack.messenger import Messenger
from bot.store.redis_store import IncidentStore, Page

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"


@pytest.fixture
async def app(store: IncidentStore) -> AsyncIterator[AsyncApp]:
    async with SlackStandin() as standin:
        metrics = Metrics("test")
        service = IncidentService(store, metrics)
        client = web_client("xoxb-test", standin.base_url)
        messenger = Messenger(client, metrics)
        tasks = BackgroundTasks()
        deps = SlackDeps(
            service, metrics, SlackEffects(messenger, service, time.time, tasks), tasks, time.time
        )
        yield build_app(client, None, deps)
        await tasks.drain(5)
        await messenger.close()


def rendered_action_ids() -> set[str]:
    incident = Incident(
        id=1, title="t", created_by="U1", status_by="U1", created_at=1.0, updated_at=1.0
    )
    blocks: list[dict[str, Any]] = []
    for status in Status:
        blocks += render_incident(incident.model_copy(update={"status": status}), 2.0)
    blocks += render_list(Listing(ListFilter.ALL, Page([incident], 1)), 2.0)
    return {e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_rendered_ids_are_enum_members() -> None:
    assert rendered_action_ids() == {a.value for a in ActionId}


def test_manifest_declares_what_the_bot_uses() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == [SLASH_COMMAND]
    assert manifest["features"]["slash_commands"][0]["should_escape"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "chat:write",
        "chat:write.public",
        "commands",
    ]


async def dispatch(app: AsyncApp, body: bytes) -> int:
    request = AsyncBoltRequest(
        body=body.decode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    return (await app.async_dispatch(request)).status


async def test_every_rendered_button_has_a_listener(app: AsyncApp, store: IncidentStore) -> None:
    await store.create(title="t", severity=Severity.SEV2, actor="U1", now=time.time())
    for action_id in sorted(rendered_action_ids()):
        value = "all:2" if action_id == ActionId.LIST_PAGE else "1"
        payload = block_actions(action_id, value, response_url="http://127.0.0.1:1/response/x")
        assert await dispatch(app, payload_body(payload)) == 200, action_id


async def test_the_modal_and_the_command_have_listeners(app: AsyncApp) -> None:
    view = render_open_modal(Severity.SEV2, "C1")
    values = {
        "title": {"title_input": {"type": "plain_text_input", "value": "From the form"}},
        "severity": {
            "severity_select": {"type": "static_select", "selected_option": {"value": "sev2"}}
        },
        "description": {"description_input": {"type": "plain_text_input", "value": None}},
    }
    submission = view_submission(view["callback_id"], values, private_metadata="C1")
    assert await dispatch(app, payload_body(submission)) == 200
    command = slash_command("help", response_url="http://127.0.0.1:1/response/y")
    assert await dispatch(app, form_body(command)) == 200
