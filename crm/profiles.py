"""The customer profile staff see during a handoff: who, tier, recent shipments, complaints (every view audited)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.escalations import QueueError, find_customer
from crm.models import Complaint, Customer, Escalation, Shipment, Staff
from crm.segments import Segment, customer_segment

RECENT = 5


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


def view_profile(session: Session, escalation_id: int, member: Staff) -> CustomerProfile:
    """The profile of an escalation's customer for a staff member; writes an audit entry."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise QueueError("staff_no_such_escalation")
    customer = (
        session.get(Customer, escalation.customer_id)
        if escalation.customer_id
        else find_customer(session, escalation.chat_id, None)
    )
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
        actor_telegram_user_id=member.telegram_user_id,
        actor=member.name,
        details={"escalation_id": escalation.id},
    )
    return CustomerProfile(
        escalation.id, escalation.chat_id, customer, segment, shipments, complaints[:RECENT], int(past or 0)
    )
