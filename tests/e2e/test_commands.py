"""Every /incident command through the real process, and every bad input getting a clear answer."""

from __future__ import annotations

import json
import time

import pytest
from blockkit import message_mrkdwn
from harness import SIGNING_SECRET, BotProcess, bot_and_driver
from slack_requests import SlackDriver, form_body, signed_headers, slash_command
from slack_standin import SlackStandin


async def say(driver: SlackDriver, text: str, **kw: str) -> str:
    """Run a command; return the ephemeral answer (text plus blocks) as one string."""
    reply = await driver.command(text, **kw)
    assert reply.status == 200, reply.body_text
    assert reply.json is not None and reply.json.get("response_type") == "ephemeral", (
        reply.body_text
    )
    return reply.json.get("text", "") + json.dumps(reply.json.get("blocks", []))


async def test_every_command_of_the_grammar(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    assert "INC-1" in await say(driver, "open sev1 Checkout API returns 502")
    assert "INC-2" in await say(driver, "open Search is slow")  # default sev3
    posts = await standin.wait_for_call("chat.postMessage", count=2)
    assert "SEV3" in json.dumps(posts[1].args["blocks"])

    assert "acknowledged *INC-1*" in await say(driver, "ack INC-1")
    assert "started work on *INC-2*" in await say(driver, "start #2")
    assert "already in progress" in await say(driver, "ack inc-1")
    assert "so it can't become open" in await say(driver, "reopen 2")
    assert "resolved *INC-1*" in await say(driver, "resolve 1 rolled back to v2.3")
    assert "reopened *INC-1*" in await say(driver, "reopen INC-1")
    assert "set *INC-1* to Resolved" in await say(driver, "update 1 status resolved")
    assert "assigned *INC-2* to <@U0BOB>" in await say(driver, "assign 2 <@U0BOB|bob>")
    assert "assigned *INC-2* to <@U0ALICE>" in await say(driver, "assign 2 me")
    assert "SEV1 (critical)" in await say(driver, "sev 2 sev1")
    assert "added a note to *INC-2*" in await say(driver, "note 2 pods restarted, watching")

    shown = await say(driver, "show INC-1")
    for fragment in (
        "rolled back to v2.3",
        "opened it as SEV1",
        "set the status to Resolved",
        "Timeline",
    ):
        assert fragment in shown
    active = await say(driver, "list")
    assert "INC-2" in active and "INC-1" not in active
    assert "INC-1" in await say(driver, "list resolved")
    assert "INC-1" in await say(driver, "list all") and "INC-2" in await say(driver, "list all")
    assert "No open incidents" in await say(driver, "list open")
    assert "/incident open" in await say(driver, "help")
    assert "/incident open" in await say(driver, "")

    # Each change refreshed the incident's own message in place and was threaded.
    updates = await standin.wait_for_call("chat.update", count=8)
    assert {u.args["ts"] for u in updates} <= {p.reply["ts"] for p in posts}
    assert await bot.metric('incidentwatch_incidents{severity="sev1",status="in_progress"}') == 1
    assert await bot.metric("incident_resolved_total") == 1
    assert await bot.metric('incidentwatch_handler_duration_seconds_count{command="note"}') == 1


BAD_INPUTS = [
    ("frobnicate 1", "don't know the command"),
    ("show", "needs an incident id"),
    ("show INC-x", "not an incident id"),
    ("show 999", "There is no incident INC-999"),
    ("ack 999", "There is no incident INC-999"),
    ("sev 1 sev9", "sev1|sev2|sev3|sev4"),
    ("update 1 status closed", "not a status"),
    ("list later", "not a list filter"),
    ("reopen 1", "is already open"),
    ("assign 1 bob", "Mention the person"),
    ("note 1", "Write the note"),
    ("open sev1 " + "x" * 5000, "limit is 150"),
]


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    await say(driver, "open sev2 Only incident")
    await standin.wait_for_call("chat.postMessage")
    for text, expected in BAD_INPUTS:
        answer = await say(driver, text)
        assert expected in answer, (text, answer)
        assert "Traceback" not in answer
    assert await bot.metric("incident_open_total") == 1
    assert await bot.metric('incidentwatch_incidents{severity="sev2",status="open"}') == 1
    assert len(standin.calls_to("chat.postMessage")) == 1
    assert "Traceback" not in bot.log_text()


async def test_slack_markup_in_titles_is_stored_verbatim_and_never_pings(
    driver: SlackDriver, standin: SlackStandin
) -> None:
    await say(driver, "open sev1 <!channel> <@U0EVIL> *down* & out")
    (post,) = await standin.wait_for_call("chat.postMessage")
    rendered = post.args["text"] + message_mrkdwn(post.args["blocks"])
    assert "<!channel>" not in rendered and "<@U0EVIL>" not in rendered
    assert "&lt;!channel&gt;" in post.args["text"]
    assert "<!channel> <@U0EVIL> *down* & out" in await say(driver, "show 1")  # plain_text header


async def test_modal_flow(bot: BotProcess, driver: SlackDriver, standin: SlackStandin) -> None:
    reply = await driver.command("open sev2", trigger_id="1337.42.abcd")
    assert reply.status == 200 and reply.body_text == ""
    (opened,) = await standin.wait_for_call("views.open")
    assert opened.args["trigger_id"] == "1337.42.abcd"
    view = opened.args["view"]
    assert view["private_metadata"] == "C0INCIDENT"

    empty = {
        "title": {"title_input": {"type": "plain_text_input", "value": "  "}},
        "severity": {
            "severity_select": {"type": "static_select", "selected_option": {"value": "sev2"}}
        },
    }
    refused = await driver.submit_view(view["callback_id"], empty)
    assert refused.json == {
        "response_action": "errors",
        "errors": {"title": "Give the incident a title."},
    }

    values = {
        "title": {"title_input": {"type": "plain_text_input", "value": "Payments failing"}},
        "severity": {
            "severity_select": {"type": "static_select", "selected_option": {"value": "sev1"}}
        },
        "description": {
            "description_input": {"type": "plain_text_input", "value": "EU only\n<!here>"}
        },
    }
    for _ in range(2):  # a retried or double submission opens one incident
        accepted = await driver.submit_view(
            view["callback_id"], values, private_metadata="C0INCIDENT"
        )
        assert accepted.status == 200 and accepted.body_text == ""
    (post,) = await standin.wait_for_call("chat.postMessage")
    assert post.args["channel"] == "C0INCIDENT"
    assert "Payments failing" in json.dumps(post.args["blocks"])
    assert "<!here>" not in message_mrkdwn(post.args["blocks"])
    assert await bot.metric('incidentwatch_incidents{severity="sev1",status="open"}') == 1


async def test_list_pages_with_a_next_page_button(
    driver: SlackDriver, standin: SlackStandin
) -> None:
    for i in range(12):
        await say(driver, f"open sev4 Incident number {i + 1}")
    reply = await driver.command("list all")
    blocks = reply.json["blocks"]
    assert "INC-12" in json.dumps(blocks) and "INC-3" in json.dumps(blocks)
    assert "INC-2*" not in json.dumps(blocks)
    button = blocks[-1]["elements"][0]
    assert button["action_id"] == "incident_list_page"
    url = standin.response_url()
    await driver.click("incident_list_page", button["value"], response_url=url, is_ephemeral=True)
    (page,) = await standin.wait_for_response(url.rsplit("/", 1)[-1])
    assert page.body["replace_original"] is True
    text = json.dumps(page.body["blocks"])
    assert "INC-2*" in text and "INC-1*" in text and "INC-3*" not in text
    assert "incident_list_page" not in text


async def test_incident_channel_setting(standin: SlackStandin, redis_url: str, prefix: str) -> None:
    async with bot_and_driver(
        standin, redis_url=redis_url, prefix=prefix, INCIDENT_CHANNEL="C0WARROOM"
    ) as (
        _,
        driver,
    ):
        assert "<#C0WARROOM>" in await say(
            driver, "open sev2 Announced elsewhere", channel_id="C0RANDOM"
        )
        (post,) = await standin.wait_for_call("chat.postMessage")
        assert post.args["channel"] == "C0WARROOM"


async def test_announcement_failure_is_reported_to_the_user(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    standin.fail_next("chat.postMessage", error="not_in_channel")
    reply = await driver.command("open sev2 Private channel incident")
    (told,) = await standin.wait_for_response(reply.response_key or "")
    assert "could not post it" in told.body["text"]
    assert await bot.metric('incidentwatch_slack_api_errors_total{method="chat.postMessage"}') == 1
    assert await bot.metric("incident_open_total") == 1  # the incident itself is safe


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": str(int(time.time()) - 6 * 60)},
        {"X-Slack-Signature": ""},
    ],
    ids=["bad-signature", "stale-timestamp", "missing-signature"],
)
async def test_unsigned_requests_are_refused(
    bot: BotProcess, driver: SlackDriver, headers: dict[str, str]
) -> None:
    body = form_body(slash_command("open sev1 Forged", response_url="http://127.0.0.1:1/r"))
    signed = signed_headers(SIGNING_SECRET, body)
    if "X-Slack-Request-Timestamp" in headers:
        signed = signed_headers(
            SIGNING_SECRET, body, timestamp=int(headers["X-Slack-Request-Timestamp"])
        )
    else:
        signed |= headers
    reply = await driver.post_raw(body, signed)
    assert reply.status == 401
    assert await bot.metric("incident_open_total") == 0


async def test_metrics_and_health_on_a_fresh_install(bot: BotProcess) -> None:
    status, text = await bot.get("/metrics")
    assert status == 200
    for name in (
        "request_count_total",
        "incident_open_total",
        "incident_in_progress_total",
        "incident_resolved_total",
    ):
        assert f"\n{name} 0.0" in text
    series = [line for line in text.splitlines() if line.startswith("incidentwatch_incidents{")]
    assert len(series) == 12 and all(line.endswith(" 0.0") for line in series)
    assert 'incidentwatch_handler_duration_seconds_count{command="btn_acknowledge"} 0.0' in text
    assert "incidentwatch_store_up 1.0" in text
    assert await bot.get("/healthz") == (200, "ok\n")
    assert (await bot.get("/readyz"))[0] == 200
    assert (await bot.get("/nope"))[0] == 404
