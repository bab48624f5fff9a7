"""The lifecycle table, ids, and the Incident model's limits and cleaning."""

import pytest
from factories import make_incident
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.incident import (
    TITLE_MAX,
    TRANSITIONS,
    NewIncident,
    Status,
    can_transition,
    format_id,
    parse_id,
    sources_of,
)

LEGAL = {
    (Status.OPEN, Status.IN_PROGRESS),
    (Status.OPEN, Status.RESOLVED),
    (Status.IN_PROGRESS, Status.RESOLVED),
    (Status.RESOLVED, Status.OPEN),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_transition_table(current: Status, target: Status) -> None:
    assert can_transition(current, target) == ((current, target) in LEGAL)


def test_sources_are_the_inverse_of_the_table() -> None:
    for target in Status:
        assert sources_of(target) == {s for s in Status if target in TRANSITIONS[s]}


@given(st.lists(st.sampled_from(list(Status)), max_size=30))
def test_any_walk_of_legal_steps_ends_in_a_status(steps: list[Status]) -> None:
    status = Status.OPEN
    for target in steps:
        if can_transition(status, target):
            status = target
    assert status in Status


@pytest.mark.parametrize("text", ["42", "#42", "INC-42", "inc-42", " INC42 ", "inc-042"])
def test_ids_accepted(text: str) -> None:
    assert parse_id(text) == 42


@pytest.mark.parametrize("text", ["", "0", "INC-", "-42", "4 2", "INC-1.5", "x42", "1234567890"])
def test_ids_refused(text: str) -> None:
    assert parse_id(text) is None


@given(st.integers(min_value=1, max_value=999_999_999))
def test_format_and_parse_round_trip(number: int) -> None:
    assert parse_id(format_id(number)) == number


def test_new_incidents_have_clean_bounded_titles() -> None:
    def new(title: str) -> NewIncident:
        return NewIncident.model_validate(make_incident(title="t").model_dump() | {"title": title})

    assert new(" a\nb\x07 ").title == "a b"
    with pytest.raises(ValidationError):
        new("x" * (TITLE_MAX + 1))
    with pytest.raises(ValidationError):
        new(" \x00 ")


def test_next_statuses_follow_the_table() -> None:
    assert make_incident(status="resolved").next_statuses == {Status.OPEN}
