"""kill -9 of the bot and of its Redis mid-burst: every incident confirmed to a user survives."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

from harness import SIGNING_SECRET, embedded_server_pids, run_bot
from slack_requests import SlackDriver
from slack_standin import SlackStandin


async def test_confirmed_incidents_survive_kill_9(standin: SlackStandin, tmp_path: Path) -> None:
    data = tmp_path / "data"
    confirmed: list[int] = []
    async with (
        run_bot(standin, redis_url=None, prefix="{iwtest-durable}:", DATA_DIR=str(data)) as bot,
        SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver,
    ):

        async def open_one(i: int) -> None:
            try:
                reply = await driver.command(f"open sev2 Burst {i}")
            except Exception:  # the bot died under us: this one was never confirmed
                return
            if match := re.search(r"INC-(\d+)", reply.body_text):
                confirmed.append(int(match.group(1)))

        burst = [asyncio.create_task(open_one(i)) for i in range(200)]
        while len(confirmed) < 50:  # noqa: ASYNC110 — the replies are the event we wait for
            await asyncio.sleep(0.005)
        redis_pids = embedded_server_pids(data)
        assert redis_pids, "the embedded server should be running"
        bot.proc.kill()  # kill -9 the bot mid-burst
        for pid in redis_pids:
            os.kill(pid, signal.SIGKILL)  # and its Redis
        await asyncio.gather(*burst)
        await bot.proc.wait()
    assert len(confirmed) >= 50

    async with (
        run_bot(standin, redis_url=None, prefix="{iwtest-durable}:", DATA_DIR=str(data)) as bot,
        SlackDriver(bot.events_url, SIGNING_SECRET, standin) as driver,
    ):
        total = await bot.metric("incident_open_total")
        assert total is not None and total >= len(confirmed)
        for number in confirmed:
            assert f"INC-{number}" in (await driver.command(f"show {number}")).body_text
