"""The complaint desk's rules on both databases: urgency order, filters, the atomic take, who may act, messages to
the customer (their chat and language, logged), the outcome told once, the customer's yes / no (reopen with words),
the due watch, the command line's assign, and the audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import as_utc
from core.db import make_sessionmaker, transaction
from crm import audit, complaintdesk, deskinput
from crm.chats import fix_language
from crm.complaintdesk import DeskError, DeskFilter
from crm.complaints import open_complaint
from crm.models import (
    AuditEntry,
    Complaint,
    ComplaintCategory,
    ComplaintEventKind,
    ComplaintStatus,
    EventKind,
    ShipmentStatus,
    Staff,
    StaffRole,
)
from crm.staff import register_staff
from tests.crm.factories import make_customer, make_shipment
from tests.databases import create_database

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
TIMELINE = [
    (EventKind.CREATED, ShipmentStatus.CREATED, "上海浦东营业部", "Shanghai Pudong station"),
    (EventKind.PICKED_UP, ShipmentStatus.IN_TRANSIT, "上海浦东营业部", "Shanghai Pudong station"),
    (EventKind.DELAYED, ShipmentStatus.DELAYED, "上海转运中心", "Shanghai hub"),
]


def staff(session: Session) -> tuple[Staff, Staff, Staff]:
    """An agent, a second agent and a supervisor."""
    return (
        register_staff(session, 7101, "Alice", StaffRole.AGENT),
        register_staff(session, 7102, "Bob", StaffRole.AGENT),
        register_staff(session, 7103, "Sam", StaffRole.SUPERVISOR),
    )


def file(session: Session, category: ComplaintCategory, *, chat_id: int | None = 9001, number: str | None = None,
         at: datetime = NOW, language: str = "en") -> Complaint:
    """File a complaint through the ordinary service."""
    return open_complaint(session, category=category, description="still not here", chat_id=chat_id,
                          telegram_user_id=None, tracking_number=number, language=language, now=at).complaint


def test_open_tickets_by_urgency_and_filters(session: Session) -> None:
    """Overdue first (most overdue on top), then due soonest, serious first on equal due times; filters narrow."""
    alice, _bob, _sam = staff(session)
    billing = file(session, ComplaintCategory.BILLING, chat_id=9101, at=NOW - timedelta(hours=80))  # due -8 h
    delay = file(session, ComplaintCategory.DELAY, chat_id=9102, at=NOW - timedelta(hours=20))  # due +4 h
    loss = file(session, ComplaintCategory.LOSS, chat_id=9103, at=NOW)  # serious: due +4 h
    late = file(session, ComplaintCategory.DELAY, chat_id=9104, at=NOW - timedelta(hours=25))  # due -1 h
    closed = file(session, ComplaintCategory.DELAY, chat_id=9105, at=NOW - timedelta(hours=30))
    complaintdesk.resolve(session, closed.id, None, "done", now=NOW)
    loss.due_at = delay.due_at  # the same due time: the serious one first
    session.flush()

    lines, total = complaintdesk.open_tickets(session, DeskFilter())
    assert [line.code for line in lines] == [billing.code, late.code, loss.code, delay.code] and total == 4
    assert [line.overdue(NOW) for line in lines] == [True, True, False, False]

    assert complaintdesk.take(session, delay.id, alice.telegram_user_id, now=NOW).won
    mine, _ = complaintdesk.open_tickets(session, DeskFilter(mine=True), member=alice)
    assert [line.code for line in mine] == [delay.code] and mine[0].assignee_name == "Alice"
    nobody, count = complaintdesk.open_tickets(session, DeskFilter(unassigned=True))
    assert delay.code not in [line.code for line in nobody] and count == 3
    delays, _ = complaintdesk.open_tickets(session, DeskFilter(category=ComplaintCategory.DELAY))
    assert [line.code for line in delays] == [late.code, delay.code]
    assert DeskFilter.parse("MINE") == DeskFilter(mine=True) and DeskFilter.parse("billing") == DeskFilter(
        category=ComplaintCategory.BILLING)
    assert DeskFilter.parse("nonsense") is None


def test_take_is_won_once_and_staff_only(session: Session) -> None:
    """The second take is told who has it; a closed ticket or a stranger cannot take; the take is audited."""
    alice, bob, _sam = staff(session)
    ticket = file(session, ComplaintCategory.DELAY)
    first = complaintdesk.take(session, ticket.id, alice.telegram_user_id, now=NOW)
    second = complaintdesk.take(session, ticket.id, bob.telegram_user_id, now=NOW)
    assert (first.won, second.won, second.problem, second.holder_name) == (True, False, "taken", "Alice")
    assert complaintdesk.take(session, ticket.id, 424242, now=NOW).problem == "not_staff"
    session.refresh(ticket)
    assert ticket.assigned_to_id == alice.id and ticket.status is ComplaintStatus.IN_PROGRESS
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == audit.COMPLAINT_CHANGE)).one()
    assert (entry.actor, entry.subject_id, (entry.details or {})["change"]) == ("Alice", ticket.code, "taken")
    complaintdesk.resolve(session, ticket.id, alice, "sorted", now=NOW)
    other = file(session, ComplaintCategory.BILLING, chat_id=9002)
    complaintdesk.reject(session, other.id, None, "not ours", now=NOW)
    assert complaintdesk.take(session, other.id, bob.telegram_user_id, now=NOW).problem == "closed"


def press_take(sessions: sessionmaker[Session], barrier: threading.Barrier, ticket_id: int, user_id: int,
               outcomes: list[complaintdesk.TakeOutcome]) -> None:
    """One staff member presses Take in a transaction of their own, at the same moment as another."""
    barrier.wait()
    with transaction(sessions) as session:
        outcomes.append(complaintdesk.take(session, ticket_id, user_id))


def test_two_staff_pressing_take_at_once_one_wins(tmp_path: Path, database_backend: str) -> None:
    """Two transactions on two connections race: the conditional UPDATE lets exactly one assign the ticket."""
    for db in create_database(database_backend, tmp_path):
        sessions = make_sessionmaker(db.engine)
        with transaction(sessions) as session:
            alice, bob, _ = staff(session)
            ids = (alice.telegram_user_id, bob.telegram_user_id)
            ticket_id = file(session, ComplaintCategory.DELAY).id
        barrier = threading.Barrier(2)
        outcomes: list[complaintdesk.TakeOutcome] = []
        threads = [threading.Thread(target=press_take, args=(sessions, barrier, ticket_id, user_id, outcomes))
                   for user_id in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcome.won for outcome in outcomes) == [False, True]
        loser = next(outcome for outcome in outcomes if not outcome.won)
        with sessions() as session:
            holder = session.get(Staff, session.get(Complaint, ticket_id).assigned_to_id)  # type: ignore[union-attr]
            events = session.scalars(select(complaintdesk.ComplaintEvent).where(
                complaintdesk.ComplaintEvent.complaint_id == ticket_id)).all()
        assert holder is not None and loser.holder_name == holder.name and loser.problem == "taken"
        assert [event.kind for event in events] == [ComplaintEventKind.TAKEN]


def test_who_may_act(session: Session) -> None:
    """An agent takes first and acts only on their own tickets; a supervisor and the command line act on any."""
    alice, bob, sam = staff(session)
    ticket = file(session, ComplaintCategory.DELAY)
    with pytest.raises(DeskError, match="complaint_take_first"):
        complaintdesk.resolve(session, ticket.id, bob, "done", now=NOW)
    complaintdesk.take(session, ticket.id, alice.telegram_user_id, now=NOW)
    with pytest.raises(DeskError, match="complaint_not_yours"):
        complaintdesk.outreach(session, ticket.id, bob)
    complaintdesk.add_note(session, ticket.id, bob, "I know this customer")  # notes: anyone on the staff
    assert complaintdesk.outreach(session, ticket.id, sam).chat_id == 9001
    reach = complaintdesk.outreach(session, ticket.id, alice)
    assert (reach.code, reach.language) == (ticket.code, "en")
    with pytest.raises(DeskError, match="complaint_text_empty"):
        complaintdesk.resolve(session, ticket.id, alice, "   ", now=NOW)
    no_chat = file(session, ComplaintCategory.BILLING, chat_id=None)
    with pytest.raises(DeskError, match="complaint_no_chat"):
        complaintdesk.outreach(session, no_chat.id, None)


def test_message_customer_reaches_their_chat_in_their_language_and_is_logged(session: Session) -> None:
    """Message customer: the customer's chat and language (pinned over the ticket's); only the holder or a supervisor
    may send, and each message sent is logged on the ticket with who wrote it."""
    alice, bob, sam = staff(session)
    ticket = file(session, ComplaintCategory.DELAY, chat_id=9401, language="en")
    with pytest.raises(DeskError, match="complaint_take_first"):
        complaintdesk.outreach(session, ticket.id, alice)  # nobody holds it yet: an agent takes it first
    complaintdesk.take(session, ticket.id, alice.telegram_user_id, now=NOW)
    # Filed in English: the message is in English; once the customer picks Chinese (/language), in Chinese.
    assert complaintdesk.outreach(session, ticket.id, alice).language == "en"
    fix_language(session, 9401, "zh")
    reach = complaintdesk.outreach(session, ticket.id, alice)
    assert (reach.complaint_id, reach.code, reach.chat_id, reach.language) == (ticket.id, ticket.code, 9401, "zh")

    # Another agent can neither message the customer nor log a message on Alice's ticket.
    for refused in (lambda: complaintdesk.outreach(session, ticket.id, bob),
                    lambda: complaintdesk.record_message(session, ticket.id, bob, "hello", now=NOW)):
        with pytest.raises(DeskError, match="complaint_not_yours"):
            refused()
    complaintdesk.record_message(session, ticket.id, alice, "The courier calls you before six.", now=NOW)
    complaintdesk.record_message(session, ticket.id, sam, "Sorry for the wait.", now=NOW + timedelta(minutes=1))
    messages = [(e.kind, e.staff_name, e.body) for e in complaintdesk.ticket(session, ticket.id, now=NOW).history
                if e.kind is ComplaintEventKind.MESSAGE]
    assert messages == [(ComplaintEventKind.MESSAGE, "Alice", "The courier calls you before six."),
                        (ComplaintEventKind.MESSAGE, "Sam", "Sorry for the wait.")]
    with pytest.raises(DeskError, match="complaint_unknown"):
        complaintdesk.outreach(session, 10**9, sam)


def test_message_customer_uses_the_linked_account_or_says_there_is_no_chat(session: Session) -> None:
    """A ticket without a chat reaches the linked customer's Telegram account (in the ticket's language while that
    chat has not said otherwise); with neither there is nobody to write to: complaint_no_chat, nothing logged."""
    _alice, _bob, sam = staff(session)
    customer = make_customer(session, "T700002", "+8613900007002", telegram_user_id=9402)
    linked = file(session, ComplaintCategory.BILLING, chat_id=None, language="en")
    linked.customer_id = customer.id
    session.flush()
    reach = complaintdesk.outreach(session, linked.id, sam)
    assert (reach.chat_id, reach.language) == (9402, "en")

    nowhere = file(session, ComplaintCategory.BILLING, chat_id=None)
    for member in (sam, None):  # a supervisor and the command line alike
        with pytest.raises(DeskError, match="complaint_no_chat"):
            complaintdesk.outreach(session, nowhere.id, member)
    kinds = [entry.kind for entry in complaintdesk.ticket(session, nowhere.id, now=NOW).history]
    assert ComplaintEventKind.MESSAGE not in kinds


def test_resolve_tells_the_customer_once_and_yes_closes(session: Session) -> None:
    """Resolving queues the outcome (with compensation); once marked sent it is not listed again; Yes closes."""
    alice, _bob, _sam = staff(session)
    ticket = file(session, ComplaintCategory.DAMAGE)
    complaintdesk.take(session, ticket.id, alice.telegram_user_id, now=NOW)
    complaintdesk.resolve(session, ticket.id, alice, "Refund issued", compensation=Decimal("50"), now=NOW)
    (outcome,) = complaintdesk.outcomes_to_tell(session)
    assert (outcome.code, outcome.chat_id, outcome.language, outcome.result) == (ticket.code, 9001, "en",
                                                                                 "Refund issued")
    assert (outcome.compensation, outcome.rejected) == (Decimal("50.00"), False)
    # Not answerable before the customer was told.
    assert not complaintdesk.answer_outcome(session, ticket.id, 9001, True, now=NOW).counted
    complaintdesk.mark_outcome(session, ticket.id, delivered=True, now=NOW)
    assert complaintdesk.outcomes_to_tell(session) == []
    assert not complaintdesk.answer_outcome(session, ticket.id, 5555, True, now=NOW).counted  # another chat
    answer = complaintdesk.answer_outcome(session, ticket.id, 9001, True, now=NOW)
    assert answer.counted and answer.satisfied
    assert not complaintdesk.answer_outcome(session, ticket.id, 9001, False, now=NOW).counted  # once
    session.refresh(ticket)
    assert (ticket.status, ticket.satisfied, ticket.compensation_yuan, ticket.resolved_by_id) == (
        ComplaintStatus.CLOSED, True, Decimal("50.00"), alice.id)
    kinds = [entry.kind for entry in complaintdesk.ticket(session, ticket.id, now=NOW).history]
    assert kinds == [ComplaintEventKind.TAKEN, ComplaintEventKind.RESOLVED, ComplaintEventKind.OUTCOME_SENT,
                     ComplaintEventKind.CONFIRMED]


def test_no_reopens_with_a_new_due_time_and_takes_the_customers_words(session: Session) -> None:
    """No: in progress again, due anew, reminders reset, handler kept; the next message is attached once."""
    alice, _bob, _sam = staff(session)
    ticket = file(session, ComplaintCategory.DELAY, at=NOW - timedelta(hours=30))
    complaintdesk.take(session, ticket.id, alice.telegram_user_id, now=NOW)
    complaintdesk.mark_due(session, ticket.id, "alert", now=NOW)
    complaintdesk.resolve(session, ticket.id, alice, "It was delivered", now=NOW)
    complaintdesk.mark_outcome(session, ticket.id, delivered=True, now=NOW)
    later = NOW + timedelta(hours=1)
    answer = complaintdesk.answer_outcome(session, ticket.id, 9001, False, now=later)
    assert answer.counted and not answer.satisfied
    assert (answer.assignee_telegram_id, answer.assignee_name) == (alice.telegram_user_id, "Alice")
    assert answer.due_at == later + timedelta(hours=24)
    session.refresh(ticket)
    assert (ticket.status, ticket.reopened_count, ticket.resolved_at, ticket.due_alerted_at) == (
        ComplaintStatus.IN_PROGRESS, 1, None, None)
    assert deskinput.pending(session, 9001, now=later).kind == deskinput.REOPEN_WORDS  # type: ignore[union-attr]
    words = complaintdesk.attach_words(session, 9001, content_kind="photo", text="the box is empty",
                                       file_id="photo-9", now=later)
    assert words is not None and (words.code, words.assignee_telegram_id) == (ticket.code, alice.telegram_user_id)
    assert complaintdesk.attach_words(session, 9001, content_kind="text", text="again", file_id=None,
                                      now=later) is None
    card = complaintdesk.ticket(session, ticket.id, now=later)
    assert card.photos == ["photo-9"] and card.history[-1].body == "the box is empty"
    # Resolved again: the customer is asked afresh.
    complaintdesk.resolve(session, ticket.id, alice, "Found it at the neighbour's", now=later)
    session.refresh(ticket)
    assert ticket.satisfied is None and ticket.outcome_sent_at is None


def test_customer_words_are_awaited_for_a_while_only(session: Session) -> None:
    """An unanswered wait expires: the customer's much later message is an ordinary one."""
    ticket = file(session, ComplaintCategory.DELAY)
    deskinput.expect(session, 9001, deskinput.REOPEN_WORDS, ticket.id, minutes=30, now=NOW)
    assert deskinput.pending(session, 9001, now=NOW + timedelta(minutes=29)) is not None
    assert deskinput.pending(session, 9001, now=NOW + timedelta(minutes=31)) is None
    assert complaintdesk.attach_words(session, 9001, content_kind="text", text="hi", file_id=None,
                                      now=NOW + timedelta(minutes=31)) is None
    assert deskinput.clear(session, 9001) is not None and deskinput.clear(session, 9001) is None


