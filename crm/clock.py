"""Time in one place: timezone-aware UTC everywhere, the company's local time for display."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

COMPANY_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Treat naive datetimes (SQLite returns them) as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local(moment: datetime) -> datetime:
    """A stored moment in the company's local time (what customers expect to read)."""
    return as_utc(moment).astimezone(COMPANY_TZ)
