"""Complaint tickets: codes, each seriousness rule, answer deadlines, who may see a ticket, the workflow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.hours import parse_hours
from crm.complaints import (
    ComplaintError,
    ComplaintTerms,
    advance,
    find_complaint,
    normalize_code,
    open_complaint,
    recent_complaints,
)
from crm.models import Complaint, ComplaintCategory, ComplaintStatus, CustomerKind, ShipmentStatus
from tests.crm.factories import make_customer, make_shipment, make_top_customer

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def test_codes_are_readable_and_unique(session: Session) -> None:
    """C- and 1000 + id: readable, distinct, and found again from sloppy spellings."""
    first = open_complaint(session, category=ComplaintCategory.BILLING, description="多收了运费", chat_id=8001,
                           telegram_user_id=None, tracking_number=None, now=NOW)
    second = open_complaint(session, category=ComplaintCategory.BILLING, description="again", chat_id=8002,
                            telegram_user_id=None, tracking_number=None, now=NOW)
    for outcome in (first, second):
        assert re.fullmatch(r"C-\d{4,}", outcome.code)
        assert outcome.code == f"C-{1000 + outcome.complaint.id}" == outcome.complaint.code
    assert first.code != second.code
    number = first.code.removeprefix("C-")
    assert normalize_code(f"c{number}") == normalize_code(f"C {number}") == first.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("c1042", "C-1042"),
        ("C 1042", "C-1042"),
        ("c-1042", "C-1042"),
        ("Ｃ－１０４２", "C-1042"),
        ("我的投诉C1042怎么样了", "C-1042"),
        ("complaint #C-20001?", "C-20001"),
        ("C-1000", None),
        ("C12", None),
        ("1042", None),
        ("abc1042", None),
        ("XJ202611180042", None),
        ("", None),
    ],
)
def test_normalize_code(raw: str, expected: str | None) -> None:
    """Codes typed in any common way; anything else is not a code."""
    assert normalize_code(raw) == expected


def test_ordinary_complaint_gets_the_category_deadline_and_stays_the_chats(session: Session) -> None:
    """A delay on a normal customer's parcel from an unlinked chat: not serious, 24 hours, stored in full, and
    recorded as the reporting chat's, not put on the parcel owner's customer record."""
    customer = make_customer(session, "T200001", "+8613900000101")
    shipment = make_shipment(session, "XJ202611180201", ShipmentStatus.DELAYED, customer=customer)
    outcome = open_complaint(
        session, category=ComplaintCategory.DELAY, description="  三天没动了  ", chat_id=8003, telegram_user_id=None,
        tracking_number="xj-2026-1118-0201", photo_file_id="photo-1", language="en", now=NOW,
    )
    assert not outcome.serious and outcome.serious_reasons == ()
    assert outcome.shipment_found
    assert outcome.due_at == NOW + timedelta(hours=24)
    session.expire_all()
    stored = session.get(Complaint, outcome.complaint.id)
    assert stored is not None
    assert stored.shipment_id == shipment.id and stored.customer_id is None and stored.chat_id == 8003
    assert customer.id is not None
    assert stored.description == "三天没动了" and stored.photo_file_id == "photo-1" and stored.language == "en"
    assert stored.status is ComplaintStatus.OPEN and stored.serious is False
    assert stored.due_at is not None and as_utc(stored.due_at) == NOW + timedelta(hours=24)


@pytest.mark.parametrize(
    ("category", "hours"),
    [
        (ComplaintCategory.DELAY, 24),
        (ComplaintCategory.DAMAGE, 48),
        (ComplaintCategory.WRONG_DELIVERY, 24),
        (ComplaintCategory.COURIER_CONDUCT, 24),
        (ComplaintCategory.BILLING, 72),
    ],
)
def test_category_deadlines(session: Session, category: ComplaintCategory, hours: int) -> None:
    """Each category's answer time applies when the complaint is not serious."""
    outcome = open_complaint(session, category=category, description="x", chat_id=8004, telegram_user_id=None,
                             tracking_number=None, now=NOW)
    assert not outcome.serious
    assert outcome.due_at == NOW + timedelta(hours=hours)
    assert not outcome.shipment_found


def test_loss_is_serious(session: Session) -> None:
    """A lost parcel is always serious and answered within 4 hours."""
    make_shipment(session, "XJ202611180202", ShipmentStatus.LOST)
    outcome = open_complaint(session, category=ComplaintCategory.LOSS, description="丢了", chat_id=8005,
                             telegram_user_id=None, tracking_number="XJ202611180202", now=NOW)
    assert outcome.serious and outcome.serious_reasons == ("loss",)
    assert outcome.due_at == NOW + timedelta(hours=4)
    assert outcome.complaint.serious is True