def test_reject_tells_the_reason(session: Session) -> None:
    """Reject closes without upholding; the customer is told the reason and not asked to confirm."""
    ticket = file(session, ComplaintCategory.BILLING)
    complaintdesk.reject(session, ticket.id, None, "The fee matches the price list", now=NOW)
    (outcome,) = complaintdesk.outcomes_to_tell(session)
    assert outcome.rejected and outcome.result == "The fee matches the price list"
    complaintdesk.mark_outcome(session, ticket.id, delivered=True, now=NOW)
    assert not complaintdesk.answer_outcome(session, ticket.id, 9001, False, now=NOW).counted
    session.refresh(ticket)
    assert (ticket.status, ticket.rejected) == (ComplaintStatus.CLOSED, True)
    with pytest.raises(DeskError, match="complaint_not_open"):
        complaintdesk.resolve(session, ticket.id, None, "changed my mind", now=NOW)


def test_due_watch_reminds_then_alerts_once_each(session: Session) -> None:
    """An hour before: remind; once past: alert; each once; resolved tickets are left alone."""
    alice, _bob, _sam = staff(session)
    ticket = file(session, ComplaintCategory.DELAY, at=NOW)  # due NOW + 24 h
    complaintdesk.take(session, ticket.id, alice.telegram_user_id, now=NOW)
    due = NOW + timedelta(hours=24)
    assert complaintdesk.due_actions(session, remind_minutes=60, now=due - timedelta(minutes=61)) == []
    (remind,) = complaintdesk.due_actions(session, remind_minutes=60, now=due - timedelta(minutes=59))
    assert (remind.kind, remind.assignee_name, as_utc(remind.due_at)) == ("remind", "Alice", due)
    complaintdesk.mark_due(session, ticket.id, "remind", now=due - timedelta(minutes=59))
    assert complaintdesk.due_actions(session, remind_minutes=60, now=due - timedelta(minutes=1)) == []
    (alert,) = complaintdesk.due_actions(session, remind_minutes=60, now=due)
    assert alert.kind == "alert"
    complaintdesk.mark_due(session, ticket.id, "alert", now=due)
    assert complaintdesk.due_actions(session, remind_minutes=60, now=due + timedelta(hours=5)) == []
    # A ticket first seen after its due time gets the alert straight away.
    missed = file(session, ComplaintCategory.BILLING, chat_id=9003, at=NOW - timedelta(hours=100))
    assert [(a.code, a.kind) for a in complaintdesk.due_actions(session, remind_minutes=60, now=NOW)] == [
        (missed.code, "alert")]
    complaintdesk.resolve(session, missed.id, None, "refunded", now=NOW)
    assert complaintdesk.due_actions(session, remind_minutes=60, now=NOW) == []


