"""Write validated records into the customer database: insert what is new, update what changed, leave the rest.

Keys: customers by code, shipments by tracking number, tracking events by (tracking number, source event id), so a
resent batch changes nothing. An event that is the newest of its parcel sets the parcel's status; a change to a
status customers are told about writes the notices in the same transaction (crm.notices.enqueue). The caller owns
the transaction: the API commits a batch whole or not at all, the import commits chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.clock import as_utc
from crm import notices
from crm.models import Customer, Shipment, ShipmentStatus, TrackingEvent
from crm.notices import StatusChange
from ingest.records import CustomerRecord, EventRecord, Record, RowError, ShipmentRecord

# Look-ups per query (keeps IN lists well inside SQLite's and PostgreSQL's parameter limits).
LOOKUP_CHUNK = 500

T = TypeVar("T")
Item = tuple[int, Record]


@dataclass(frozen=True)
class IngestPolicy:
    """How one ingestion run writes: its "now", and whether (and for how old events) customers are told."""

    now: datetime
    notify: bool = True
    notice_max_age: timedelta = timedelta(hours=48)


@dataclass
class Outcome:
    """What a batch did: items inserted, updated, unchanged, refused (with reasons), and notices written."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    notices: int = 0

    def add(self, other: Outcome) -> None:
        """Add another batch's counts to these."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)
        self.notices += other.notices

    @property
    def rejected_rows(self) -> int:
        """How many items were refused (an item may have several reasons)."""
        return len({error.row for error in self.rejected})


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def same(current: object, new: object) -> bool:
    """Whether a stored value equals a new one (SQLite returns naive datetimes, and decimals may differ in scale)."""
    if isinstance(current, datetime) and isinstance(new, datetime):
        return as_utc(current) == as_utc(new)
    if isinstance(current, Decimal | int | float) and isinstance(new, Decimal | int | float):
        return Decimal(str(current)) == Decimal(str(new))
    return current == new


def apply(target: object, values: dict[str, Any]) -> bool:
    """Set the values that differ on a row; whether anything changed (unchanged rows are not written at all)."""
    changed = False
    for name, value in values.items():
        if not same(getattr(target, name), value):
            setattr(target, name, value)
            changed = True
    return changed


def given(record: Record, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields the sender gave (a field left out keeps its stored value; an explicit null clears it)."""
    return record.model_dump(include=set(record.model_fields_set) - (exclude or set()))


def upsert_customers(session: Session, items: Sequence[Item], policy: IngestPolicy) -> Outcome:
    """Insert or update customers by code."""
    outcome = Outcome()
    records = [(row, record) for row, record in items if isinstance(record, CustomerRecord)]
    codes = {record.code for _, record in records}
    known = {c.code: c for c in session.scalars(select(Customer).where(Customer.code.in_(codes)))}
    for _row, record in records:
        current = known.get(record.code)
        if current is None:
            customer = Customer(**record.model_dump())
            session.add(customer)
            known[record.code] = customer
            outcome.inserted += 1
        elif apply(current, given(record)):
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    session.flush()
    return outcome


def upsert_shipments(session: Session, items: Sequence[Item], policy: IngestPolicy) -> Outcome:
    """Insert or update shipments by tracking number; their customer must exist."""
    outcome = Outcome()
    records = [(row, record) for row, record in items if isinstance(record, ShipmentRecord)]
    numbers = {record.tracking_number for _, record in records}
    codes = {record.customer_code for _, record in records if record.customer_code}
    customer_ids = {
        code: customer_id
        for code, customer_id in session.execute(select(Customer.code, Customer.id).where(Customer.code.in_(codes)))
    }
    known = {
        s.tracking_number: s for s in session.scalars(select(Shipment).where(Shipment.tracking_number.in_(numbers)))
    }
    for row, record in records:
        values = given(record, exclude={"customer_code"})
        if "customer_code" in record.model_fields_set:
            code = record.customer_code
            if code is not None and code not in customer_ids:
                outcome.rejected.append(RowError(row, "customer_code", f"unknown customer {code!r}; send it first"))
                continue
            values["customer_id"] = customer_ids[code] if code is not None else None
        current = known.get(record.tracking_number)
        if current is None:
            shipment = Shipment(**record.model_dump(exclude={"customer_code"}))
            shipment.customer_id = values.get("customer_id")
            session.add(shipment)
            known[record.tracking_number] = shipment
            outcome.inserted += 1
        elif apply(current, values):
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    session.flush()
    return outcome


def _event_values(record: EventRecord, *, only_given: bool) -> dict[str, Any]:
    """A tracking event's columns from a record (an English place defaults to the Chinese one)."""
    values = given(record, exclude={"tracking_number", "event_id"}) if only_given else record.model_dump(
        exclude={"tracking_number", "event_id"}
    )
    if "place_en" in values and values["place_en"] is None:
        values["place_en"] = record.place_zh
    return values


