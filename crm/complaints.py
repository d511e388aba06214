"""Complaint tickets: open one (with its seriousness and response deadline), find it again, move it along.

Seriousness decides whether a human must look at the ticket right away; the caller opens that escalation
(crm.escalations.open_escalation with Reason.SERIOUS_COMPLAINT and the complaint id), this module only decides.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.hours import StaffedHours
from crm.identity import linked_customer
from crm.models import Complaint, ComplaintCategory, ComplaintStatus, Customer, Shipment
from crm.segments import customer_segment
from crm.tracking import find_shipment

CODE_PREFIX = "C-"
# Codes are 1000 + the row id: four digits from the first ticket on, and unique because ids are.
CODE_OFFSET = 1000
_CODE = re.compile(r"(?<![A-Za-z0-9])C\s*[-_#]?\s*(\d{4,12})(?!\d)", re.IGNORECASE)

# Serious reasons, in the order they are reported.
LOSS = "loss"
HIGH_VALUE_DAMAGE = "high_value_damage"
REPEAT = "repeat"
TOP_TIER = "top_tier"

# Hours until the first answer, per category, when the complaint is not serious. Delays, wrong deliveries and
# courier conduct are answered within a day (the parcel is usually still moving or the courier can be reached
# today); damage and loss need the claims desk to look at photos and the hub's records (two days); billing
# needs finance (three days). Loss is always serious, so its own figure applies only if the rule is changed.
DEFAULT_RESPONSE_HOURS: Mapping[ComplaintCategory, int] = MappingProxyType(
    {
        ComplaintCategory.DELAY: 24,
        ComplaintCategory.DAMAGE: 48,
        ComplaintCategory.LOSS: 48,
        ComplaintCategory.WRONG_DELIVERY: 24,
        ComplaintCategory.COURIER_CONDUCT: 24,
        ComplaintCategory.BILLING: 72,
    }
)

# Allowed status changes: resolved may be reopened (the customer is not satisfied); closed is final.
_OPEN, _WORKING, _RESOLVED, _CLOSED = (
    ComplaintStatus.OPEN,
    ComplaintStatus.IN_PROGRESS,
    ComplaintStatus.RESOLVED,
    ComplaintStatus.CLOSED,
)
TRANSITIONS: Mapping[ComplaintStatus, frozenset[ComplaintStatus]] = MappingProxyType(
    {
        _OPEN: frozenset({_WORKING, _RESOLVED, _CLOSED}),
        _WORKING: frozenset({_RESOLVED, _CLOSED}),
        _RESOLVED: frozenset({_WORKING, _CLOSED}),
        _CLOSED: frozenset(),
    }
)


@dataclass(frozen=True)
class ComplaintTerms:
    """The company's complaint rules: what is serious and how soon each kind of complaint is answered."""

    high_value_yuan: Decimal = Decimal(1000)
    repeat_window_days: int = 30
    response_hours: Mapping[ComplaintCategory, int] = field(default_factory=lambda: DEFAULT_RESPONSE_HOURS)
    serious_response_hours: int = 4
    # The staffed-hours calendar of the human queue (QueuePolicy.hours); None counts plain clock hours.
    hours: StaffedHours | None = None

    def hours_for(self, category: ComplaintCategory, *, serious: bool) -> int:
        """Hours until the first answer is due."""
        if serious:
            return self.serious_response_hours
        return self.response_hours.get(category, DEFAULT_RESPONSE_HOURS[category])

    def due(self, now: datetime, category: ComplaintCategory, *, serious: bool) -> datetime:
        """When the first answer is due, from the same calendar as the queue notices.

        A serious complaint promises a person within a few staffed hours (at night: counted from the opening). A
        day or more is counted in days, but never lands while nobody is on duty (moved to the next opening).
        """
        within = timedelta(hours=self.hours_for(category, serious=serious))
        if self.hours is None:
            return now + within
        if serious:
            return self.hours.deadline(now, within)
        return self.hours.next_opening(now + within)


@dataclass(frozen=True)
class ComplaintOutcome:
    """A new ticket and what the customer is told: its code, whether it is serious, when they hear back."""

    complaint: Complaint
    code: str
    serious: bool
    serious_reasons: tuple[str, ...]
    due_at: datetime
    shipment_found: bool


class ComplaintError(Exception):
    """A complaint operation that cannot be done; `key` names the reason for the caller's texts."""

    def __init__(self, key: str) -> None:
        """Keep the key (complaint_unknown, complaint_bad_transition)."""
        super().__init__(key)
        self.key = key


def format_code(complaint_id: int) -> str:
    """The ticket code of a row id: 42 -> 'C-1042'."""
    return f"{CODE_PREFIX}{CODE_OFFSET + complaint_id}"


def normalize_code(raw: str | None) -> str | None:
    """The complaint code in a text: 'c1042', 'C 1042', 'c-1042', full-width, '投诉单C-1042' -> 'C-1042'; else None."""
    if not raw:
        return None
    match = _CODE.search(unicodedata.normalize("NFKC", raw))
    if match is None:
        return None
    number = int(match.group(1))
    return f"{CODE_PREFIX}{number}" if number > CODE_OFFSET else None


