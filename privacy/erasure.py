"""Erasure of a customer's personal data (PIPL art. 47, GDPR art. 17), asked for in chat (/forget) or by an admin.

Who is erased (a Subject): a customer record with the chats linked to it, or a chat with the customer its
Telegram account is linked to (a personal customer only: a company's account is the company's, so a chat
linked to one loses the link, not the account; an admin erases company accounts from the command line).

What happens, table by table (privacy/inventory.py lists every table, the README's "Privacy" section says why):
- customers: name, contact person, phones, e-mail, address and notes blanked, the Telegram link removed,
  erased_at set. The row stays (code, kind, city): shipments and complaints point at it.
- shipments the customer sent (sender fields) or that were addressed to their phone (recipient fields): name,
  phone and street address blanked. Number, cities, weight, fee, service, dates and status stay (accounting
  and the waybill records the postal rules require). A parcel still on its way, or a pickup still to come,
  blocks the erasure unless forced: the courier needs the address (the customer is told which, and asks again).
- chat messages of the chats (both directions): text, entities, chat and user id cleared; the anonymous row
  stays (the redelivery guard, the learning loop's counts); training labels on them are deleted, so the next
  training export drops them too.
- escalations of the chats: deleted with their events (relayed messages, notes, summary); other escalations
  naming the customer lose the name.
- complaints of the customer or the chats: description, photo, resolution and the desk's texts and photos
  blanked; code, category, status, seriousness, dates and amounts stay (complaint statistics, compensation).
- feedback: comment and chat cleared, rating kept. Pickup orders: address, contents, chat and user cleared.
- outbox (messages Telegram did not take yet, or gave up on) of the chats: deleted; nothing is sent after the
  erasure (the bot's goodbye after /forget is written after it).
- chats, parcel notices and "Notify me" subscriptions of the chats: deleted. A `/notify off` opt-out stays:
  it is the customer's own wish not to be written to.
- Rasa's conversations of the chats: their events deleted from Rasa's table in our database (privacy/trackers.py),
  in the same transaction. A Rasa turn still running at that moment writes the whole conversation back when it
  ends: Rasa 3.6's SQLTrackerStore.save stores the tracker's events beyond the number it finds stored
  (`_additional_events`), and after the erasure that number is 0. So the callers delete the chats' events once
  more after second_pass_delay (erase_conversations_again): the bot schedules it on its job queue, the CLI waits.
- audit entries about the chats (a profile or complaint card viewed while the chat was linked to no customer is
  recorded with the chat id, a Telegram account id, as its subject): the id is replaced by "-"; who looked, when
  and at which escalation or ticket stays.
- one audit entry saying who asked and how many rows of each kind were erased, without personal data.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, null, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import as_utc, utcnow
from core.db import transaction
from crm import audit
from crm.chats import sender_id
from crm.identity import shipments_addressed_to
from crm.models import (
    AuditEntry,
    Chat,
    ChatMessage,
    Complaint,
    ComplaintEvent,
    Customer,
    CustomerKind,
    DeskInput,
    Escalation,
    EscalationEvent,
    Feedback,
    Notice,
    NoticeSubscription,
    OutboxMessage,
    PickupOrder,
    PickupStatus,
    Shipment,
    ShipmentStatus,
    Staff,
    TrainingLabel,
)
from privacy.trackers import TrackerOutcome, erase_conversations

# What an erased text field (one that may not be empty in the schema) holds from now on.
ERASED = "[erased 已删除]"
# What an audit entry names instead of an erased chat (and what an erasure of a chat without customer names).
ERASED_SUBJECT = "-"
ERASURE = "privacy_erasure"
# Parcels whose journey is over: their delivery data is no longer needed to deliver them.
FINISHED = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.LOST})
PENDING_PICKUPS = (PickupStatus.REQUESTED, PickupStatus.SCHEDULED)
STALE_PICKUP = timedelta(days=1)
CUSTOMER_REQUEST = "customer"
ADMIN_REQUEST = "admin"


class ErasureError(Exception):
    """An erasure that cannot be done; `key` names the reason for the caller's texts."""

    def __init__(self, key: str) -> None:
        """Keep the key (no_such_customer, no_such_chat)."""
        super().__init__(key)
        self.key = key


class ErasureBlocked(Exception):
    """Parcels still on their way (or pickups still to come) need the customer's address; erase after them."""

    def __init__(self, parcels: list[str]) -> None:
        """Keep the tracking numbers and pickup codes that block the erasure."""
        super().__init__(", ".join(parcels))
        self.parcels = parcels


