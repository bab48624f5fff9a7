"""The /incident grammar: every documented form, every bad input, and never an exception."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import (
    AddNote,
    Assign,
    Help,
    List,
    ListFilter,
    Open,
    SetSeverity,
    Show,
    Transition,
    UsageError,
    parse,
)
from bot.domain.incident import TITLE_MAX, Severity, Status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("open sev1 Checkout API returns 502", Open(Severity.SEV1, "Checkout API returns 502")),
        ("open SEV2 db slow", Open(Severity.SEV2, "db slow")),
        ("open Checkout is down", Open(Severity.SEV3, "Checkout is down")),
        ("open", Open(Severity.SEV3, None)),
        ("open sev1", Open(Severity.SEV1, None)),
        ("open sev1   ", Open(Severity.SEV1, None)),
        ("open <!channel> ping", Open(Severity.SEV3, "<!channel> ping")),
        ("open  a\tb\nc ", Open(Severity.SEV3, "a b c")),
        ("list", List(ListFilter.ACTIVE)),
        ("list all", List(ListFilter.ALL)),
        ("list in_progress", List(ListFilter.IN_PROGRESS)),
        ("list in-progress", List(ListFilter.IN_PROGRESS)),
        ("list RESOLVED", List(ListFilter.RESOLVED)),
        ("show INC-42", Show(42)),
        ("show inc-42", Show(42)),
        ("show #42", Show(42)),
        ("show 42", Show(42)),
        ("ack 7", Transition(7, Status.IN_PROGRESS, "ack")),
        ("start INC-7", Transition(7, Status.IN_PROGRESS, "start")),
        ("resolve 7", Transition(7, Status.RESOLVED, "resolve")),
        (
            "resolve 7 rolled back v2.3",
            Transition(7, Status.RESOLVED, "resolve", "rolled back v2.3"),
        ),
        ("resolve 7\nmulti\nline", Transition(7, Status.RESOLVED, "resolve", "multi\nline")),
        ("reopen 7", Transition(7, Status.OPEN, "reopen")),
        ("update 7 status resolved", Transition(7, Status.RESOLVED, "update")),
        ("update 7 status in-progress", Transition(7, Status.IN_PROGRESS, "update")),
        ("assign 7 <@U0BOB|bob>", Assign(7, "U0BOB")),
        ("assign 7 <@U0BOB>", Assign(7, "U0BOB")),
        ("assign 7 me", Assign(7, None)),
        ("sev 7 sev1", SetSeverity(7, Severity.SEV1)),
        ("note 7 restarted the pods", AddNote(7, "restarted the pods")),
    ],
)
def test_documented_forms(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("frobnicate 7", "don't know the command"),
        ("show", "needs an incident id"),
        ("show abc", "not an incident id"),
        ("show INC-0", "not an incident id"),
        ("show INC--3", "not an incident id"),
        ("show 12345678901", "not an incident id"),
        ("show 7 extra", "takes only an id"),
        ("ack 7 now", "takes only an id"),
        ("list soon", "not a list filter"),
        ("update 7 status closed", "not a status"),
        ("update 7 priority high", "update INC-7 status"),
        ("update 7", "update INC-7 status"),
        ("assign 7 bob", "Mention the person"),
        ("assign 7", "Mention the person"),
        ("sev 7 sev5", "sev1|sev2"),
        ("note 7", "Write the note"),
        ("note 7 " + "x" * 1001, "limit is 1000"),
        ("resolve 7 " + "x" * 1001, "limit is 1000"),
        ("open sev1 " + "x" * 5000, f"limit is {TITLE_MAX}"),
    ],
)
def test_bad_input_says_what_was_wrong(text: str, fragment: str) -> None:
    result = parse(text)
    assert isinstance(result, UsageError)
    assert fragment in result.message


def test_title_exactly_at_the_limit_is_accepted() -> None:
    assert parse("open " + "x" * TITLE_MAX) == Open(Severity.SEV3, "x" * TITLE_MAX)


def test_control_characters_are_stripped_from_titles() -> None:
    assert parse("open sev2 db\x00 down\x1b[31m") == Open(Severity.SEV2, "db down[31m")


@given(st.text(max_size=300))
def test_any_text_gives_a_command_or_a_usage_error(text: str) -> None:
    result = parse(text)
    assert result.name  # every result names itself for the metrics label
    if isinstance(result, UsageError):
        assert result.message and len(result.message) < 400


@given(st.sampled_from(["show", "ack", "resolve", "note"]), st.text(max_size=50))
def test_any_id_word_is_handled(verb: str, word: str) -> None:
    parse(f"{verb} {word} tail")
