"""Test data: a valid Incident with sensible defaults, any field overridable."""

from __future__ import annotations

from typing import Any

from bot.domain.incident import Incident

NOW = 1_700_000_000.0


def make_incident(**fields: Any) -> Incident:
    """INC-42, opened five minutes before NOW by U0ALICE, unless `fields` say otherwise."""
    base: dict[str, Any] = {
        "id": 42,
        "title": "Checkout API returns 502",
        "created_by": "U0ALICE",
        "status_by": "U0ALICE",
        "created_at": NOW - 300,
        "updated_at": NOW - 300,
    }
    return Incident.model_validate(base | fields)
