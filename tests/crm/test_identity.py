"""Linking Telegram accounts to customers by phone, and who owns which parcel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from crm.chats import get_or_create_chat
from crm.escalations import find_customer
from crm.identity import (
    customer_shipments,
    first_name,
    link_contact,
    linked_customer,
    normalize_phone,
    owned_shipment,
    owns,
    unlink,
)
from crm.models import CustomerKind, ShipmentStatus
from tests.crm.factories import make_customer, make_shipment

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138 0013 8000", "8613800138000"),
        ("8613800138000", "8613800138000"),
        ("13800138000", "8613800138000"),
        ("008613800138000", "8613800138000"),
        ("+86-138-0013-8000", "8613800138000"),
        ("0571-8888 6666", "8657188886666"),
        ("+8657188886666", "8657188886666"),
        ("+86 (0571) 8888 6666", "8657188886666"),
        ("+852 9123 4567", "85291234567"),
        ("85291234567", "85291234567"),
        ("", ""),
        ("n/a", ""),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    """Chinese numbers with or without 86, with separators, national or international, compare equal."""
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("shared", ["8613900000011", "+86 139 0000 0011", "13900000011", "+8613900000011"])
def test_link_by_phone_in_any_format(session: Session, shared: str) -> None:
    """The phone Telegram sends finds the customer whatever the format on either side."""
    customer = make_customer(session, "T100001", "+8613900000011")
    linked = link_contact(session, telegram_user_id=7001, phone=shared)
    assert linked is not None and linked.id == customer.id
    assert customer.telegram_user_id == 7001
    assert linked_customer(session, 7001) is customer


def test_link_by_alternate_phone_stored_with_separators(session: Session) -> None:
    """The alternate phone counts too, and stored separators do not hide a match."""
    customer = make_customer(session, "T100002", "+8657188886666", phone_alt="+86 139-5711-2345")
    linked = link_contact(session, telegram_user_id=7002, phone="8613957112345")
    assert linked is not None and linked.id == customer.id


def test_unknown_phone_changes_nothing(session: Session) -> None:
    """No customer with the phone: None, and no link anywhere."""
    customer = make_customer(session, "T100003", "+8613900000013")
    assert link_contact(session, telegram_user_id=7003, phone="+8613999999999") is None
    assert customer.telegram_user_id is None
    assert linked_customer(session, 7003) is None
    # A number that only shares its last digits is not a match either.
    assert link_contact(session, telegram_user_id=7003, phone="+8615900000013") is None


def test_relinking_moves_the_telegram_id(session: Session) -> None:
    """Linking to another customer clears the first link (the column is unique), and the chat follows."""
    first = make_customer(session, "T100004", "+8613900000014")
    second = make_customer(session, "T100005", "+8613900000015")
    chat = get_or_create_chat(session, 7004)
    assert link_contact(session, telegram_user_id=7004, phone="13900000014", chat_id=7004) is first
    assert chat.customer_id == first.id
    assert link_contact(session, telegram_user_id=7004, phone="13900000015", chat_id=7004) is second
    session.refresh(first)
    assert first.telegram_user_id is None
    assert second.telegram_user_id == 7004
    assert chat.customer_id == second.id
    assert find_customer(session, 7004, 7004) is second


def test_second_account_takes_over_the_customer(session: Session) -> None:
    """Whoever proves the phone last holds the link; the previous account's private chat forgets the customer."""
    customer = make_customer(session, "T100006", "+8613900000016")
    old_chat = get_or_create_chat(session, 7005)
    link_contact(session, telegram_user_id=7005, phone="13900000016", chat_id=7005)
    link_contact(session, telegram_user_id=7006, phone="13900000016")
    assert customer.telegram_user_id == 7006
    assert linked_customer(session, 7005) is None
    assert old_chat.customer_id is None


def test_link_without_chat_row_and_unlink(session: Session) -> None:
    """A chat id without a row is ignored; unlinking forgets the customer (also for the private chat)."""
    customer = make_customer(session, "T100007", "+8613900000017")
    assert link_contact(session, telegram_user_id=7007, phone="13900000017", chat_id=-100123) is customer
    chat = get_or_create_chat(session, 7007)
    link_contact(session, telegram_user_id=7007, phone="13900000017", chat_id=7007)
    assert chat.customer_id == customer.id
    assert unlink(session, 7007) is True
    assert customer.telegram_user_id is None and chat.customer_id is None
    assert unlink(session, 7007) is False
    assert linked_customer(session, None) is None


