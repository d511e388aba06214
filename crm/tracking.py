"""Shipment tracking: look parcels up by waybill number and describe where they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.clock import as_utc, local
from crm.labels import EVENT_LABELS, REASON_LABELS, STATUS_LABELS, label
from crm.models import EventKind, Shipment, ShipmentStatus
from crm.waybills import normalize


@dataclass(frozen=True)
class ScanView:
    """The latest scan of a parcel, without any personal data."""

    occurred_at: datetime
    kind: EventKind
    place_zh: str
    place_en: str
    reason: str | None


@dataclass(frozen=True)
class ShipmentView:
    """What anyone holding the number may learn: status, last scan, promise; no names, phones or addresses."""

    tracking_number: str
    status: ShipmentStatus
    reason: str | None
    promised_date: date
    delivered_at: datetime | None
    last_scan: ScanView | None
    customer_id: int | None


def find_shipment(session: Session, number: str) -> Shipment | None:
    """The shipment with this waybill number (separators and case tolerated), with its events."""
    statement = (
        select(Shipment)
        .where(Shipment.tracking_number == normalize(number))
        .options(selectinload(Shipment.events))
    )
    return session.scalars(statement).one_or_none()


def track(session: Session, number: str) -> ShipmentView | None:
    """The public tracking view of a parcel, or None when the number is unknown."""
    shipment = find_shipment(session, number)
    if shipment is None:
        return None
    last = max(shipment.events, key=lambda event: as_utc(event.occurred_at), default=None)
    scan = (
        ScanView(as_utc(last.occurred_at), last.kind, last.place_zh, last.place_en, last.reason)
        if last is not None
        else None
    )
    return ShipmentView(
        tracking_number=shipment.tracking_number,
        status=shipment.status,
        reason=shipment.status_reason or (last.reason if last is not None else None),
        promised_date=shipment.promised_date,
        delivered_at=as_utc(shipment.delivered_at) if shipment.delivered_at else None,
        last_scan=scan,
        customer_id=shipment.customer_id,
    )


def template_values(view: ShipmentView, language: str) -> dict[str, str]:
    """The variables the tracking responses in domain.yml are filled with, in the customer's language."""
    scan = view.last_scan
    if view.delivered_at is not None:
        eta = local(view.delivered_at).strftime("%Y-%m-%d %H:%M")
    else:
        eta = view.promised_date.isoformat()
    return {
        "tracking_number": view.tracking_number,
        "status_label": label(STATUS_LABELS, view.status, language),
        "last_scan_time": local(scan.occurred_at).strftime("%Y-%m-%d %H:%M") if scan else "—",
        "last_scan_place": (scan.place_zh if language == "zh" else scan.place_en) if scan else "—",
        "last_scan_label": label(EVENT_LABELS, scan.kind, language) if scan else "—",
        "eta": eta,
        "reason": label(REASON_LABELS, view.reason, language) if view.reason else "—",
    }


def full_address(city: str | None, address: str | None, language: str) -> str:
    """The delivery address as one line, naming the city once: most stored addresses already include it."""
    city, address = (city or "").strip(), (address or "").strip()
    if not city or city in address:
        return address
    if not address:
        return city
    return f"{city}{address}" if language == "zh" else f"{address}, {city}"
