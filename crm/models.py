"""The customer database: one schema shared by the bot, the action server and staff tools."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


def _enum(cls: type[enum.Enum]) -> Enum:
    """Store an enum by value as a plain string column (portable, readable in SQL)."""
    return Enum(
        cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class CustomerKind(str, enum.Enum):
    """Private person or company account (the courier's two customer books)."""

    PERSONAL = "personal"
    COMPANY = "company"


class ShipmentStatus(str, enum.Enum):
    """Where a shipment is in its life."""

    CREATED = "created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    EXCEPTION = "exception"
    RETURNED = "returned"
    LOST = "lost"


class ServiceLevel(str, enum.Enum):
    """Products the courier sells."""

    SAME_DAY = "same_day"
    EXPRESS = "express"
    STANDARD = "standard"
    ECONOMY = "economy"


class EventKind(str, enum.Enum):
    """What a scan or tracking event records."""

    CREATED = "created"
    PICKED_UP = "picked_up"
    ARRIVED_HUB = "arrived_hub"
    DEPARTED_HUB = "departed_hub"
    CUSTOMS = "customs"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    EXCEPTION = "exception"
    RETURNED = "returned"
    LOST = "lost"
    DELIVERY_CHANGED = "delivery_changed"


class ComplaintCategory(str, enum.Enum):
    """Complaint reasons the company tracks and analyses."""

    DELAY = "delay"
    DAMAGE = "damage"
    LOSS = "loss"
    WRONG_DELIVERY = "wrong_delivery"
    COURIER_CONDUCT = "courier_conduct"
    BILLING = "billing"


class ComplaintStatus(str, enum.Enum):
    """Complaint workflow."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class EscalationStatus(str, enum.Enum):
    """Human queue workflow."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class StaffRole(str, enum.Enum):
    """Roles from the service-centre design: agent, supervisor, manager, admin."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"


class Direction(str, enum.Enum):
    """Whether a chat message came from Telegram or was sent by the bot."""

    INBOUND = "in"
    OUTBOUND = "out"


class TimestampMixin:
    """created_at / updated_at maintained by the database."""

    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Customer(TimestampMixin, Base):
    """A private or company customer."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[CustomerKind] = mapped_column(_enum(CustomerKind))
    name: Mapped[str] = mapped_column(String(200))
    contact_person: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    phone_alt: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    preferred_language: Mapped[str] = mapped_column(String(8), default="zh")
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Set when the customer's personal data was erased (privacy/erasure.py): the row stays for the shipments'
    # and complaints' accounting, with every personal field blanked.
    erased_at: Mapped[datetime | None]

    shipments: Mapped[list[Shipment]] = relationship(back_populates="customer")


class Shipment(TimestampMixin, Base):
    """A parcel with its waybill, parties, money and promise."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_phone: Mapped[str] = mapped_column(String(32))
    sender_address: Mapped[str] = mapped_column(String(300))
    sender_city: Mapped[str] = mapped_column(String(64))
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_phone: Mapped[str] = mapped_column(String(32), index=True)
    recipient_address: Mapped[str] = mapped_column(String(300))
    recipient_city: Mapped[str] = mapped_column(String(64))
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    declared_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    service_level: Mapped[ServiceLevel] = mapped_column(_enum(ServiceLevel))
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(64))
    promised_date: Mapped[date]
    delivered_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime]

    customer: Mapped[Customer | None] = relationship(back_populates="shipments")
    events: Mapped[list[TrackingEvent]] = relationship(
        back_populates="shipment", order_by="TrackingEvent.occurred_at", cascade="all, delete-orphan"
    )


class TrackingEvent(Base):
    """One scan or status change of a shipment."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        Index("ix_tracking_events_shipment_time", "shipment_id", "occurred_at"),
        # The courier system's own event id: a resent event is recognised and changes nothing (ingest/).
        UniqueConstraint("shipment_id", "source_event_id", name="uq_tracking_events_shipment_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus))
    place_zh: Mapped[str] = mapped_column(String(120))
    place_en: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    # Who scanned it (pickup and delivery scans): the complaint report groups by courier.
    courier: Mapped[str | None] = mapped_column(String(100))
    # Set for events that came through the ingestion API or `parceldesk import`; NULL for our own.
    source_event_id: Mapped[str | None] = mapped_column(String(64))

    shipment: Mapped[Shipment] = relationship(back_populates="events")


class Complaint(TimestampMixin, Base):
    """A customer complaint ticket (human-readable code like C-1042)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    category: Mapped[ComplaintCategory] = mapped_column(_enum(ComplaintCategory))
    description: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus), default=ComplaintStatus.OPEN)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    # The complaint desk (crm/complaintdesk.py): who has the ticket, how it ended, what the customer said.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    assigned_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    compensation_yuan: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # Closed without being upheld; `resolution` then holds the reason the customer is told.
    rejected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The outcome must be told (set by resolve/reject) and was told (set by the bot's job once Telegram took it):
    # a restarted bot, or a resolve from the command line, still reaches the customer exactly once.
    outcome_queued_at: Mapped[datetime | None]
    outcome_sent_at: Mapped[datetime | None]
    # The customer's answer to "is this resolved?" (NULL: not answered since the latest outcome).
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Due-time watch of the current deadline (cleared when a reopen sets a new one), so restarts repeat nothing.
    due_reminded_at: Mapped[datetime | None]
    due_alerted_at: Mapped[datetime | None]


class Feedback(Base):
    """A rating (1-5) with optional free text."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Staff(TimestampMixin, Base):
    """A service-centre employee known to the bot by Telegram user id."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The conversation the agent's private chat with the bot is relayed to (an agent may hold several).
    # use_alter: staff and escalations reference each other.
    current_escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalations.id", use_alter=True, ondelete="SET NULL")
    )


class Escalation(TimestampMixin, Base):
    """A conversation waiting for, or handled by, a human agent."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    reason: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[EscalationStatus] = mapped_column(
        _enum(EscalationStatus), default=EscalationStatus.OPEN, index=True
    )
    language: Mapped[str] = mapped_column(String(8), default="zh")
    summary: Mapped[str | None] = mapped_column(Text)
    first_response_due_at: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    tagged_intent: Mapped[str | None] = mapped_column(String(64))
    # Equal to chat_id while the escalation is open or claimed, NULL once resolved: the unique
    # constraint makes "one active escalation per conversation" a database guarantee, portably
    # (SQLite and PostgreSQL both allow many NULLs), even when the bot and the action server race.
    active_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    tier: Mapped[str | None] = mapped_column(String(8))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    # Staff-group announcement (the message with the Claim button), so it can be edited on claim.
    announce_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    announce_message_id: Mapped[int | None] = mapped_column(BigInteger)
    announced_at: Mapped[datetime | None]
    # SLA state of the current phase (waiting for a claim, or claimed and waiting for the agent's
    # first reply); both are cleared when the phase changes (claim, transfer).
    reminded_at: Mapped[datetime | None]
    supervisor_alerted_at: Mapped[datetime | None]
    reply_due_at: Mapped[datetime | None]
    agent_replied_at: Mapped[datetime | None]
    # Last time the customer was told their place in the queue (throttles the notices).
    customer_notified_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # When Rasa was told to resume the conversation; NULL after resolve means "retry before next message".
    rasa_resumed_at: Mapped[datetime | None]
    rating_requested_at: Mapped[datetime | None]

    claimed_by: Mapped[Staff | None] = relationship(foreign_keys=[claimed_by_id])
    events: Mapped[list[EscalationEvent]] = relationship(
        back_populates="escalation", order_by="EscalationEvent.id", cascade="all, delete-orphan"
    )


class EscalationEventKind(str, enum.Enum):
    """What happened to an escalation: its history, internal notes and the relay log."""

    OPENED = "opened"
    APPENDED = "appended"
    ANNOUNCED = "announced"
    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    NOTE = "note"
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_MESSAGE = "agent_message"
    REMINDED = "reminded"
    SUPERVISOR_ALERTED = "supervisor_alerted"
    RESOLVED = "resolved"
    RATED = "rated"
    # The customer left the queue (words or the button on the queue notice): closed without an agent.
    WITHDRAWN = "withdrawn"


class EscalationEvent(Base):
    """One entry in an escalation's history (notes and relayed messages included)."""

    __tablename__ = "escalation_events"
    __table_args__ = (Index("ix_escalation_events_escalation_time", "escalation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    kind: Mapped[EscalationEventKind] = mapped_column(_enum(EscalationEventKind))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # text, photo, sticker, ... for relayed messages; the reason for opened/appended.
    content_kind: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(200))
    # Where the original message is (to copy it later, e.g. messages written while queued).
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    escalation: Mapped[Escalation] = relationship(back_populates="events")


class AuditEntry(Base):
    """Who looked at or changed what: every customer profile view and every staff role change."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_subject", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The acting staff member's Telegram id; NULL when the change came from the command line.
    actor_telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Chat(TimestampMixin, Base):
    """A Telegram chat the bot talks in, with its language choice."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), default="private")
    language_fixed: Mapped[str | None] = mapped_column(String(8))
    language_last: Mapped[str | None] = mapped_column(String(8))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))


