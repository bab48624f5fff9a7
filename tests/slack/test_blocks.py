"""Renderers tested as data: Block Kit shapes and limits, escaping, the buttons per status."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from blockkit import check_blocks, mrkdwn_texts
from factories import NOW, make_incident
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import ListFilter
from bot.domain.incident import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    EventKind,
    Severity,
    Status,
    TimelineEvent,
)
from bot.service.incidents import Details, Listing, Opened, Refusal, Refused, Unchanged, Updated
from bot.slack.blocks import (
    describe,
    escape,
    render_details,
    render_help,
    render_incident,
    render_list,
    render_open_modal,
)
from bot.slack.ids import ActionId, CallbackId
from bot.store.redis_store import Page

PINGS = re.compile(r"<!(channel|here|everyone|subteam)")


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.OPEN, ["incident_acknowledge", "incident_resolve", "incident_assign_me"]),
        (Status.IN_PROGRESS, ["incident_resolve", "incident_assign_me"]),
        (Status.RESOLVED, ["incident_reopen"]),
    ],
)
def test_buttons_offer_only_legal_next_steps(status: Status, expected: list[str]) -> None:
    incident = make_incident(status=status, resolved_at=NOW if status is Status.RESOLVED else None)
    blocks = render_incident(incident, NOW)
    check_blocks(blocks)
    assert buttons(blocks) == expected
    assert all(e["value"] == "42" for b in blocks if b["type"] == "actions" for e in b["elements"])


def test_incident_message_shows_what_on_call_needs() -> None:
    text = json.dumps(render_incident(make_incident(assignee="U0BOB", severity="sev1"), NOW))
    for fragment in (
        "INC-42",
        "Checkout API returns 502",
        "SEV1",
        "Open",
        "<@U0ALICE>",
        "<@U0BOB>",
        "5m",
    ):
        assert fragment in text


def test_markup_in_user_text_never_pings() -> None:
    hostile = "<!channel> <!here> <!subteam^S1|ops> <@U0EVIL> *bold* & <https://x|y>"
    incident = make_incident(title=hostile[:TITLE_MAX], description=hostile)
    event = TimelineEvent(at=NOW, actor="U0BOB", kind=EventKind.NOTE, note=hostile)
    rendered = [
        render_incident(incident, NOW),
        render_list(Listing(ListFilter.ALL, Page([incident], None)), NOW),
        render_details(Details(incident, [event], 1), NOW),
        render_help(hostile),
    ]
    for blocks in rendered:
        check_blocks(blocks)
        for block in blocks:
            for text in mrkdwn_texts(block):
                assert not PINGS.search(text), text
                assert "<@U0EVIL>" not in text


def test_escape() -> None:
    assert escape("a & <b> <!channel>") == "a &amp; &lt;b&gt; &lt;!channel&gt;"


def test_longest_title_is_truncated_in_header_and_shown_whole() -> None:
    incident = make_incident(id=999_999_999, title="x" * TITLE_MAX)
    blocks = render_incident(incident, NOW)
    check_blocks(blocks)
    assert blocks[0]["text"]["text"].endswith("…")
    assert blocks[1]["text"]["text"] == "x" * TITLE_MAX


def test_list_has_next_page_button_only_when_more() -> None:
    page = [make_incident(id=i) for i in range(10, 0, -1)]
    more = render_list(Listing(ListFilter.ACTIVE, Page(page, 1)), NOW)
    check_blocks(more)
    assert buttons(more) == [ActionId.LIST_PAGE.value]
    assert more[-1]["elements"][0]["value"] == "active:1"
    last = render_list(Listing(ListFilter.ACTIVE, Page(page, None)), NOW)
    assert buttons(last) == []
    empty = render_list(Listing(ListFilter.RESOLVED, Page([], None)), NOW)
    assert "No resolved incidents" in empty[0]["text"]["text"]


def test_details_fit_block_kit_with_a_huge_timeline() -> None:
    events = [
        TimelineEvent(at=NOW + i, actor="U0BOB", kind=EventKind.NOTE, note="n" * NOTE_MAX)
        for i in range(50)
    ]
    incident = make_incident(description="d" * DESCRIPTION_MAX)
    blocks = render_details(Details(incident, events, 500), NOW)
    check_blocks(blocks)
    assert "last 50 of 500" in json.dumps(blocks)


@settings(max_examples=200)
@given(
    title=st.text(min_size=1, max_size=TITLE_MAX).filter(lambda t: t.strip()),
    note=st.text(max_size=NOTE_MAX),
    status=st.sampled_from(list(Status)),
    severity=st.sampled_from(list(Severity)),
)
def test_any_incident_renders_within_limits(
    title: str, note: str, status: Status, severity: Severity
) -> None:
    try:
        incident = make_incident(title=title, status=status, severity=severity, description=note)
    except ValueError:
        return  # only control characters: the model refuses it, nothing to render
    event = TimelineEvent(at=NOW, actor="U0BOB", kind=EventKind.NOTE, note=note)
    check_blocks(render_incident(incident, NOW))
    check_blocks(render_details(Details(incident, [event] * 60, 60), NOW))
    check_blocks(render_list(Listing(ListFilter.ALL, Page([incident] * 10, 3)), NOW))


def test_modal_shape() -> None:
    view = render_open_modal(Severity.SEV2, "C0INCIDENT")
    assert view["callback_id"] == CallbackId.OPEN_INCIDENT.value
    assert view["private_metadata"] == "C0INCIDENT"
    assert len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"]] == ["title", "severity", "description"]
    assert view["blocks"][0]["element"]["max_length"] == TITLE_MAX
    assert view["blocks"][1]["element"]["initial_option"]["value"] == "sev2"


def test_feedback_texts() -> None:
    resolved = make_incident(status="resolved", status_by="U0BOB", resolved_at=NOW)
    assert "already resolved (by <@U0BOB>)" in describe(Unchanged(resolved, "resolve"))
    assert "There is no incident INC-7" in describe(Refused(7, Refusal.MISSING))
    illegal = describe(Refused(42, Refusal.ILLEGAL, make_incident(), Status.OPEN))
    assert "INC-42" in illegal and "open" in illegal
    assert "Opened *INC-42*" in describe(Opened(make_incident(), True), "C1")
    assert "acknowledged *INC-42*" in describe(
        Updated(make_incident(status="in_progress"), "ack", "open")
    )