def upsert_events(session: Session, items: Sequence[Item], policy: IngestPolicy) -> Outcome:
    """Insert or update tracking events by (tracking number, event id); the newest event sets the parcel's status."""
    outcome = Outcome()
    records = [(row, record) for row, record in items if isinstance(record, EventRecord)]
    numbers = {record.tracking_number for _, record in records}
    shipments = {
        s.tracking_number: s for s in session.scalars(select(Shipment).where(Shipment.tracking_number.in_(numbers)))
    }
    ids = [shipment.id for shipment in shipments.values()]
    event_ids = {record.event_id for _, record in records}
    stored = {
        (event.shipment_id, event.source_event_id): event
        for event in session.scalars(
            select(TrackingEvent).where(
                TrackingEvent.shipment_id.in_(ids), TrackingEvent.source_event_id.in_(event_ids)
            )
        )
    }
    latest = {
        shipment_id: as_utc(moment)
        for shipment_id, moment in session.execute(
            select(TrackingEvent.shipment_id, func.max(TrackingEvent.occurred_at))
            .where(TrackingEvent.shipment_id.in_(ids))
            .group_by(TrackingEvent.shipment_id)
        )
    }
    new_rows: dict[tuple[int, str], dict[str, Any]] = {}
    # Per parcel, the newest event this batch inserted or changed (an unchanged resend moves nothing).
    newest: dict[int, dict[str, Any]] = {}
    for row, record in records:
        shipment = shipments.get(record.tracking_number)
        if shipment is None:
            outcome.rejected.append(
                RowError(row, "tracking_number", f"unknown tracking number {record.tracking_number}; send its "
                                                 "shipment first")
            )
            continue
        key = (shipment.id, record.event_id)
        if key in stored:
            event = stored[key]
            if not apply(event, _event_values(record, only_given=True)):
                outcome.unchanged += 1
                continue
            outcome.updated += 1
            touched = {"occurred_at": event.occurred_at, "status": event.status, "reason": event.reason}
        else:
            touched = {
                "shipment_id": shipment.id,
                "source_event_id": record.event_id,
                **_event_values(record, only_given=False),
            }
            new_rows[key] = touched
            outcome.inserted += 1
        best = newest.get(shipment.id)
        if best is None or as_utc(touched["occurred_at"]) >= as_utc(best["occurred_at"]):
            newest[shipment.id] = touched
    if new_rows:
        session.execute(insert(TrackingEvent), list(new_rows.values()))
    changes = _apply_statuses(shipments, newest, latest)
    session.flush()
    if policy.notify and changes:
        outcome.notices += notices.enqueue(session, changes, now=policy.now, max_age=policy.notice_max_age)
    return outcome


def _apply_statuses(
    shipments: dict[str, Shipment], newest: dict[int, dict[str, Any]], latest: dict[int, datetime]
) -> list[StatusChange]:
    """Give each parcel the status of its newest event, when that event is from this batch; the changes made."""
    by_id = {shipment.id: shipment for shipment in shipments.values()}
    changes = []
    for shipment_id, event in newest.items():
        occurred_at = as_utc(event["occurred_at"])
        stored = latest.get(shipment_id)
        if stored is not None and occurred_at < stored:
            continue  # a late-arriving older scan: history, not news
        shipment = by_id[shipment_id]
        old = shipment.status
        status = ShipmentStatus(event["status"])
        shipment.status = status
        shipment.status_reason = event.get("reason")
        if status is ShipmentStatus.DELIVERED and shipment.delivered_at is None:
            shipment.delivered_at = occurred_at
        if status is not old:
            changes.append(StatusChange(shipment, old, status, occurred_at))
    return changes


UPSERTS: dict[str, Callable[[Session, Sequence[Item], IngestPolicy], Outcome]] = {
    "customers": upsert_customers,
    "shipments": upsert_shipments,
    "events": upsert_events,
}


def key_of(record: Record) -> tuple[str, ...]:
    """The fields that identify a record (code; tracking number; tracking number and event id)."""
    return tuple(str(getattr(record, name)) for name in record.key)


def collapse(items: Sequence[Item]) -> tuple[list[Item], int]:
    """One item per key, the last one sent winning (in row order); how many earlier ones it superseded."""
    last: dict[tuple[str, ...], Item] = {}
    for item in items:
        last[key_of(item[1])] = item
    kept = sorted(last.values(), key=lambda item: item[0])
    return kept, len(items) - len(kept)


def upsert(session: Session, kind: str, items: Sequence[Item], policy: IngestPolicy) -> Outcome:
    """Write validated items of one kind (customers, shipments or events), a chunk of look-ups at a time.

    The same key twice in one call: the last one wins and the earlier ones count as unchanged, so sending the
    batch again reports (and changes) nothing.
    """
    handler = UPSERTS[kind]
    kept, superseded = collapse(items)
    outcome = Outcome(unchanged=superseded)
    for chunk in chunks(kept, LOOKUP_CHUNK):
        outcome.add(handler(session, chunk, policy))
    return outcome