@pytest.mark.parametrize(
    ("declared", "serious"),
    [(Decimal("1000.00"), True), (Decimal("25000.00"), True), (Decimal("999.99"), False), (None, False)],
)
def test_damage_is_serious_from_the_high_value_line(session: Session, declared: Decimal | None,
                                                    serious: bool) -> None:
    """Damage counts as serious when the declared value reaches 1000 yuan, not below, not when undeclared."""
    make_shipment(session, "XJ202611180203", ShipmentStatus.DELIVERED, declared_value=declared)
    outcome = open_complaint(session, category=ComplaintCategory.DAMAGE, description="摔坏了", chat_id=8006,
                             telegram_user_id=None, tracking_number="XJ202611180203", now=NOW)
    assert outcome.serious is serious
    assert outcome.serious_reasons == (("high_value_damage",) if serious else ())
    assert outcome.due_at == NOW + timedelta(hours=4 if serious else 48)


def test_high_value_delay_is_not_serious(session: Session) -> None:
    """The value line is about damage: a delay of an expensive parcel follows the ordinary rule."""
    make_shipment(session, "XJ202611180204", ShipmentStatus.DELAYED, declared_value=Decimal("5000"))
    outcome = open_complaint(session, category=ComplaintCategory.DELAY, description="慢", chat_id=8007,
                             telegram_user_id=None, tracking_number="XJ202611180204", now=NOW)
    assert not outcome.serious


def test_repeat_on_the_same_parcel_within_the_window(session: Session) -> None:
    """A second complaint about one parcel within 30 days is serious; one after 31 days is not."""
    make_shipment(session, "XJ202611180205", ShipmentStatus.DELAYED)
    make_shipment(session, "XJ202611180206", ShipmentStatus.DELAYED)
    for number, earlier, expected in (("XJ202611180205", 29, True), ("XJ202611180206", 31, False)):
        open_complaint(session, category=ComplaintCategory.DELAY, description="first", chat_id=None,
                       telegram_user_id=None, tracking_number=number, now=NOW - timedelta(days=earlier))
        again = open_complaint(session, category=ComplaintCategory.DELAY, description="again", chat_id=None,
                               telegram_user_id=None, tracking_number=number, now=NOW)
        assert again.serious is expected
        assert again.serious_reasons == (("repeat",) if expected else ())
        assert again.due_at == NOW + timedelta(hours=4 if expected else 24)


def test_repeat_from_the_same_chat_or_customer(session: Session) -> None:
    """Complaints about different things still repeat when they come from one chat or one customer."""
    open_complaint(session, category=ComplaintCategory.BILLING, description="one", chat_id=8008,
                   telegram_user_id=None, tracking_number=None, now=NOW - timedelta(days=3))
    same_chat = open_complaint(session, category=ComplaintCategory.COURIER_CONDUCT, description="two", chat_id=8008,
                               telegram_user_id=None, tracking_number=None, now=NOW)
    assert same_chat.serious_reasons == ("repeat",)

    make_customer(session, "T200002", "+8613900000102", telegram_user_id=7101)
    open_complaint(session, category=ComplaintCategory.BILLING, description="one", chat_id=8009,
                   telegram_user_id=7101, tracking_number=None, now=NOW - timedelta(days=10))
    same_customer = open_complaint(session, category=ComplaintCategory.DELAY, description="two", chat_id=8010,
                                   telegram_user_id=7101, tracking_number=None, now=NOW)
    assert same_customer.serious_reasons == ("repeat",)

    unrelated = open_complaint(session, category=ComplaintCategory.DELAY, description="x", chat_id=8011,
                               telegram_user_id=None, tracking_number=None, now=NOW)
    assert not unrelated.serious


def test_complaints_about_one_senders_parcels_are_not_repeats(session: Session) -> None:
    """Unrelated recipients complaining about different parcels of one busy sender are not a repeat."""
    sender = make_customer(session, "T200008", "+8657100000108", kind=CustomerKind.COMPANY, name="网店")
    for index, number in enumerate(("XJ202611180209", "XJ202611180210")):
        make_shipment(session, number, ShipmentStatus.DELAYED, customer=sender)
        outcome = open_complaint(session, category=ComplaintCategory.DELAY, description="慢", chat_id=8100 + index,
                                 telegram_user_id=None, tracking_number=number, now=NOW + timedelta(hours=index))
        assert outcome.complaint.customer_id is None and sender.id is not None
        assert not outcome.serious


