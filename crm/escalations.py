"""The human agent queue: open (or add to) escalations, rank them, claim, transfer, note, resolve, rate, SLA.

Every decision about the queue lives here; the bot and the action server only translate. State is in the
database (deadlines, announcements, reminders, who holds what), so any process may restart at any time.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import as_utc, utcnow
from core.hours import StaffedHours, parse_hours
from core.settings import Settings
from crm import chatlog
from crm.models import (
    Chat,
    ChatMessage,
    Complaint,
    Customer,
    Direction,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    EscalationStatus,
    Shipment,
    Staff,
    StaffRole,
)
from crm.segments import TIER_PRIORITY, customer_segment
from crm.staff import SUPERVISING_ROLES, staff_member
from crm.waybills import find_candidates


class Reason(str, Enum):
    """Why a conversation went to the human queue."""

    REQUEST_HUMAN = "request_human"
    BOT_FAILURE = "bot_failure"
    SERIOUS_COMPLAINT = "serious_complaint"
    # Two "not understood" turns in a row (detected by the conversations issue, which calls open_escalation).
    REPEATED_MISSES = "repeated_misses"


# Seriousness points added to the customer's tier points.
# The resolution note of an escalation the bot closed itself once it worked again (no agent involved).
RELEASED_TO_BOT = "released_to_bot"
REASON_PRIORITY = {
    Reason.SERIOUS_COMPLAINT: 40,
    Reason.BOT_FAILURE: 10,
    Reason.REPEATED_MISSES: 10,
    Reason.REQUEST_HUMAN: 0,
}
# Waiting counts too: one point per minute, capped so it cannot outrank seriousness forever.
WAIT_POINTS_PER_MINUTE = 1
WAIT_POINTS_CAP = 60
SUMMARY_MESSAGES = 5
ACTIVE = (EscalationStatus.OPEN, EscalationStatus.CLAIMED)


@dataclass(frozen=True)
class QueuePolicy:
    """Deadlines and estimates of the queue (built from settings by the caller)."""

    claim_minutes: int = 10
    reply_minutes: int = 5
    supervisor_minutes: int = 10
    handle_minutes: float = 6.0
    hours: StaffedHours = field(default_factory=lambda: parse_hours("00:00-24:00"))

    @classmethod
    def from_settings(cls, settings: Settings) -> QueuePolicy:
        """The human queue's deadlines, estimate and staffed hours, as configured."""
        return cls(
            claim_minutes=settings.sla_claim_minutes,
            reply_minutes=settings.sla_reply_minutes,
            supervisor_minutes=settings.sla_supervisor_minutes,
            handle_minutes=settings.handle_minutes,
            hours=parse_hours(settings.staffed_hours, settings.staffed_timezone),
        )


@dataclass(frozen=True)
class Placement:
    """Where a conversation stands in the queue: what the customer is told."""

    escalation_id: int
    created: bool
    status: EscalationStatus
    language: str
    position: int | None
    wait_minutes: int
    staffed: bool
    opens_at: datetime


@dataclass(frozen=True)
class QueueEntry:
    """One waiting escalation in the ranked queue."""

    escalation: Escalation
    position: int
    waiting_minutes: int
    score: int


@dataclass(frozen=True)
class ClaimOutcome:
    """The result of pressing Claim: won, or who has it (or why it cannot be claimed)."""

    won: bool
    escalation: Escalation | None
    holder: Staff | None
    problem: str | None = None  # "not_staff", "missing", "resolved", "taken"


@dataclass(frozen=True)
class SlaAction:
    """A deadline the SLA job must act on."""

    escalation: Escalation
    kind: str  # remind_claim, alert_claim, remind_reply, alert_reply


class QueueError(Exception):
    """A queue operation that cannot be done; the message is a key for the bot's texts."""


# ---------------------------------------------------------------------------------------------- opening


def active_for_chat(session: Session, chat_id: int) -> Escalation | None:
    """The open or claimed escalation of a conversation, if any."""
    return session.scalars(select(Escalation).where(Escalation.active_chat_id == chat_id)).one_or_none()


