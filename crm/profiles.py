"""The customer profile staff see during a handoff: who, tier, recent shipments, complaints (every view audited).

Least privilege: an agent sees the profile only of a conversation they hold right now (claimed by them, not yet
resolved) or whose complaint is assigned to them; supervisors, managers and admins see every one. Refusals are
audited too (PROFILE_DENIED), so a curious agent leaves the same trace as a permitted look.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.escalations import QueueError, find_customer
from crm.models import Complaint, Customer, Escalation, EscalationStatus, Shipment, Staff, StaffRole
from crm.segments import Segment, customer_segment

RECENT = 5
# Roles that oversee every conversation (and so may read every profile).
OVERSEEING_ROLES = frozenset({StaffRole.SUPERVISOR, StaffRole.MANAGER, StaffRole.ADMIN})


@dataclass(frozen=True)
class CustomerProfile:
    """What an agent may see about the customer of a conversation."""

    escalation_id: int
    chat_id: int
    customer: Customer | None
    segment: Segment | None
    shipments: list[Shipment]
    complaints: list[Complaint]
    past_escalations: int


@dataclass(frozen=True)
class ProfileRefused:
    """A staff member may not see this conversation's customer (the attempt is audited); `key` names the text."""

    escalation_id: int
    key: str = "staff_profile_not_yours"


def may_view(session: Session, escalation: Escalation, member: Staff | None) -> bool:
    """Supervisors, managers and admins: always; an agent: only a conversation or complaint they hold now."""
    if member is None or not member.active:
        return False
    if member.role in OVERSEEING_ROLES:
        return True
    if escalation.status is EscalationStatus.CLAIMED and escalation.claimed_by_id == member.id:
        return True
    complaint = session.get(Complaint, escalation.complaint_id) if escalation.complaint_id else None
    return complaint is not None and complaint.assigned_to_id == member.id and complaint.resolved_at is None


def view_profile(session: Session, escalation_id: int, member: Staff | None) -> CustomerProfile | ProfileRefused:
    """The profile of an escalation's customer for a staff member, or a refusal; either way an audit entry."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise QueueError("staff_no_such_escalation")
    customer = (
        session.get(Customer, escalation.customer_id)
        if escalation.customer_id
        else find_customer(session, escalation.chat_id, None)
    )
    if not may_view(session, escalation, member):
        # Returned, not raised: the caller's transaction must commit so the refusal stays on record.
        audit.record(
            session,
            action=audit.PROFILE_DENIED,
            subject_kind="customer" if customer is not None else "chat",
            subject_id=customer.id if customer is not None else escalation.chat_id,
            actor_telegram_user_id=member.telegram_user_id if member is not None else None,
            actor=member.name if member is not None else None,
            details={"escalation_id": escalation.id, "reason": "not_holder"},
        )
        return ProfileRefused(escalation.id)
    shipments: list[Shipment] = []
    complaints: list[Complaint] = []
    segment = None
    if customer is not None:
        segment = customer_segment(session, customer.id)
        shipments = list(
            session.scalars(
                select(Shipment)
                .where(Shipment.customer_id == customer.id)
                .order_by(Shipment.shipped_at.desc())
                .limit(RECENT)
            )
        )
        complaints = list(
            session.scalars(
                select(Complaint)
                .where(Complaint.customer_id == customer.id)
                .order_by(Complaint.id.desc())
                .limit(RECENT)
            )
        )
    chat_complaints = session.scalars(
        select(Complaint).where(Complaint.chat_id == escalation.chat_id).order_by(Complaint.id.desc()).limit(RECENT)
    ).all()
    complaints += [c for c in chat_complaints if c not in complaints]
    past = session.scalar(
        select(func.count(Escalation.id)).where(
            Escalation.chat_id == escalation.chat_id, Escalation.id != escalation.id
        )
    )
    audit.record(
        session,
        action=audit.PROFILE_VIEW,
        subject_kind="customer" if customer is not None else "chat",
        subject_id=customer.id if customer is not None else escalation.chat_id,
        actor_telegram_user_id=member.telegram_user_id if member is not None else None,
        actor=member.name if member is not None else None,
        details={"escalation_id": escalation.id},
    )
    return CustomerProfile(
        escalation.id, escalation.chat_id, customer, segment, shipments, complaints[:RECENT], int(past or 0)
    )
