"""The complaint desk: staff list, read, take, note, message, resolve and reject tickets; the customer answers.

Every rule about handling a ticket lives here; the bot's /complaints (bot/complaintdesk.py) and
`parceldesk complaints` only translate. Who may act: the assignee, or a supervisor, manager or admin; an agent
takes a ticket first (an atomic conditional UPDATE, like crm.escalations.claim). Resolving or rejecting queues the
outcome for the customer (the bot's job tells them, exactly once, even after a restart or a resolve from the
command line); a customer who answers "not resolved" reopens the ticket with a new due time. The due watch says
which tickets need a reminder to the assignee and which an alert to supervisors. Card views and changes are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from core.clock import as_utc, utcnow
from crm import audit, deskinput
from crm.chats import reply_language
from crm.complaints import ComplaintError, ComplaintTerms, advance, normalize_code
from crm.models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintStatus,
    Customer,
    EventKind,
    Shipment,
    ShipmentStatus,
    Staff,
    StaffRole,
    TrackingEvent,
)
from crm.segments import customer_segment
from crm.staff import staff_member

ACTIVE = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)
# Roles that may act on tickets someone else holds (or nobody does): they answer for the desk.
ACTING_ROLES = (StaffRole.SUPERVISOR, StaffRole.MANAGER, StaffRole.ADMIN)
TICKETS_SHOWN = 10
PAST_COMPLAINTS = 5
TIMELINE_SCANS = 12
# Telegram's message limit is 4,096; a relayed note to a customer is meant to be short.
MESSAGE_LIMIT = 1000
MAX_COMPENSATION = Decimal("100000")


class DeskError(Exception):
    """A desk operation that cannot be done; `key` names the reason for the caller's texts."""

    def __init__(self, key: str) -> None:
        """Keep the key (complaint_unknown, complaint_not_yours, complaint_take_first, …)."""
        super().__init__(key)
        self.key = key


# ---------------------------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class DeskFilter:
    """Which open tickets a staff member asked for: all, theirs, nobody's, and/or one category."""

    mine: bool = False
    unassigned: bool = False
    category: ComplaintCategory | None = None

    @property
    def key(self) -> str:
        """A short name for buttons and commands: all, mine, unassigned or the category's value."""
        if self.category is not None:
            return self.category.value
        return "mine" if self.mine else "unassigned" if self.unassigned else "all"

    @classmethod
    def parse(cls, raw: str | None) -> DeskFilter | None:
        """A filter from its key (mine, unassigned, all, a category value, in any case); None if unknown."""
        value = (raw or "all").strip().lower()
        if value in ("all", ""):
            return cls()
        if value == "mine":
            return cls(mine=True)
        if value == "unassigned":
            return cls(unassigned=True)
        try:
            return cls(category=ComplaintCategory(value))
        except ValueError:
            return None


@dataclass(frozen=True)
class TicketLine:
    """One open ticket in a list, detached from the session."""

    id: int
    code: str
    category: ComplaintCategory
    status: ComplaintStatus
    serious: bool
    due_at: datetime | None
    assignee_name: str | None
    reopened_count: int

    def overdue(self, now: datetime) -> bool:
        """Whether the due time has passed."""
        return self.due_at is not None and self.due_at <= now


def open_tickets(
    session: Session, desk_filter: DeskFilter, *, member: Staff | None = None, limit: int = TICKETS_SHOWN
) -> tuple[list[TicketLine], int]:
    """Open tickets by urgency (overdue first, then due soonest, serious first) and how many match in all."""
    conditions = [Complaint.status.in_(ACTIVE)]
    if desk_filter.mine:
        conditions.append(Complaint.assigned_to_id == (member.id if member is not None else -1))
    if desk_filter.unassigned:
        conditions.append(Complaint.assigned_to_id.is_(None))
    if desk_filter.category is not None:
        conditions.append(Complaint.category == desk_filter.category)
    total = session.scalar(select(func.count(Complaint.id)).where(*conditions)) or 0
    # Sorting by the due time puts the overdue ones first, most overdue at the top; tickets without a due time
    # (none are opened that way, but old rows may lack one) go last; serious ones first on equal due times.
    rows = session.execute(
        select(Complaint, Staff.name)
        .outerjoin(Staff, Staff.id == Complaint.assigned_to_id)
        .where(*conditions)
        .order_by(
            case((Complaint.due_at.is_(None), 1), else_=0), Complaint.due_at, Complaint.serious.desc(), Complaint.id
        )
        .limit(limit)
    ).all()
    lines = [
        TicketLine(
            c.id, c.code, c.category, c.status, c.serious, as_utc(c.due_at) if c.due_at else None, name,
            c.reopened_count,
        )
        for c, name in rows
    ]
    return lines, int(total)


