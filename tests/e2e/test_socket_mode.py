"""Socket Mode end to end: the real process connects to the stand-in's WebSocket and acks envelopes.

The stand-in answers apps.connections.open (with the xapp- token) with a ws:// URL on itself,
says hello, and sends slash_commands / interactive envelopes shaped like Slack's. The bot must
ack each envelope_id over the socket and do the same work as in HTTP mode.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import APP_TOKEN, SOCKET_MODE, BotProcess, run_bot
from slack_requests import block_actions, slash_command
from slack_standin import SlackStandin

# Socket Mode gets slower to (re)connect on a loaded machine: generous, but bounded.
SOCKET_TIMEOUT = 20.0
WAIT = 10.0


@pytest.fixture
async def socket_bot(
    standin: SlackStandin, redis_url: str, prefix: str
) -> AsyncIterator[BotProcess]:
    async with run_bot(
        standin,
        redis_url=redis_url,
        prefix=prefix,
        **SOCKET_MODE,
    ) as bot:
        await standin.wait_for_socket(timeout=SOCKET_TIMEOUT)
        yield bot


def _button_ids(blocks: list[dict[str, object]]) -> list[str]:
    for block in blocks:
        if block.get("type") == "actions":
            return [str(e["action_id"]) for e in block["elements"]]  # type: ignore[index, union-attr]
    return []


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (Linux /proc: its socket inodes in LISTEN)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_command_and_click_over_the_socket(
    socket_bot: BotProcess, standin: SlackStandin
) -> None:
    bot = socket_bot
    # The app token goes to apps.connections.open only (a start-up check may call it too).
    connects = standin.calls_to("apps.connections.open")
    assert connects and all(c.reply["ok"] for c in connects)
    assert {c.headers["authorization"] for c in connects} == {f"Bearer {APP_TOKEN}"}
    others = [c for c in standin.calls if c.method != "apps.connections.open"]
    assert all(APP_TOKEN not in c.headers.get("authorization", "") for c in others)
    # Socket Mode serves no HTTP endpoint for Slack: the only port is the side server's.
    assert listening_ports(bot.proc.pid) == {bot.metrics_port}

    response_url = standin.response_url()
    envelope_id = await standin.send_envelope(
        "slash_commands", slash_command("open sev2 Socket test", response_url=response_url)
    )
    ack = await standin.wait_for_ack(envelope_id, timeout=WAIT)
    assert ack["envelope_id"] == envelope_id
    payload = ack["payload"]
    assert payload["response_type"] == "ephemeral"
    assert "INC-1" in payload["text"] and "SEV2" in payload["text"]

    (post,) = await standin.wait_for_call("chat.postMessage", timeout=WAIT)
    assert post.reply["ok"] is True
    assert post.args["channel"] == "C0INCIDENT"
    assert "Socket test" in post.args["text"]
    assert _button_ids(post.args["blocks"]) == [
        "incident_acknowledge",
        "incident_resolve",
        "incident_assign_me",
    ]
    ts = post.reply["ts"]

    click = block_actions(
        "incident_acknowledge",
        "1",
        message_ts=ts,
        user_id="U0BOB",
        user_name="bob",
        response_url=standin.response_url(),
    )
    click_id = await standin.send_envelope("interactive", click)
    click_ack = await standin.wait_for_ack(click_id, timeout=WAIT)
    # A button ack carries no body (Slack ignores one for block_actions anyway).
    assert not click_ack.get("payload")

    (update,) = await standin.wait_for_call("chat.update", timeout=WAIT)
    assert update.args["channel"] == "C0INCIDENT" and update.args["ts"] == ts
    assert _button_ids(update.args["blocks"]) == ["incident_resolve", "incident_assign_me"]
    thread = (await standin.wait_for_call("chat.postMessage", count=2, timeout=WAIT))[1]
    assert thread.args["thread_ts"] == ts and "<@U0BOB>" in thread.args["text"]

    assert await bot.metric("request_count_total") == 2
    assert await bot.metric("incident_open_total") == 0
    assert await bot.metric("incident_in_progress_total") == 1
    assert await bot.metric('incidentwatch_incidents{severity="sev2",status="in_progress"}') == 1
    # Nothing went to response_url: the command was answered in the ack, the click by chat.update.
    assert standin.responses == []

    assert await bot.stop() == 0
    assert "Traceback" not in bot.log_text()


async def test_reconnects_after_disconnect_and_keeps_working(
    socket_bot: BotProcess, standin: SlackStandin
) -> None:
    """Slack sends {"type": "disconnect"} every few hours; the bot must come back on its own."""
    first = await standin.send_envelope(
        "slash_commands", slash_command("open First", response_url=standin.response_url())
    )
    assert "INC-1" in (await standin.wait_for_ack(first, timeout=WAIT))["payload"]["text"]

    await standin.send_disconnect()
    await standin.wait_for_socket(timeout=SOCKET_TIMEOUT, connections=2)
    assert len(standin.calls_to("apps.connections.open")) >= 2

    second = await standin.send_envelope(
        "slash_commands", slash_command("open sev1 Second", response_url=standin.response_url())
    )
    assert "INC-2" in (await standin.wait_for_ack(second, timeout=WAIT))["payload"]["text"]
    await standin.wait_for_call("chat.postMessage", count=2, timeout=WAIT)
    assert await socket_bot.metric("incident_open_total") == 2
    assert await socket_bot.stop() == 0


async def test_sigterm_while_slack_cannot_be_reached(
    standin: SlackStandin, redis_url: str, prefix: str
) -> None:
    """A Slack outage (or no network) at start-up must not make the bot unkillable."""
    standin.fail_next("apps.connections.open", status=503, times=1000)
    async with run_bot(
        standin,
        redis_url=redis_url,
        prefix=prefix,
        **SOCKET_MODE,
    ) as bot:
        # The first call may be a start-up token check; the second is the connect loop's.
        await standin.wait_for_call("apps.connections.open", count=2, timeout=WAIT)
        # A clean stop with nothing in flight takes well under a second; bot.stop() SIGKILLs
        # (exit code -9) when its timeout runs out.
        assert await bot.stop(timeout=15.0) == 0, bot.log_text()[-2000:]
