"""Least privilege on SQLite and PostgreSQL: who may read a customer profile or open a complaint card, the audit
trail's filters, and the last admin who cannot be removed."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import make_sessionmaker, transaction
from core.hours import parse_hours
from crm import audit, complaintdesk, escalations
from crm.complaintdesk import Ticket, TicketRefused
from crm.complaints import open_complaint
from crm.escalations import QueuePolicy, Reason
from crm.identity import link_contact
from crm.models import AuditEntry, ComplaintCategory, ShipmentStatus, Staff, StaffRole
from crm.profiles import CustomerProfile, ProfileRefused, view_profile
from crm.staff import StaffError, deactivate_staff, register_staff, staff_member
from tests.crm.factories import make_customer, make_shipment
from tests.databases import TestDatabase

POLICY = QueuePolicy(claim_minutes=10, reply_minutes=5, supervisor_minutes=10, handle_minutes=6,
                     hours=parse_hours("00:00-24:00"))


def held_case(session: Session, chat_id: int, code: str, agent: Staff) -> tuple[int, int]:
    """A linked customer's conversation claimed by `agent`; returns (escalation id, customer id)."""
    customer = make_customer(session, code=code, phone=f"+86139{chat_id:08d}")
    customer.telegram_user_id = chat_id
    make_shipment(session, f"XJ2026111{chat_id % 100000:05d}", ShipmentStatus.DELAYED, customer=customer)
    placed = escalations.open_escalation(session, chat_id, Reason.REQUEST_HUMAN, policy=POLICY)
    assert escalations.claim(session, placed.escalation_id, agent.telegram_user_id, policy=POLICY).won
    return placed.escalation_id, customer.id


def test_agent_sees_only_conversations_they_hold(session: Session) -> None:
    """Agent A on agent B's customer: refused and audited; B and a supervisor see it; after resolving B does not."""
    alice = register_staff(session, 9301, "Alice", StaffRole.AGENT)
    bob = register_staff(session, 9302, "Bob", StaffRole.AGENT)
    sam = register_staff(session, 9303, "Sam", StaffRole.SUPERVISOR)
    bobs_case, customer_id = held_case(session, 1401, "T000401", bob)

    refused = view_profile(session, bobs_case, alice)
    assert refused == ProfileRefused(bobs_case)
    denied = audit.entries(session, action=audit.PROFILE_DENIED)
    assert [(d.actor_telegram_user_id, d.subject_kind, d.subject_id) for d in denied] == [
        (9301, "customer", str(customer_id))
    ]
    assert (denied[0].details or {})["escalation_id"] == bobs_case

    for viewer in (bob, sam):
        profile = view_profile(session, bobs_case, viewer)
        assert isinstance(profile, CustomerProfile) and profile.customer is not None
        assert profile.customer.id == customer_id
    viewers = [v.actor_telegram_user_id for v in audit.entries(session, action=audit.PROFILE_VIEW)]
    assert sorted(viewers) == [9302, 9303]

    escalations.resolve(session, bobs_case, bob)
    assert isinstance(view_profile(session, bobs_case, bob), ProfileRefused)  # resolved: no longer his to read
    assert isinstance(view_profile(session, bobs_case, sam), CustomerProfile)


def test_an_agent_assigned_the_complaint_may_see_its_customer(session: Session) -> None:
    """An escalated complaint assigned to an agent opens its customer's profile to that agent only."""
    alice = register_staff(session, 9311, "Alice", StaffRole.AGENT)
    bob = register_staff(session, 9312, "Bob", StaffRole.AGENT)
    customer = make_customer(session, code="T000411", phone="+8613900000411")
    customer.telegram_user_id = 1411
    filed = open_complaint(session, category=ComplaintCategory.LOSS, description="丢了", chat_id=1411,
                           telegram_user_id=1411, tracking_number=None)
    placed = escalations.open_escalation(session, 1411, Reason.SERIOUS_COMPLAINT, policy=POLICY,
                                         complaint_id=filed.complaint.id)
    filed.complaint.assigned_to_id = alice.id
    session.flush()
    assert isinstance(view_profile(session, placed.escalation_id, alice), CustomerProfile)
    assert isinstance(view_profile(session, placed.escalation_id, bob), ProfileRefused)


