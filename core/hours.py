"""Staffed hours: when agents are on duty, and when the next shift starts (for the after-hours message)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.clock import as_utc

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class StaffedHours:
    """A daily window of local time in which agents answer (start inclusive, end exclusive)."""

    start: timedelta
    end: timedelta
    timezone: ZoneInfo

    @property
    def always(self) -> bool:
        """True for a window covering the whole day."""
        return self.start == timedelta(0) and self.end >= timedelta(hours=24)

    def is_open(self, moment: datetime) -> bool:
        """Whether agents are on duty at this moment."""
        if self.always:
            return True
        local = as_utc(moment).astimezone(self.timezone)
        since_midnight = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
        return self.start <= since_midnight < self.end

    def next_opening(self, moment: datetime) -> datetime:
        """The moment itself when staffed, else the start of the next shift (timezone-aware, UTC)."""
        if self.is_open(moment):
            return as_utc(moment)
        local = as_utc(moment).astimezone(self.timezone)
        midnight = datetime.combine(local.date(), time(0), tzinfo=self.timezone)
        opening = midnight + self.start
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=self.timezone) + self.start
        return as_utc(opening)

    def deadline(self, moment: datetime, within: timedelta) -> datetime:
        """When something promised `within` of `moment` is due, counting staffed time only.

        The one calendar behind every "a person will contact you by …" and every queue notice: at night a four-hour
        promise starts when staff are back (08:00 + 4 h), never "07:38" while the next message says "after 08:00";
        `within` of zero is the next opening itself.
        """
        start = self.next_opening(moment)
        if self.always:
            return start + within
        left = within
        while True:
            local = start.astimezone(self.timezone)
            midnight = datetime.combine(local.date(), time(0), tzinfo=self.timezone)
            shift_end = as_utc(midnight + min(self.end, timedelta(hours=24)))
            if start + left <= shift_end:
                return start + left
            left -= shift_end - start
            start = self.next_opening(shift_end)


def parse_hours(value: str, timezone: str = "Asia/Shanghai") -> StaffedHours:
    """Parse 'HH:MM-HH:MM' (end may be 24:00); raises ValueError with a clear message."""
    match = _RANGE.match(value)
    if match is None:
        raise ValueError(f"staffed hours must look like 08:00-22:00, not {value!r}")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    start, end = timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2)
    if m1 > 59 or m2 > 59 or start >= timedelta(hours=24) or end > timedelta(hours=24) or start >= end:
        raise ValueError(f"staffed hours {value!r}: the start must be a time of day before the end (at most 24:00)")
    return StaffedHours(start, end, ZoneInfo(timezone))


@dataclass(frozen=True)
class QuietHours:
    """A daily window of local time for no non-urgent notices; it may cross midnight (22:00-08:00)."""

    start: timedelta | None
    end: timedelta | None
    timezone: ZoneInfo

    @property
    def off(self) -> bool:
        """True when there are no quiet hours at all."""
        return self.start is None or self.end is None or self.start == self.end

    def is_quiet(self, moment: datetime) -> bool:
        """Whether this moment falls in the quiet window (start inclusive, end exclusive)."""
        if self.off:
            return False
        assert self.start is not None and self.end is not None
        local = as_utc(moment).astimezone(self.timezone)
        since_midnight = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
        if self.start < self.end:
            return self.start <= since_midnight < self.end
        return since_midnight >= self.start or since_midnight < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """The moment itself outside the window, else when the window ends (timezone-aware, UTC)."""
        if not self.is_quiet(moment):
            return as_utc(moment)
        assert self.end is not None
        local = as_utc(moment).astimezone(self.timezone)
        end = datetime.combine(local.date(), time(0), tzinfo=self.timezone) + self.end
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=self.timezone) + self.end
        return as_utc(end)


def parse_quiet_hours(value: str, timezone: str = "Asia/Shanghai") -> QuietHours:
    """Parse 'HH:MM-HH:MM' (the window may cross midnight) or 'off'; raises ValueError with a clear message."""
    if value.strip().lower() in ("", "off", "none"):
        return QuietHours(None, None, ZoneInfo(timezone))
    match = _RANGE.match(value)
    if match is None:
        raise ValueError(f"quiet hours must look like 22:00-08:00 (or 'off'), not {value!r}")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"quiet hours {value!r}: both ends must be times of day (00:00-23:59)")
    return QuietHours(timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2), ZoneInfo(timezone))