@dataclass(frozen=True)
class Subject:
    """Whose data an erasure or export covers: at most one customer record, their chats and Telegram accounts."""

    customer_id: int | None
    chat_ids: frozenset[int]
    telegram_user_ids: frozenset[int]

    @property
    def senders(self) -> list[str]:
        """The Rasa conversation ids of the chats."""
        return sorted(sender_id(chat_id) for chat_id in self.chat_ids)


@dataclass
class ErasureReport:
    """What an erasure did: rows per kind, Rasa events, the staff-group messages a bot may now delete, and the Rasa
    conversations (senders) whose events the second pass deletes again."""

    customer_id: int | None
    senders: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    tracker: TrackerOutcome | None = None
    announcements: list[tuple[int, int]] = field(default_factory=list)
    audit_id: int | None = None

    @property
    def total(self) -> int:
        """Rows touched in the database."""
        return sum(self.counts.values())


def subject_for_customer(session: Session, customer_id: int) -> Subject:
    """A customer record with every chat and Telegram account linked to it."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ErasureError("no_such_customer")
    users = {customer.telegram_user_id} if customer.telegram_user_id is not None else set()
    chats = set(session.scalars(select(Chat.id).where(Chat.customer_id == customer_id)))
    # A private chat's id is its user's id.
    chats |= users
    return Subject(customer_id, frozenset(chats), frozenset(users))


def subject_for_chat(session: Session, chat_id: int, telegram_user_id: int | None = None, *,
                     company_accounts: bool = False) -> Subject:
    """A chat (and its user) with the customer linked to it; a company account only when company_accounts."""
    users = {telegram_user_id} if telegram_user_id is not None else ({chat_id} if chat_id > 0 else set())
    chat = session.get(Chat, chat_id)
    customer: Customer | None = None
    if chat is not None and chat.customer_id is not None:
        customer = session.get(Customer, chat.customer_id)
    if customer is None and users:
        customer = session.scalars(select(Customer).where(Customer.telegram_user_id.in_(users))).first()
    if customer is not None and customer.kind is CustomerKind.COMPANY and not company_accounts:
        customer = None  # the link goes with the user (below), the company's account stays
    return Subject(customer.id if customer is not None else None, frozenset({chat_id}), frozenset(users))


def _finished(status: ShipmentStatus) -> bool:
    """Whether a parcel's journey is over."""
    return status in FINISHED


def _customer_shipments(session: Session, customer: Customer | None) -> tuple[list[Shipment], list[Shipment]]:
    """(sent, received) parcels of a customer: on their account, and addressed to their phone."""
    if customer is None:
        return [], []
    sent = list(session.scalars(select(Shipment).where(Shipment.customer_id == customer.id).order_by(Shipment.id)))
    return sent, shipments_addressed_to(session, customer)


def subject_pickups(session: Session, subject: Subject) -> list[PickupOrder]:
    """Pickup orders of the customer, the chats or the Telegram accounts."""
    conditions = [
        PickupOrder.chat_id.in_(subject.chat_ids), PickupOrder.telegram_user_id.in_(subject.telegram_user_ids)
    ]
    if subject.customer_id is not None:
        conditions.append(PickupOrder.customer_id == subject.customer_id)
    return list(session.scalars(select(PickupOrder).where(or_(*conditions)).order_by(PickupOrder.id)))


def subject_messages(subject: Subject) -> ColumnElement[bool]:
    """SQL condition: logged messages of the chats or written by the Telegram accounts."""
    return or_(ChatMessage.chat_id.in_(subject.chat_ids), ChatMessage.telegram_user_id.in_(subject.telegram_user_ids))


def blocking_parcels(session: Session, subject: Subject, *, now: datetime | None = None) -> list[str]:
    """Tracking numbers of parcels still on their way and codes of pickups still to come (empty: erasable now)."""
    now = now or utcnow()
    customer = session.get(Customer, subject.customer_id) if subject.customer_id is not None else None
    sent, received = _customer_shipments(session, customer)
    numbers = sorted({s.tracking_number for s in (*sent, *received) if not _finished(s.status)})
    # A pickup whose window passed a day ago and was never updated by dispatch blocks nothing.
    stale = now - STALE_PICKUP
    pickups = [p.code for p in subject_pickups(session, subject)
               if p.status in PENDING_PICKUPS and as_utc(p.window_end) > stale]
    return numbers + pickups


def _complaint_ids(session: Session, subject: Subject) -> list[int]:
    """Complaints filed by the customer or from the chats."""
    conditions = [Complaint.chat_id.in_(subject.chat_ids)]
    if subject.customer_id is not None:
        conditions.append(Complaint.customer_id == subject.customer_id)
    return list(session.scalars(select(Complaint.id).where(or_(*conditions))))