def test_audit_filters_by_staff_member_and_customer(session: Session) -> None:
    """`desk audit --staff/--customer`: one person's actions, or everything about one customer."""
    alice = register_staff(session, 9321, "Alice", StaffRole.AGENT)
    bob = register_staff(session, 9322, "Bob", StaffRole.AGENT)
    alices_case, first = held_case(session, 1421, "T000421", alice)
    bobs_case, second = held_case(session, 1422, "T000422", bob)
    view_profile(session, alices_case, alice)
    view_profile(session, bobs_case, alice)
    view_profile(session, bobs_case, bob)
    by_alice = audit.entries(session, actor_telegram_user_id=9321)
    assert [(e.action, e.subject_id) for e in by_alice] == [
        (audit.PROFILE_DENIED, str(second)), (audit.PROFILE_VIEW, str(first))
    ]
    about_second = audit.entries(session, customer_id=second)
    assert [(e.action, e.actor_telegram_user_id) for e in about_second] == [
        (audit.PROFILE_VIEW, 9322), (audit.PROFILE_DENIED, 9321)
    ]


def test_an_agent_opens_only_complaint_cards_they_hold_or_may_take(session: Session) -> None:
    """Unassigned and open: every agent may open the card (to Take it); once Bob holds it, Alice is refused and the
    refusal audited; supervisors and the command line open any card; a closed ticket nobody held is closed to agents.
    Every view and refusal has the customer as subject, so `desk audit --customer` lists them."""
    alice = register_staff(session, 9351, "Alice", StaffRole.AGENT)
    bob = register_staff(session, 9352, "Bob", StaffRole.AGENT)
    sam = register_staff(session, 9353, "Sam", StaffRole.SUPERVISOR)
    gone = register_staff(session, 9354, "Gone", StaffRole.AGENT)
    customer = make_customer(session, code="T000451", phone="+8613900000451")
    customer.telegram_user_id = 1451
    ticket = open_complaint(session, category=ComplaintCategory.DAMAGE, description="碎了", chat_id=1451,
                            telegram_user_id=1451, tracking_number=None).complaint
    assert ticket.customer_id == customer.id
    assert isinstance(complaintdesk.view_ticket(session, ticket.id, alice), Ticket)
    assert complaintdesk.take(session, ticket.id, bob.telegram_user_id).won

    assert complaintdesk.view_ticket(session, ticket.id, alice) == TicketRefused(ticket.id, ticket.code)
    for viewer in (bob, sam, None):
        assert isinstance(complaintdesk.view_ticket(session, ticket.id, viewer), Ticket)
    deactivate_staff(session, gone.telegram_user_id)
    assert isinstance(complaintdesk.view_ticket(session, ticket.id, gone), TicketRefused)

    closed = open_complaint(session, category=ComplaintCategory.BILLING, description="多收了", chat_id=1451,
                            telegram_user_id=1451, tracking_number=None).complaint
    complaintdesk.resolve(session, closed.id, None, "refunded")
    assert isinstance(complaintdesk.view_ticket(session, closed.id, alice), TicketRefused)
    assert isinstance(complaintdesk.view_ticket(session, closed.id, sam), Ticket)

    denied = audit.entries(session, action=audit.COMPLAINT_DENIED)
    assert [(d.actor_telegram_user_id, d.subject_kind, d.subject_id, (d.details or {})["complaint"]) for d in denied] \
        == [(9351, "customer", str(customer.id), closed.code), (9354, "customer", str(customer.id), ticket.code),
            (9351, "customer", str(customer.id), ticket.code)]
    about = audit.entries(session, customer_id=customer.id)
    views = [(e.action, e.actor) for e in about if e.action in (audit.COMPLAINT_VIEW, audit.COMPLAINT_DENIED)]
    assert views == [
        (audit.COMPLAINT_VIEW, "Sam"), (audit.COMPLAINT_DENIED, "Alice"), (audit.COMPLAINT_DENIED, "Gone"),
        (audit.COMPLAINT_VIEW, audit.CLI_ACTOR), (audit.COMPLAINT_VIEW, "Sam"), (audit.COMPLAINT_VIEW, "Bob"),
        (audit.COMPLAINT_DENIED, "Alice"), (audit.COMPLAINT_VIEW, "Alice"),
    ]
    # The ticket's changes (take, resolve) are about the customer too.
    assert {(e.action, (e.details or {}).get("change")) for e in about if e.action == audit.COMPLAINT_CHANGE} == {
        (audit.COMPLAINT_CHANGE, "taken"), (audit.COMPLAINT_CHANGE, "resolved")
    }


