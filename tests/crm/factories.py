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


def make_customer(
    session: Session,
    code: str = "T000001",
    phone: str = "+8613900000001",
    *,
    phone_alt: str | None = None,
    kind: CustomerKind = CustomerKind.PERSONAL,
    name: str = "测试客户",
    contact_person: str | None = None,
    telegram_user_id: int | None = None,
) -> Customer:
    """A customer (personal unless told otherwise)."""
    customer = Customer(
        code=code,
        kind=kind,
        name=name,
        contact_person=contact_person,
        phone=phone,
        phone_alt=phone_alt,
        address="上海市浦东新区测试路1号",
        city="上海",
        telegram_user_id=telegram_user_id,
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
    recipient_phone: str = "+8613900000002",
    fee: Decimal = Decimal("18.00"),
    declared_value: Decimal | None = None,
    promised_date: date = date(2026, 11, 21),
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
        recipient_phone=recipient_phone,
        recipient_address="北京市朝阳区测试街2号",
        recipient_city="北京",
        weight_kg=Decimal("1.20"),
        fee=fee,
        declared_value=declared_value,
        service_level=ServiceLevel.STANDARD,
        status=status,
        status_reason=reason,
        promised_date=promised_date,
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


def make_top_customer(session: Session, code: str, phone: str, *, now: datetime) -> Customer:
    """A tier-A customer: 24 parcels of 100 yuan in the 30 days before `now` (RFM 5 + 5 + 4)."""
    customer = make_customer(session, code, phone, kind=CustomerKind.COMPANY, name="顶级客户有限公司")
    for index in range(24):
        make_shipment(
            session,
            f"XJ{(now - timedelta(days=1)).strftime('%Y%m%d')}{customer.id % 100:02d}{index:02d}",
            ShipmentStatus.DELIVERED,
            customer=customer,
            start=now - timedelta(days=1, hours=index),
            fee=Decimal("100.00"),
        )
    return customer