def _erase_customer(session: Session, customer: Customer, now: datetime) -> int:
    """Blank the customer's personal fields and their parcels' party data; returns parcels touched."""
    sent, received = _customer_shipments(session, customer)
    touched: set[int] = set()
    for shipment in sent:
        shipment.sender_name = shipment.sender_phone = shipment.sender_address = ERASED
        touched.add(shipment.id)
    for shipment in received:
        shipment.recipient_name = shipment.recipient_phone = shipment.recipient_address = ERASED
        touched.add(shipment.id)
    customer.name = customer.phone = customer.address = ERASED
    customer.contact_person = customer.phone_alt = customer.email = customer.notes = None
    customer.telegram_user_id = None
    customer.erased_at = now
    return len(touched)


def _erase_messages(session: Session, subject: Subject) -> int:
    """Clear the chats' logged messages (both directions) and drop the training labels on them."""
    ids = list(session.scalars(select(ChatMessage.id).where(subject_messages(subject))))
    for chunk in _chunks(ids):
        session.execute(delete(TrainingLabel).where(TrainingLabel.message_id.in_(chunk)))
        session.execute(
            update(ChatMessage)
            .where(ChatMessage.id.in_(chunk))
            # null(), not None: None in a JSON column is stored as the JSON value null, not as SQL NULL.
            .values(text=None, entities=null(), chat_id=None, telegram_user_id=None, escalation_id=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def _erase_escalations(session: Session, subject: Subject, report: ErasureReport) -> int:
    """Delete the chats' escalations with their history; others naming the customer forget the name."""
    rows = session.scalars(select(Escalation).where(Escalation.chat_id.in_(subject.chat_ids))).all()
    ids = [row.id for row in rows]
    report.announcements = [
        (row.announce_chat_id, row.announce_message_id)
        for row in rows
        if row.announce_chat_id is not None and row.announce_message_id is not None
    ]
    if ids:
        # Explicitly, not through ON DELETE rules: the same on SQLite and PostgreSQL, and visible here.
        session.execute(update(Staff).where(Staff.current_escalation_id.in_(ids)).values(current_escalation_id=None))
        session.execute(update(ChatMessage).where(ChatMessage.escalation_id.in_(ids)).values(escalation_id=None))
        session.execute(delete(EscalationEvent).where(EscalationEvent.escalation_id.in_(ids)))
        session.execute(delete(Escalation).where(Escalation.id.in_(ids)))
    if subject.customer_id is not None:
        session.execute(
            update(Escalation).where(Escalation.customer_id == subject.customer_id).values(customer_name=None)
        )
    session.expire_all()
    return len(ids)


def _erase_complaints(session: Session, subject: Subject) -> int:
    """Blank the free text and photos of the complaints and of their desk history; keep the facts."""
    ids = _complaint_ids(session, subject)
    for chunk in _chunks(ids):
        session.execute(
            update(Complaint)
            .where(Complaint.id.in_(chunk))
            .values(description=ERASED, photo_file_id=None, resolution=None, chat_id=None)
        )
        session.execute(
            update(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(chunk)).values(body=None, file_id=None)
        )
        session.execute(delete(DeskInput).where(DeskInput.complaint_id.in_(chunk)))
    session.execute(delete(DeskInput).where(DeskInput.chat_id.in_(subject.chat_ids)))
    return len(ids)


def _erase_feedback(session: Session, subject: Subject) -> int:
    """Clear feedback comments and chats; the ratings stay."""
    conditions = [Feedback.chat_id.in_(subject.chat_ids)]
    if subject.customer_id is not None:
        conditions.append(Feedback.customer_id == subject.customer_id)
    result = session.execute(update(Feedback).where(or_(*conditions)).values(comment=None, chat_id=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _erase_pickups(session: Session, subject: Subject) -> int:
    """Blank pickup addresses and contents, forget the chats and users; code, window and status stay."""
    pickups = subject_pickups(session, subject)
    for pickup in pickups:
        pickup.address = pickup.contents = ERASED
        pickup.chat_id = pickup.telegram_user_id = None
    return len(pickups)


def _erase_outbox(session: Session, subject: Subject) -> int:
    """Delete the chats' undelivered messages (pending or given up): they hold what the bot or an agent wrote."""
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id.in_(subject.chat_ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _erase_chats(session: Session, subject: Subject) -> int:
    """Delete the chats' rows, parcel notices and "Notify me" subscriptions; unlink the Telegram accounts."""
    session.execute(delete(Notice).where(Notice.chat_id.in_(subject.chat_ids)))
    session.execute(delete(NoticeSubscription).where(NoticeSubscription.chat_id.in_(subject.chat_ids)))
    conditions = [Chat.id.in_(subject.chat_ids)]
    if subject.customer_id is not None:
        conditions.append(Chat.customer_id == subject.customer_id)
    result = session.execute(delete(Chat).where(or_(*conditions)))
    # A company account linked to the user keeps its data but no longer knows the person's Telegram account.
    session.execute(
        update(Customer).where(Customer.telegram_user_id.in_(subject.telegram_user_ids)).values(telegram_user_id=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _erase_audit_subjects(session: Session, subject: Subject) -> int:
    """Replace the chats' ids in audit entries that name a chat as their subject; the entries themselves stay."""
    ids = sorted(str(chat_id) for chat_id in subject.chat_ids | subject.telegram_user_ids)
    result = session.execute(
        update(AuditEntry)
        .where(AuditEntry.subject_kind == "chat", AuditEntry.subject_id.in_(ids))
        .values(subject_id=ERASED_SUBJECT)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def overwrite_freed_space(session: Session) -> None:
    """On SQLite, zero deleted and overwritten content in the file instead of leaving it in free pages."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    """Id lists small enough for an IN clause on every backend."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def erase(
    session: Session,
    subject: Subject,
    *,
    requested_by: str,
    actor: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> ErasureReport:
    """Erase a subject's personal data in every table, Rasa's conversation events included, in the caller's
    transaction (one commit for all, or nothing). Raises ErasureBlocked while parcels are on their way (unless force).
    """
    now = now or utcnow()
    blocking = blocking_parcels(session, subject, now=now)
    if blocking and not force:
        raise ErasureBlocked(blocking)
    report = ErasureReport(subject.customer_id, subject.senders)
    overwrite_freed_space(session)
    # Complaints and escalations first: they are found through the chats and the customer, which go next.
    report.counts["complaints"] = _erase_complaints(session, subject)
    report.counts["escalations"] = _erase_escalations(session, subject, report)
    report.counts["chat_messages"] = _erase_messages(session, subject)
    report.counts["outbox_messages"] = _erase_outbox(session, subject)
    report.counts["feedback"] = _erase_feedback(session, subject)
    report.counts["pickups"] = _erase_pickups(session, subject)
    customer = session.get(Customer, subject.customer_id) if subject.customer_id is not None else None
    if customer is not None:
        report.counts["shipments"] = _erase_customer(session, customer, now)
    report.counts["chats"] = _erase_chats(session, subject)
    report.counts["audit_subjects"] = _erase_audit_subjects(session, subject)
    session.flush()
    report.tracker = erase_conversations(session, subject.senders)
    details: dict[str, Any] = {"requested_by": requested_by, "forced": bool(blocking), **report.counts}
    details["rasa_events"] = report.tracker.events if report.tracker.found else "store not found"
    entry = audit.record(
        session,
        action=ERASURE,
        subject_kind="customer" if subject.customer_id is not None else "chat",
        # A chat's id is a Telegram account id, i.e. personal: only customer ids (our own numbers) are kept.
        subject_id=subject.customer_id if subject.customer_id is not None else ERASED_SUBJECT,
        actor=actor,
        details=details,
    )
    report.audit_id = entry.id
    return report


def second_pass_delay(rasa_timeout_seconds: float) -> float:
    """How long after an erasure a Rasa turn already running may still write its conversation back: the bot's
    Rasa timeout twice (a turn the bot stopped waiting for gets as long again to finish)."""
    return 2 * rasa_timeout_seconds


def erase_conversations_again(sessions: sessionmaker[Session], senders: Collection[str]) -> TrackerOutcome:
    """The second pass: delete the erased chats' Rasa events once more, in a transaction of its own.

    Everything of these senders goes, also a new conversation the customer started in the meantime: it is a few
    seconds old at most, and Rasa simply starts it again.
    """
    with transaction(sessions) as session:
        overwrite_freed_space(session)
        return erase_conversations(session, senders)


def forget(
    sessions: sessionmaker[Session],
    subject: Subject,
    *,
    requested_by: str,
    actor: str | None = None,
    force: bool = False,
) -> ErasureReport:
    """Erase a subject in one transaction of its own (the bot's /forget and `parceldesk privacy erase`)."""
    with transaction(sessions) as session:
        return erase(session, subject, requested_by=requested_by, actor=actor, force=force)

