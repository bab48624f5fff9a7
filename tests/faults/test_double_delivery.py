"""Slack retries and double clicks: the same delivery twice never makes two incidents or entries."""

from __future__ import annotations

import asyncio

from harness import BotProcess
from slack_requests import SlackDriver
from slack_standin import SlackStandin


async def test_same_slash_command_delivered_twice_opens_one_incident(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    first, second = await asyncio.gather(
        driver.command("open sev1 Retried by Slack", trigger_id="111.222.retry"),
        driver.command("open sev1 Retried by Slack", trigger_id="111.222.retry"),
    )
    assert "INC-1" in first.body_text and "INC-1" in second.body_text
    assert await bot.metric("incident_open_total") == 1
    await standin.wait_for_call("chat.postMessage")
    await asyncio.sleep(0.3)
    assert len(standin.calls_to("chat.postMessage")) == 1  # announced once


async def test_double_click_makes_one_change_and_one_timeline_entry(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    await driver.command("open sev2 Double click")
    (post,) = await standin.wait_for_call("chat.postMessage")
    ts = post.reply["ts"]
    clicks = await asyncio.gather(
        *(
            driver.click("incident_resolve", "1", message_ts=ts, user_id=f"U0USER{i}")
            for i in range(5)
        )
    )
    assert all(c.status == 200 for c in clicks)
    shown = (await driver.command("show 1")).body_text
    assert shown.count("set the status to Resolved") == 1
    assert await bot.metric("incident_resolved_total") == 1
    # The four who lost the race are told who won.
    await asyncio.sleep(0.5)  # the losers' answers go out after the acks
    losers = [r for c in clicks for r in standin.responses_to(c.response_key or "")]
    assert len(losers) == 4 and all(
        "already resolved (by <@U0USER" in r.body["text"] for r in losers
    )
