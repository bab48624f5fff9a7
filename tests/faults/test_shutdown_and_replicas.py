"""SIGTERM lets in-flight work finish and exits 0; two replicas on one Redis agree on everything."""

from __future__ import annotations

import asyncio
import re
import time

from harness import SIGNING_SECRET, BotProcess, run_bot
from slack_requests import SlackDriver
from slack_standin import SlackStandin


async def test_sigterm_finishes_in_flight_slack_calls_then_exits_0(
    bot: BotProcess, driver: SlackDriver, standin: SlackStandin
) -> None:
    standin.slow_down("chat.postMessage", 1.5)
    reply = await driver.command("open sev1 Shutdown in the middle")
    assert reply.status == 200 and reply.elapsed < 1.0  # the ack never waits for Slack
    started = time.monotonic()
    assert await bot.stop() == 0
    assert 1.0 < time.monotonic() - started < 12.0
    assert len(standin.calls_to("chat.postMessage")) == 1  # the announcement still went out
    log = bot.log_text()
    assert "shutting down" in log and "stopped" in log and "cancelled" not in log


async def test_two_replicas_on_one_redis(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    async with (
        run_bot(standin, redis_url=redis_url, prefix=prefix) as first,
        run_bot(standin, redis_url=redis_url, prefix=prefix) as second,
        SlackDriver(first.events_url, SIGNING_SECRET, standin) as one,
        SlackDriver(second.events_url, SIGNING_SECRET, standin) as two,
    ):
        replies = await asyncio.gather(
            *(d.command(f"open sev2 Replica load {i}") for i in range(20) for d in (one, two))
        )
        ids = [int(m.group(1)) for r in replies if (m := re.search(r"INC-(\d+)", r.body_text))]
        assert sorted(ids) == list(range(1, 41))
        for name in (
            "incident_open_total",
            'incidentwatch_incidents{severity="sev2",status="open"}',
        ):
            assert await first.metric(name) == await second.metric(name) == 40

        # Both compete for one incident: exactly one change wins.
        acks = await asyncio.gather(one.command("ack 7"), two.command("ack 7"))
        assert sum("acknowledged *INC-7*" in a.body_text for a in acks) == 1

        assert await first.stop() == 0
        assert "INC-40" in (await two.command("list all")).body_text
        assert "resolved *INC-7*" in (await two.command("resolve 7")).body_text
        assert await second.metric("incident_resolved_total") == 1
