"""What we hold about a person (PIPL art. 45, GDPR art. 15), as one JSON document: `parceldesk privacy export`.

It covers the same subject as an erasure (privacy.erasure.Subject): the customer record, the parcels they sent
or that were addressed to them (their own party data and the parcel's facts, not the other party's), their
complaints, feedback, pickups, conversations with our agents, the chat log, Rasa's copy of the conversation,
who on our staff looked at their profile, and why and for how long each kind is kept. Every export is audited.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.clock import as_utc, utcnow
from crm import audit
from crm.identity import shipments_addressed_to
from crm.models import (
    AuditEntry,
    Chat,
    ChatMessage,
    Complaint,
    ComplaintEvent,
    Customer,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    Feedback,
    OutboxMessage,
    Shipment,
)
from privacy.erasure import Subject, subject_messages, subject_pickups
from privacy.retention import RetentionPolicy
from privacy.trackers import conversation

EXPORT = "privacy_export"
FORMAT_VERSION = 1
# The audit actions that are a staff member looking at the customer's data, and how the export names them.
VIEWS = {audit.PROFILE_VIEW: "profile", audit.COMPLAINT_VIEW: "complaint"}
# Why each kind of data is held (the "purposes" a data subject is entitled to know).
PURPOSES = {
    "customer": "Identify you, greet you by name, show your parcels to you only (after /link).",
    "shipments": "Deliver your parcels; waybill and accounting records required by law.",
    "complaints": "Handle your complaints and compensation; complaint statistics.",
    "feedback": "Improve our service.",
    "pickups": "Collect your parcels at the address you gave.",
    "escalations": "Let our agents help you and keep track of their service.",
    "chat_messages": "Answer you, keep each conversation in order, and improve the assistant (training data).",
    "undelivered_messages": "Our messages to you that Telegram did not take yet: retried, then given up.",
    "rasa_conversation": "The assistant's memory of the current conversation.",
    "profile_views": "Accountability: which staff member looked at your customer profile or complaint, and when.",
}


def _plain(value: Any) -> Any:
    """A value JSON can hold: datetimes as ISO 8601 UTC, dates as ISO dates, decimals as strings, enums by value."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _row(obj: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a row, as plain values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


CUSTOMER_FIELDS = (
    "code", "kind", "name", "contact_person", "phone", "phone_alt", "email", "address", "city", "industry",
    "preferred_language", "telegram_user_id", "created_at", "erased_at",
)
SHIPMENT_FIELDS = ("tracking_number", "status", "service_level", "weight_kg", "fee", "shipped_at", "promised_date",
                   "delivered_at")
SENDER_FIELDS = ("sender_name", "sender_phone", "sender_address", "sender_city", "recipient_city")
RECIPIENT_FIELDS = ("recipient_name", "recipient_phone", "recipient_address", "recipient_city", "sender_city")
COMPLAINT_FIELDS = ("code", "category", "status", "serious", "description", "resolution", "compensation_yuan",
                    "rejected", "created_at", "due_at", "resolved_at")
FEEDBACK_FIELDS = ("rating", "comment", "created_at")
PICKUP_FIELDS = ("code", "address", "contents", "window_start", "window_end", "status", "created_at")
ESCALATION_FIELDS = ("id", "reason", "status", "created_at", "claimed_at", "resolved_at", "rating")
MESSAGE_FIELDS = ("created_at", "direction", "kind", "text", "language", "intent")
OUTBOX_FIELDS = ("created_at", "text", "state", "attempts")


def _shipments(session: Session, customer: Customer | None) -> dict[str, list[dict[str, Any]]]:
    """Parcels they sent (with their sender data) and parcels addressed to them (with their recipient data)."""
    if customer is None:
        return {"sent": [], "received": []}
    sent = session.scalars(select(Shipment).where(Shipment.customer_id == customer.id).order_by(Shipment.shipped_at))
    return {
        "sent": [_row(s, SHIPMENT_FIELDS + SENDER_FIELDS) for s in sent],
        "received": [_row(s, SHIPMENT_FIELDS + RECIPIENT_FIELDS) for s in shipments_addressed_to(session, customer)],
    }


def _complaint_history(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
    """What happened to a complaint on the desk: what was said, noted and paid, and when."""
    events = session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id)
    )
    return [
        {"what": _plain(e.kind), "text": e.body, "amount_yuan": _plain(e.amount_yuan), "at": _plain(e.created_at)}
        for e in events
    ]