def test_assign_from_the_command_line(session: Session) -> None:
    """Assign gives an unassigned ticket; a held one only with force; every change and view is audited."""
    alice, bob, _sam = staff(session)
    ticket = file(session, ComplaintCategory.DELAY)
    complaintdesk.assign(session, ticket.code, alice.telegram_user_id, now=NOW)
    with pytest.raises(DeskError, match="complaint_taken"):
        complaintdesk.assign(session, ticket.code, bob.telegram_user_id, now=NOW)
    complaintdesk.assign(session, ticket.code.lower(), bob.telegram_user_id, force=True, now=NOW)
    session.refresh(ticket)
    assert ticket.assigned_to_id == bob.id
    with pytest.raises(DeskError, match="complaint_unknown_staff"):
        complaintdesk.assign(session, ticket.code, 999, now=NOW)
    with pytest.raises(DeskError, match="complaint_unknown"):
        complaintdesk.assign(session, "C-999999", bob.telegram_user_id, now=NOW)
    complaintdesk.view_ticket(session, ticket.id, None, now=NOW)
    # Changes name the ticket; the view names whom it is about (no customer record: the reporting chat, 9001).
    entries = session.scalars(select(AuditEntry).where(AuditEntry.subject_id.in_((ticket.code, "9001")))
                              .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor) for e in entries] == [
        (audit.COMPLAINT_CHANGE, audit.CLI_ACTOR), (audit.COMPLAINT_CHANGE, audit.CLI_ACTOR),
        (audit.COMPLAINT_VIEW, audit.CLI_ACTOR),
    ]