def find_ticket(session: Session, code_or_id: str | int) -> Complaint | None:
    """A ticket by its code ('C-1042', 'c1042') or row id (staff tools: no visibility rule)."""
    if isinstance(code_or_id, int):
        return session.get(Complaint, code_or_id)
    code = normalize_code(code_or_id)
    if code is None:
        return None
    return session.scalars(select(Complaint).where(Complaint.code == code)).one_or_none()


# ---------------------------------------------------------------------------------------------- the card


@dataclass(frozen=True)
class Scan:
    """One step of the parcel's timeline."""

    occurred_at: datetime
    kind: EventKind
    place_zh: str
    place_en: str
    reason: str | None
    courier: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One entry in the ticket's history."""

    kind: ComplaintEventKind
    staff_name: str | None
    body: str | None
    file_id: str | None
    amount: Decimal | None
    created_at: datetime


@dataclass(frozen=True)
class PastComplaint:
    """Another complaint of the same customer."""

    code: str
    category: ComplaintCategory
    status: ComplaintStatus
    created_at: datetime


@dataclass(frozen=True)
class Ticket:
    """Everything a ticket card shows, detached from the session."""

    id: int
    code: str
    category: ComplaintCategory
    status: ComplaintStatus
    serious: bool
    language: str
    description: str
    photo_file_id: str | None
    created_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    compensation: Decimal | None
    rejected: bool
    satisfied: bool | None
    reopened_count: int
    chat_id: int | None
    assignee_id: int | None
    assignee_name: str | None
    assignee_telegram_id: int | None
    customer_name: str | None
    customer_code: str | None
    customer_city: str | None
    tier: str | None
    shipments_last_year: int
    past: tuple[PastComplaint, ...]
    tracking_number: str | None
    shipment_status: ShipmentStatus | None
    timeline: tuple[Scan, ...]
    history: tuple[HistoryEntry, ...]

    @property
    def photos(self) -> list[str]:
        """File ids of the photos on the ticket: the customer's complaint photo, then any sent later."""
        found = [self.photo_file_id] if self.photo_file_id else []
        found += [entry.file_id for entry in self.history if entry.file_id and entry.file_id not in found]
        return found

    def overdue(self, now: datetime) -> bool:
        """Whether the ticket is open past its due time."""
        return self.status in ACTIVE and self.due_at is not None and self.due_at <= now