def find_customer(session: Session, chat_id: int, telegram_user_id: int | None) -> Customer | None:
    """The customer behind a chat: linked to the chat, else by their Telegram account."""
    chat = session.get(Chat, chat_id)
    if chat is not None and chat.customer_id is not None:
        return session.get(Customer, chat.customer_id)
    user_id = telegram_user_id if telegram_user_id is not None else (chat_id if chat_id > 0 else None)
    if user_id is None:
        return None
    return session.scalars(select(Customer).where(Customer.telegram_user_id == user_id)).one_or_none()


def build_summary(session: Session, chat_id: int, complaint: Complaint | None) -> str:
    """A short, language-neutral summary for staff: the last messages, parcels mentioned, linked complaint."""
    rows = session.scalars(
        select(ChatMessage)
        .where(ChatMessage.chat_id == chat_id, ChatMessage.direction == Direction.INBOUND)
        .order_by(ChatMessage.id.desc())
        .limit(20)
    ).all()
    texts = [row.text for row in rows if row.kind == "text" and row.text]
    lines = [f"“{body[:200]}”" for body in reversed(texts[:SUMMARY_MESSAGES])]
    numbers: list[str] = []
    for body in texts:
        for candidate in find_candidates(body):
            if candidate.valid and candidate.normalized not in numbers:
                numbers.append(candidate.normalized)
    if complaint is not None and complaint.shipment_id is not None:
        linked = session.get(Shipment, complaint.shipment_id)
        if linked is not None and linked.tracking_number not in numbers:
            numbers.insert(0, linked.tracking_number)
    for number in numbers[:3]:
        shipment = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one_or_none()
        lines.append(f"📦 {number} · {shipment.status.value if shipment else 'unknown'}")
    if complaint is not None:
        serious = " · serious" if complaint.serious else ""
        lines.append(f"📝 {complaint.code} · {complaint.category.value}{serious}")
    return "\n".join(lines)