def test_the_card_shows_the_parcel_the_customer_and_their_history(session: Session) -> None:
    """Timeline with couriers, the customer's tier and earlier complaints, photos, the history with amounts."""
    customer = make_customer(session, "T700001", "+8613900007001", telegram_user_id=9302)
    make_shipment(session, "XJ202611187001", ShipmentStatus.DELAYED, customer=customer, events=TIMELINE,
                  reason="weather")
    earlier = open_complaint(session, category=ComplaintCategory.BILLING, description="fee", chat_id=9302,
                             telegram_user_id=9302, tracking_number=None, now=NOW - timedelta(days=60))
    ticket = open_complaint(session, category=ComplaintCategory.DELAY, description="late", chat_id=9302,
                            telegram_user_id=9302, tracking_number="XJ202611187001", photo_file_id="p-1",
                            now=NOW).complaint
    card = complaintdesk.ticket(session, ticket.id, now=NOW)
    assert (card.customer_code, card.tier, card.tracking_number, card.shipment_status) == (
        "T700001", "C", "XJ202611187001", ShipmentStatus.DELAYED)
    assert [p.code for p in card.past] == [earlier.code]
    assert [scan.kind for scan in card.timeline] == [EventKind.CREATED, EventKind.PICKED_UP, EventKind.DELAYED]
    assert card.photos == ["p-1"] and card.chat_id == 9302


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("50", Decimal("50.00")), ("¥50.5", Decimal("50.50")), ("50元", Decimal("50.00")), ("1,200 yuan",
     Decimal("1200.00")), ("0", Decimal("0.00")), ("-5", None), ("fifty", None), ("nan", None), ("1e9", None)],
)
def test_parse_amount(raw: str, amount: Decimal | None) -> None:
    """Amounts as staff type them; anything else (or negative, or absurd) is not an amount."""
    assert complaintdesk.parse_amount(raw) == amount
