"""Who a Telegram user is: linking an account to a customer by phone, and which parcels they may see.

A Telegram user proves a phone number by sharing their contact (Telegram only lets a user share their own
number through the contact button). The customer with that phone (or alternate phone) is linked to the
Telegram account. From then on the user "owns" the parcels they sent (the customer account on the waybill)
and the parcels addressed to their phone. Callers answer "not yours" exactly like "unknown number", so a
guessed number reveals nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from core.clock import as_utc
from crm.models import Chat, Customer, CustomerKind, Shipment
from crm.tracking import find_shipment

CHINA_CODE = "86"
# Separators people and systems put into stored phone numbers; removed in SQL before comparing digits.
_SEPARATORS = (" ", "-", "+", "(", ")", ".", "/")
# The database pre-filter compares this many trailing digits; the exact comparison is done in Python.
_TAIL_DIGITS = 7
_CHINA_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EPOCH = datetime.min


def normalize_phone(raw: str | None) -> str:
    """Canonical digits with country code: '+86 138 0013 8000', '8613800138000', '13800138000' -> '8613800138000'.

    Digits only; a leading '+' or '00' marks an international number, kept as it is. Without one, an
    11-digit number starting 13-19 is a Chinese mobile and a number starting with the trunk '0' is a Chinese
    landline ('0571 8888 6666' -> '8657188886666'); both get 86 in front. Anything else (e.g. what Telegram
    sends without '+': '8613800138000', '85291234567') is taken as already international. A North American
    number sent without '+' that looks like a Chinese mobile is read as Chinese: the desk serves China.
    Returns '' when there are no digits.
    """
    text = (raw or "").strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    if text.startswith("+"):
        international = True
    elif digits.startswith("00"):
        digits, international = digits[2:], True
    else:
        international = False
    if not international:
        if _CHINA_MOBILE.match(digits):
            return CHINA_CODE + digits
        if digits.startswith("0") and len(digits) >= 9:
            return CHINA_CODE + digits[1:]
    # "+86 0571 ..." (trunk zero kept after the country code) is common on business cards.
    if digits.startswith(CHINA_CODE + "0"):
        digits = CHINA_CODE + digits[3:]
    return digits


def _phone_keys(customer: Customer) -> set[str]:
    """The canonical forms of a customer's phone and alternate phone (empty ones left out)."""
    return {key for key in (normalize_phone(customer.phone), normalize_phone(customer.phone_alt)) if key}


def _digits(column: QueryableAttribute[Any]) -> ColumnElement[Any]:
    """A stored phone column with the usual separators removed, in SQL (replace() exists on SQLite and PostgreSQL)."""
    expression: ColumnElement[Any] = func.replace(column, _SEPARATORS[0], "")
    for separator in _SEPARATORS[1:]:
        expression = func.replace(expression, separator, "")
    return expression


def _tail_filter(column: QueryableAttribute[Any], keys: set[str]) -> ColumnElement[bool]:
    """A cheap SQL pre-filter: the column's digits end like one of the keys (confirmed in Python afterwards)."""
    return or_(*(_digits(column).like(f"%{key[-_TAIL_DIGITS:]}") for key in sorted(keys)))


def _last_shipped(session: Session, customer_id: int) -> datetime:
    """When the customer last sent a parcel (the beginning of time when never)."""
    last = session.scalar(select(func.max(Shipment.shipped_at)).where(Shipment.customer_id == customer_id))
    return as_utc(last) if last is not None else as_utc(_EPOCH)


def customers_with_phone(session: Session, phone: str) -> list[Customer]:
    """Customers whose phone or alternate phone is this number, best candidate first.

    Several customers may share a number (a company's alternate phone is often its contact person's own
    mobile). Order: a match on the main phone before one on the alternate phone, then the customer who
    shipped most recently, then the oldest account (lowest id), so the choice is deterministic.
    """
    key = normalize_phone(phone)
    if not key:
        return []
    candidates = session.scalars(
        select(Customer).where(or_(_tail_filter(Customer.phone, {key}), _tail_filter(Customer.phone_alt, {key})))
    ).all()
    matches = [c for c in candidates if key in _phone_keys(c)]

    def rank(customer: Customer) -> tuple[int, float, int]:
        """Sort key: main phone first, latest shipment first, lowest id first."""
        on_main = 0 if normalize_phone(customer.phone) == key else 1
        return on_main, -_last_shipped(session, customer.id).timestamp(), customer.id

    return sorted(matches, key=rank)


def _set_chat_customer(session: Session, chat_ids: set[int], customer_id: int | None, *,
                       only_if: int | None = None) -> None:
    """Point existing chat rows at a customer (or at nobody); with only_if, only rows pointing at that customer."""
    for chat_id in chat_ids:
        chat = session.get(Chat, chat_id)
        if chat is not None and (only_if is None or chat.customer_id == only_if):
            chat.customer_id = customer_id


