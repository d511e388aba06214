"""Small hand-made rows for service tests (the demo generator has its own tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from crm.models import (
    Customer,
    CustomerKind,
    EventKind,
    ServiceLevel,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)


def make_customer(session: Session, code: str = "T000001", phone: str = "+8613900000001") -> Customer:
    """A personal customer."""
    customer = Customer(
        code=code,
        kind=CustomerKind.PERSONAL,
        name="测试客户",
        phone=phone,
        address="上海市浦东新区测试路1号",
        city="上海",
    )
    session.add(customer)
    session.flush()
    return customer


def make_shipment(
    session: Session,
    number: str,
    status: ShipmentStatus,
    *,
    customer: Customer | None = None,
    reason: str | None = None,
    events: list[tuple[EventKind, ShipmentStatus, str, str]] | None = None,
    start: datetime = datetime(2026, 11, 18, 2, 0, tzinfo=UTC),
) -> Shipment:
    """A shipment with a tracking timeline, one event per hour from `start`."""
    shipment = Shipment(
        tracking_number=number,
        customer_id=customer.id if customer else None,
        sender_name="寄件人",
        sender_phone="+8613900000001",
        sender_address="上海市浦东新区测试路1号",
        sender_city="上海",
        recipient_name="收件人",
        recipient_phone="+8613900000002",
        recipient_address="北京市朝阳区测试街2号",
        recipient_city="北京",
        weight_kg=Decimal("1.20"),
        fee=Decimal("18.00"),
        service_level=ServiceLevel.STANDARD,
        status=status,
        status_reason=reason,
        promised_date=date(2026, 11, 21),
        shipped_at=start,
    )
    session.add(shipment)
    session.flush()
    for hour, (kind, event_status, zh, en) in enumerate(events or []):
        session.add(
            TrackingEvent(
                shipment_id=shipment.id,
                occurred_at=start + timedelta(hours=hour),
                kind=kind,
                status=event_status,
                place_zh=zh,
                place_en=en,
                reason=reason if event_status == status and reason else None,
            )
        )
    session.flush()
    session.refresh(shipment)
    return shipment
