"""Staffed hours: parsing, on/off duty and the next opening (what an after-hours customer is told)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.hours import parse_hours
from core.settings import Settings


def test_day_shift_and_next_opening() -> None:
    """08:00-22:00 Shanghai: open at noon, closed at 23:00 and at 07:00, reopening at 08:00 local."""
    hours = parse_hours("08:00-22:00", "Asia/Shanghai")
    assert hours.is_open(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))  # 12:00 local
    assert not hours.is_open(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 23:00 local
    assert hours.next_opening(datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    early = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 local on the 23rd
    assert hours.next_opening(early) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_always_staffed() -> None:
    """00:00-24:00 is open at any moment."""
    hours = parse_hours("00:00-24:00")
    assert hours.always and hours.is_open(datetime(2026, 11, 23, 19, 59, tzinfo=UTC))


@pytest.mark.parametrize("value", ["8-22", "22:00-08:00", "08:00-25:00", "08:61-10:00", ""])
def test_bad_hours_are_refused_at_start(value: str) -> None:
    """A malformed or inverted window is a clear settings error, not a silent always-closed desk."""
    with pytest.raises(ValueError):
        parse_hours(value)
    with pytest.raises(ValidationError, match="staffed"):
        Settings(staffed_hours=value)
