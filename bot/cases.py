"""Snapshots of escalations and staff, and where a private message goes while a human has the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session
from telegram import Message

from core.clock import as_utc
from crm import escalations
from crm.models import Escalation, Staff, StaffRole
from crm.staff import staff_member


@dataclass(frozen=True)
class Case:
    """A detached snapshot of an escalation, safe to use after its session closed."""

    id: int
    chat_id: int
    status: str
    language: str
    reason: str
    priority: int
    tier: str | None
    # The customer record's name when the chat is linked to one, else the Telegram display name (or None).
    customer_name: str | None
    linked: bool
    summary: str
    created_at: datetime
    due_at: datetime | None
    claimed_at: datetime | None
    holder_telegram_id: int | None
    holder_name: str | None
    announce_chat_id: int | None
    announce_message_id: int | None


@dataclass(frozen=True)
class Member:
    """A detached snapshot of a staff member."""

    id: int
    telegram_user_id: int
    name: str
    role: StaffRole


def case_of(session: Session, escalation: Escalation) -> Case:
    """Snapshot an escalation with its holder's name (inside a session)."""
    holder = session.get(Staff, escalation.claimed_by_id) if escalation.claimed_by_id else None
    return Case(
        id=escalation.id,
        chat_id=escalation.chat_id,
        status=escalation.status.value,
        language=escalation.language,
        reason=escalation.reason,
        priority=escalation.priority,
        tier=escalation.tier,
        customer_name=escalation.customer_name,
        linked=escalation.customer_id is not None,
        summary=escalation.summary or "",
        created_at=as_utc(escalation.created_at),
        due_at=as_utc(escalation.first_response_due_at) if escalation.first_response_due_at else None,
        claimed_at=as_utc(escalation.claimed_at) if escalation.claimed_at else None,
        holder_telegram_id=holder.telegram_user_id if holder else None,
        holder_name=holder.name if holder else None,
        announce_chat_id=escalation.announce_chat_id,
        announce_message_id=escalation.announce_message_id,
    )


def member_of(staff: Staff) -> Member:
    """Snapshot a staff member."""
    return Member(staff.id, staff.telegram_user_id, staff.name, staff.role)


@dataclass(frozen=True)
class Route:
    """Where a private message goes: from an agent to their customer, or from a customer in the queue."""

    from_agent: bool
    case: Case
    member: Member | None = None


def find_route(session: Session, chat_id: int, user_id: int) -> Route | None:
    """The handoff route of a private message, or None when the bot should answer it as usual."""
    staff = staff_member(session, user_id)
    if staff is not None:
        current = escalations.current_for_agent(session, staff)
        if current is not None and current.chat_id != chat_id:
            return Route(True, case_of(session, current), member_of(staff))
    active = escalations.active_for_chat(session, chat_id)
    return Route(False, case_of(session, active)) if active is not None else None


def content_of(message: Message) -> tuple[str, str | None, str | None]:
    """A message's kind, text (or caption) and file id, for the escalation's log."""
    kind = "text" if message.text is not None else "other"
    for candidate in ("photo", "sticker", "voice", "video", "video_note", "audio", "document", "location", "contact"):
        if getattr(message, candidate):
            kind = candidate
            break
    file_id = None
    if message.photo:
        file_id = message.photo[-1].file_id
    elif message.document:
        file_id = message.document.file_id
    elif message.sticker:
        file_id = message.sticker.file_id
    elif message.voice:
        file_id = message.voice.file_id
    return kind, message.text if message.text is not None else message.caption, file_id
