"""Delivery changes: only the owner, only before the parcel is out for delivery, recorded without personal data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from crm.delivery import (
    CHANGEABLE,
    DeliveryChangeError,
    DeliveryOutcome,
    change_delivery,
    delivery_days,
)
from crm.models import Customer, EventKind, Shipment, ShipmentStatus
from crm.tracking import track
from tests.crm.factories import make_customer, make_shipment

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday 12:00 in Shanghai
LATE_EVENING = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # Tuesday 01:00 in Shanghai
TIMELINE = [
    (EventKind.CREATED, ShipmentStatus.CREATED, "上海浦东营业部", "Shanghai Pudong Station"),
    (EventKind.ARRIVED_HUB, ShipmentStatus.IN_TRANSIT, "北京顺义转运中心", "Beijing Shunyi Hub"),
]
NEW_ADDRESS = "北京市海淀区中关村大街27号 3单元 502"
OWNER = 7301


def owner(session: Session) -> Customer:
    """The linked customer whose Telegram id is OWNER."""
    return make_customer(session, "T400001", "+8613900000301", telegram_user_id=OWNER)


def parcel(
    session: Session,
    customer: Customer,
    number: str,
    status: ShipmentStatus,
    *,
    recipient_phone: str = "+8613900000002",
    promised_date: date = date(2026, 11, 21),
) -> Shipment:
    """A parcel sent by the customer, with a two-scan history."""
    return make_shipment(session, number, status, customer=customer, events=TIMELINE,
                         recipient_phone=recipient_phone, promised_date=promised_date)


def test_delivery_days_follow_local_dates() -> None:
    """Tomorrow onward in China time, within a week; an earliest day moves the start."""
    assert delivery_days(NOW) == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    # 17:00 UTC is already Tuesday in Shanghai: tomorrow is Wednesday.
    assert delivery_days(LATE_EVENING, count=2) == [date(2026, 11, 25), date(2026, 11, 26)]
    assert delivery_days(NOW, count=10)[-1] == date(2026, 11, 30)  # never beyond 7 days
    assert delivery_days(NOW, earliest=date(2026, 11, 29)) == [date(2026, 11, 29), date(2026, 11, 30)]


@pytest.mark.parametrize("status", list(ShipmentStatus))
def test_change_allowed_only_before_out_for_delivery(session: Session, status: ShipmentStatus) -> None:
    """Created, in transit, delayed and exception parcels can change; the rest are too late and untouched."""
    shipment = parcel(session, owner(session), "XJ202611180301", status)
    change = change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180301",
                             new_day=date(2026, 11, 25), now=NOW)
    if status in CHANGEABLE:
        assert change.outcome is DeliveryOutcome.CHANGED and change.new_day == date(2026, 11, 25)
        assert shipment.promised_date == date(2026, 11, 25)
    else:
        assert change.outcome is DeliveryOutcome.TOO_LATE and change.shipment is shipment
        assert shipment.promised_date == date(2026, 11, 21)
        kinds = [event.kind for event in shipment.events]
        assert EventKind.DELIVERY_CHANGED not in kinds


def test_new_address_is_recorded_without_personal_data(session: Session) -> None:
    """The address changes; the history gets an event at the last scan's place that does not repeat it."""
    parcel(session, owner(session), "XJ202611180302", ShipmentStatus.IN_TRANSIT)
    change = change_delivery(session, telegram_user_id=OWNER, tracking_number="xj 2026 1118 0302",
                             new_address=f"  {NEW_ADDRESS}  ", now=NOW)
    assert change.outcome is DeliveryOutcome.CHANGED and change.address_changed
    session.expire_all()
    view = track(session, "XJ202611180302")
    shipment = change.shipment
    assert shipment is not None and view is not None
    assert shipment.recipient_address == NEW_ADDRESS
    event = shipment.events[-1]
    assert event.kind is EventKind.DELIVERY_CHANGED and event.status is ShipmentStatus.IN_TRANSIT
    assert (event.place_zh, event.place_en) == ("北京顺义转运中心", "Beijing Shunyi Hub")
    assert event.reason == "customer_request" and event.note == "address changed"
    assert "中关村" not in (event.note or "") and "北京市海淀区" not in (event.note or "")
    assert view.last_scan is not None and view.last_scan.kind is EventKind.DELIVERY_CHANGED
    assert view.status is ShipmentStatus.IN_TRANSIT