class ChatMessage(Base):
    """Every inbound update and outbound message, in order (the learning loop's raw material)."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        # Telegram update ids are unique per bot, so the key includes the bot.
        UniqueConstraint("bot_id", "update_id", name="uq_chat_messages_bot_update"),
        Index("ix_chat_messages_chat_time", "chat_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int | None] = mapped_column(BigInteger)
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list[Any] | None] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(80))
    fell_back: Mapped[bool | None] = mapped_column(Boolean)
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The human escalation this message's conversation went to: set on the messages that led to it and on
    # those the customer wrote while it was open (the learning loop ranks these for labelling).
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"), index=True)
    # The intent an agent tagged this message with (/tag during or after a takeover). A hint for the review
    # queue, not yet training data: an admin confirms it (learning/review.py).
    agent_intent: Mapped[str | None] = mapped_column(String(64))
    agent_tagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    agent_tagged_at: Mapped[datetime | None]


class TrainingLabel(Base):
    """An admin's verdict on what a logged customer message meant (the learning loop's training data)."""

    __tablename__ = "training_labels"
    __table_args__ = (Index("ix_training_labels_message_active", "message_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"))
    intent: Mapped[str] = mapped_column(String(64))
    # Why the message was put in front of a labeller; the export writes one file per source.
    source: Mapped[str] = mapped_column(String(32))
    # A correction supersedes the earlier label of the same message; the old row stays for history.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    labelled_by: Mapped[str] = mapped_column(String(100))
    labelled_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]


class ModelStatus(str, enum.Enum):
    """Life of a trained intent model in the registry."""

    CANDIDATE = "candidate"
    LIVE = "live"
    REJECTED = "rejected"
    RETIRED = "retired"


class ModelVersion(Base):
    """One trained model: where it is, what it was trained on, how it scored, and whether it is live."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)
    model_path: Mapped[str] = mapped_column(String(500))
    data_hash: Mapped[str] = mapped_column(String(64), index=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[ModelStatus] = mapped_column(_enum(ModelStatus), default=ModelStatus.CANDIDATE, index=True)
    # Why the gate rejected it, or how it was rolled back (free text for people).
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    promoted_at: Mapped[datetime | None]
    promoted_by: Mapped[str | None] = mapped_column(String(100))
    retired_at: Mapped[datetime | None]
    # Set when a rollback took this model out of service: it is never a rollback target itself.
    rolled_back_at: Mapped[datetime | None]
    # 1 while live, NULL otherwise: the unique constraint makes "at most one live model" a database
    # guarantee (SQLite and PostgreSQL both allow many NULLs), even if two promotions race.
    live_slot: Mapped[int | None] = mapped_column(Integer, unique=True)


class PickupStatus(str, enum.Enum):
    """Pickup order workflow: requested by the customer, scheduled by dispatch, then picked up or cancelled."""

    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"


class PickupOrder(TimestampMixin, Base):
    """A customer's request for a courier to collect a parcel (human-readable code like P-1042)."""

    __tablename__ = "pickup_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(String(300))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    contents: Mapped[str] = mapped_column(String(200))
    status: Mapped[PickupStatus] = mapped_column(_enum(PickupStatus), default=PickupStatus.REQUESTED, index=True)
    language: Mapped[str] = mapped_column(String(8), default="zh")


class ComplaintEventKind(str, enum.Enum):
    """What happened to a complaint ticket on the desk: its history, notes and what was said to the customer."""

    TAKEN = "taken"
    ASSIGNED = "assigned"
    NOTE = "note"
    MESSAGE = "message"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    OUTCOME_SENT = "outcome_sent"
    OUTCOME_FAILED = "outcome_failed"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    CUSTOMER_WORDS = "customer_words"
    REMINDED = "reminded"
    ALERTED = "alerted"


class ComplaintEvent(Base):
    """One entry in a complaint's history (who did what, what was written, any amount)."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index("ix_complaint_events_complaint_time", "complaint_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    kind: Mapped[ComplaintEventKind] = mapped_column(_enum(ComplaintEventKind))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(200))
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime]


class DeskInput(Base):
    """What the bot waits for next from a private chat (a staff member's note or result, a customer's words).

    A multi-step staff action keeps its state here, not in bot memory: a restarted bot goes on where it was.
    """

    __tablename__ = "desk_inputs"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    # What earlier steps collected (the result text while the compensation amount is asked).
    draft: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ReportRun(Base):
    """A scheduled report sent for one period (e.g. the weekly complaint summary of 2026-W48), at most once."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("name", "period", name="uq_report_runs_name_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class NoticeAudience(str, enum.Enum):
    """Why a chat is told about a parcel: it is the linked owner's, or someone pressed "Notify me"."""

    OWNER = "owner"
    SUBSCRIBER = "subscriber"


class NoticeState(str, enum.Enum):
    """A notice's life in the outbox: waiting, being sent, sent, failed, or skipped (opted out meanwhile)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Notice(Base):
    """One proactive message about a parcel's new status to one chat: the outbox row and, once sent, its log."""

    __tablename__ = "notices"
    __table_args__ = (
        # One notice per parcel per status per chat, even if the same change is ingested twice at once.
        UniqueConstraint("shipment_id", "status", "chat_id", name="uq_notices_shipment_status_chat"),
        Index("ix_notices_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus))
    audience: Mapped[NoticeAudience] = mapped_column(_enum(NoticeAudience))
    state: Mapped[NoticeState] = mapped_column(_enum(NoticeState), default=NoticeState.PENDING)
    # Written in the same transaction as the event that caused it.
    created_at: Mapped[datetime]
    # Not before this moment; moved to the end of the quiet hours when the bot postpones it.
    due_at: Mapped[datetime]
    deferred_at: Mapped[datetime | None]
    attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(8))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


class NoticeSubscription(Base):
    """A chat's choice about one parcel: "Notify me" (active) or the unsubscribe button (inactive, mutes owners too)."""

    __tablename__ = "notice_subscriptions"
    __table_args__ = (UniqueConstraint("chat_id", "shipment_id", name="uq_notice_subscriptions_chat_shipment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NoticeOptOut(Base):
    """A chat that sent `/notify off`: no proactive notices at all until `/notify on`."""

    __tablename__ = "notice_opt_outs"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime]


class OutboxState(str, enum.Enum):
    """Where a message Telegram did not take stands (a delivered one is deleted: the chat log has it)."""

    PENDING = "pending"
    GAVE_UP = "gave_up"  # still failing when the give-up time came
    FAILED = "failed"  # refused for good on a retry (the bot was blocked, the chat is gone)


class OutboxMessage(Base):
    """A message to a chat that Telegram did not take: retried in order per chat until delivered or given up."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_state_chat", "state", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # Personal data (a reply about a parcel, an agent's words): erased and expired with the chat log (privacy/).
    text: Mapped[str | None] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None]
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    # A copy of a message (an agent's photo, sticker, …) instead of a text: where the original is.
    copy_from_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    copy_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The chat log kind recorded on delivery; None: not logged (the goodbye after /forget, a holding reply).
    log_kind: Mapped[str | None] = mapped_column(String(32))
    # An agent's relay: the agent's chat, told when it is delivered or given up, and the conversation.
    notify_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    escalation_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