def ticket(session: Session, complaint_id: int, *, now: datetime | None = None) -> Ticket:
    """The card of a ticket: the complaint, its customer's tier and history, the parcel's timeline, the log."""
    now = now or utcnow()
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise DeskError("complaint_unknown")
    assignee = session.get(Staff, complaint.assigned_to_id) if complaint.assigned_to_id else None
    customer = session.get(Customer, complaint.customer_id) if complaint.customer_id else None
    segment = customer_segment(session, customer.id, now=now) if customer is not None else None
    past: list[PastComplaint] = []
    if customer is not None:
        past = [
            PastComplaint(c.code, c.category, c.status, as_utc(c.created_at))
            for c in session.scalars(
                select(Complaint)
                .where(Complaint.customer_id == customer.id, Complaint.id != complaint.id)
                .order_by(Complaint.id.desc())
                .limit(PAST_COMPLAINTS)
            )
        ]
    shipment = session.get(Shipment, complaint.shipment_id) if complaint.shipment_id else None
    timeline: list[Scan] = []
    if shipment is not None:
        events = session.scalars(
            select(TrackingEvent)
            .where(TrackingEvent.shipment_id == shipment.id)
            .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
            .limit(TIMELINE_SCANS)
        ).all()
        timeline = [
            Scan(as_utc(e.occurred_at), e.kind, e.place_zh, e.place_en, e.reason, e.courier) for e in reversed(events)
        ]
    names: dict[int, str] = {row.id: row.name for row in session.execute(select(Staff.id, Staff.name))}
    history = [
        HistoryEntry(e.kind, names.get(e.staff_id) if e.staff_id else None, e.body, e.file_id, e.amount_yuan,
                     as_utc(e.created_at))
        for e in session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id)
        )
    ]
    return Ticket(
        id=complaint.id,
        code=complaint.code,
        category=complaint.category,
        status=complaint.status,
        serious=complaint.serious,
        language=complaint.language,
        description=complaint.description,
        photo_file_id=complaint.photo_file_id,
        created_at=as_utc(complaint.created_at),
        due_at=as_utc(complaint.due_at) if complaint.due_at else None,
        resolved_at=as_utc(complaint.resolved_at) if complaint.resolved_at else None,
        resolution=complaint.resolution,
        compensation=complaint.compensation_yuan,
        rejected=complaint.rejected,
        satisfied=complaint.satisfied,
        reopened_count=complaint.reopened_count,
        chat_id=customer_chat(session, complaint),
        assignee_id=assignee.id if assignee else None,
        assignee_name=assignee.name if assignee else None,
        assignee_telegram_id=assignee.telegram_user_id if assignee else None,
        customer_name=customer.name if customer else None,
        customer_code=customer.code if customer else None,
        customer_city=customer.city if customer else None,
        tier=segment.tier if segment else None,
        shipments_last_year=segment.shipments if segment else 0,
        past=tuple(past),
        tracking_number=shipment.tracking_number if shipment else None,
        shipment_status=shipment.status if shipment else None,
        timeline=tuple(timeline),
        history=tuple(history),
    )


@dataclass(frozen=True)
class TicketRefused:
    """A staff member may not open this ticket's card (the attempt is audited); `key` names the text."""

    complaint_id: int
    code: str
    key: str = "desk_card_not_yours"


def may_view_ticket(complaint: Complaint, member: Staff | None) -> bool:
    """Least privilege on cards: supervisors, managers and admins (and the command line, None) open any; an agent
    only a ticket assigned to them, or an open one nobody holds (to Take it)."""
    if member is None:
        return True
    if not member.active:
        return False
    if member.role in ACTING_ROLES or complaint.assigned_to_id == member.id:
        return True
    return complaint.assigned_to_id is None and complaint.status in ACTIVE


def ticket_subject(complaint: Complaint) -> tuple[str, object]:
    """Whom a card is about, for the audit trail: the customer record, else the reporting chat, else the ticket."""
    if complaint.customer_id is not None:
        return "customer", complaint.customer_id
    if complaint.chat_id is not None:
        return "chat", complaint.chat_id
    return "complaint", complaint.code


