"""The log of every inbound update and outbound message; the key to handling each update once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.models import ChatMessage, Direction

# How far back the messages that led to an escalation are linked to it (the conversation, not the whole chat).
ESCALATION_LOOKBACK = timedelta(minutes=30)
ESCALATION_LOOKBACK_MESSAGES = 10


@dataclass(frozen=True)
class InboundRecord:
    """Result of logging an inbound update: its row id and whether it still needs handling."""

    message_id: int
    needs_handling: bool


def record_inbound(
    session: Session,
    *,
    bot_id: int,
    update_id: int,
    chat_id: int | None,
    telegram_user_id: int | None,
    kind: str,
    text: str | None,
) -> InboundRecord:
    """Persist an inbound update before acting on it; a redelivered, already handled update is not handled again."""
    key = (ChatMessage.bot_id == bot_id, ChatMessage.update_id == update_id)
    existing = session.scalars(select(ChatMessage).where(*key)).one_or_none()
    if existing is not None:
        return InboundRecord(existing.id, needs_handling=not existing.handled)
    row = ChatMessage(
        bot_id=bot_id,
        update_id=update_id,
        chat_id=chat_id,
        telegram_user_id=telegram_user_id,
        direction=Direction.INBOUND,
        kind=kind,
        text=text,
        handled=False,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another worker logged the same update between our check and insert.
        existing = session.scalars(select(ChatMessage).where(*key)).one()
        return InboundRecord(existing.id, needs_handling=False)
    return InboundRecord(row.id, needs_handling=True)


def mark_handled(session: Session, message_id: int) -> None:
    """Record that an inbound message has been answered (a redelivery of it will be ignored)."""
    row = session.get(ChatMessage, message_id)
    if row is None:
        raise LookupError(f"no logged message {message_id}")
    row.handled = True


def record_understanding(
    session: Session,
    message_id: int,
    *,
    language: str | None = None,
    intent: str | None = None,
    confidence: float | None = None,
    entities: list[dict[str, Any]] | None = None,
    model_version: str | None = None,
    fell_back: bool | None = None,
) -> None:
    """Record how an inbound message was understood and by which model (the learning loop's input)."""
    row = session.get(ChatMessage, message_id)
    if row is None:
        raise LookupError(f"no logged message {message_id}")
    row.language = language or row.language
    row.intent = intent
    row.confidence = confidence
    row.entities = entities
    row.model_version = model_version
    row.fell_back = fell_back


def record_turn(
    session: Session,
    message_id: int,
    *,
    chat_id: int,
    replies: list[str | None],
    understanding: dict[str, Any] | None,
) -> None:
    """The outcome of one customer message in one go: the replies sent, how it was understood, handled."""
    for reply in replies:
        record_outbound(session, chat_id=chat_id, text=reply)
    if understanding is not None:
        record_understanding(session, message_id, **understanding)
    mark_handled(session, message_id)


def record_outbound(session: Session, *, chat_id: int, text: str | None, kind: str = "text") -> int:
    """Persist a message the bot sent."""
    row = ChatMessage(chat_id=chat_id, direction=Direction.OUTBOUND, kind=kind, text=text, handled=True)
    session.add(row)
    session.flush()
    return row.id


def history(session: Session, chat_id: int, *, limit: int = 50) -> list[ChatMessage]:
    """The latest messages of a chat, oldest first."""
    statement = (
        select(ChatMessage)
        .where(ChatMessage.chat_id == chat_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(session.scalars(statement).all()))


def link_recent_to_escalation(session: Session, chat_id: int, escalation_id: int) -> int:
    """Mark the customer's latest messages (those that led to an escalation) as gone to a human; returns how many."""
    rows = session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.chat_id == chat_id,
            ChatMessage.direction == Direction.INBOUND,
            ChatMessage.escalation_id.is_(None),
        )
        .order_by(ChatMessage.id.desc())
        .limit(ESCALATION_LOOKBACK_MESSAGES)
    ).all()
    if not rows:
        return 0
    # Database timestamps compared with each other only (the test clock moves core.clock, not the database's).
    newest = rows[0].created_at
    linked = [row for row in rows if newest - row.created_at <= ESCALATION_LOOKBACK]
    for row in linked:
        row.escalation_id = escalation_id
    return len(linked)


def link_to_escalation(session: Session, message_id: int, escalation_id: int) -> None:
    """Mark one logged message (written while the conversation was with the human queue) as escalated."""
    row = session.get(ChatMessage, message_id)
    if row is not None:
        row.escalation_id = escalation_id
