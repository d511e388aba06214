"""Delivery changes: a customer moves their parcel to another address or another day while it still can be.

Only the parcel's owner (crm.identity) may change it; anyone else gets "not_found", the same answer as an
unknown number, so guessing numbers reveals nothing. The change is written to the parcel's tracking history
without personal data ("address changed", never the address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from sqlalchemy.orm import Session

from core.clock import as_utc, local, utcnow
from crm.identity import owned_shipment
from crm.models import EventKind, Shipment, ShipmentStatus, TrackingEvent

# Statuses in which the parcel has not left the last hub for the door yet: dispatch can still re-plan it.
CHANGEABLE = (
    ShipmentStatus.CREATED,
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.DELAYED,
    ShipmentStatus.EXCEPTION,
)
MAX_DAYS_AHEAD = 7
MIN_ADDRESS_LENGTH = 5
MAX_ADDRESS_LENGTH = 300  # shipments.recipient_address
CHANGE_REASON = "customer_request"
# Where the change is recorded when the parcel has no scan yet.
SERVICE_PLACE = ("客户服务", "Customer service")


class DeliveryOutcome(str, Enum):
    """What became of a change request."""

    CHANGED = "changed"
    NOT_FOUND = "not_found"
    TOO_LATE = "too_late"


@dataclass(frozen=True)
class DeliveryChange:
    """The result of a change request; shipment is None for not_found (nothing may be said about it)."""

    outcome: DeliveryOutcome
    shipment: Shipment | None
    new_day: date | None = None
    address_changed: bool = False


class DeliveryChangeError(ValueError):
    """A change the customer asked for that cannot be accepted; `key` names the reason for the caller's texts.

    Keys: day_in_past (today or earlier), day_too_far (more than MAX_DAYS_AHEAD days ahead),
    day_before_promise (earlier than the parcel can arrive), address_too_short, address_too_long.
    """

    def __init__(self, key: str) -> None:
        """Keep the key."""
        super().__init__(key)
        self.key = key


def _today(now: datetime) -> date:
    """The company's local date (customers pick days on the calendar they live by)."""
    return local(now).date()


def delivery_days(now: datetime | None = None, *, count: int = 3, earliest: date | None = None) -> list[date]:
    """The next days a customer may pick: from tomorrow (or `earliest`, e.g. the promised date), within the limit."""
    today = _today(now or utcnow())
    first = today + timedelta(days=1)
    if earliest is not None and earliest > first:
        first = earliest
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    days = [first + timedelta(days=offset) for offset in range(max(0, count))]
    return [day for day in days if day <= last]


def clean_address(raw: str) -> str:
    """An address as typed, with runs of whitespace collapsed; DeliveryChangeError when too short or too long."""
    address = re.sub(r"\s+", " ", raw).strip()
    if len(address) < MIN_ADDRESS_LENGTH:
        raise DeliveryChangeError("address_too_short")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise DeliveryChangeError("address_too_long")
    return address


def check_day(day: date, now: datetime) -> None:
    """DeliveryChangeError unless the day is after today and at most MAX_DAYS_AHEAD days ahead."""
    today = _today(now)
    if day <= today:
        raise DeliveryChangeError("day_in_past")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise DeliveryChangeError("day_too_far")


def _record(session: Session, shipment: Shipment, note: str, now: datetime) -> TrackingEvent:
    """Append the change to the parcel's history, at the place of its last scan."""
    last = max(shipment.events, key=lambda event: as_utc(event.occurred_at), default=None)
    place_zh, place_en = (last.place_zh, last.place_en) if last is not None else SERVICE_PLACE
    event = TrackingEvent(
        occurred_at=now,
        kind=EventKind.DELIVERY_CHANGED,
        status=shipment.status,
        place_zh=place_zh,
        place_en=place_en,
        reason=CHANGE_REASON,
        note=note,
    )
    shipment.events.append(event)
    session.flush()
    return event


def change_delivery(
    session: Session,
    *,
    telegram_user_id: int | None,
    tracking_number: str,
    new_address: str | None = None,
    new_day: date | None = None,
    now: datetime | None = None,
) -> DeliveryChange:
    """Change a parcel's address or delivery day for its owner.

    Exactly one of new_address / new_day (ValueError otherwise). The request itself is checked first
    (DeliveryChangeError), then the parcel: not_found when unknown or not the caller's, too_late once it is
    out for delivery or finished; a day earlier than the promised date raises day_before_promise.
    """
    if (new_address is None) == (new_day is None):
        raise ValueError("give exactly one of new_address and new_day")
    now = now or utcnow()
    address = clean_address(new_address) if new_address is not None else None
    if new_day is not None:
        check_day(new_day, now)
    shipment = owned_shipment(session, telegram_user_id, tracking_number)
    if shipment is None:
        return DeliveryChange(DeliveryOutcome.NOT_FOUND, None)
    if shipment.status not in CHANGEABLE:
        return DeliveryChange(DeliveryOutcome.TOO_LATE, shipment)
    if address is not None:
        shipment.recipient_address = address
        _record(session, shipment, "address changed", now)
        return DeliveryChange(DeliveryOutcome.CHANGED, shipment, None, address_changed=True)
    assert new_day is not None  # exactly one of the two was given
    if new_day < shipment.promised_date:
        # The parcel cannot be there sooner than promised; promising it would be a promise broken.
        raise DeliveryChangeError("day_before_promise")
    shipment.promised_date = new_day
    _record(session, shipment, f"day changed to {new_day.isoformat()}", now)
    return DeliveryChange(DeliveryOutcome.CHANGED, shipment, new_day)