def _escalations(session: Session, subject: Subject) -> list[dict[str, Any]]:
    """Conversations with our agents: what they wrote there and what our agents sent them."""
    rows = session.scalars(
        select(Escalation).where(Escalation.chat_id.in_(subject.chat_ids)).order_by(Escalation.id)
    ).all()
    relayed = (EscalationEventKind.CUSTOMER_MESSAGE, EscalationEventKind.AGENT_MESSAGE)
    out = []
    for row in rows:
        events = session.scalars(
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == row.id, EscalationEvent.kind.in_(relayed))
            .order_by(EscalationEvent.id)
        )
        item = _row(row, ESCALATION_FIELDS)
        item["messages"] = [
            {"from": "you" if e.kind is EscalationEventKind.CUSTOMER_MESSAGE else "agent", "kind": e.content_kind,
             "text": e.body, "at": _plain(e.created_at)}
            for e in events
        ]
        out.append(item)
    return out


def export_subject(
    session: Session,
    subject: Subject,
    *,
    policy: RetentionPolicy,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything held about a subject, as a JSON-ready document; the export itself is audited."""
    now = now or utcnow()
    customer = session.get(Customer, subject.customer_id) if subject.customer_id is not None else None
    complaint_filter = [Complaint.chat_id.in_(subject.chat_ids)]
    feedback_filter = [Feedback.chat_id.in_(subject.chat_ids)]
    if customer is not None:
        complaint_filter.append(Complaint.customer_id == customer.id)
        feedback_filter.append(Feedback.customer_id == customer.id)
    chats = session.scalars(select(Chat).where(Chat.id.in_(subject.chat_ids)).order_by(Chat.id))
    messages = session.scalars(
        select(ChatMessage)
        .where(subject_messages(subject))
        .order_by(ChatMessage.id)
    )
    # Views of their profile and of their complaint cards: recorded against the customer record, or against the chat
    # when it was not linked at the time.
    viewed = [and_(AuditEntry.subject_kind == "chat", AuditEntry.subject_id.in_(sorted(map(str, subject.chat_ids))))]
    if customer is not None:
        viewed.append(and_(AuditEntry.subject_kind == "customer", AuditEntry.subject_id == str(customer.id)))
    views = session.scalars(
        select(AuditEntry)
        .where(or_(*viewed), AuditEntry.action.in_(VIEWS))
        .order_by(AuditEntry.id)
    )
    document: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "generated_at": _plain(now),
        "customer": _row(customer, CUSTOMER_FIELDS) if customer is not None else None,
        "telegram": {
            "user_ids": sorted(subject.telegram_user_ids),
            "chats": [_row(c, ("id", "kind", "language_fixed", "language_last", "created_at")) for c in chats],
        },
        "shipments": _shipments(session, customer),
        "complaints": [
            {**_row(c, COMPLAINT_FIELDS), "photo": c.photo_file_id is not None,
             "history": _complaint_history(session, c)}
            for c in session.scalars(select(Complaint).where(or_(*complaint_filter)).order_by(Complaint.id))
        ],
        "feedback": [
            _row(f, FEEDBACK_FIELDS)
            for f in session.scalars(select(Feedback).where(or_(*feedback_filter)).order_by(Feedback.id))
        ],
        "pickups": [_row(p, PICKUP_FIELDS) for p in subject_pickups(session, subject)],
        "escalations": _escalations(session, subject),
        "chat_messages": [_row(m, MESSAGE_FIELDS) for m in messages],
        "undelivered_messages": [
            _row(m, OUTBOX_FIELDS)
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id.in_(subject.chat_ids)).order_by(OutboxMessage.id)
            )
        ],
        "rasa_conversation": [
            {**event, "timestamp": _plain(datetime.fromtimestamp(float(event["timestamp"] or 0), UTC))}
            for sender in subject.senders
            for event in conversation(session, sender)
        ],
        "profile_views": [{"by": v.actor, "at": _plain(v.created_at), "what": VIEWS[v.action]} for v in views],
        "purposes": PURPOSES,
        "retention_days": {
            "chat_messages": policy.chat_days,
            "escalations_complaints_feedback_pickups": policy.case_days,
            "audit": policy.audit_days,
            "shipments": "kept for accounting; your name, phone and address are removed on erasure",
        },
    }
    audit.record(
        session,
        action=EXPORT,
        subject_kind="customer" if customer is not None else "chat",
        subject_id=customer.id if customer is not None else "-",
        actor=actor,
        details={"chats": len(subject.chat_ids)},
    )
    return document