def test_top_tier_customer_is_serious(session: Session) -> None:
    """A tier-A customer's complaint is serious; the linked customer is the complaint's customer."""
    top = make_top_customer(session, "T200003", "+8613900000103", now=NOW)
    top.telegram_user_id = 7102
    ordinary = make_customer(session, "T200004", "+8613900000104")
    parcel = make_shipment(session, "XJ202611180207", ShipmentStatus.IN_TRANSIT, customer=ordinary)
    outcome = open_complaint(session, category=ComplaintCategory.DELAY, description="慢", chat_id=8012,
                             telegram_user_id=7102, tracking_number=parcel.tracking_number, now=NOW)
    assert outcome.serious_reasons == ("top_tier",)
    assert outcome.complaint.customer_id == top.id
    assert outcome.complaint.shipment_id == parcel.id


def test_reasons_combine_and_terms_are_adjustable(session: Session) -> None:
    """Several reasons are all reported in order; the company's terms can move the lines."""
    make_shipment(session, "XJ202611180208", ShipmentStatus.DELIVERED, declared_value=Decimal("600"))
    terms = ComplaintTerms(high_value_yuan=Decimal(500), serious_response_hours=2, repeat_window_days=7)
    first = open_complaint(session, category=ComplaintCategory.DAMAGE, description="a", chat_id=8013,
                           telegram_user_id=None, tracking_number="XJ202611180208", terms=terms,
                           now=NOW - timedelta(days=6))
    assert first.serious_reasons == ("high_value_damage",)
    second = open_complaint(session, category=ComplaintCategory.DAMAGE, description="b", chat_id=8013,
                            telegram_user_id=None, tracking_number="XJ202611180208", terms=terms, now=NOW)
    assert second.serious_reasons == ("high_value_damage", "repeat")
    assert second.due_at == NOW + timedelta(hours=2)


def test_unknown_parcel_is_still_filed(session: Session) -> None:
    """A number that matches nothing: the ticket exists without a parcel or customer."""
    outcome = open_complaint(session, category=ComplaintCategory.DELAY, description="?", chat_id=8014,
                             telegram_user_id=None, tracking_number="XJ209912319999", now=NOW)
    assert not outcome.shipment_found
    assert outcome.complaint.shipment_id is None and outcome.complaint.customer_id is None


def test_find_complaint_only_for_its_chat_or_customer(session: Session) -> None:
    """Filed in this chat or by the caller's customer: found; anyone else: the same None as an unknown code."""
    customer = make_customer(session, "T200005", "+8613900000105", telegram_user_id=7103)
    outcome = open_complaint(session, category=ComplaintCategory.DELAY, description="x", chat_id=8015,
                             telegram_user_id=7103, tracking_number=None, now=NOW)
    code = outcome.code
    lower = code.lower().replace("-", "")
    assert find_complaint(session, lower, chat_id=8015, telegram_user_id=None) is outcome.complaint
    assert find_complaint(session, code, chat_id=9999, telegram_user_id=7103) is outcome.complaint
    assert find_complaint(session, code, chat_id=9999, telegram_user_id=None) is None
    make_customer(session, "T200006", "+8613900000106", telegram_user_id=7104)
    assert find_complaint(session, code, chat_id=9998, telegram_user_id=7104) is None
    assert find_complaint(session, "C-999999", chat_id=8015, telegram_user_id=7103) is None
    assert find_complaint(session, "hello", chat_id=8015, telegram_user_id=7103) is None
    assert outcome.complaint.customer_id == customer.id


def test_recent_complaints_newest_first_and_visible_only(session: Session) -> None:
    """The caller's tickets from the chat and the linked customer, newest first, limited; strangers see none."""
    make_customer(session, "T200007", "+8613900000107", telegram_user_id=7105)
    codes = []
    for days, chat in ((5, 8016), (3, 8017), (1, 8016)):
        outcome = open_complaint(session, category=ComplaintCategory.BILLING, description="x", chat_id=chat,
                                 telegram_user_id=7105 if chat == 8017 else None, tracking_number=None,
                                 now=NOW - timedelta(days=days))
        codes.append(outcome.code)
    open_complaint(session, category=ComplaintCategory.BILLING, description="someone else", chat_id=8018,
                   telegram_user_id=None, tracking_number=None, now=NOW)
    mine = recent_complaints(session, chat_id=8016, telegram_user_id=7105)
    assert [c.code for c in mine] == [codes[2], codes[1], codes[0]]
    assert [c.code for c in recent_complaints(session, chat_id=8016, telegram_user_id=7105, limit=2)] == [
        codes[2], codes[1]
    ]
    assert [c.code for c in recent_complaints(session, chat_id=8017, telegram_user_id=None)] == [codes[1]]
    assert recent_complaints(session, chat_id=8019, telegram_user_id=None) == []
    assert recent_complaints(session, chat_id=None, telegram_user_id=None) == []


