"""Quiet hours: a local window that may cross midnight, when it ends, and what the setting accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.hours import parse_quiet_hours
from core.settings import Settings

QUIET = parse_quiet_hours("22:00-08:00", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("utc", "quiet", "ends"),
    [
        (datetime(2026, 12, 1, 13, 59, tzinfo=UTC), False, None),  # 21:59 local
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), True, datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 22:00
        (datetime(2026, 12, 1, 18, 30, tzinfo=UTC), True, datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 02:30
        (datetime(2026, 12, 1, 23, 59, tzinfo=UTC), True, datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 07:59
        (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), False, None),  # 08:00
    ],
)
def test_a_window_across_midnight(utc: datetime, quiet: bool, ends: datetime | None) -> None:
    """22:00-08:00 China time: quiet from 22:00 to 07:59, and it ends at 08:00 the next morning."""
    assert QUIET.is_quiet(utc) is quiet
    assert QUIET.ends_after(utc) == (ends or utc)


def test_a_window_within_a_day_and_off() -> None:
    """13:00-14:00 is a plain window; 'off' never is quiet."""
    lunch = parse_quiet_hours("13:00-14:00")
    assert lunch.is_quiet(datetime(2026, 12, 1, 5, 30, tzinfo=UTC))
    assert not lunch.is_quiet(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert not parse_quiet_hours("off").is_quiet(datetime(2026, 12, 1, 18, 0, tzinfo=UTC))


@pytest.mark.parametrize("value", ["22-08", "25:00-08:00", "22:00-08:61", "night"])
def test_the_setting_refuses_nonsense(value: str) -> None:
    """PARCELDESK_QUIET_HOURS is checked at start with a clear message."""
    with pytest.raises(ValidationError, match="quiet hours"):
        Settings(quiet_hours=value)  # type: ignore[call-arg]


def test_a_short_ingest_token_is_refused() -> None:
    """A guessable bearer token is refused at start; an empty one means "no API"."""
    with pytest.raises(ValidationError, match="16 characters"):
        Settings(ingest_token="short")  # type: ignore[call-arg]
    assert Settings(ingest_token="").ingest_token is None  # type: ignore[call-arg]