def test_new_day_is_recorded(session: Session) -> None:
    """A new day moves the promise and says so in the history; a parcel without scans uses the service desk."""
    bare = make_shipment(session, "XJ202611180303", ShipmentStatus.CREATED, customer=owner(session))
    change = change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180303",
                             new_day=date(2026, 11, 30), now=NOW)
    assert change.outcome is DeliveryOutcome.CHANGED
    assert bare.promised_date == date(2026, 11, 30)
    [event] = bare.events
    assert event.note == "day changed to 2026-11-30"
    assert (event.place_zh, event.place_en) == ("客户服务", "Customer service")
    assert event.status is ShipmentStatus.CREATED


def test_other_peoples_parcels_are_not_found(session: Session) -> None:
    """A stranger, an unlinked user and an unknown number all get not_found, and nothing changes."""
    shipment = parcel(session, owner(session), "XJ202611180304", ShipmentStatus.IN_TRANSIT)
    make_customer(session, "T400002", "+8613900000302", telegram_user_id=7302)
    for user, number in ((7302, "XJ202611180304"), (None, "XJ202611180304"), (7999, "XJ202611180304"),
                         (OWNER, "XJ209912319999")):
        change = change_delivery(session, telegram_user_id=user, tracking_number=number,
                                 new_address=NEW_ADDRESS, now=NOW)
        assert change.outcome is DeliveryOutcome.NOT_FOUND and change.shipment is None
    assert shipment.recipient_address == "北京市朝阳区测试街2号"
    assert len(shipment.events) == 2


def test_recipient_may_change_too(session: Session) -> None:
    """The parcel's recipient (by phone) owns it as much as the sender."""
    parcel(session, owner(session), "XJ202611180305", ShipmentStatus.DELAYED, recipient_phone="13900000303")
    make_customer(session, "T400003", "+8613900000303", telegram_user_id=7303)
    change = change_delivery(session, telegram_user_id=7303, tracking_number="XJ202611180305",
                             new_day=date(2026, 11, 24), now=NOW)
    assert change.outcome is DeliveryOutcome.CHANGED


@pytest.mark.parametrize(
    ("address", "day", "key"),
    [
        (None, date(2026, 11, 23), "day_in_past"),
        (None, date(2026, 11, 20), "day_in_past"),
        (None, date(2026, 12, 1), "day_too_far"),
        (" 北京 ", None, "address_too_short"),
        ("路" * 301, None, "address_too_long"),
    ],
)
def test_bad_requests_raise_a_translatable_key(session: Session, address: str | None, day: date | None,
                                               key: str) -> None:
    """Bad days and addresses are refused with a key, before anything is looked up or changed."""
    parcel(session, owner(session), "XJ202611180306", ShipmentStatus.IN_TRANSIT)
    for user in (OWNER, None):  # the same answer for a stranger: validation does not depend on the parcel
        with pytest.raises(DeliveryChangeError) as error:
            change_delivery(session, telegram_user_id=user, tracking_number="XJ202611180306", new_address=address,
                            new_day=day, now=NOW)
        assert error.value.key == key


def test_day_limits_follow_the_local_date(session: Session) -> None:
    """At 01:00 Tuesday in Shanghai (still Monday in UTC) Tuesday is today, and next Tuesday is the last day."""
    parcel(session, owner(session), "XJ202611180309", ShipmentStatus.IN_TRANSIT)
    with pytest.raises(DeliveryChangeError) as error:
        change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180309",
                        new_day=date(2026, 11, 24), now=LATE_EVENING)
    assert error.value.key == "day_in_past"
    change = change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180309",
                             new_day=date(2026, 12, 1), now=LATE_EVENING)
    assert change.outcome is DeliveryOutcome.CHANGED


def test_day_before_the_promise_is_refused(session: Session) -> None:
    """A parcel promised for the 27th cannot be booked for the 25th, but the 27th itself is fine."""
    shipment = parcel(session, owner(session), "XJ202611180307", ShipmentStatus.IN_TRANSIT,
                      promised_date=date(2026, 11, 27))
    with pytest.raises(DeliveryChangeError) as error:
        change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180307",
                        new_day=date(2026, 11, 25), now=NOW)
    assert error.value.key == "day_before_promise"
    assert len(shipment.events) == 2
    change = change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180307",
                             new_day=date(2026, 11, 27), now=NOW)
    assert change.outcome is DeliveryOutcome.CHANGED


@pytest.mark.parametrize(("address", "day"), [(None, None), (NEW_ADDRESS, date(2026, 11, 25))])
def test_exactly_one_change_at_a_time(session: Session, address: str | None, day: date | None) -> None:
    """Neither or both of address and day is a programming error."""
    with pytest.raises(ValueError):
        change_delivery(session, telegram_user_id=OWNER, tracking_number="XJ202611180308", new_address=address,
                        new_day=day, now=NOW)
