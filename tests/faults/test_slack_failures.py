"""The Slack Web API failing: the incident change is committed anyway, retries are bounded,
the user is told when the message could not be posted or refreshed, and the error is counted."""

from __future__ import annotations

import time

from harness import BotProcess, bot_and_driver, free_port
from slack_requests import SlackDriver
from slack_standin import SlackStandin


async def _announced_ts(driver: SlackDriver, standin: SlackStandin) -> str:
    await driver.command("open sev2 Slack trouble")
    (post,) = await standin.wait_for_call("chat.postMessage")
    return str(post.reply["ts"])


async def test_a_5xx_is_retried_and_nobody_notices(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    await _announced_ts(driver, standin)
    standin.fail_next("chat.update", status=500)
    await driver.command("ack 1")
    updates = await standin.wait_for_call("chat.update", count=2)
    assert [u.status for u in updates] == [500, 200]
    assert await bot.metric('incidentwatch_slack_api_errors_total{method="chat.update"}') == 0


async def test_rate_limit_is_honoured(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    await _announced_ts(driver, standin)
    standin.fail_next("chat.update", retry_after=1)
    await driver.command("resolve 1")
    first, second = await standin.wait_for_call("chat.update", count=2, timeout=10)
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.9  # waited for Retry-After


async def test_persistent_failure_is_told_and_counted(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    await _announced_ts(driver, standin)
    standin.fail_next("chat.update", status=500, times=10)
    reply = await driver.command("ack 1")
    assert "acknowledged *INC-1*" in reply.body_text  # committed before any Slack call
    (told,) = await standin.wait_for_response(reply.response_key or "", timeout=15)
    assert "could not be refreshed" in told.body["text"]
    assert len(standin.calls_to("chat.update")) == 3  # one try plus two bounded retries
    assert await bot.metric('incidentwatch_slack_api_errors_total{method="chat.update"}') == 1
    assert await bot.metric("incident_in_progress_total") == 1


async def test_slack_unreachable_changes_still_land(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    dead_api = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens: connection refused
    async with bot_and_driver(
        standin, redis_url=redis_url, prefix=prefix, SLACK_API_URL=dead_api
    ) as (
        bot,
        driver,
    ):
        started = time.monotonic()
        reply = await driver.command("open sev1 Nobody can post this")
        assert "INC-1" in reply.body_text and time.monotonic() - started < 1.0
        (told,) = await standin.wait_for_response(reply.response_key or "", timeout=15)
        assert "could not post it" in told.body["text"]
        assert (
            await bot.metric('incidentwatch_slack_api_errors_total{method="chat.postMessage"}') == 1
        )
        assert "acknowledged *INC-1*" in (await driver.command("ack 1")).body_text
        assert await bot.metric("incident_in_progress_total") == 1
