"""Staffed hours: parsing, on/off duty and the next opening (what an after-hours customer is told)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def test_promises_count_staffed_time_only() -> None:
    """deadline(): at night a 4 h promise starts at 08:00 (never "07:38"); near closing it carries to the morning."""
    hours = parse_hours("08:00-22:00", "Asia/Shanghai")
    night = datetime(2026, 11, 22, 19, 38, tzinfo=UTC)  # 03:38 local on the 23rd
    assert hours.deadline(night, timedelta(hours=4)) == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 local
    assert hours.deadline(night, timedelta(0)) == hours.next_opening(night)  # what the queue notice says
    noon = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert hours.deadline(noon, timedelta(minutes=10)) == noon + timedelta(minutes=10)
    late = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 local: one hour today, three tomorrow from 08:00
    assert hours.deadline(late, timedelta(hours=4)) == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 11:00 local
    long = hours.deadline(noon, timedelta(hours=30))  # 10 h today, 14 h tomorrow, 6 h the day after
    assert long == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 local on the 25th


def test_always_staffed_promises_are_plain_clock_time() -> None:
    """With agents always on duty a promise is simply moment + within."""
    hours = parse_hours("00:00-24:00")
    moment = datetime(2026, 11, 23, 19, 38, tzinfo=UTC)
    assert hours.deadline(moment, timedelta(hours=4)) == moment + timedelta(hours=4)