def view_ticket(
    session: Session, complaint_id: int, member: Staff | None, *, now: datetime | None = None
) -> Ticket | TicketRefused:
    """The card of a ticket for a staff member (None: the command line), or a refusal; either way an audit entry
    with the customer as its subject (`parceldesk desk audit --customer` finds it)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise DeskError("complaint_unknown")
    subject_kind, subject_id = ticket_subject(complaint)
    if not may_view_ticket(complaint, member):
        # Returned, not raised: the caller's transaction must commit so the refusal stays on record.
        audit.record(
            session, action=audit.COMPLAINT_DENIED, subject_kind=subject_kind, subject_id=subject_id,
            details={"complaint": complaint.code, "reason": "not_holder"}, **_actor(member),
        )
        return TicketRefused(complaint.id, complaint.code)
    card = ticket(session, complaint_id, now=now)
    audit.record(
        session, action=audit.COMPLAINT_VIEW, subject_kind=subject_kind, subject_id=subject_id,
        details={"complaint": card.code, "customer": card.customer_code}, **_actor(member),
    )
    return card


def customer_chat(session: Session, complaint: Complaint) -> int | None:
    """Where the customer is told things: the chat the complaint came from, else their linked Telegram account."""
    if complaint.chat_id is not None:
        return complaint.chat_id
    if complaint.customer_id is None:
        return None
    customer = session.get(Customer, complaint.customer_id)
    return customer.telegram_user_id if customer is not None else None


# ---------------------------------------------------------------------------------------------- taking


@dataclass(frozen=True)
class TakeOutcome:
    """Pressing Take: won, or who has it (or why it cannot be taken)."""

    won: bool
    code: str | None
    holder_name: str | None
    problem: str | None = None  # not_staff, missing, closed, taken


def take(session: Session, complaint_id: int, telegram_user_id: int, *, now: datetime | None = None) -> TakeOutcome:
    """Assign an open ticket to the presser atomically: of two staff pressing at once exactly one wins."""
    now = now or utcnow()
    member = staff_member(session, telegram_user_id)
    if member is None:
        return TakeOutcome(False, None, None, "not_staff")
    result = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.assigned_to_id.is_(None), Complaint.status.in_(ACTIVE))
        .values(assigned_to_id=member.id, assigned_at=now, status=ComplaintStatus.IN_PROGRESS, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    complaint = session.get(Complaint, complaint_id, populate_existing=True)
    if complaint is None:
        return TakeOutcome(False, None, None, "missing")
    if result.rowcount != 1:
        holder = session.get(Staff, complaint.assigned_to_id) if complaint.assigned_to_id else None
        problem = "taken" if complaint.status in ACTIVE else "closed"
        return TakeOutcome(False, complaint.code, holder.name if holder else None, problem)
    _event(session, complaint, ComplaintEventKind.TAKEN, now, staff=member)
    _audit_change(session, complaint, member, "taken", {"assignee": member.name})
    return TakeOutcome(True, complaint.code, member.name)


def assign(
    session: Session, code: str, to_telegram_user_id: int, *, actor: Staff | None = None, force: bool = False,
    now: datetime | None = None,
) -> Complaint:
    """Give an open ticket to a staff member (the command line, or a supervisor); `force` takes it from its holder."""
    now = now or utcnow()
    complaint = find_ticket(session, code)
    if complaint is None:
        raise DeskError("complaint_unknown")
    if complaint.status not in ACTIVE:
        raise DeskError("complaint_not_open")
    target = staff_member(session, to_telegram_user_id)
    if target is None:
        raise DeskError("complaint_unknown_staff")
    if complaint.assigned_to_id is not None and complaint.assigned_to_id != target.id and not force:
        raise DeskError("complaint_taken")
    # The same conditional UPDATE as Take: a press at the same moment either wins before or sees this.
    condition = Complaint.assigned_to_id.is_(None) if not force else Complaint.id == complaint.id
    result = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint.id, Complaint.status.in_(ACTIVE), condition)
        .values(assigned_to_id=target.id, assigned_at=now, status=ComplaintStatus.IN_PROGRESS, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    complaint = session.get(Complaint, complaint.id, populate_existing=True)
    assert complaint is not None
    if result.rowcount != 1 and complaint.assigned_to_id != target.id:
        raise DeskError("complaint_taken")
    _event(session, complaint, ComplaintEventKind.ASSIGNED, now, staff=actor, body=target.name)
    _audit_change(session, complaint, actor, "assigned", {"assignee": target.name, "force": force})
    return complaint


# ---------------------------------------------------------------------------------------------- acting


def held(session: Session, complaint_id: int, member: Staff | None) -> Complaint:
    """A ticket this staff member may act on (theirs, or any for supervising roles; None = the command line)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise DeskError("complaint_unknown")
    if member is None or complaint.assigned_to_id == member.id or member.role in ACTING_ROLES:
        return complaint
    raise DeskError("complaint_take_first" if complaint.assigned_to_id is None else "complaint_not_yours")


def add_note(session: Session, complaint_id: int, member: Staff | None, text: str, *,
             now: datetime | None = None) -> Complaint:
    """An internal note on a ticket (any staff member; never shown to the customer)."""
    body = text.strip()
    if not body:
        raise DeskError("complaint_text_empty")
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise DeskError("complaint_unknown")
    _event(session, complaint, ComplaintEventKind.NOTE, now or utcnow(), staff=member, body=body)
    return complaint


@dataclass(frozen=True)
class Outreach:
    """Where and in which language a message about a ticket reaches its customer."""

    complaint_id: int
    code: str
    chat_id: int
    language: str