def test_audit_about_a_customer_includes_views_of_their_chats(session: Session) -> None:
    """A profile and a card viewed while the chat was not linked to anyone are recorded against the chat; once the
    customer links it, `desk audit --customer` finds them. Another chat's entries stay out."""
    alice = register_staff(session, 9361, "Alice", StaffRole.AGENT)
    sam = register_staff(session, 9362, "Sam", StaffRole.SUPERVISOR)
    customer = make_customer(session, code="T000461", phone="+8613900000461")
    other = make_customer(session, code="T000462", phone="+8613900000462")
    other.telegram_user_id = 1462
    for chat in (1461, 1462):
        placed = escalations.open_escalation(session, chat, Reason.REQUEST_HUMAN, policy=POLICY)
        assert escalations.claim(session, placed.escalation_id, alice.telegram_user_id, policy=POLICY).won
        view_profile(session, placed.escalation_id, alice)
        escalations.resolve(session, placed.escalation_id, alice)
    filed = open_complaint(session, category=ComplaintCategory.DELAY, description="还没到", chat_id=1461,
                           telegram_user_id=1461, tracking_number=None).complaint
    assert filed.customer_id is None
    complaintdesk.view_ticket(session, filed.id, sam)
    unlinked = session.scalars(select(AuditEntry).where(AuditEntry.subject_id == "1461")).all()
    assert {(e.action, e.subject_kind) for e in unlinked} == {(audit.PROFILE_VIEW, "chat"),
                                                             (audit.COMPLAINT_VIEW, "chat")}
    assert [e.action for e in audit.entries(session, customer_id=customer.id)] == []

    link_contact(session, telegram_user_id=1461, phone="+8613900000461", chat_id=1461)
    about = audit.entries(session, customer_id=customer.id)
    assert [(e.action, e.actor, e.subject_id) for e in about] == [
        (audit.COMPLAINT_VIEW, "Sam", "1461"), (audit.PROFILE_VIEW, "Alice", "1461")
    ]
    # The other chat was linked all along: its view names the customer record, and only it is about them.
    assert [(e.subject_kind, e.subject_id) for e in audit.entries(session, customer_id=other.id)] == [
        ("customer", str(other.id))
    ]


def test_the_last_admin_can_be_neither_removed_nor_demoted(session: Session) -> None:
    """One admin left: removal and demotion raise StaffError; with a second admin the first may go."""
    for member in session.scalars(select(Staff).where(Staff.role == StaffRole.ADMIN)):
        member.active = False
    ada = register_staff(session, 9331, "Ada", StaffRole.ADMIN)
    with pytest.raises(StaffError, match="staff_last_admin"):
        deactivate_staff(session, 9331, actor=ada)
    with pytest.raises(StaffError, match="staff_last_admin"):
        register_staff(session, 9331, "Ada", StaffRole.AGENT, actor=ada)
    assert staff_member(session, 9331) is not None and ada.role is StaffRole.ADMIN
    register_staff(session, 9332, "Grace", StaffRole.ADMIN, actor=ada)
    assert deactivate_staff(session, 9331, actor=ada)
    with pytest.raises(StaffError):
        deactivate_staff(session, 9332)


def test_two_admins_removing_each_other_at_once_leave_one(database: TestDatabase) -> None:
    """Concurrent removals in two connections: the admin rows are locked, so exactly one removal wins."""
    factory = make_sessionmaker(database.engine)
    with transaction(factory) as session:
        # Admins other tests committed step aside for this test (and come back at its end).
        others = list(session.scalars(select(Staff.id).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True))))
        session.execute(update(Staff).where(Staff.id.in_(others)).values(active=False))
        register_staff(session, 9341, "Ada", StaffRole.ADMIN)
        register_staff(session, 9342, "Grace", StaffRole.ADMIN)
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def remove(target: int) -> None:
        barrier.wait()
        try:
            with transaction(factory) as session:
                deactivate_staff(session, target)
            outcomes[target] = "removed"
        except StaffError:
            outcomes[target] = "refused"
        except Exception as exc:  # noqa: BLE001 - SQLite may refuse the second writer outright: also a refusal
            outcomes[target] = f"failed: {type(exc).__name__}"

    threads = [threading.Thread(target=remove, args=(target,)) for target in (9341, 9342)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert list(outcomes.values()).count("removed") == 1, outcomes
        with factory() as session:
            admins = session.scalars(
                select(Staff.telegram_user_id).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True))
            ).all()
            assert len(admins) == 1 and outcomes[admins[0]] != "removed", outcomes
    finally:
        with transaction(factory) as session:
            for member in session.scalars(select(Staff).where(Staff.telegram_user_id.in_((9341, 9342)))):
                session.delete(member)
            session.execute(update(Staff).where(Staff.id.in_(others)).values(active=True))