def _serious_reasons(
    session: Session,
    *,
    category: ComplaintCategory,
    shipment: Shipment | None,
    customer: Customer | None,
    complainant: Customer | None,
    chat_id: int | None,
    terms: ComplaintTerms,
    now: datetime,
) -> tuple[str, ...]:
    """Why a new complaint is serious (empty when it is not).

    `customer` is whose tier counts (the complainant, else the parcel's account holder); `complainant` only the
    caller's linked customer: a busy sender's parcels draw complaints from many unrelated recipients, which are
    not repeats of each other.
    """
    reasons: list[str] = []
    if category is ComplaintCategory.LOSS:
        reasons.append(LOSS)
    if (
        category is ComplaintCategory.DAMAGE
        and shipment is not None
        and shipment.declared_value is not None
        and shipment.declared_value >= terms.high_value_yuan
    ):
        reasons.append(HIGH_VALUE_DAMAGE)
    same_source: list[ColumnElement[bool]] = []
    if shipment is not None:
        same_source.append(Complaint.shipment_id == shipment.id)
    if complainant is not None:
        same_source.append(Complaint.customer_id == complainant.id)
    if chat_id is not None:
        same_source.append(Complaint.chat_id == chat_id)
    if same_source:
        since = now - timedelta(days=terms.repeat_window_days)
        earlier = session.scalar(
            select(Complaint.id).where(or_(*same_source), Complaint.created_at >= since).limit(1)
        )
        if earlier is not None:
            reasons.append(REPEAT)
    if customer is not None and customer_segment(session, customer.id, now=now).tier == "A":
        reasons.append(TOP_TIER)
    return tuple(reasons)


def open_complaint(
    session: Session,
    *,
    category: ComplaintCategory,
    description: str,
    chat_id: int | None,
    telegram_user_id: int | None,
    tracking_number: str | None,
    photo_file_id: str | None = None,
    language: str = "zh",
    terms: ComplaintTerms = ComplaintTerms(),
    now: datetime | None = None,
) -> ComplaintOutcome:
    """File a complaint: find the parcel and customer, decide seriousness and the answer deadline, give a code.

    The ticket belongs to whoever filed it: the caller's linked customer, else only the reporting chat. A
    stranger's complaint about someone's parcel names the parcel but is never put on the parcel owner's customer
    record (their profile, complaint history and what staff read about them). The owner's tier still counts for
    seriousness: their parcel is as urgent whoever reports it. The code derives from the row id after a flush
    (see format_code), so two processes filing at once can never collide.
    Does not open the escalation for a serious complaint: the caller does.
    """
    now = now or utcnow()
    category = ComplaintCategory(category)
    shipment = find_shipment(session, tracking_number) if tracking_number and tracking_number.strip() else None
    complainant = linked_customer(session, telegram_user_id)
    customer = complainant
    tiered = complainant
    if tiered is None and shipment is not None and shipment.customer_id is not None:
        tiered = session.get(Customer, shipment.customer_id)
    reasons = _serious_reasons(
        session, category=category, shipment=shipment, customer=tiered, complainant=complainant,
        chat_id=chat_id, terms=terms, now=now,
    )
    serious = bool(reasons)
    due_at = terms.due(now, category, serious=serious)
    complaint = Complaint(
        # A unique placeholder until the id is known (the column is NOT NULL and unique).
        code=f"new-{uuid.uuid4().hex[:12]}",
        customer_id=customer.id if customer else None,
        shipment_id=shipment.id if shipment else None,
        chat_id=chat_id,
        category=category,
        description=description.strip(),
        photo_file_id=photo_file_id,
        status=ComplaintStatus.OPEN,
        serious=serious,
        language=language,
        due_at=due_at,
        created_at=now,
        updated_at=now,
    )
    session.add(complaint)
    session.flush()
    complaint.code = format_code(complaint.id)
    session.flush()
    return ComplaintOutcome(complaint, complaint.code, serious, reasons, due_at, shipment is not None)


def _visible(complaint: Complaint, chat_id: int | None, customer: Customer | None) -> bool:
    """A complaint is shown in the chat it was filed in, and to its customer's linked Telegram account."""
    if chat_id is not None and complaint.chat_id == chat_id:
        return True
    return customer is not None and complaint.customer_id == customer.id


def find_complaint(
    session: Session, code: str, *, chat_id: int | None, telegram_user_id: int | None
) -> Complaint | None:
    """The complaint with this code if the caller may see it; else None, exactly like an unknown code."""
    normalized = normalize_code(code)
    if normalized is None:
        return None
    complaint = session.scalars(select(Complaint).where(Complaint.code == normalized)).one_or_none()
    if complaint is None or not _visible(complaint, chat_id, linked_customer(session, telegram_user_id)):
        return None
    return complaint


def recent_complaints(
    session: Session, *, chat_id: int | None, telegram_user_id: int | None, limit: int = 5
) -> list[Complaint]:
    """The caller's complaints (filed in this chat or their linked customer's), newest first."""
    customer = linked_customer(session, telegram_user_id)
    conditions: list[ColumnElement[bool]] = []
    if chat_id is not None:
        conditions.append(Complaint.chat_id == chat_id)
    if customer is not None:
        conditions.append(Complaint.customer_id == customer.id)
    if not conditions or limit <= 0:
        return []
    statement = (
        select(Complaint)
        .where(or_(*conditions))
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def advance(
    session: Session,
    code: str,
    status: ComplaintStatus | str,
    resolution: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Move a complaint along its workflow (staff and command-line use; no visibility check)."""
    now = now or utcnow()
    status = ComplaintStatus(status)
    normalized = normalize_code(code)
    complaint = (
        session.scalars(select(Complaint).where(Complaint.code == normalized)).one_or_none() if normalized else None
    )
    if complaint is None:
        raise ComplaintError("complaint_unknown")
    if status not in TRANSITIONS[complaint.status]:
        raise ComplaintError("complaint_bad_transition")
    complaint.status = status
    if status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        complaint.resolved_at = complaint.resolved_at or now
    else:
        complaint.resolved_at = None
    if resolution is not None and resolution.strip():
        complaint.resolution = resolution.strip()
    complaint.updated_at = now
    session.flush()
    return complaint