def test_shared_phone_picks_main_phone_then_latest_shipment(session: Session) -> None:
    """Several customers with one number: a main-phone match wins over an alternate one, then the latest shipper."""
    company = make_customer(session, "T100008", "+8657100000001", phone_alt="+8613900000018",
                            kind=CustomerKind.COMPANY, name="某公司")
    older = make_customer(session, "T100009", "+8613900000018")
    newer = make_customer(session, "T100010", "+86 139 0000 0018")
    make_shipment(session, "XJ202611180101", ShipmentStatus.DELIVERED, customer=company, start=T0 + timedelta(days=3))
    make_shipment(session, "XJ202611180102", ShipmentStatus.DELIVERED, customer=older, start=T0)
    make_shipment(session, "XJ202611180103", ShipmentStatus.DELIVERED, customer=newer, start=T0 + timedelta(days=1))
    assert link_contact(session, telegram_user_id=7008, phone="13900000018") is newer


def test_owner_sees_parcels_others_do_not(session: Session) -> None:
    """Sender account and recipient phone own a parcel; anyone else gets None, like an unknown number."""
    sender = make_customer(session, "T100011", "+8613900000021", telegram_user_id=7011)
    recipient = make_customer(session, "T100012", "+8613900000022", telegram_user_id=7012)
    stranger = make_customer(session, "T100013", "+8613900000023", telegram_user_id=7013)
    shipment = make_shipment(session, "XJ202611180111", ShipmentStatus.IN_TRANSIT, customer=sender,
                             recipient_phone="139 0000 0022")
    assert owns(sender, shipment) and owns(recipient, shipment) and not owns(stranger, shipment)
    assert owned_shipment(session, 7011, "xj 2026 1118 0111") is shipment
    assert owned_shipment(session, 7012, "XJ202611180111") is shipment
    assert owned_shipment(session, 7013, "XJ202611180111") is None
    assert owned_shipment(session, 7013, "XJ209912319999") is None
    assert owned_shipment(session, None, "XJ202611180111") is None
    assert owned_shipment(session, 7999, "XJ202611180111") is None  # not linked at all


def test_customer_shipments_newest_first_with_limit(session: Session) -> None:
    """Sent and received parcels together, newest first, no strangers' parcels, limited."""
    me = make_customer(session, "T100014", "+8613900000024")
    other = make_customer(session, "T100015", "+8613900000025")
    make_shipment(session, "XJ202611180121", ShipmentStatus.DELIVERED, customer=me, start=T0)
    make_shipment(session, "XJ202611180122", ShipmentStatus.IN_TRANSIT, customer=other, start=T0 + timedelta(days=2),
                  recipient_phone="13900000024")
    make_shipment(session, "XJ202611180123", ShipmentStatus.CREATED, customer=me, start=T0 + timedelta(days=1))
    make_shipment(session, "XJ202611180124", ShipmentStatus.CREATED, customer=other, start=T0 + timedelta(days=3))
    # Same last seven digits, different number: not mine.
    make_shipment(session, "XJ202611180125", ShipmentStatus.CREATED, customer=other, start=T0 + timedelta(days=4),
                  recipient_phone="+8615900000024")
    numbers = [s.tracking_number for s in customer_shipments(session, me)]
    assert numbers == ["XJ202611180122", "XJ202611180123", "XJ202611180121"]
    assert [s.tracking_number for s in customer_shipments(session, me, limit=2)] == numbers[:2]
    assert customer_shipments(session, me, limit=0) == []


def test_first_name(session: Session) -> None:
    """A person by full name; a company by its contact person, else its name."""
    person = make_customer(session, "T100016", "+8613900000026", name="王小明")
    company = make_customer(session, "T100017", "+8657100000002", kind=CustomerKind.COMPANY, name="云仓公司",
                            contact_person="陈静")
    bare = make_customer(session, "T100018", "+8657100000003", kind=CustomerKind.COMPANY, name="无名公司")
    assert first_name(person) == "王小明"
    assert first_name(company) == "陈静"
    assert first_name(bare) == "无名公司"
