"""Time in one place: timezone-aware UTC everywhere, the company's local time for display.

Tests move time instead of sleeping: when the environment variable PARCELDESK_CLOCK_FILE names a
file, the number of seconds in it is added to the real time. Every process of a test stack (bot,
action server, the tests themselves) reads the same file, so they all agree on "now", and rewriting
the file jumps all of them forward at once. Production never sets it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

COMPANY_TZ = ZoneInfo("Asia/Shanghai")
CLOCK_FILE_ENV = "PARCELDESK_CLOCK_FILE"


def clock_offset() -> timedelta:
    """The test clock's offset (zero unless PARCELDESK_CLOCK_FILE names a file holding seconds)."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return timedelta(0)
    try:
        raw = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return timedelta(0)
    try:
        return timedelta(seconds=float(raw or 0))
    except ValueError:
        # A half-written file while a test rewrites it: the real time is the safe answer.
        return timedelta(0)


def set_clock_offset(path: Path, seconds: float) -> None:
    """Write a test clock file atomically (readers never see a half-written number)."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"{seconds}\n", encoding="utf-8")
    partial.replace(path)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (shifted by the test clock, if any)."""
    return datetime.now(UTC) + clock_offset()


def as_utc(moment: datetime) -> datetime:
    """Treat naive datetimes (SQLite returns them) as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local(moment: datetime) -> datetime:
    """A stored moment in the company's local time (what customers expect to read)."""
    return as_utc(moment).astimezone(COMPANY_TZ)
