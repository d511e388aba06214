"""The human queue services on SQLite and PostgreSQL: opening, ranking, claiming, SLA, resolve, rating, audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import CLOCK_FILE_ENV, set_clock_offset, utcnow
from core.db import make_sessionmaker, transaction
from core.hours import parse_hours
from crm import audit, escalations
from crm.escalations import QueueError, QueuePolicy, Reason
from crm.models import (
    AuditEntry,
    ChatMessage,
    Direction,
    Escalation,
    EscalationEventKind,
    EscalationStatus,
    ShipmentStatus,
    StaffRole,
)
from crm.profiles import CustomerProfile, view_profile
from crm.segments import score
from crm.staff import deactivate_staff, register_staff
from tests.crm.factories import make_customer, make_shipment
from tests.databases import TestDatabase

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
POLICY = QueuePolicy(claim_minutes=10, reply_minutes=5, supervisor_minutes=10, handle_minutes=6,
                     hours=parse_hours("08:00-22:00"))
# The CRM does not know the NLU's intents; the bot passes domain.yml's. A few stand in for them here.
INTENTS = ("complain_delay", "complain_damage", "track_shipment")


def agents(session: Session) -> tuple[int, int]:
    """Two registered agents; returns their Telegram ids."""
    register_staff(session, 9001, "Alice", StaffRole.AGENT)
    register_staff(session, 9002, "Bob", StaffRole.AGENT)
    return 9001, 9002


def test_one_open_escalation_per_chat(session: Session) -> None:
    """A second trigger while one is open adds to it; a more serious reason raises the priority."""
    first = escalations.open_escalation(session, 501, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    again = escalations.open_escalation(session, 501, Reason.SERIOUS_COMPLAINT, policy=POLICY, now=NOON)
    assert first.created and not again.created
    assert first.escalation_id == again.escalation_id
    rows = session.scalars(select(Escalation).where(Escalation.chat_id == 501)).all()
    assert len(rows) == 1
    assert rows[0].reason == "serious_complaint" and rows[0].priority == 40
    kinds = [event.kind for event in rows[0].events]
    assert kinds == [EscalationEventKind.OPENED, EscalationEventKind.APPENDED]


def test_positions_wait_and_priority(session: Session) -> None:
    """Positions follow effective priority then age; the wait estimate counts agents on duty."""
    agents(session)
    a = escalations.open_escalation(session, 601, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    b = escalations.open_escalation(session, 602, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON + timedelta(seconds=5))
    assert (a.position, b.position) == (1, 2)
    assert b.wait_minutes == 6  # 2 * 6 minutes / 2 agents
    c = escalations.open_escalation(session, 603, Reason.SERIOUS_COMPLAINT, policy=POLICY, now=NOON)
    assert c.position == 1
    queue = escalations.waiting_queue(session, now=NOON + timedelta(minutes=1))
    assert [entry.escalation.chat_id for entry in queue][:3] == [603, 601, 602]
    escalation = session.get(Escalation, a.escalation_id)
    assert escalation is not None
    assert escalation.first_response_due_at is not None


def test_after_hours_deadline_and_message(session: Session) -> None:
    """Outside staffed hours the deadline starts at the next opening and the customer is told when."""
    late = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    placed = escalations.open_escalation(session, 701, Reason.REQUEST_HUMAN, policy=POLICY, now=late)
    assert not placed.staffed
    assert placed.opens_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 next morning
    escalation = session.get(Escalation, placed.escalation_id)
    assert escalation is not None and escalation.first_response_due_at is not None
    assert escalations.as_utc(escalation.first_response_due_at) == datetime(2026, 11, 24, 0, 10, tzinfo=UTC)


def test_tier_from_rfm(session: Session) -> None:
    """A frequent, recent, high-spending customer is tier A and ranks above an unknown one."""
    customer = make_customer(session, code="T000101", phone="+8613900000101")
    customer.telegram_user_id = 802
    for i in range(30):
        shipment = make_shipment(session, f"XJ2026110{i:05d}", ShipmentStatus.DELIVERED, customer=customer,
                                 start=NOON - timedelta(days=i * 5))
        shipment.fee = Decimal("300.00")
        shipment.shipped_at = NOON - timedelta(days=i * 5)
    session.flush()
    unknown = escalations.open_escalation(session, 801, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    top = escalations.open_escalation(session, 802, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    escalation = session.get(Escalation, top.escalation_id)
    assert escalation is not None and escalation.tier == "A" and escalation.customer_id == customer.id
    assert top.position == 1
    unknown_row = session.get(Escalation, unknown.escalation_id)
    assert unknown_row is not None
    assert escalations.placement(session, unknown_row, POLICY, now=NOON).position == 2
    assert score(400, 0, Decimal(0))[3] == "D"
    assert score(3, 30, Decimal(9000))[3] == "A"


def test_summary_has_last_messages_and_parcel(session: Session) -> None:
    """The summary quotes the customer's last texts and the status of parcels they mentioned."""
    make_shipment(session, "XJ202611189999", ShipmentStatus.IN_TRANSIT)
    for body in ("hello", "where is XJ202611189999", "转人工"):
        session.add(ChatMessage(chat_id=901, direction=Direction.INBOUND, kind="text", text=body))
    session.flush()
    placed = escalations.open_escalation(session, 901, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    summary = session.get(Escalation, placed.escalation_id).summary  # type: ignore[union-attr]
    assert "“where is XJ202611189999”" in summary and "“转人工”" in summary
    assert "XJ202611189999 · in_transit" in summary


def test_claim_transfer_note_resolve_rate(session: Session) -> None:
    """The whole staff side: one claim wins, transfer, note, resolve with a tag, one rating."""
    alice, bob = agents(session)
    placed = escalations.open_escalation(session, 1001, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    won = escalations.claim(session, placed.escalation_id, alice, policy=POLICY, now=NOON)
    lost = escalations.claim(session, placed.escalation_id, bob, policy=POLICY, now=NOON)
    assert won.won and not lost.won
    assert lost.problem == "taken" and lost.holder is not None and lost.holder.name == "Alice"
    assert escalations.claim(session, placed.escalation_id, 4242, policy=POLICY).problem == "not_staff"
    alice_row = won.holder
    assert alice_row is not None and alice_row.current_escalation_id == placed.escalation_id
    escalation, target = escalations.transfer(session, placed.escalation_id, alice_row, bob, policy=POLICY)
    assert target.name == "Bob" and escalation.claimed_by_id == target.id
    assert alice_row.current_escalation_id is None and target.current_escalation_id == escalation.id
    with pytest.raises(QueueError, match="staff_not_yours"):
        escalations.add_note(session, escalation.id, alice_row, "not mine any more")
    escalations.add_note(session, escalation.id, target, "customer wants a callback")
    assert [n.body for n in escalations.notes(session, escalation.id)] == ["customer wants a callback"]
    with pytest.raises(QueueError, match="staff_unknown_intent"):
        escalations.resolve(session, escalation.id, target, intent="nonsense", valid=INTENTS)
    with pytest.raises(QueueError, match="staff_unknown_intent"):
        escalations.resolve(session, escalation.id, target, intent="complain_delay")  # no valid intents given
    escalations.resolve(session, escalation.id, target, intent="complain_delay", valid=INTENTS)
    assert escalation.status == EscalationStatus.RESOLVED and escalation.active_chat_id is None
    assert escalation.tagged_intent == "complain_delay"
    with pytest.raises(QueueError, match="staff_unknown_intent"):
        escalations.tag_intent(session, escalation.id, target, "nonsense", valid=INTENTS)
    escalations.tag_intent(session, escalation.id, target, "complain_damage", valid=INTENTS)
    assert escalation.tagged_intent == "complain_damage"
    assert target.current_escalation_id is None
    assert not escalations.record_rating(session, escalation.id, 9999, 5)  # someone else's chat
    assert escalations.record_rating(session, escalation.id, 1001, 4)
    assert not escalations.record_rating(session, escalation.id, 1001, 1)  # only once
    assert escalation.rating == 4
    assert escalations.pending_resume(session, 1001) is not None
    escalations.mark_resumed(session, escalation.id)
    assert escalations.pending_resume(session, 1001) is None
    # The chat may be escalated again later.
    again = escalations.open_escalation(session, 1001, Reason.BOT_FAILURE, policy=POLICY)
    assert again.created


def test_sla_reminder_then_supervisor(session: Session) -> None:
    """Past the deadline: a reminder first, supervisors supervisor_minutes later; then for the reply deadline."""
    alice, _ = agents(session)
    placed = escalations.open_escalation(session, 1101, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    escalations.mark_announced(session, placed.escalation_id, -100, 1, now=NOON)
    assert escalations.sla_due(session, POLICY, now=NOON + timedelta(minutes=9)) == []
    due = escalations.sla_due(session, POLICY, now=NOON + timedelta(minutes=11))
    assert [a.kind for a in due if a.escalation.id == placed.escalation_id] == ["remind_claim"]
    escalations.mark_sla_done(session, placed.escalation_id, "remind_claim")
    assert not [a for a in escalations.sla_due(session, POLICY, now=NOON + timedelta(minutes=15))
                if a.escalation.id == placed.escalation_id]
    due = escalations.sla_due(session, POLICY, now=NOON + timedelta(minutes=21))
    assert [a.kind for a in due if a.escalation.id == placed.escalation_id] == ["alert_claim"]
    escalations.mark_sla_done(session, placed.escalation_id, "alert_claim")
    escalations.claim(session, placed.escalation_id, alice, policy=POLICY, now=NOON + timedelta(minutes=22))
    due = escalations.sla_due(session, POLICY, now=NOON + timedelta(minutes=28))
    assert [a.kind for a in due if a.escalation.id == placed.escalation_id] == ["remind_reply"]


def test_queue_notice_throttle(session: Session) -> None:
    """A queued customer is told their place at most once per interval."""
    placed = escalations.open_escalation(session, 1201, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    assert not escalations.take_notice_turn(session, placed.escalation_id, 60, now=NOON + timedelta(seconds=30))
    assert escalations.take_notice_turn(session, placed.escalation_id, 60, now=NOON + timedelta(seconds=61))
    assert not escalations.take_notice_turn(session, placed.escalation_id, 60, now=NOON + timedelta(seconds=90))


def test_profile_views_and_role_changes_are_audited(session: Session) -> None:
    """Viewing a profile and changing a role each write an audit entry naming the actor."""
    admin = register_staff(session, 9100, "Root", StaffRole.ADMIN)
    agent = register_staff(session, 9101, "Alice", StaffRole.AGENT, actor=admin)
    register_staff(session, 9101, "Alice", StaffRole.SUPERVISOR, actor=admin)
    deactivate_staff(session, 9101, actor=admin)
    changes = session.scalars(
        select(AuditEntry).where(AuditEntry.action == audit.ROLE_CHANGE, AuditEntry.subject_id == "9101")
        .order_by(AuditEntry.id)
    ).all()
    assert [(c.details or {}).get("to") for c in changes] == ["agent", "supervisor", None]
    assert all(c.actor_telegram_user_id == 9100 for c in changes)
    customer = make_customer(session, code="T000301", phone="+8613900000301")
    customer.telegram_user_id = 1301
    make_shipment(session, "XJ202611180301", ShipmentStatus.DELAYED, customer=customer)
    placed = escalations.open_escalation(session, 1301, Reason.REQUEST_HUMAN, policy=POLICY)
    # Alice was removed above; a supervisor may read any conversation's profile (agents: tests/crm/test_access.py).
    supervisor = register_staff(session, 9102, "Sam", StaffRole.SUPERVISOR, actor=admin)
    profile = view_profile(session, placed.escalation_id, supervisor)
    assert isinstance(profile, CustomerProfile)
    assert profile.customer is not None and profile.customer.id == customer.id and agent.active is False
    assert [s.tracking_number for s in profile.shipments] == ["XJ202611180301"]
    views = session.scalars(select(AuditEntry).where(AuditEntry.action == audit.PROFILE_VIEW)).all()
    assert [(v.subject_kind, v.subject_id, v.actor_telegram_user_id) for v in views][-1] == (
        "customer", str(customer.id), 9102
    )


def test_test_clock_file_moves_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PARCELDESK_CLOCK_FILE shifts utcnow() by the seconds it holds; a missing or bad file means real time."""
    clock = tmp_path / "clock"
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))
    before = utcnow()
    set_clock_offset(clock, 3600)
    assert timedelta(minutes=59) < utcnow() - before < timedelta(minutes=61)
    clock.write_text("garbage", encoding="utf-8")
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_concurrent_claims_one_winner(database: TestDatabase) -> None:
    """Two agents claiming in two threads (two connections) at once: exactly one wins."""
    factory = make_sessionmaker(database.engine)
    first, second = 77_000_000 + database.backend.__len__(), 78_000_000 + database.backend.__len__()
    chat = 79_000_000 + len(database.backend)
    with transaction(factory) as session:
        register_staff(session, first, "Claimer One", StaffRole.AGENT)
        register_staff(session, second, "Claimer Two", StaffRole.AGENT)
        escalation_id = escalations.open_escalation(session, chat, Reason.REQUEST_HUMAN, policy=POLICY).escalation_id
    barrier = threading.Barrier(2)
    results: dict[int, bool] = {}

    def press(user: int) -> None:
        barrier.wait()
        with transaction(factory) as session:
            results[user] = escalations.claim(session, escalation_id, user, policy=POLICY).won

    threads = [threading.Thread(target=press, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results.values()) == [False, True]
    with transaction(factory) as session:
        escalation = session.get(Escalation, escalation_id)
        assert escalation is not None and escalation.status == EscalationStatus.CLAIMED
        escalations.resolve(session, escalation_id, escalation.claimed_by)  # type: ignore[arg-type]


def test_only_unclaimed_pure_bot_failures_go_back_to_the_bot(session: Session) -> None:
    """A bot failure nobody claimed is released; one a person was asked for, or an agent holds, stays."""
    alice, _ = agents(session)
    pure = escalations.open_escalation(session, 801, Reason.BOT_FAILURE, policy=POLICY, now=NOON)
    asked = escalations.open_escalation(session, 802, Reason.BOT_FAILURE, policy=POLICY, now=NOON)
    escalations.open_escalation(session, 802, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)  # /human meanwhile
    claimed = escalations.open_escalation(session, 803, Reason.BOT_FAILURE, policy=POLICY, now=NOON)
    escalations.claim(session, claimed.escalation_id, alice, policy=POLICY, now=NOON)
    escalations.open_escalation(session, 804, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    assert [e.id for e in escalations.releasable_failures(session)] == [pure.escalation_id]
    assert asked.escalation_id not in [e.id for e in escalations.releasable_failures(session)]

    released = escalations.release_to_bot(session, pure.escalation_id, now=NOON)
    assert released is not None and released.status == EscalationStatus.RESOLVED
    assert released.rasa_resumed_at is not None  # Rasa was never paused: nothing to resume at the next message
    assert escalations.active_for_chat(session, 801) is None
    assert escalations.pending_resume(session, 801) is None
    assert released.events[-1].body == escalations.RELEASED_TO_BOT
    # Claimed by an agent at the same moment: the agent wins, the release does nothing.
    assert escalations.release_to_bot(session, claimed.escalation_id, now=NOON) is None
    assert escalations.releasable_failures(session) == []


def test_claim_deadline_near_closing_carries_to_the_morning(session: Session) -> None:
    """Five minutes before closing the ten claim minutes end at 08:05 the next morning (staffed time only)."""
    closing = datetime(2026, 11, 23, 13, 55, tzinfo=UTC)  # 21:55 in Shanghai
    placed = escalations.open_escalation(session, 711, Reason.REQUEST_HUMAN, policy=POLICY, now=closing)
    escalation = session.get(Escalation, placed.escalation_id)
    assert escalation is not None and escalation.first_response_due_at is not None
    assert escalations.as_utc(escalation.first_response_due_at) == datetime(2026, 11, 24, 0, 5, tzinfo=UTC)


def test_the_customer_withdraws_a_waiting_escalation(session: Session) -> None:
    """Withdrawn: closed without a resolver, "withdrawn" in its history, Rasa to be resumed; a second time: None."""
    placed = escalations.open_escalation(session, 1301, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    withdrawal = escalations.withdraw(session, 1301, now=NOON + timedelta(minutes=1))
    assert withdrawal is not None and withdrawal.escalation_id == placed.escalation_id
    assert withdrawal.holder_telegram_id is None
    escalation = session.get(Escalation, placed.escalation_id)
    assert escalation is not None and escalation.status is EscalationStatus.RESOLVED
    assert escalation.resolved_by_id is None and escalation.active_chat_id is None
    assert [event.kind for event in escalation.events][-1] is EscalationEventKind.WITHDRAWN
    assert escalations.active_for_chat(session, 1301) is None
    pending = escalations.pending_resume(session, 1301)
    assert pending is not None and pending.id == placed.escalation_id
    assert escalations.withdraw(session, 1301) is None
    # The chat can queue again later: a new escalation, not the withdrawn one.
    again = escalations.open_escalation(session, 1301, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    assert again.created and again.escalation_id != placed.escalation_id


def test_withdrawing_a_claimed_escalation_names_its_agent(session: Session) -> None:
    """A claim that came first is still withdrawn; the agent is named (to be told) and no longer holds it."""
    alice, _ = agents(session)
    placed = escalations.open_escalation(session, 1302, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    escalations.claim(session, placed.escalation_id, alice, policy=POLICY, now=NOON)
    withdrawal = escalations.withdraw(session, 1302, now=NOON)
    assert withdrawal is not None and (withdrawal.holder_telegram_id, withdrawal.holder_name) == (alice, "Alice")
    member = escalations.staff_member(session, alice)
    assert member is not None and member.current_escalation_id is None
    outcome = escalations.claim(session, placed.escalation_id, alice, policy=POLICY, now=NOON)
    assert not outcome.won and outcome.problem == "resolved"


def test_every_queued_message_is_acknowledged(session: Session) -> None:
    """The first message after a notice gets a short ack, a burst waits for one catch-up notice at the interval."""
    placed = escalations.open_escalation(session, 1303, Reason.REQUEST_HUMAN, policy=POLICY, now=NOON)
    case = placed.escalation_id

    def message(seconds: int) -> escalations.AckDecision:
        at = NOON + timedelta(seconds=seconds)
        escalations.record_customer_message(session, case, content_kind="text", text="hello?", file_id=None,
                                            chat_id=1303, message_id=seconds, now=at)
        return escalations.acknowledgement(session, case, 60, now=at)

    first = message(2)  # "hello?" right after the holding reply
    assert first.kind is escalations.Acknowledgement.SHORT
    second = message(5)
    assert second.kind is escalations.Acknowledgement.LATER
    assert second.next_notice_at == NOON + timedelta(seconds=60)
    assert escalations.catch_up_due(session, 60, now=NOON + timedelta(seconds=30)) == []
    due = escalations.catch_up_due(session, 60, now=NOON + timedelta(seconds=61))
    assert [e.id for e in due] == [case]
    assert escalations.take_notice_turn(session, case, 60, now=NOON + timedelta(seconds=61))
    assert escalations.catch_up_due(session, 60, now=NOON + timedelta(seconds=200)) == []
    assert message(70).kind is escalations.Acknowledgement.SHORT  # the first after the catch-up notice
    assert message(130).kind is escalations.Acknowledgement.NOTICE  # an interval later: the place again
