"""The outbox service: kept messages wait in order per chat, back off, are logged once delivered and end bounded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from crm import outbox
from crm.models import ChatMessage, Direction, OutboxMessage, OutboxState
from crm.outbox import OutboxPolicy

POLICY = OutboxPolicy(first_retry=timedelta(seconds=2), max_retry=timedelta(seconds=10),
                      give_up_after=timedelta(minutes=5))
CHAT, OTHER = 5_550_001, 5_550_002


def test_back_off_doubles_up_to_the_limit() -> None:
    """2 s, 4 s, 8 s, then never more than the configured maximum."""
    assert [POLICY.delay(n).total_seconds() for n in range(1, 6)] == [2, 4, 8, 10, 10]


def test_a_chat_is_due_by_its_oldest_message_only(session: Session) -> None:
    """A chat waits for the back-off of its first kept message; the ones queued behind never jump ahead."""
    now = utcnow()
    first = outbox.keep(session, chat_id=CHAT, text="one", error="NetworkError: 502", policy=POLICY, now=now)
    behind = outbox.keep(session, chat_id=CHAT, text="two", error="", policy=POLICY, attempted=False, now=now)
    outbox.keep(session, chat_id=OTHER, text="x", error="", policy=POLICY, attempted=False, now=now)
    assert {CHAT, OTHER} <= outbox.pending_chats(session)
    assert outbox.has_pending(session, CHAT)
    due = outbox.due_chats(session, now=now)
    assert OTHER in due and CHAT not in due  # its head waits 2 s although "two" is due now
    assert CHAT in outbox.due_chats(session, now=now + timedelta(seconds=2))
    assert [(m.id, m.text, m.attempts) for m in outbox.queue_of(session, CHAT)] == [(first, "one", 1),
                                                                                   (behind, "two", 0)]


def test_delivery_logs_the_message_once_and_empties_the_queue(session: Session) -> None:
    """Delivered: one outbound chat-log row of its kind, the outbox row gone; a message kept unlogged stays so."""
    logged = outbox.keep(session, chat_id=CHAT, text="your parcel is in Shanghai", error="TimedOut: x", policy=POLICY,
                         log_kind="agent_text")
    quiet = outbox.keep(session, chat_id=CHAT, text="goodbye", error="", policy=POLICY, attempted=False)
    outbox.delivered(session, logged)
    outbox.delivered(session, quiet)
    outbox.delivered(session, quiet)  # a second call (erased meanwhile, or a repeat) does nothing
    rows = session.scalars(select(ChatMessage).where(ChatMessage.chat_id == CHAT)).all()
    assert [(r.direction, r.kind, r.text) for r in rows] == [(Direction.OUTBOUND, "agent_text",
                                                              "your parcel is in Shanghai")]
    assert not outbox.has_pending(session, CHAT)


def test_failures_back_off_then_give_up_after_the_bounded_time(session: Session) -> None:
    """Each failure pushes the next attempt further; past give_up_after the message ends as gave_up."""
    start = utcnow()
    kept = outbox.keep(session, chat_id=CHAT, text="hi", error="NetworkError: 502", policy=POLICY, now=start,
                       notify_chat_id=OTHER, escalation_id=7)
    assert outbox.failed_again(session, kept, "NetworkError: 502", POLICY, now=start + timedelta(seconds=2)) is None
    row = session.get(OutboxMessage, kept)
    assert row is not None and row.attempts == 2
    assert row.next_attempt_at - (start + timedelta(seconds=2)) == timedelta(seconds=4)
    ended = outbox.failed_again(session, kept, "NetworkError: 502", POLICY, now=start + timedelta(minutes=5))
    assert ended is not None and ended.state is OutboxState.GAVE_UP
    assert (ended.notify_chat_id, ended.escalation_id) == (OTHER, 7)
    assert not outbox.has_pending(session, CHAT) and row.ended_at is not None and row.attempts == 3
    assert outbox.ended_count(session, since=start) == 1


def test_a_permanent_refusal_ends_at_once(session: Session) -> None:
    """Forbidden (blocked bot) on a retry: failed, not retried, whatever the time."""
    kept = outbox.keep(session, chat_id=CHAT, text="hi", error="NetworkError: 502", policy=POLICY)
    ended = outbox.failed_again(session, kept, "Forbidden: bot was blocked by the user", POLICY, permanent=True)
    assert ended is not None and ended.state is OutboxState.FAILED
    assert outbox.queue_of(session, CHAT) == []


def test_messages_older_than_the_give_up_time_are_never_sent_late(session: Session) -> None:
    """After a long outage (or a bot stopped for hours) stale messages are given up before any attempt."""
    start = utcnow()
    old = outbox.keep(session, chat_id=CHAT, text="stale", error="NetworkError: 502", policy=POLICY,
                      now=start - timedelta(minutes=6))
    fresh = outbox.keep(session, chat_id=CHAT, text="fresh", error="", policy=POLICY, attempted=False, now=start)
    ended = outbox.give_up_expired(session, POLICY, now=start)
    assert [e.id for e in ended] == [old]
    assert [m.id for m in outbox.queue_of(session, CHAT)] == [fresh]
    assert outbox.give_up_expired(session, POLICY, now=start) == []  # restart-safe: nothing twice