def open_escalation(
    session: Session,
    chat_id: int,
    reason: Reason | str,
    *,
    policy: QueuePolicy,
    language: str = "zh",
    telegram_user_id: int | None = None,
    customer_id: int | None = None,
    complaint_id: int | None = None,
    now: datetime | None = None,
) -> Placement:
    """Put a conversation in the human queue, or add this trigger to its open escalation (exactly one per chat)."""
    now = now or utcnow()
    reason = Reason(reason)
    existing = active_for_chat(session, chat_id)
    if existing is not None:
        return _append(session, existing, reason, complaint_id, policy, now)
    customer = session.get(Customer, customer_id) if customer_id else find_customer(session, chat_id, telegram_user_id)
    tier = customer_segment(session, customer.id, now=now).tier if customer is not None else None
    complaint = session.get(Complaint, complaint_id) if complaint_id else None
    escalation = Escalation(
        chat_id=chat_id,
        active_chat_id=chat_id,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        complaint_id=complaint_id,
        reason=reason.value,
        priority=TIER_PRIORITY.get(tier or "", 0) + REASON_PRIORITY[reason],
        tier=tier,
        status=EscalationStatus.OPEN,
        language=language,
        summary=build_summary(session, chat_id, complaint),
        # The same staffed-hours calendar as every promise made to the customer (core/hours.py).
        first_response_due_at=policy.hours.deadline(now, timedelta(minutes=policy.claim_minutes)),
        # Whoever opens it tells the customer their place right away.
        customer_notified_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(escalation)
    except IntegrityError:
        # The bot and the action server opened one for this chat at the same moment: theirs stands.
        session.expunge(escalation)
        existing = active_for_chat(session, chat_id)
        if existing is None:
            raise
        return _append(session, existing, reason, complaint_id, policy, now)
    _event(session, escalation, EscalationEventKind.OPENED, now, content_kind=reason.value)
    # The learning loop ranks what customers wrote before they needed a person.
    chatlog.link_recent_to_escalation(session, chat_id, escalation.id)
    return placement(session, escalation, policy, now=now, created=True)


def remember_display_name(session: Session, escalation_id: int, name: str) -> None:
    """Keep the Telegram display name for staff of a conversation no customer record names (erased like one)."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is not None and escalation.customer_id is None and not escalation.customer_name:
        escalation.customer_name = name[:200]


def _append(
    session: Session, escalation: Escalation, reason: Reason, complaint_id: int | None, policy: QueuePolicy,
    now: datetime,
) -> Placement:
    """A second trigger while one is open: record it, and let a more serious reason raise the priority."""
    extra = REASON_PRIORITY[reason] - REASON_PRIORITY.get(_reason(escalation.reason), 0)
    if extra > 0:
        escalation.priority += extra
        escalation.reason = reason.value
    if complaint_id and escalation.complaint_id is None:
        escalation.complaint_id = complaint_id
    _event(session, escalation, EscalationEventKind.APPENDED, now, content_kind=reason.value)
    return placement(session, escalation, policy, now=now, created=False)


def _reason(value: str) -> Reason:
    """A stored reason (unknown ones count as a plain request)."""
    try:
        return Reason(value)
    except ValueError:
        return Reason.REQUEST_HUMAN


def _event(
    session: Session,
    escalation: Escalation,
    kind: EscalationEventKind,
    now: datetime,
    *,
    staff: Staff | None = None,
    content_kind: str | None = None,
    body: str | None = None,
    file_id: str | None = None,
    source_chat_id: int | None = None,
    source_message_id: int | None = None,
) -> EscalationEvent:
    """Append one entry to an escalation's history."""
    event = EscalationEvent(
        escalation_id=escalation.id,
        kind=kind,
        staff_id=staff.id if staff else None,
        content_kind=content_kind,
        body=body,
        file_id=file_id,
        source_chat_id=source_chat_id,
        source_message_id=source_message_id,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


# ---------------------------------------------------------------------------------------------- ranking


def score(escalation: Escalation, now: datetime) -> int:
    """Effective priority: tier + seriousness (stored) plus waiting time."""
    waited = max(0.0, (now - as_utc(escalation.created_at)).total_seconds() / 60)
    return escalation.priority + min(WAIT_POINTS_CAP, int(waited) * WAIT_POINTS_PER_MINUTE)


def waiting_queue(session: Session, *, now: datetime | None = None) -> list[QueueEntry]:
    """Unclaimed escalations, highest effective priority first (oldest first on a tie)."""
    now = now or utcnow()
    waiting = session.scalars(select(Escalation).where(Escalation.status == EscalationStatus.OPEN)).all()
    ranked = sorted(waiting, key=lambda e: (-score(e, now), as_utc(e.created_at), e.id))
    return [
        QueueEntry(e, index, int((now - as_utc(e.created_at)).total_seconds() // 60), score(e, now))
        for index, e in enumerate(ranked, start=1)
    ]


def claimed_list(session: Session) -> list[Escalation]:
    """Escalations agents are handling now, oldest claim first."""
    return list(
        session.scalars(
            select(Escalation).where(Escalation.status == EscalationStatus.CLAIMED).order_by(Escalation.claimed_at)
        )
    )


def agents_on_duty(session: Session) -> int:
    """How many people take conversations (active agents and supervisors), at least one for the estimate."""
    count = len(
        session.scalars(
            select(Staff.id).where(Staff.active.is_(True), Staff.role.in_((StaffRole.AGENT, StaffRole.SUPERVISOR)))
        ).all()
    )
    return max(1, count)


def placement(
    session: Session, escalation: Escalation, policy: QueuePolicy, *, now: datetime | None = None,
    created: bool = False,
) -> Placement:
    """The escalation's place in the queue and the expected wait (counting the time until staff are back)."""
    now = now or utcnow()
    staffed = policy.hours.is_open(now)
    opens_at = policy.hours.next_opening(now)
    position = None
    wait = 0
    if escalation.status == EscalationStatus.OPEN:
        queue = waiting_queue(session, now=now)
        position = next((entry.position for entry in queue if entry.escalation.id == escalation.id), len(queue))
        minutes = position * policy.handle_minutes / agents_on_duty(session)
        minutes += (opens_at - now).total_seconds() / 60
        wait = max(1, math.ceil(minutes))
    return Placement(escalation.id, created, escalation.status, escalation.language, position, wait, staffed, opens_at)


# ---------------------------------------------------------------------------------------------- staff actions


def claim(session: Session, escalation_id: int, telegram_user_id: int, *, policy: QueuePolicy,
          now: datetime | None = None) -> ClaimOutcome:
    """Claim an escalation atomically: a conditional UPDATE, so of two agents pressing at once exactly one wins."""
    now = now or utcnow()
    member = staff_member(session, telegram_user_id)
    if member is None:
        return ClaimOutcome(False, None, None, "not_staff")
    result = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(
            status=EscalationStatus.CLAIMED,
            claimed_by_id=member.id,
            claimed_at=now,
            reply_due_at=now + timedelta(minutes=policy.reply_minutes),
            reminded_at=None,
            supervisor_alerted_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    escalation = session.get(Escalation, escalation_id, populate_existing=True)
    if escalation is None:
        return ClaimOutcome(False, None, None, "missing")
    if result.rowcount != 1:
        holder = session.get(Staff, escalation.claimed_by_id) if escalation.claimed_by_id else None
        problem = "resolved" if escalation.status == EscalationStatus.RESOLVED else "taken"
        return ClaimOutcome(False, escalation, holder, problem)
    member.current_escalation_id = escalation.id
    _event(session, escalation, EscalationEventKind.CLAIMED, now, staff=member)
    return ClaimOutcome(True, escalation, member)


def current_for_agent(session: Session, member: Staff) -> Escalation | None:
    """The conversation an agent's private chat is relayed to: their current one, else their latest claim."""
    if member.current_escalation_id is not None:
        current = session.get(Escalation, member.current_escalation_id)
        if current is not None and current.status == EscalationStatus.CLAIMED and current.claimed_by_id == member.id:
            return current
    latest = session.scalars(
        select(Escalation)
        .where(Escalation.status == EscalationStatus.CLAIMED, Escalation.claimed_by_id == member.id)
        .order_by(Escalation.claimed_at.desc(), Escalation.id.desc())
        .limit(1)
    ).one_or_none()
    member.current_escalation_id = latest.id if latest else None
    return latest


def held_by(session: Session, escalation_id: int, member: Staff) -> Escalation:
    """An escalation this staff member may act on: claimed by them, or any active one for supervising roles."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise QueueError("staff_no_such_escalation")
    if escalation.status == EscalationStatus.RESOLVED:
        raise QueueError("staff_already_resolved")
    if escalation.claimed_by_id != member.id and member.role not in (*SUPERVISING_ROLES, StaffRole.ADMIN):
        raise QueueError("staff_not_yours")
    return escalation


def transfer(session: Session, escalation_id: int, member: Staff, to_telegram_user_id: int, *,
             policy: QueuePolicy, now: datetime | None = None) -> tuple[Escalation, Staff]:
    """Hand a conversation to another active staff member; their reply deadline starts now."""
    now = now or utcnow()
    escalation = held_by(session, escalation_id, member)
    target = staff_member(session, to_telegram_user_id)
    if target is None:
        raise QueueError("staff_transfer_unknown")
    if target.id == escalation.claimed_by_id:
        raise QueueError("staff_transfer_same")
    previous = session.get(Staff, escalation.claimed_by_id) if escalation.claimed_by_id else None
    escalation.status = EscalationStatus.CLAIMED
    escalation.claimed_by_id = target.id
    escalation.claimed_at = now
    escalation.reply_due_at = now + timedelta(minutes=policy.reply_minutes)
    escalation.agent_replied_at = None
    escalation.reminded_at = None
    escalation.supervisor_alerted_at = None
    target.current_escalation_id = escalation.id
    session.flush()
    if previous is not None:
        current_for_agent(session, previous)
    _event(session, escalation, EscalationEventKind.TRANSFERRED, now, staff=member, body=str(to_telegram_user_id))
    return escalation, target


def add_note(session: Session, escalation_id: int, member: Staff, text: str, *, now: datetime | None = None) -> None:
    """An internal note on a conversation (never shown to the customer)."""
    escalation = held_by(session, escalation_id, member)
    _event(session, escalation, EscalationEventKind.NOTE, now or utcnow(), staff=member, body=text)


def notes(session: Session, escalation_id: int) -> list[EscalationEvent]:
    """The internal notes of an escalation, oldest first."""
    return list(
        session.scalars(
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == escalation_id, EscalationEvent.kind == EscalationEventKind.NOTE)
            .order_by(EscalationEvent.id)
        )
    )


def check_intent(intent: str | None, valid: Collection[str]) -> str | None:
    """A valid intent name, or None for no tag; raises QueueError for one not in `valid`."""
    # The intents are the NLU's (domain.yml, read by nlu/intents.py), which the CRM does not import:
    # callers pass them in. With none passed, no tag is valid.
    if intent is None or intent == "":
        return None
    if intent not in valid:
        raise QueueError("staff_unknown_intent")
    return intent


def resolve(session: Session, escalation_id: int, member: Staff, *, intent: str | None = None,
            valid: Collection[str] = (), now: datetime | None = None) -> Escalation:
    """Close a conversation and give it back to the bot; optionally tag the intent the customer meant."""
    now = now or utcnow()
    tag = check_intent(intent, valid)
    escalation = held_by(session, escalation_id, member)
    escalation.status = EscalationStatus.RESOLVED
    escalation.active_chat_id = None
    escalation.resolved_at = now
    escalation.resolved_by_id = member.id
    if tag:
        escalation.tagged_intent = tag
    session.flush()
    holders = session.scalars(select(Staff).where(Staff.current_escalation_id == escalation.id)).all()
    for holder in holders:
        holder.current_escalation_id = None
        current_for_agent(session, holder)
    _event(session, escalation, EscalationEventKind.RESOLVED, now, staff=member, body=tag)
    return escalation


def tag_intent(session: Session, escalation_id: int, member: Staff, intent: str, *,
               valid: Collection[str]) -> Escalation:
    """Tag a (possibly already resolved) escalation with the intent the customer really meant."""
    tag = check_intent(intent, valid)
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise QueueError("staff_no_such_escalation")
    if escalation.resolved_by_id != member.id and escalation.claimed_by_id != member.id and (
        member.role not in (*SUPERVISING_ROLES, StaffRole.ADMIN)
    ):
        raise QueueError("staff_not_yours")
    escalation.tagged_intent = tag
    return escalation


def record_rating(session: Session, escalation_id: int, chat_id: int, rating: int, *,
                  now: datetime | None = None) -> bool:
    """Store the customer's 1-5 rating of the human help (once, from the conversation's own chat)."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or escalation.chat_id != chat_id or escalation.status != EscalationStatus.RESOLVED:
        return False
    if not 1 <= rating <= 5 or escalation.rating is not None:
        return False
    escalation.rating = rating
    _event(session, escalation, EscalationEventKind.RATED, now or utcnow(), body=str(rating))
    return True


def mark_rating_requested(session: Session, escalation_id: int, *, now: datetime | None = None) -> None:
    """Remember that the customer was asked for a rating."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is not None:
        escalation.rating_requested_at = now or utcnow()


def releasable_failures(session: Session) -> list[Escalation]:
    """Unclaimed escalations opened only because the bot failed: nobody asked for a person in the meantime."""
    candidates = session.scalars(
        select(Escalation)
        .where(Escalation.status == EscalationStatus.OPEN, Escalation.reason == Reason.BOT_FAILURE.value)
        .order_by(Escalation.id)
    ).all()
    asked = set(
        session.scalars(
            select(EscalationEvent.escalation_id).where(
                EscalationEvent.escalation_id.in_([e.id for e in candidates]),
                EscalationEvent.kind == EscalationEventKind.APPENDED,
                EscalationEvent.content_kind != Reason.BOT_FAILURE.value,
            )
        ).all()
    )
    return [escalation for escalation in candidates if escalation.id not in asked]


def release_to_bot(session: Session, escalation_id: int, *, now: datetime | None = None) -> Escalation | None:
    """The bot works again: close an unclaimed bot-failure escalation (None if an agent claimed it first).

    Conditional, like claim: an agent pressing Claim at the same moment wins. Rasa was never paused for a bot
    failure, so there is nothing to resume there.
    """
    now = now or utcnow()
    released = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(
            status=EscalationStatus.RESOLVED, active_chat_id=None, resolved_at=now, rasa_resumed_at=now,
            updated_at=now,
        )
    ).rowcount
    if not released:
        return None
    escalation = session.get(Escalation, escalation_id)
    assert escalation is not None
    session.refresh(escalation)
    _event(session, escalation, EscalationEventKind.RESOLVED, now, body=RELEASED_TO_BOT)
    return escalation


@dataclass(frozen=True)
class Withdrawal:
    """A conversation the customer took back from the queue: which, and the agent who had claimed it (if any)."""

    escalation_id: int
    chat_id: int
    language: str
    holder_telegram_id: int | None
    holder_name: str | None
    announce_chat_id: int | None
    announce_message_id: int | None


def withdraw(session: Session, chat_id: int, *, now: datetime | None = None) -> Withdrawal | None:
    """The customer no longer wants a person: close the chat's active escalation (None when there is none).

    Conditional, like claim: of a withdrawal and a claim at the same moment both may win, in either order; a claim
    that came first is still withdrawn (its agent is told by the caller). The escalation is resolved without a
    resolver and its history says "withdrawn"; its Rasa conversation must be resumed (pending_resume retries it).
    """
    now = now or utcnow()
    escalation = active_for_chat(session, chat_id)
    if escalation is None:
        return None
    holder = session.get(Staff, escalation.claimed_by_id) if escalation.claimed_by_id else None
    closed = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation.id, Escalation.status.in_(ACTIVE))
        .values(status=EscalationStatus.RESOLVED, active_chat_id=None, resolved_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        return None
    session.refresh(escalation)
    for member in session.scalars(select(Staff).where(Staff.current_escalation_id == escalation.id)).all():
        member.current_escalation_id = None
        current_for_agent(session, member)
    _event(session, escalation, EscalationEventKind.WITHDRAWN, now, body=escalation.status.value)
    return Withdrawal(
        escalation.id, escalation.chat_id, escalation.language, holder.telegram_user_id if holder else None,
        holder.name if holder else None, escalation.announce_chat_id, escalation.announce_message_id,
    )


def pending_resume(session: Session, chat_id: int) -> Escalation | None:
    """The latest resolved escalation of a chat whose Rasa conversation was not resumed yet (retry it)."""
    latest = session.scalars(
        select(Escalation).where(Escalation.chat_id == chat_id).order_by(Escalation.id.desc()).limit(1)
    ).one_or_none()
    if latest is None or latest.status != EscalationStatus.RESOLVED or latest.rasa_resumed_at is not None:
        return None
    return latest


def mark_resumed(session: Session, escalation_id: int, *, now: datetime | None = None) -> None:
    """Record that Rasa resumed the conversation."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is not None:
        escalation.rasa_resumed_at = now or utcnow()


# ---------------------------------------------------------------------------------------------- relay log


def record_customer_message(
    session: Session, escalation_id: int, *, content_kind: str, text: str | None, file_id: str | None,
    chat_id: int, message_id: int | None, now: datetime | None = None, log_message_id: int | None = None,
) -> EscalationEvent:
    """Add a customer's message to their escalation (kept for the agent, also while queued)."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise QueueError("staff_no_such_escalation")
    if log_message_id is not None:
        chatlog.link_to_escalation(session, log_message_id, escalation.id)
    return _event(
        session, escalation, EscalationEventKind.CUSTOMER_MESSAGE, now or utcnow(), content_kind=content_kind,
        body=text, file_id=file_id, source_chat_id=chat_id, source_message_id=message_id,
    )


def record_agent_message(
    session: Session, escalation_id: int, member: Staff, *, content_kind: str, text: str | None,
    file_id: str | None, chat_id: int, message_id: int | None, now: datetime | None = None,
) -> EscalationEvent:
    """Log an agent's message to the customer; the first one meets the reply deadline."""
    now = now or utcnow()
    escalation = held_by(session, escalation_id, member)
    if escalation.agent_replied_at is None:
        escalation.agent_replied_at = now
    return _event(
        session, escalation, EscalationEventKind.AGENT_MESSAGE, now, staff=member, content_kind=content_kind,
        body=text, file_id=file_id, source_chat_id=chat_id, source_message_id=message_id,
    )


def customer_messages(session: Session, escalation_id: int, *, since: datetime | None = None) -> list[EscalationEvent]:
    """The customer's messages in an escalation (optionally only those after a moment), oldest first."""
    statement = select(EscalationEvent).where(
        EscalationEvent.escalation_id == escalation_id,
        EscalationEvent.kind == EscalationEventKind.CUSTOMER_MESSAGE,
    )
    if since is not None:
        statement = statement.where(EscalationEvent.created_at >= since)
    return list(session.scalars(statement.order_by(EscalationEvent.id)))


def take_notice_turn(session: Session, escalation_id: int, interval_seconds: int, *,
                     now: datetime | None = None) -> bool:
    """True (and remember it) when a queued customer may be told their place again; at most once per interval."""
    now = now or utcnow()
    since = now - timedelta(seconds=interval_seconds)
    result = session.execute(
        update(Escalation)
        .where(
            Escalation.id == escalation_id,
            or_(Escalation.customer_notified_at.is_(None), Escalation.customer_notified_at <= since),
        )
        .values(customer_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


class Acknowledgement(str, Enum):
    """What a queued customer's message gets: the full notice, a short acknowledgement, or (in a burst) nothing yet."""

    NOTICE = "notice"
    SHORT = "short"
    LATER = "later"


@dataclass(frozen=True)
class AckDecision:
    """What to answer now, and when the customer may next be told their place (when a catch-up is due)."""

    kind: Acknowledgement
    next_notice_at: datetime


def acknowledgement(session: Session, escalation_id: int, interval_seconds: int, *,
                    now: datetime | None = None) -> AckDecision:
    """How to answer the customer message just recorded on a queued escalation (never silence beyond the interval).

    The place in the queue at most once per interval (take_notice_turn); the first message after a notice always
    gets a short acknowledgement; further messages in the same interval get nothing now, and the caller schedules
    catch_up for when the interval ends, so nothing the customer wrote stays unanswered longer than the interval.
    """
    now = now or utcnow()
    if take_notice_turn(session, escalation_id, interval_seconds, now=now):
        return AckDecision(Acknowledgement.NOTICE, now + timedelta(seconds=interval_seconds))
    escalation = session.get(Escalation, escalation_id, populate_existing=True)
    notified = as_utc(escalation.customer_notified_at) if escalation and escalation.customer_notified_at else now
    kind = Acknowledgement.SHORT if len(unacknowledged(session, escalation_id)) <= 1 else Acknowledgement.LATER
    return AckDecision(kind, notified + timedelta(seconds=interval_seconds))


def unacknowledged(session: Session, escalation_id: int) -> list[EscalationEvent]:
    """The customer messages since the customer was last told their place (the first of them was acknowledged)."""
    # take_notice_turn updates without touching the session's copy: read the row again.
    escalation = session.get(Escalation, escalation_id, populate_existing=True)
    if escalation is None:
        return []
    since = as_utc(escalation.customer_notified_at) if escalation.customer_notified_at else None
    events = customer_messages(session, escalation_id)
    # Compared in UTC: SQLite hands back naive datetimes.
    return [event for event in events if since is None or as_utc(event.created_at) > since]


def catch_up_due(session: Session, interval_seconds: int, *, now: datetime | None = None) -> list[Escalation]:
    """Waiting escalations whose customer wrote more after the acknowledgement and whose interval has passed."""
    now = now or utcnow()
    since = now - timedelta(seconds=interval_seconds)
    waiting = session.scalars(
        select(Escalation).where(
            Escalation.status == EscalationStatus.OPEN,
            or_(Escalation.customer_notified_at.is_(None), Escalation.customer_notified_at <= since),
        )
    ).all()
    return [escalation for escalation in waiting if len(unacknowledged(session, escalation.id)) > 1]


# ---------------------------------------------------------------------------------------------- jobs


def unannounced(session: Session) -> list[Escalation]:
    """Open escalations not yet posted to the staff group, oldest first."""
    return list(
        session.scalars(
            select(Escalation)
            .where(Escalation.status == EscalationStatus.OPEN, Escalation.announced_at.is_(None))
            .order_by(Escalation.id)
        )
    )


def mark_announced(session: Session, escalation_id: int, chat_id: int, message_id: int, *,
                   now: datetime | None = None) -> None:
    """Remember the staff-group message that carries the Claim button."""
    now = now or utcnow()
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        return
    first = escalation.announced_at is None
    escalation.announce_chat_id = chat_id
    escalation.announce_message_id = message_id
    escalation.announced_at = escalation.announced_at or now
    if first:
        _event(session, escalation, EscalationEventKind.ANNOUNCED, now)


def sla_due(session: Session, policy: QueuePolicy, *, now: datetime | None = None) -> list[SlaAction]:
    """Escalations past a deadline: first a reminder, supervisor_minutes after the deadline the supervisors."""
    now = now or utcnow()
    late = timedelta(minutes=policy.supervisor_minutes)
    actions: list[SlaAction] = []
    waiting = session.scalars(
        select(Escalation)
        .where(Escalation.status == EscalationStatus.OPEN, Escalation.announced_at.is_not(None))
        .order_by(Escalation.id)
    ).all()
    for escalation in waiting:
        due = as_utc(escalation.first_response_due_at) if escalation.first_response_due_at else None
        if due is None or now < due:
            continue
        if escalation.reminded_at is None:
            actions.append(SlaAction(escalation, "remind_claim"))
        elif escalation.supervisor_alerted_at is None and now >= due + late:
            actions.append(SlaAction(escalation, "alert_claim"))
    handling = session.scalars(
        select(Escalation)
        .where(Escalation.status == EscalationStatus.CLAIMED, Escalation.agent_replied_at.is_(None))
        .order_by(Escalation.id)
    ).all()
    for escalation in handling:
        due = as_utc(escalation.reply_due_at) if escalation.reply_due_at else None
        if due is None or now < due:
            continue
        if escalation.reminded_at is None:
            actions.append(SlaAction(escalation, "remind_reply"))
        elif escalation.supervisor_alerted_at is None and now >= due + late:
            actions.append(SlaAction(escalation, "alert_reply"))
    return actions


def mark_sla_done(session: Session, escalation_id: int, kind: str, *, now: datetime | None = None) -> None:
    """Record that a reminder or a supervisor alert was sent (so it is sent once, even across restarts)."""
    now = now or utcnow()
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        return
    if kind.startswith("remind"):
        escalation.reminded_at = now
        _event(session, escalation, EscalationEventKind.REMINDED, now, content_kind=kind)
    else:
        escalation.supervisor_alerted_at = now
        _event(session, escalation, EscalationEventKind.SUPERVISOR_ALERTED, now, content_kind=kind)