def test_workflow(session: Session) -> None:
    """open -> in_progress -> resolved (with a resolution) -> closed; closed is final; unknown codes refused."""
    outcome = open_complaint(session, category=ComplaintCategory.BILLING, description="x", chat_id=8020,
                             telegram_user_id=None, tracking_number=None, now=NOW)
    code = outcome.code
    assert advance(session, code, ComplaintStatus.IN_PROGRESS, now=NOW).status is ComplaintStatus.IN_PROGRESS
    resolved = advance(session, code, "resolved", resolution=" 已退款 ", now=NOW + timedelta(hours=3))
    assert resolved.status is ComplaintStatus.RESOLVED and resolved.resolution == "已退款"
    assert resolved.resolved_at is not None and as_utc(resolved.resolved_at) == NOW + timedelta(hours=3)
    reopened = advance(session, code, ComplaintStatus.IN_PROGRESS, now=NOW + timedelta(hours=4))
    assert reopened.resolved_at is None
    closed = advance(session, code, ComplaintStatus.CLOSED, now=NOW + timedelta(hours=5))
    assert closed.status is ComplaintStatus.CLOSED
    with pytest.raises(ComplaintError) as bad:
        advance(session, code, ComplaintStatus.OPEN)
    assert bad.value.key == "complaint_bad_transition"
    with pytest.raises(ComplaintError) as unknown:
        advance(session, "C-999999", ComplaintStatus.CLOSED)
    assert unknown.value.key == "complaint_unknown"



def test_a_strangers_complaint_is_not_put_on_the_owners_record(session: Session) -> None:
    """Complaints about a tier-A customer's parcel by an unlinked chat and by another linked customer: each is the
    reporter's ticket, none is on the owner's record or in the owner's list; the owner's tier still makes them
    serious (their parcel is as urgent whoever reports it)."""
    owner = make_top_customer(session, "T200009", "+8613900000109", now=NOW)
    owner.telegram_user_id = 7108
    other = make_customer(session, "T200010", "+8613900000110", telegram_user_id=7109)
    parcel = make_shipment(session, "XJ202611180211", ShipmentStatus.DELAYED, customer=owner)
    anonymous = open_complaint(session, category=ComplaintCategory.DELAY, description="慢", chat_id=8200,
                               telegram_user_id=None, tracking_number=parcel.tracking_number, now=NOW)
    linked = open_complaint(session, category=ComplaintCategory.DELAY, description="慢", chat_id=8201,
                            telegram_user_id=7109, tracking_number=parcel.tracking_number, now=NOW)
    assert (anonymous.complaint.customer_id, linked.complaint.customer_id) == (None, other.id)
    assert anonymous.complaint.shipment_id == linked.complaint.shipment_id == parcel.id
    assert anonymous.serious_reasons == ("top_tier",)
    assert recent_complaints(session, chat_id=7108, telegram_user_id=7108) == []
    assert [c.code for c in recent_complaints(session, chat_id=8200, telegram_user_id=None)] == [anonymous.code]
    assert find_complaint(session, anonymous.code, chat_id=7108, telegram_user_id=7108) is None


def test_promises_follow_the_staffed_hours_calendar(session: Session) -> None:
    """With the queue's calendar: a serious complaint at 03:38 is promised by 12:00 (08:00 + 4 staffed hours), not
    07:38; a day-long answer time never ends while nobody is on duty."""
    terms = ComplaintTerms(hours=parse_hours("08:00-22:00", "Asia/Shanghai"))
    night = datetime(2026, 11, 22, 19, 38, tzinfo=UTC)  # 03:38 in Shanghai
    make_shipment(session, "XJ202611180203", ShipmentStatus.LOST)
    serious = open_complaint(session, category=ComplaintCategory.LOSS, description="丢了", chat_id=8021,
                             telegram_user_id=None, tracking_number="XJ202611180203", terms=terms, now=night)
    assert serious.serious and serious.due_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert serious.due_at == terms.hours.deadline(night, timedelta(hours=4))  # type: ignore[union-attr]
    late = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30: 24 hours later is 22:30 again, after closing
    normal = open_complaint(session, category=ComplaintCategory.DELAY, description="慢", chat_id=8022,
                            telegram_user_id=None, tracking_number=None, terms=terms, now=late)
    assert not normal.serious and normal.due_at == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 08:00 on the 25th
