"""Pickup orders: the time windows a courier can come, booking one, and finding a booking again.

Couriers collect in two daily windows, local time: 09:00-12:00 and 14:00-18:00 (the lunch break is when the
station sorts the morning's parcels). A window is offered only if it starts at least two hours from now, so
dispatch can plan the round. No pickups on Sundays: the company's stations run a reduced Sunday shift that
delivers but does not collect (change PickupSchedule.closed_weekdays to offer them).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from core.clock import COMPANY_TZ, as_utc, local, utcnow
from crm.identity import linked_customer
from crm.models import Customer, PickupOrder, PickupStatus

CODE_PREFIX = "P-"
# Codes are 1000 + the row id, like complaint codes: readable, and unique because ids are.
CODE_OFFSET = 1000
_CODE = re.compile(r"(?<![A-Za-z0-9])P\s*[-_#]?\s*(\d{4,12})(?!\d)", re.IGNORECASE)
_KEY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})$")

MIN_ADDRESS_LENGTH = 5
MAX_ADDRESS_LENGTH = 300  # pickup_orders.address
MAX_CONTENTS_LENGTH = 200  # pickup_orders.contents

_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class PickupSchedule:
    """When couriers collect: daily windows (local hours), how far ahead, closed weekdays (Monday = 0)."""

    slots: tuple[tuple[int, int], ...] = ((9, 12), (14, 18))
    lead_time: timedelta = timedelta(hours=2)
    closed_weekdays: tuple[int, ...] = (6,)
    horizon_days: int = 14


DEFAULT_SCHEDULE = PickupSchedule()


@dataclass(frozen=True)
class PickupWindow:
    """A bookable window: its key (for buttons and slots, e.g. '2026-11-24T09-12') and aware start and end."""

    key: str
    start: datetime
    end: datetime

    def label(self, language: str, now: datetime | None = None) -> str:
        """'明天 09:00–12:00' / 'Tomorrow 09:00–12:00' (also 今天/Today, 后天); further away a weekday and date."""
        start, end = local(self.start), local(self.end)
        hours = f"{start:%H:%M}–{end:%H:%M}"
        days = (start.date() - local(now or utcnow()).date()).days
        english = language == "en"
        if days == 0:
            day = "Today" if english else "今天"
        elif days == 1:
            day = "Tomorrow" if english else "明天"
        elif days == 2 and not english:
            day = "后天"
        elif english:
            day = f"{_WEEKDAYS_EN[start.weekday()]} {start.day} {_MONTHS_EN[start.month - 1]}"
        else:
            day = f"{start.month}月{start.day}日（{_WEEKDAYS_ZH[start.weekday()]}）"
        return f"{day} {hours}"


class PickupError(ValueError):
    """A booking that cannot be accepted; `key` names the reason for the caller's texts.

    Keys: address_too_short, address_too_long, contents_missing, contents_too_long, window_unavailable.
    """

    def __init__(self, key: str) -> None:
        """Keep the key."""
        super().__init__(key)
        self.key = key


def _window(day: date, start_hour: int, end_hour: int) -> PickupWindow:
    """The window of a local day and slot."""
    start = datetime.combine(day, time(start_hour), tzinfo=COMPANY_TZ)
    end = datetime.combine(day, time(end_hour), tzinfo=COMPANY_TZ)
    return PickupWindow(f"{day.isoformat()}T{start_hour:02d}-{end_hour:02d}", as_utc(start), as_utc(end))


def pickup_windows(
    now: datetime | None = None, count: int = 3, *, schedule: PickupSchedule = DEFAULT_SCHEDULE
) -> list[PickupWindow]:
    """The next bookable windows, soonest first (open days only, starting at least lead_time from now)."""
    now = as_utc(now or utcnow())
    earliest = now + schedule.lead_time
    today = local(now).date()
    windows: list[PickupWindow] = []
    for offset in range(schedule.horizon_days + 1):
        day = today + timedelta(days=offset)
        if day.weekday() in schedule.closed_weekdays:
            continue
        for start_hour, end_hour in schedule.slots:
            window = _window(day, start_hour, end_hour)
            if window.start >= earliest:
                windows.append(window)
                if len(windows) >= count:
                    return windows
    return windows


def parse_window(
    key: str | None, now: datetime | None = None, *, schedule: PickupSchedule = DEFAULT_SCHEDULE
) -> PickupWindow | None:
    """The window a key names; None when malformed, not a schedule slot, on a closed day, begun or too far ahead.

    A window offered a moment ago stays bookable until it begins (the customer may have read the
    buttons slowly); only pickup_windows applies the lead time.
    """
    match = _KEY.match((key or "").strip())
    if match is None:
        return None
    year, month, day_of_month, start_hour, end_hour = (int(part) for part in match.groups())
    try:
        day = date(year, month, day_of_month)
    except ValueError:
        return None
    if (start_hour, end_hour) not in schedule.slots or day.weekday() in schedule.closed_weekdays:
        return None
    now = as_utc(now or utcnow())
    if day > local(now).date() + timedelta(days=schedule.horizon_days):
        return None
    window = _window(day, start_hour, end_hour)
    return window if window.start > now else None


def format_code(order_id: int) -> str:
    """The pickup code of a row id: 42 -> 'P-1042'."""
    return f"{CODE_PREFIX}{CODE_OFFSET + order_id}"


def normalize_code(raw: str | None) -> str | None:
    """The pickup code in a text: 'p1042', 'P 1042', 'p-1042' -> 'P-1042'; else None."""
    if not raw:
        return None
    match = _CODE.search(unicodedata.normalize("NFKC", raw))
    if match is None:
        return None
    number = int(match.group(1))
    return f"{CODE_PREFIX}{number}" if number > CODE_OFFSET else None


def _clean(raw: str) -> str:
    """Text as typed with runs of whitespace collapsed."""
    return re.sub(r"\s+", " ", raw or "").strip()


def clean_address(raw: str) -> str:
    """A pickup address as typed, whitespace collapsed; PickupError when too short or too long."""
    address = _clean(raw)
    if len(address) < MIN_ADDRESS_LENGTH:
        raise PickupError("address_too_short")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise PickupError("address_too_long")
    return address


def book_pickup(
    session: Session,
    *,
    chat_id: int | None,
    telegram_user_id: int | None,
    address: str,
    window: PickupWindow,
    contents: str,
    language: str,
    now: datetime | None = None,
) -> PickupOrder:
    """Book a courier for a window (PickupError for a bad address, missing contents or a window already begun)."""
    now = as_utc(now or utcnow())
    address = clean_address(address)
    contents = _clean(contents)
    if not contents:
        raise PickupError("contents_missing")
    if len(contents) > MAX_CONTENTS_LENGTH:
        raise PickupError("contents_too_long")
    if as_utc(window.start) <= now or window.end <= window.start:
        raise PickupError("window_unavailable")
    customer = linked_customer(session, telegram_user_id)
    order = PickupOrder(
        # A unique placeholder until the id is known (the column is NOT NULL and unique).
        code=f"new-{uuid.uuid4().hex[:12]}",
        customer_id=customer.id if customer else None,
        chat_id=chat_id,
        telegram_user_id=telegram_user_id,
        address=address,
        window_start=as_utc(window.start),
        window_end=as_utc(window.end),
        contents=contents,
        status=PickupStatus.REQUESTED,
        language=language,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    order.code = format_code(order.id)
    session.flush()
    return order


def _visible(order: PickupOrder, chat_id: int | None, telegram_user_id: int | None, customer: Customer | None) -> bool:
    """A booking is shown in the chat it was made in, to the Telegram user who made it, and to its customer."""
    if chat_id is not None and order.chat_id == chat_id:
        return True
    if telegram_user_id is not None and order.telegram_user_id == telegram_user_id:
        return True
    return customer is not None and order.customer_id == customer.id


def find_pickup(
    session: Session, code: str, *, chat_id: int | None, telegram_user_id: int | None
) -> PickupOrder | None:
    """The pickup order with this code if the caller may see it; else None, exactly like an unknown code."""
    normalized = normalize_code(code)
    if normalized is None:
        return None
    order = session.scalars(select(PickupOrder).where(PickupOrder.code == normalized)).one_or_none()
    if order is None or not _visible(order, chat_id, telegram_user_id, linked_customer(session, telegram_user_id)):
        return None
    return order


def recent_pickups(
    session: Session, *, chat_id: int | None, telegram_user_id: int | None, limit: int = 5
) -> list[PickupOrder]:
    """The caller's pickup orders (same visibility as find_pickup), newest first."""
    customer = linked_customer(session, telegram_user_id)
    conditions: list[ColumnElement[bool]] = []
    if chat_id is not None:
        conditions.append(PickupOrder.chat_id == chat_id)
    if telegram_user_id is not None:
        conditions.append(PickupOrder.telegram_user_id == telegram_user_id)
    if customer is not None:
        conditions.append(PickupOrder.customer_id == customer.id)
    if not conditions or limit <= 0:
        return []
    statement = (
        select(PickupOrder)
        .where(or_(*conditions))
        .order_by(PickupOrder.created_at.desc(), PickupOrder.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
