"""Optional access control through the real process: channels the bot answers in, and who may
resolve or reopen sev1 incidents (refusals answered and recorded)."""

from __future__ import annotations

from harness import bot_and_driver
from slack_standin import SlackStandin


async def test_allowed_channels_and_sev1_responders(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    async with bot_and_driver(
        standin,
        redis_url=redis_url,
        prefix=prefix,
        ALLOWED_CHANNELS="C0INCIDENT, C0OPS",
        SEV1_RESPONDERS="U0LEAD",
    ) as (bot, driver):
        elsewhere = await driver.command("open sev1 From a random channel", channel_id="C0RANDOM")
        assert "not enabled in this channel" in elsewhere.body_text
        assert await bot.metric("incident_open_total") == 0

        assert "INC-1" in (await driver.command("open sev1 Checkout down")).body_text
        assert (
            "INC-2" in (await driver.command("open sev2 Search slow", channel_id="C0OPS")).body_text
        )
        refused = await driver.command("resolve 1 fixed it", user_id="U0ALICE")
        assert "Only the sev1 responders may resolve or reopen *INC-1*" in refused.body_text
        assert (
            "resolved *INC-2*" in (await driver.command("resolve 2", user_id="U0ALICE")).body_text
        )
        assert (
            "acknowledged *INC-1*" in (await driver.command("ack 1", user_id="U0ALICE")).body_text
        )

        post = (await standin.wait_for_call("chat.postMessage", count=2))[0]
        click = await driver.click(
            "incident_resolve", "1", message_ts=post.reply["ts"], user_id="U0EVE"
        )
        (told,) = await standin.wait_for_response(click.response_key or "")
        assert "Only the sev1 responders" in told.body["text"]

        shown = (await driver.command("show 1")).body_text
        assert shown.count("(not allowed)") == 2 and "<@U0EVE>" in shown
        assert "resolved *INC-1*" in (await driver.command("resolve 1", user_id="U0LEAD")).body_text
        assert await bot.metric("incident_resolved_total") == 2
