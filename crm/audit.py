"""The audit trail: every customer profile and complaint card view (or refusal), every staff role change and
complaint change, with who did it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from crm.models import AuditEntry, Chat, Complaint, Customer, Escalation

PROFILE_VIEW = "profile_view"
# A staff member asked for a profile they may not see (an agent not holding the conversation): refused, recorded.
PROFILE_DENIED = "profile_denied"
ROLE_CHANGE = "role_change"
# Complaint tickets: a staff member (or the command line) opened a ticket card, was refused one (an agent, a ticket
# someone else holds), or took, assigned, resolved or rejected one (crm/complaintdesk.py).
COMPLAINT_VIEW = "complaint_view"
COMPLAINT_DENIED = "complaint_denied"
COMPLAINT_CHANGE = "complaint_change"
# The intent model: a candidate promoted or rejected by the gate, or the live model rolled back (learning/retrain.py).
MODEL_CHANGE = "model_change"
CLI_ACTOR = "command line"


def record(
    session: Session,
    *,
    action: str,
    subject_kind: str,
    subject_id: object,
    actor_telegram_user_id: int | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry (in the caller's transaction, so it exists exactly when the action did)."""
    entry = AuditEntry(
        actor_telegram_user_id=actor_telegram_user_id,
        actor=actor or (str(actor_telegram_user_id) if actor_telegram_user_id is not None else CLI_ACTOR),
        action=action,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        details=details,
        created_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def customer_chats(session: Session, customer_id: int) -> set[int]:
    """Every chat known to belong to a customer: linked chats, their Telegram account, and the chats their
    escalations and complaints came from."""
    chats = set(session.scalars(select(Chat.id).where(Chat.customer_id == customer_id)))
    chats |= set(session.scalars(select(Escalation.chat_id).where(Escalation.customer_id == customer_id)))
    chats |= {
        chat for chat in session.scalars(select(Complaint.chat_id).where(Complaint.customer_id == customer_id))
        if chat is not None
    }
    telegram_user_id = session.scalar(select(Customer.telegram_user_id).where(Customer.id == customer_id))
    if telegram_user_id is not None:
        chats.add(telegram_user_id)  # a private chat's id is its user's
    return chats


def about_customer(session: Session, customer_id: int) -> ColumnElement[bool]:
    """SQL condition: entries about a customer — with their record as subject, or one of their chats (a profile or
    card viewed before the chat was linked), or one of their complaint tickets (changes to it)."""
    chats = sorted(str(chat) for chat in customer_chats(session, customer_id))
    codes = sorted(session.scalars(select(Complaint.code).where(Complaint.customer_id == customer_id)))
    conditions = [and_(AuditEntry.subject_kind == "customer", AuditEntry.subject_id == str(customer_id))]
    if chats:
        conditions.append(and_(AuditEntry.subject_kind == "chat", AuditEntry.subject_id.in_(chats)))
    if codes:
        conditions.append(and_(AuditEntry.subject_kind == "complaint", AuditEntry.subject_id.in_(codes)))
    return or_(*conditions)


def entries(
    session: Session,
    *,
    action: str | None = None,
    subject_kind: str | None = None,
    actor_telegram_user_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The latest audit entries, newest first; optionally only one staff member's, or only about one customer
    (about_customer: their record, their chats, their complaint tickets)."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if subject_kind is not None:
        statement = statement.where(AuditEntry.subject_kind == subject_kind)
    if actor_telegram_user_id is not None:
        statement = statement.where(AuditEntry.actor_telegram_user_id == actor_telegram_user_id)
    if customer_id is not None:
        statement = statement.where(about_customer(session, customer_id))
    return list(session.scalars(statement))