def outreach(session: Session, complaint_id: int, member: Staff | None) -> Outreach:
    """The customer's chat and language for a staff message about a ticket (the holder's, or a supervisor's)."""
    complaint = held(session, complaint_id, member)
    chat_id = customer_chat(session, complaint)
    if chat_id is None:
        raise DeskError("complaint_no_chat")
    return Outreach(complaint.id, complaint.code, chat_id, reply_language(session, chat_id, None,
                                                                          fallback=complaint.language))


def record_message(session: Session, complaint_id: int, member: Staff | None, text: str, *,
                   now: datetime | None = None) -> None:
    """Log a message the customer was sent about their ticket (after Telegram took it)."""
    complaint = held(session, complaint_id, member)
    _event(session, complaint, ComplaintEventKind.MESSAGE, now or utcnow(), staff=member, body=text)


def parse_amount(raw: str) -> Decimal | None:
    """A compensation amount as staff type it ('50', '¥50', '50元', '50.5 yuan'); None if it is not one."""
    cleaned = raw.strip().lower().replace(",", "").replace("，", "")
    for mark in ("¥", "￥", "rmb", "cny", "yuan", "元", "块"):
        cleaned = cleaned.replace(mark, "")
    try:
        amount = Decimal(cleaned.strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_COMPENSATION:
        return None
    return amount.quantize(Decimal("0.01"))


def resolve(
    session: Session, complaint_id: int, member: Staff | None, result: str, *, compensation: Decimal | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Resolve a ticket with the result (and compensation) the customer is told; they are then asked to confirm."""
    now = now or utcnow()
    body = result.strip()
    if not body:
        raise DeskError("complaint_text_empty")
    if compensation is not None and (compensation < 0 or compensation > MAX_COMPENSATION):
        raise DeskError("complaint_bad_amount")
    complaint = held(session, complaint_id, member)
    if complaint.status not in ACTIVE:
        raise DeskError("complaint_not_open")
    _move(session, complaint, ComplaintStatus.RESOLVED, body, now)
    complaint.rejected = False
    complaint.compensation_yuan = compensation
    _finish(complaint, member, now)
    _event(session, complaint, ComplaintEventKind.RESOLVED, now, staff=member, body=body, amount=compensation)
    _audit_change(session, complaint, member, "resolved",
                  {"compensation": str(compensation) if compensation is not None else None})
    return complaint


def reject(session: Session, complaint_id: int, member: Staff | None, reason: str, *,
           now: datetime | None = None) -> Complaint:
    """Close a ticket without upholding it; the customer is told the reason."""
    now = now or utcnow()
    body = reason.strip()
    if not body:
        raise DeskError("complaint_text_empty")
    complaint = held(session, complaint_id, member)
    if complaint.status not in ACTIVE:
        raise DeskError("complaint_not_open")
    _move(session, complaint, ComplaintStatus.CLOSED, body, now)
    complaint.rejected = True
    complaint.compensation_yuan = None
    _finish(complaint, member, now)
    _event(session, complaint, ComplaintEventKind.REJECTED, now, staff=member, body=body)
    _audit_change(session, complaint, member, "rejected", {"reason": body[:200]})
    return complaint


def _move(session: Session, complaint: Complaint, status: ComplaintStatus, resolution: str | None,
          now: datetime) -> None:
    """Change the status through the complaint workflow (crm.complaints.advance checks the transition)."""
    try:
        advance(session, complaint.code, status, resolution=resolution, now=now)
    except ComplaintError as exc:
        raise DeskError("complaint_not_open") from exc


def _finish(complaint: Complaint, member: Staff | None, now: datetime) -> None:
    """Record who ended the ticket and queue the outcome for the customer (asked afresh whether it is resolved)."""
    complaint.resolved_by_id = member.id if member is not None else None
    if complaint.assigned_to_id is None and member is not None:
        complaint.assigned_to_id, complaint.assigned_at = member.id, now
    complaint.outcome_queued_at = now
    complaint.outcome_sent_at = None
    complaint.satisfied = None
    complaint.answered_at = None


# ---------------------------------------------------------------------------------------------- telling the customer


@dataclass(frozen=True)
class Outcome:
    """A ticket's outcome the customer must be told."""

    complaint_id: int
    code: str
    category: ComplaintCategory
    chat_id: int | None
    language: str
    rejected: bool
    result: str
    compensation: Decimal | None


def outcomes_to_tell(session: Session, *, limit: int = 50) -> list[Outcome]:
    """Resolved or rejected tickets whose customer was not told yet, oldest first."""
    rows = session.scalars(
        select(Complaint)
        .where(Complaint.outcome_queued_at.is_not(None), Complaint.outcome_sent_at.is_(None))
        .order_by(Complaint.outcome_queued_at, Complaint.id)
        .limit(limit)
    ).all()
    told: list[Outcome] = []
    for complaint in rows:
        chat_id = customer_chat(session, complaint)
        language = reply_language(session, chat_id, None, fallback=complaint.language) if chat_id else (
            complaint.language
        )
        told.append(Outcome(complaint.id, complaint.code, complaint.category, chat_id, language, complaint.rejected,
                            complaint.resolution or "", complaint.compensation_yuan))
    return told


def mark_outcome(session: Session, complaint_id: int, *, delivered: bool, detail: str | None = None,
                 now: datetime | None = None) -> None:
    """Record that the outcome reached the customer (or could not, for good): it is not sent again."""
    now = now or utcnow()
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        return
    complaint.outcome_sent_at = now
    kind = ComplaintEventKind.OUTCOME_SENT if delivered else ComplaintEventKind.OUTCOME_FAILED
    _event(session, complaint, kind, now, body=detail)


@dataclass(frozen=True)
class Answer:
    """The customer's answer to "is this resolved?" and who must hear about a "no"."""

    counted: bool
    complaint_id: int
    code: str
    satisfied: bool
    assignee_telegram_id: int | None
    assignee_name: str | None
    due_at: datetime | None


def answer_outcome(
    session: Session, complaint_id: int, chat_id: int, satisfied: bool, *, terms: ComplaintTerms | None = None,
    words_minutes: int = deskinput.INPUT_MINUTES, now: datetime | None = None,
) -> Answer:
    """Yes closes the ticket; No reopens it with a new due time and waits for the customer's words (once each)."""
    now = now or utcnow()
    terms = terms or ComplaintTerms()
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or customer_chat(session, complaint) != chat_id:
        return Answer(False, complaint_id, complaint.code if complaint else "", satisfied, None, None, None)
    # Conditional, like Take: a double press (or a press on an old message) counts once.
    result = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.status == ComplaintStatus.RESOLVED,
               Complaint.satisfied.is_(None), Complaint.outcome_sent_at.is_not(None))
        .values(satisfied=satisfied, answered_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    complaint = session.get(Complaint, complaint_id, populate_existing=True)
    assert complaint is not None
    assignee = session.get(Staff, complaint.assigned_to_id) if complaint.assigned_to_id else None
    if result.rowcount != 1:
        return Answer(False, complaint.id, complaint.code, satisfied, None, None, None)
    if satisfied:
        _move(session, complaint, ComplaintStatus.CLOSED, None, now)
        _event(session, complaint, ComplaintEventKind.CONFIRMED, now)
    else:
        _move(session, complaint, ComplaintStatus.IN_PROGRESS, None, now)
        complaint.reopened_count += 1
        complaint.due_at = now + timedelta(hours=terms.hours_for(complaint.category, serious=complaint.serious))
        complaint.due_reminded_at = None
        complaint.due_alerted_at = None
        complaint.outcome_queued_at = None
        _event(session, complaint, ComplaintEventKind.REOPENED, now)
        deskinput.expect(session, chat_id, deskinput.REOPEN_WORDS, complaint.id, minutes=words_minutes, now=now)
    return Answer(True, complaint.id, complaint.code, satisfied, assignee.telegram_user_id if assignee else None,
                  assignee.name if assignee else None, as_utc(complaint.due_at) if complaint.due_at else None)


@dataclass(frozen=True)
class Words:
    """What a customer wrote about a reopened ticket, for its assignee."""

    complaint_id: int
    code: str
    content_kind: str
    text: str | None
    file_id: str | None
    assignee_telegram_id: int | None


def attach_words(
    session: Session, chat_id: int, *, content_kind: str, text: str | None, file_id: str | None,
    now: datetime | None = None,
) -> Words | None:
    """Attach the customer's next message after "not resolved" to the reopened ticket (None if none awaited)."""
    now = now or utcnow()
    awaited = deskinput.pending(session, chat_id, now=now)
    if awaited is None or awaited.kind != deskinput.REOPEN_WORDS:
        return None
    deskinput.clear(session, chat_id)
    complaint = session.get(Complaint, awaited.complaint_id)
    if complaint is None:
        return None
    _event(session, complaint, ComplaintEventKind.CUSTOMER_WORDS, now, body=text, file_id=file_id)
    assignee = session.get(Staff, complaint.assigned_to_id) if complaint.assigned_to_id else None
    return Words(complaint.id, complaint.code, content_kind, text, file_id,
                 assignee.telegram_user_id if assignee else None)


# ---------------------------------------------------------------------------------------------- due watch


@dataclass(frozen=True)
class DueAction:
    """A ticket near or past its due time: remind its assignee, or alert supervisors."""

    complaint_id: int
    code: str
    kind: str  # remind, alert
    category: ComplaintCategory
    serious: bool
    due_at: datetime
    assignee_telegram_id: int | None
    assignee_name: str | None


def due_actions(session: Session, *, remind_minutes: int, now: datetime | None = None) -> list[DueAction]:
    """Open tickets due within remind_minutes (remind once) or past due (alert supervisors once)."""
    now = now or utcnow()
    horizon = now + timedelta(minutes=remind_minutes)
    rows = session.execute(
        select(Complaint, Staff)
        .outerjoin(Staff, Staff.id == Complaint.assigned_to_id)
        .where(
            Complaint.status.in_(ACTIVE),
            Complaint.due_at.is_not(None),
            Complaint.due_at <= horizon,
            Complaint.due_alerted_at.is_(None),
        )
        .order_by(Complaint.due_at, Complaint.id)
    ).all()
    actions: list[DueAction] = []
    for complaint, assignee in rows:
        due = as_utc(complaint.due_at)
        if now >= due:
            kind = "alert"
        elif complaint.due_reminded_at is None:
            kind = "remind"
        else:
            continue
        actions.append(DueAction(complaint.id, complaint.code, kind, complaint.category, complaint.serious, due,
                                 assignee.telegram_user_id if assignee else None, assignee.name if assignee else None))
    return actions


def mark_due(session: Session, complaint_id: int, kind: str, *, now: datetime | None = None) -> None:
    """Record that a due reminder or alert was sent (once, even across restarts)."""
    now = now or utcnow()
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        return
    if kind == "remind":
        complaint.due_reminded_at = now
        _event(session, complaint, ComplaintEventKind.REMINDED, now)
    else:
        complaint.due_alerted_at = now
        complaint.due_reminded_at = complaint.due_reminded_at or now
        _event(session, complaint, ComplaintEventKind.ALERTED, now)


# ---------------------------------------------------------------------------------------------- shared


def _event(
    session: Session, complaint: Complaint, kind: ComplaintEventKind, now: datetime, *, staff: Staff | None = None,
    body: str | None = None, file_id: str | None = None, amount: Decimal | None = None,
) -> ComplaintEvent:
    """Append one entry to a ticket's history."""
    event = ComplaintEvent(complaint_id=complaint.id, kind=kind, staff_id=staff.id if staff else None, body=body,
                           file_id=file_id, amount_yuan=amount, created_at=now)
    session.add(event)
    session.flush()
    return event


def _actor(member: Staff | None) -> dict[str, object]:
    """Audit actor fields for a staff member (None = the command line)."""
    if member is None:
        return {}
    return {"actor_telegram_user_id": member.telegram_user_id, "actor": member.name}


def _audit_change(session: Session, complaint: Complaint, member: Staff | None, change: str,
                  details: dict[str, object]) -> None:
    """Audit a change to a ticket (take, assign, resolve, reject)."""
    audit.record(
        session, action=audit.COMPLAINT_CHANGE, subject_kind="complaint", subject_id=complaint.code,
        details={"change": change, **details}, **_actor(member),  # type: ignore[arg-type]
    )

