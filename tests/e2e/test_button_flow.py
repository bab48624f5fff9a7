"""The core flow through the real process: open -> announce -> click -> message updated in place."""

from __future__ import annotations

from harness import BotProcess
from slack_requests import SlackDriver
from slack_standin import SlackStandin


def _button_ids(blocks: list[dict[str, object]]) -> list[str]:
    for block in blocks:
        if block.get("type") == "actions":
            return [str(e["action_id"]) for e in block["elements"]]  # type: ignore[index, union-attr]
    return []


async def test_open_announce_click_resolve(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    reply = await driver.command("open sev1 Checkout API returns 502")
    assert reply.status == 200, reply.body_text
    assert reply.json["response_type"] == "ephemeral"
    assert "INC-1" in reply.json["text"]

    (post,) = await standin.wait_for_call("chat.postMessage")
    assert post.args["channel"] == "C0INCIDENT"
    assert "Checkout API returns 502" in post.args["text"]
    assert _button_ids(post.args["blocks"]) == [
        "incident_acknowledge",
        "incident_resolve",
        "incident_assign_me",
    ]
    ts = post.reply["ts"]

    click = await driver.click("incident_acknowledge", "1", message_ts=ts, user_id="U0BOB")
    assert click.status == 200
    (update,) = await standin.wait_for_call("chat.update")
    assert update.args["ts"] == ts and update.args["channel"] == "C0INCIDENT"
    assert _button_ids(update.args["blocks"]) == ["incident_resolve", "incident_assign_me"]
    thread = (await standin.wait_for_call("chat.postMessage", count=2))[1]
    assert thread.args["thread_ts"] == ts and "<@U0BOB>" in thread.args["text"]

    await driver.click("incident_resolve", "1", message_ts=ts)
    updates = await standin.wait_for_call("chat.update", count=2)
    assert _button_ids(updates[1].args["blocks"]) == ["incident_reopen"]

    assert await bot.metric("incident_resolved_total") == 1
    assert await bot.metric('incidentwatch_incidents{severity="sev1",status="resolved"}') == 1
    assert await bot.metric("request_count_total") == 3
