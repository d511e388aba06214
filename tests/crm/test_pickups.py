"""Pickup orders: bookable windows around day boundaries and Sundays, booking, codes and who may see them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from core.clock import as_utc
from crm.models import PickupOrder, PickupStatus
from crm.pickups import (
    DEFAULT_SCHEDULE,
    PickupError,
    PickupSchedule,
    book_pickup,
    find_pickup,
    normalize_code,
    parse_window,
    pickup_windows,
    recent_pickups,
)
from tests.crm.factories import make_customer

NOON_MONDAY = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday 2026-11-23 12:00 in Shanghai
ADDRESS = "上海市徐汇区漕溪北路88号 2号楼 1203"


def keys(now: datetime, count: int = 3, schedule: PickupSchedule = DEFAULT_SCHEDULE) -> list[str]:
    """The keys of the windows offered at a moment."""
    return [window.key for window in pickup_windows(now, count, schedule=schedule)]


def test_windows_start_at_least_two_hours_ahead() -> None:
    """At noon the afternoon window (14:00, exactly two hours away) is still offered; a minute later it is not."""
    assert keys(NOON_MONDAY) == ["2026-11-23T14-18", "2026-11-24T09-12", "2026-11-24T14-18"]
    assert keys(NOON_MONDAY + timedelta(minutes=1)) == ["2026-11-24T09-12", "2026-11-24T14-18", "2026-11-25T09-12"]
    early = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 local: 09:00 is only one hour away
    assert keys(early, 2) == ["2026-11-23T14-18", "2026-11-24T09-12"]
    assert keys(datetime(2026, 11, 22, 22, 59, tzinfo=UTC), 1) == ["2026-11-23T09-12"]  # 06:59 local


def test_windows_follow_the_local_day_not_utc() -> None:
    """17:00 UTC Monday is 01:00 Tuesday in Shanghai: Tuesday morning is the first window, in aware UTC times."""
    windows = pickup_windows(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), 2)
    assert [w.key for w in windows] == ["2026-11-24T09-12", "2026-11-24T14-18"]
    assert windows[0].start == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert windows[0].end == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert windows[0].start.tzinfo is not None


def test_no_pickups_on_sunday() -> None:
    """Saturday afternoon skips Sunday and goes to Monday; a schedule without closed days offers Sunday."""
    saturday_afternoon = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)  # Saturday 15:00 local
    assert keys(saturday_afternoon) == ["2026-11-30T09-12", "2026-11-30T14-18", "2026-12-01T09-12"]
    saturday_morning = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # Saturday 11:00 local
    assert keys(saturday_morning) == ["2026-11-28T14-18", "2026-11-30T09-12", "2026-11-30T14-18"]
    every_day = PickupSchedule(closed_weekdays=())
    assert keys(saturday_afternoon, 2, every_day) == ["2026-11-29T09-12", "2026-11-29T14-18"]


def test_labels_in_both_languages() -> None:
    """Today / tomorrow by name, then weekday and date; local wall-clock hours."""
    windows = pickup_windows(NOON_MONDAY, 6)
    assert [w.label("zh", NOON_MONDAY) for w in windows[:3]] == [
        "今天 14:00–18:00", "明天 09:00–12:00", "明天 14:00–18:00"
    ]
    assert [w.label("en", NOON_MONDAY) for w in windows[:3]] == [
        "Today 14:00–18:00", "Tomorrow 09:00–12:00", "Tomorrow 14:00–18:00"
    ]
    assert windows[3].label("zh", NOON_MONDAY) == "后天 09:00–12:00"
    assert windows[3].label("en", NOON_MONDAY) == "Wed 25 Nov 09:00–12:00"
    later = parse_window("2026-11-27T14-18", NOON_MONDAY)
    assert later is not None
    assert later.label("zh", NOON_MONDAY) == "11月27日（周五） 14:00–18:00"
    assert later.label("en", NOON_MONDAY) == "Fri 27 Nov 14:00–18:00"


def test_parse_window_round_trip_and_refusals() -> None:
    """An offered key parses back to the same window; malformed, odd, closed, begun or far keys are None."""
    for window in pickup_windows(NOON_MONDAY, 4):
        assert parse_window(window.key, NOON_MONDAY) == window
    for bad in ("", "tomorrow", "2026-11-24T9-12", "2026-02-30T09-12", "2026-11-24T10-12", "2026-11-24T09-12x"):
        assert parse_window(bad, NOON_MONDAY) is None
    assert parse_window("2026-11-29T09-12", NOON_MONDAY) is None  # Sunday
    assert parse_window("2026-11-23T09-12", NOON_MONDAY) is None  # began this morning
    assert parse_window("2026-12-31T09-12", NOON_MONDAY) is None  # beyond the two-week horizon
    # Offered at noon, clicked at 13:30: no longer two hours ahead, but not begun, so still bookable.
    assert parse_window("2026-11-23T14-18", NOON_MONDAY + timedelta(minutes=90)) is not None


def test_booking_gets_a_code_and_the_customer(session: Session) -> None:
    """A booking is stored cleanly with a readable, unique P- code and the linked customer."""
    customer = make_customer(session, "T500001", "+8613900000401", telegram_user_id=7401)
    window = pickup_windows(NOON_MONDAY, 1)[0]
    order = book_pickup(session, chat_id=7401, telegram_user_id=7401, address=f"  {ADDRESS}\n", window=window,
                 contents=" 两箱 衣服 ", language="zh", now=NOON_MONDAY)
    other = book_pickup(session, chat_id=7402, telegram_user_id=7402, address=ADDRESS, window=window, contents="文件",
                 language="en", now=NOON_MONDAY)
    assert re.fullmatch(r"P-\d{4,}", order.code) and order.code == f"P-{1000 + order.id}"
    assert other.code != order.code
    session.expire_all()
    stored = session.get(PickupOrder, order.id)
    assert stored is not None
    assert stored.customer_id == customer.id and other.customer_id is None
    assert (stored.address, stored.contents, stored.language) == (ADDRESS, "两箱 衣服", "zh")
    assert stored.status is PickupStatus.REQUESTED
    assert (as_utc(stored.window_start), as_utc(stored.window_end)) == (window.start, window.end)
    assert as_utc(stored.created_at) == NOON_MONDAY


@pytest.mark.parametrize(
    ("address", "contents", "key"),
    [
        ("上海市", "文件", "address_too_short"),
        ("路" * 301, "文件", "address_too_long"),
        (ADDRESS, "   ", "contents_missing"),
        (ADDRESS, "箱" * 201, "contents_too_long"),
    ],
)
def test_booking_refuses_bad_details(session: Session, address: str, contents: str, key: str) -> None:
    """Bad details raise a key the caller can translate; nothing is stored."""
    window = pickup_windows(NOON_MONDAY, 1)[0]
    with pytest.raises(PickupError) as error:
        book_pickup(session, chat_id=7403, telegram_user_id=None, address=address, window=window, contents=contents,
             language="zh", now=NOON_MONDAY)
    assert error.value.key == key
    assert session.query(PickupOrder).filter(PickupOrder.chat_id == 7403).count() == 0


def test_booking_a_begun_window_is_refused(session: Session) -> None:
    """A window that began while the customer was typing cannot be booked."""
    window = pickup_windows(NOON_MONDAY, 1)[0]
    with pytest.raises(PickupError) as error:
        book_pickup(session, chat_id=7404, telegram_user_id=None, address=ADDRESS, window=window, contents="文件",
             language="zh", now=window.start + timedelta(minutes=5))
    assert error.value.key == "window_unavailable"


def test_find_pickup_visibility_and_recent(session: Session) -> None:
    """The chat, the booking user and their customer see a booking; others get None like an unknown code."""
    make_customer(session, "T500002", "+8613900000402", telegram_user_id=7405)
    windows = pickup_windows(NOON_MONDAY, 2)
    first = book_pickup(session, chat_id=-100500, telegram_user_id=7405, address=ADDRESS, window=windows[0],
                 contents="文件", language="zh", now=NOON_MONDAY)
    second = book_pickup(session, chat_id=7405, telegram_user_id=7405, address=ADDRESS, window=windows[1],
                  contents="样品", language="zh", now=NOON_MONDAY + timedelta(minutes=1))
    number = first.code.removeprefix("P-")
    assert normalize_code(f"p{number}") == normalize_code(f"P {number}") == first.code
    assert find_pickup(session, f"p-{number}", chat_id=-100500, telegram_user_id=None) is first
    assert find_pickup(session, first.code, chat_id=None, telegram_user_id=7405) is first
    assert find_pickup(session, first.code, chat_id=7406, telegram_user_id=7406) is None
    assert find_pickup(session, "P-999999", chat_id=-100500, telegram_user_id=7405) is None
    assert find_pickup(session, "hello", chat_id=-100500, telegram_user_id=7405) is None
    assert recent_pickups(session, chat_id=7405, telegram_user_id=7405) == [second, first]
    assert recent_pickups(session, chat_id=7406, telegram_user_id=7406) == []
