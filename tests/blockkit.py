"""Block Kit checks shared by the tests: Slack's limits, and the mrkdwn texts a message carries."""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import MAX_BLOCKS
from bot.slack.ids import ActionId


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    """The Block Kit limits Slack enforces (it rejects the whole message otherwise)."""
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "actions", "divider", "input"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        if kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255
                assert element["action_id"] in {a.value for a in ActionId}
        if "block_id" in block:
            assert len(block["block_id"]) <= 255


def mrkdwn_texts(block: dict[str, Any]) -> list[str]:
    texts = [block["text"]] if isinstance(block.get("text"), dict) else []
    texts += block.get("fields", []) + block.get("elements", [])
    return [t["text"] for t in texts if isinstance(t, dict) and t.get("type") == "mrkdwn"]


def message_mrkdwn(blocks: list[dict[str, Any]]) -> str:
    """Everything in a message that Slack parses as mrkdwn (where mentions would ping)."""
    return "\n".join(text for block in blocks for text in mrkdwn_texts(block))