def link_contact(
    session: Session, *, telegram_user_id: int, phone: str, chat_id: int | None = None
) -> Customer | None:
    """Link a Telegram account to the customer with this phone; None (and nothing changed) when no customer has it.

    The Telegram id moves: any other customer holding it loses it, and a customer linked to another Telegram
    account before is re-linked to this one (whoever proves the phone last holds it). The given chat and the
    user's private chat (chat id == user id), when their rows exist, point at the customer.
    """
    matches = customers_with_phone(session, phone)
    if not matches:
        return None
    customer = matches[0]
    previous = linked_customer(session, telegram_user_id)
    if previous is not None and previous.id != customer.id:
        previous.telegram_user_id = None
        _set_chat_customer(session, {telegram_user_id}, None, only_if=previous.id)
    if customer.telegram_user_id is not None and customer.telegram_user_id != telegram_user_id:
        _set_chat_customer(session, {customer.telegram_user_id}, None, only_if=customer.id)
    # The column is unique: the old holder must be cleared in the database before the new one is written.
    session.flush()
    customer.telegram_user_id = telegram_user_id
    chats = {telegram_user_id} | ({chat_id} if chat_id is not None else set())
    _set_chat_customer(session, chats, customer.id)
    session.flush()
    return customer


def displaced_account(session: Session, *, telegram_user_id: int, phone: str) -> int | None:
    """The other Telegram account that linking this phone would take the customer from (None if there is none).

    Asked before link_contact, in the same transaction: that account is told its link moved, never silently.
    """
    matches = customers_with_phone(session, phone)
    if not matches:
        return None
    holder = matches[0].telegram_user_id
    return holder if holder is not None and holder != telegram_user_id else None


def linked_customer(session: Session, telegram_user_id: int | None) -> Customer | None:
    """The customer linked to a Telegram account, or None (also for no account at all)."""
    if telegram_user_id is None:
        return None
    return session.scalars(select(Customer).where(Customer.telegram_user_id == telegram_user_id)).one_or_none()


def unlink(session: Session, telegram_user_id: int) -> bool:
    """Forget the link of a Telegram account (and its private chat's); False when it was not linked."""
    customer = linked_customer(session, telegram_user_id)
    if customer is None:
        return False
    customer.telegram_user_id = None
    _set_chat_customer(session, {telegram_user_id}, None, only_if=customer.id)
    session.flush()
    return True


def owns(customer: Customer, shipment: Shipment) -> bool:
    """True when the customer sent the parcel (their account) or it is addressed to their phone."""
    if shipment.customer_id is not None and shipment.customer_id == customer.id:
        return True
    recipient = normalize_phone(shipment.recipient_phone)
    return bool(recipient) and recipient in _phone_keys(customer)


def owned_shipment(session: Session, telegram_user_id: int | None, number: str) -> Shipment | None:
    """The parcel with this number if the caller is linked and owns it; else None, exactly like an unknown number."""
    customer = linked_customer(session, telegram_user_id)
    if customer is None:
        return None
    shipment = find_shipment(session, number)
    if shipment is None or not owns(customer, shipment):
        return None
    return shipment


def _newest_first(shipment: Shipment) -> tuple[float, int]:
    """Sort key: latest shipped first, then highest id."""
    return -as_utc(shipment.shipped_at).timestamp(), -shipment.id


def customer_shipments(session: Session, customer: Customer, *, limit: int = 10) -> list[Shipment]:
    """The customer's parcels, sent or addressed to their phone, newest first (by shipped_at)."""
    if limit <= 0:
        return []
    sent = list(
        session.scalars(
            select(Shipment)
            .where(Shipment.customer_id == customer.id)
            .order_by(Shipment.shipped_at.desc(), Shipment.id.desc())
            .limit(limit)
        )
    )
    received: list[Shipment] = []
    keys = _phone_keys(customer)
    if keys:
        candidates = session.scalars(
            select(Shipment)
            .where(_tail_filter(Shipment.recipient_phone, keys))
            .order_by(Shipment.shipped_at.desc(), Shipment.id.desc())
        )
        for shipment in candidates:
            if owns(customer, shipment):
                received.append(shipment)
                if len(received) >= limit:
                    break
    unique = {shipment.id: shipment for shipment in (*sent, *received)}
    return sorted(unique.values(), key=_newest_first)[:limit]


def first_name(customer: Customer) -> str:
    """How greetings address the customer: a company's contact person (else its name), a person's full name.

    The full name, not a given name: Chinese names are written family name first, and addressing a customer
    by the given name alone is too familiar for a service desk; the greeting texts add the polite words.
    """
    if customer.kind is CustomerKind.COMPANY and customer.contact_person and customer.contact_person.strip():
        return customer.contact_person.strip()
    return customer.name.strip()


def shipments_addressed_to(session: Session, customer: Customer) -> list[Shipment]:
    """Every parcel addressed to one of the customer's phones, newest first (no limit: erasure and export)."""
    keys = _phone_keys(customer)
    if not keys:
        return []
    candidates = session.scalars(
        select(Shipment)
        .where(_tail_filter(Shipment.recipient_phone, keys))
        .order_by(Shipment.shipped_at.desc(), Shipment.id.desc())
    )
    return [shipment for shipment in candidates if normalize_phone(shipment.recipient_phone) in keys]
