"""The outbox: messages Telegram did not take (5xx, network, 429 beyond the rate limiter's retries), kept and retried.

A chat's kept messages go out strictly in order: while a chat has pending rows, the bot puts its new messages for
that chat behind them (bot/outbox.py), and the retry job (bot/redelivery.py) sends a chat's rows oldest first,
stopping at the first that fails again. Back-off doubles from `first_retry` up to `max_retry`; a message still
failing `give_up_after` its first attempt is marked gave_up (kept for staff and the retention job, never sent
late). A delivered row is deleted in the same transaction that logs it to the chat log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import as_utc, utcnow
from core.settings import Settings
from crm import chatlog
from crm.models import OutboxMessage, OutboxState

ERROR_LIMIT = 200


@dataclass(frozen=True)
class OutboxPolicy:
    """How kept messages are retried: back-off from first_retry doubling to max_retry, given up after a while."""

    first_retry: timedelta = timedelta(seconds=2)
    max_retry: timedelta = timedelta(seconds=60)
    give_up_after: timedelta = timedelta(minutes=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        """The configured back-off and give-up time."""
        return cls(
            timedelta(seconds=settings.outbox_retry_seconds), timedelta(seconds=settings.outbox_max_retry_seconds),
            timedelta(minutes=settings.outbox_give_up_minutes),
        )

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next attempt after `attempts` failed ones."""
        return min(self.first_retry * 2 ** max(0, attempts - 1), self.max_retry)


@dataclass(frozen=True)
class Pending:
    """One pending message as the retry job needs it (plain data: used after its transaction)."""

    id: int
    chat_id: int
    text: str | None
    reply_markup: dict[str, Any] | None
    parse_mode: str | None
    copy_from_chat_id: int | None
    copy_message_id: int | None
    log_kind: str | None
    notify_chat_id: int | None
    escalation_id: int | None
    attempts: int


@dataclass(frozen=True)
class Ended:
    """A message the retry job stopped trying: who to tell about it."""

    id: int
    chat_id: int
    state: OutboxState
    notify_chat_id: int | None
    escalation_id: int | None


def _pending(row: OutboxMessage) -> Pending:
    """A row as plain data."""
    return Pending(
        row.id, row.chat_id, row.text, row.reply_markup, row.parse_mode, row.copy_from_chat_id, row.copy_message_id,
        row.log_kind, row.notify_chat_id, row.escalation_id, row.attempts,
    )


def keep(
    session: Session,
    *,
    chat_id: int,
    text: str | None,
    error: str,
    policy: OutboxPolicy,
    reply_markup: dict[str, Any] | None = None,
    parse_mode: str | None = None,
    copy_from_chat_id: int | None = None,
    copy_message_id: int | None = None,
    log_kind: str | None = None,
    notify_chat_id: int | None = None,
    escalation_id: int | None = None,
    attempted: bool = True,
    now: datetime | None = None,
) -> int:
    """Keep a message for the retry job (attempted=False: it never went out, queued behind the chat's earlier ones)."""
    now = now or utcnow()
    attempts = 1 if attempted else 0
    row = OutboxMessage(
        chat_id=chat_id, text=text, reply_markup=reply_markup, parse_mode=parse_mode,
        copy_from_chat_id=copy_from_chat_id, copy_message_id=copy_message_id, log_kind=log_kind,
        notify_chat_id=notify_chat_id, escalation_id=escalation_id, state=OutboxState.PENDING, attempts=attempts,
        last_error=error[:ERROR_LIMIT] or None, next_attempt_at=now + policy.delay(attempts) if attempted else now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def pending_chats(session: Session) -> set[int]:
    """Chats with messages waiting in the outbox (their new messages must queue behind them)."""
    return set(session.scalars(select(OutboxMessage.chat_id).where(OutboxMessage.state == OutboxState.PENDING)
                               .distinct()))


def has_pending(session: Session, chat_id: int) -> bool:
    """Whether a chat has messages waiting in the outbox."""
    statement = select(OutboxMessage.id).where(OutboxMessage.state == OutboxState.PENDING,
                                               OutboxMessage.chat_id == chat_id).limit(1)
    return session.scalars(statement).first() is not None


def due_chats(session: Session, *, now: datetime | None = None) -> list[int]:
    """Chats whose oldest pending message is due for another attempt, the longest waiting first."""
    now = now or utcnow()
    heads = (
        select(func.min(OutboxMessage.id)).where(OutboxMessage.state == OutboxState.PENDING)
        .group_by(OutboxMessage.chat_id)
    )
    statement = (
        select(OutboxMessage.chat_id)
        .where(OutboxMessage.id.in_(heads), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
    )
    return list(session.scalars(statement))


def queue_of(session: Session, chat_id: int) -> list[Pending]:
    """A chat's pending messages, oldest first."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.chat_id == chat_id)
        .order_by(OutboxMessage.id)
    )
    return [_pending(row) for row in session.scalars(statement)]


def delivered(session: Session, outbox_id: int) -> None:
    """Telegram took it: log it to the chat log (if it is logged) and drop it from the outbox."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        return  # erased meanwhile (/forget): nothing left to log
    if row.log_kind is not None:
        chatlog.record_outbound(session, chat_id=row.chat_id, text=row.text, kind=row.log_kind)
    session.delete(row)


def failed_again(
    session: Session, outbox_id: int, error: str, policy: OutboxPolicy, *, permanent: bool = False,
    now: datetime | None = None,
) -> Ended | None:
    """Another failed attempt: the next one is scheduled, or (permanent, or past the give-up time) it ends here."""
    now = now or utcnow()
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        return None
    row.attempts += 1
    row.last_error = error[:ERROR_LIMIT] or None
    if permanent or now >= as_utc(row.created_at) + policy.give_up_after:
        row.state = OutboxState.FAILED if permanent else OutboxState.GAVE_UP
        row.ended_at = now
        return Ended(row.id, row.chat_id, row.state, row.notify_chat_id, row.escalation_id)
    row.next_attempt_at = now + policy.delay(row.attempts)
    return None


def give_up_expired(session: Session, policy: OutboxPolicy, *, now: datetime | None = None) -> list[Ended]:
    """Mark pending messages past their give-up time gave_up (after a long outage or a stopped bot: never sent late)."""
    now = now or utcnow()
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.created_at < now - policy.give_up_after)
        .order_by(OutboxMessage.id)
    ).all()
    for row in rows:
        row.state = OutboxState.GAVE_UP
        row.ended_at = now
    return [Ended(row.id, row.chat_id, row.state, row.notify_chat_id, row.escalation_id) for row in rows]


def ended_count(session: Session, *, since: datetime) -> int:
    """How many messages were given up or refused since a moment (for staff and the tests)."""
    statement = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.state != OutboxState.PENDING, OutboxMessage.ended_at >= since
    )
    return int(session.scalar(statement) or 0)
