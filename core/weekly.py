"""A weekly moment in company time ("mon 09:00"): when scheduled reports go out (parsed once, at start)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)[a-z]*\s+(\d{1,2}):(\d{2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class WeeklySchedule:
    """A weekday and a local time."""

    weekday: int  # 0 = Monday
    at: time


def parse_weekly(raw: str) -> WeeklySchedule:
    """'mon 09:00', 'Monday 9:30' -> a schedule; ValueError for anything else."""
    match = _WEEKLY.match(raw)
    if match is None:
        raise ValueError(f"expected a weekday and a time like 'mon 09:00', got {raw!r}")
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"no such time of day: {raw!r}")
    return WeeklySchedule(WEEKDAYS.index(match.group(1).lower()[:3]), time(hour, minute))
