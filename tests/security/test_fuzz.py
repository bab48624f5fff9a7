"""Fuzz the real HTTP handler with generated slash commands and clicks: never a 5xx, never an
unhandled exception, and the counts still agree with the incidents. FUZZ_EXAMPLES=10000 for the
long on-demand run; CI runs a few hundred."""

from __future__ import annotations

import os

from harness import BotProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_requests import SlackDriver, form_body, signed_headers

from bot.slack.ids import ActionId
from bot.store.consistency import check
from bot.store.redis_store import IncidentStore

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
VERBS = [
    "open",
    "list",
    "show",
    "ack",
    "start",
    "resolve",
    "reopen",
    "update",
    "assign",
    "sev",
    "note",
]
WORDS = [
    "sev1",
    "sev4",
    "INC-1",
    "#2",
    "3",
    "status",
    "resolved",
    "me",
    "<@U0BOB|bob>",
    "<!channel>",
]

texts = st.one_of(
    st.text(max_size=300),
    st.builds(
        " ".join,
        st.lists(st.one_of(st.sampled_from(VERBS + WORDS), st.text(max_size=20)), max_size=6),
    ),
)
clicks = st.tuples(
    st.one_of(st.sampled_from([a.value for a in ActionId]), st.text(max_size=30)),
    st.one_of(st.integers(-5, 50).map(str), st.text(max_size=40), st.just("all:5")),
)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: ("payload=" + t).encode()),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(form_body),
)
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@fuzz
@given(text=texts)
async def test_fuzzed_slash_commands(bot: BotProcess, driver: SlackDriver, text: str) -> None:
    reply = await driver.command(text)
    assert reply.status == 200, (text, reply.body_text)
    assert "Traceback" not in reply.body_text + bot.log_text()


@fuzz
@given(click=clicks)
async def test_fuzzed_clicks(bot: BotProcess, driver: SlackDriver, click: tuple[str, str]) -> None:
    action_id, value = click
    reply = await driver.click(action_id, value)
    assert reply.status in (200, 404), (click, reply.body_text)  # 404: an id no listener has
    assert "Traceback" not in bot.log_text()


@fuzz
@given(body=raw_bodies)
async def test_fuzzed_signed_bodies(bot: BotProcess, driver: SlackDriver, body: bytes) -> None:
    reply = await driver.post_raw(body, signed_headers(driver.signing_secret, body))
    assert reply.status < 500, (body, reply.body_text)
    assert "Traceback" not in bot.log_text()


async def test_after_the_fuzzing_the_store_is_consistent(
    bot: BotProcess, driver: SlackDriver, store: IncidentStore
) -> None:
    # One more mixed run on this test's prefix, then the operator's check.
    for text in ("open sev1 a", "ack 1", "open sev2 b", "resolve 2", "sev 1 sev3", "reopen 2"):
        assert (await driver.command(text)).status == 200
    report = await check(store)
    assert report.ok and report.incidents == 2, report.problems
    assert "Traceback" not in bot.log_text()
