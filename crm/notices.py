"""Proactive care: who is told when a parcel's status changes, the notices outbox, "Notify me" and opt-outs.

Whoever writes a status change (the ingestion API, `parceldesk import`) calls `enqueue` in the same transaction,
so an event and its notices are stored together or not at all. The bot's job sends what is due (`claim_due`,
`mark_sent`, `mark_failed`), postponing non-urgent notices through the quiet hours. Everything is in the database:
a restarted bot goes on where it stopped, and a notice is never sent twice.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.hours import QuietHours
from crm.chats import reply_language
from crm.identity import linked_customer, normalize_phone, owns
from crm.models import (
    Customer,
    Notice,
    NoticeAudience,
    NoticeOptOut,
    NoticeState,
    NoticeSubscription,
    Shipment,
    ShipmentStatus,
)
from crm.tracking import find_shipment, template_values, track

# The changes customers want to hear about without asking (seed 003: delays drive complaints).
NOTIFY_STATUSES = frozenset(
    {
        ShipmentStatus.DELAYED,
        ShipmentStatus.EXCEPTION,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERED,
        ShipmentStatus.RETURNED,
    }
)
# Sent even in the quiet hours: the courier is on the way, and the customer may have to be reachable now.
URGENT_STATUSES = frozenset({ShipmentStatus.OUT_FOR_DELIVERY})
# Nothing more will happen to these parcels: "Notify me" is not offered.
FINAL_STATUSES = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.LOST})
# Callback data of the buttons the bot handles itself (not sent to Rasa): "Notify me" and the unsubscribe button.
NOTIFY_PREFIX = "notify:"
UNNOTIFY_PREFIX = "unnotify:"
# A notice stuck in "sending" was being sent when the bot stopped: it may or may not have arrived.
INTERRUPTED = "interrupted while sending; not resent, to avoid a duplicate"


@dataclass(frozen=True)
class StatusChange:
    """A parcel's status changed because of an event (what `enqueue` decides about)."""

    shipment: Shipment
    old: ShipmentStatus
    new: ShipmentStatus
    occurred_at: datetime


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert notices; one that exists already (same parcel, status and chat) is left alone, even under a race."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(Notice).on_conflict_do_nothing(index_elements=["shipment_id", "status", "chat_id"])
    session.execute(statement, rows)


def _owner_chats(session: Session, shipments: Iterable[Shipment]) -> dict[int, set[int]]:
    """The private chats of each parcel's linked owners (its sender's account, or the recipient's phone)."""
    linked = session.execute(
        select(Customer.id, Customer.telegram_user_id, Customer.phone, Customer.phone_alt).where(
            Customer.telegram_user_id.is_not(None)
        )
    ).all()
    # Few customers are linked (only those who shared their contact with the bot): one query per batch.
    by_customer = {row.id: int(row.telegram_user_id) for row in linked}
    by_phone: dict[str, set[int]] = {}
    for row in linked:
        for phone in (row.phone, row.phone_alt):
            key = normalize_phone(phone)
            if key:
                by_phone.setdefault(key, set()).add(int(row.telegram_user_id))
    owners: dict[int, set[int]] = {}
    for shipment in shipments:
        chats = set(by_phone.get(normalize_phone(shipment.recipient_phone), set()))
        if shipment.customer_id is not None and shipment.customer_id in by_customer:
            chats.add(by_customer[shipment.customer_id])
        owners[shipment.id] = chats
    return owners


def enqueue(session: Session, changes: Sequence[StatusChange], *, now: datetime, max_age: timedelta) -> int:
    """Write the notices these status changes call for (in the caller's transaction); how many were due.

    Told: the linked owners (unless they sent /notify off or muted this parcel) and the chats that pressed
    "Notify me". Not told: changes to statuses nobody is notified about, and events older than max_age (a
    historical import must not wake people up about last month's parcels).
    """
    relevant = [
        change
        for change in changes
        if change.new in NOTIFY_STATUSES and change.new != change.old and now - as_utc(change.occurred_at) <= max_age
    ]
    if not relevant:
        return 0
    shipments = {change.shipment.id: change.shipment for change in relevant}
    owners = _owner_chats(session, shipments.values())
    subscribed: dict[int, set[int]] = {}
    muted: dict[int, set[int]] = {}
    for subscription in session.scalars(
        select(NoticeSubscription).where(NoticeSubscription.shipment_id.in_(list(shipments)))
    ):
        target = subscribed if subscription.active else muted
        target.setdefault(subscription.shipment_id, set()).add(subscription.chat_id)
    candidates = {chat for chats in (*owners.values(), *subscribed.values()) for chat in chats}
    opted_out = set(
        session.scalars(select(NoticeOptOut.chat_id).where(NoticeOptOut.chat_id.in_(list(candidates))))
        if candidates
        else []
    )
    rows: list[dict[str, object]] = []
    for change in relevant:
        shipment_id = change.shipment.id
        audiences = {chat: NoticeAudience.SUBSCRIBER for chat in subscribed.get(shipment_id, set())}
        # An owner who also pressed "Notify me" is an owner (they may see more).
        audiences.update({chat: NoticeAudience.OWNER for chat in owners.get(shipment_id, set())})
        for chat_id, audience in sorted(audiences.items()):
            if chat_id in opted_out or chat_id in muted.get(shipment_id, set()):
                continue
            rows.append(
                {
                    "shipment_id": shipment_id,
                    "chat_id": chat_id,
                    "status": change.new,
                    "audience": audience,
                    "state": NoticeState.PENDING,
                    "created_at": now,
                    "due_at": now,
                }
            )
    if rows:
        _insert_ignoring_duplicates(session, rows)
    return len(rows)


class SubscribeResult(str, enum.Enum):
    """What pressing "Notify me" did."""

    SUBSCRIBED = "subscribed"
    UNKNOWN = "unknown"
    FINAL = "final"


def subscribe(session: Session, chat_id: int, number: str, *, now: datetime) -> SubscribeResult:
    """Tell this chat about the parcel's next changes ("Notify me"); also undoes an earlier unsubscribe."""
    shipment = find_shipment(session, number)
    if shipment is None:
        return SubscribeResult.UNKNOWN
    if shipment.status in FINAL_STATUSES:
        return SubscribeResult.FINAL
    _set_subscription(session, chat_id, shipment.id, active=True, now=now)
    return SubscribeResult.SUBSCRIBED


def unsubscribe(session: Session, chat_id: int, number: str, *, now: datetime) -> bool:
    """No more notices about this parcel to this chat, owner or not (the button on every notice); False if unknown."""
    shipment = find_shipment(session, number)
    if shipment is None:
        return False
    _set_subscription(session, chat_id, shipment.id, active=False, now=now)
    # Notices already waiting (e.g. for the end of the quiet hours) are not sent either.
    session.execute(
        update(Notice)
        .where(Notice.chat_id == chat_id, Notice.shipment_id == shipment.id, Notice.state == NoticeState.PENDING)
        .values(state=NoticeState.SKIPPED, error="unsubscribed")
    )
    return True


def _set_subscription(session: Session, chat_id: int, shipment_id: int, *, active: bool, now: datetime) -> None:
    """Create or change the chat's subscription row for a parcel."""
    row = session.scalars(
        select(NoticeSubscription).where(
            NoticeSubscription.chat_id == chat_id, NoticeSubscription.shipment_id == shipment_id
        )
    ).one_or_none()
    if row is None:
        session.add(
            NoticeSubscription(chat_id=chat_id, shipment_id=shipment_id, active=active, created_at=now, updated_at=now)
        )
    elif row.active != active:
        row.active = active
        row.updated_at = now
    session.flush()


def set_notices(session: Session, chat_id: int, enabled: bool, *, now: datetime) -> None:
    """/notify on or off for a whole chat (off also drops the notices waiting for it)."""
    if enabled:
        session.execute(delete(NoticeOptOut).where(NoticeOptOut.chat_id == chat_id))
        return
    if session.get(NoticeOptOut, chat_id) is None:
        session.add(NoticeOptOut(chat_id=chat_id, created_at=now))
    session.execute(
        update(Notice)
        .where(Notice.chat_id == chat_id, Notice.state == NoticeState.PENDING)
        .values(state=NoticeState.SKIPPED, error="notices turned off")
    )
    session.flush()


def notices_enabled(session: Session, chat_id: int) -> bool:
    """False once the chat sent /notify off (and not /notify on since)."""
    return session.get(NoticeOptOut, chat_id) is None


@dataclass(frozen=True)
class NoticeDraft:
    """What the bot needs to write one notice: where, in which language, about what (status-only values)."""

    id: int
    chat_id: int
    language: str
    audience: NoticeAudience
    status: ShipmentStatus
    tracking_number: str
    values: dict[str, str] = field(default_factory=dict)


def recover_interrupted(session: Session, *, now: datetime) -> int:
    """Notices a stopped bot left in "sending" become failed (at most once beats twice); how many."""
    result = session.execute(
        update(Notice)
        .where(Notice.state == NoticeState.SENDING)
        .values(state=NoticeState.FAILED, error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def due_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    """The pending notices whose time has come, oldest first."""
    return list(
        session.scalars(
            select(Notice.id)
            .where(Notice.state == NoticeState.PENDING, Notice.due_at <= now)
            .order_by(Notice.due_at, Notice.id)
            .limit(limit)
        )
    )


def _still_wanted(session: Session, notice: Notice, shipment: Shipment) -> str | None:
    """Why a notice must not go out any more (opted out, unsubscribed, no longer the owner), or None."""
    if not notices_enabled(session, notice.chat_id):
        return "notices turned off"
    subscription = session.scalars(
        select(NoticeSubscription).where(
            NoticeSubscription.chat_id == notice.chat_id, NoticeSubscription.shipment_id == shipment.id
        )
    ).one_or_none()
    if subscription is not None and not subscription.active:
        return "unsubscribed"
    if notice.audience is NoticeAudience.OWNER:
        customer = linked_customer(session, notice.chat_id)
        if customer is None or not owns(customer, shipment):
            return "no longer the linked owner"
    elif subscription is None:
        return "not subscribed"
    return None


def claim(session: Session, notice_id: int, *, now: datetime, quiet: QuietHours) -> NoticeDraft | None:
    """Take a due notice for sending, or decide it waits (quiet hours) or is skipped; None unless it is to be sent.

    The notice is marked "sending" here, in its own transaction before the message goes out, so a bot that
    stops half-way never sends it again (see recover_interrupted).
    """
    notice = session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.state is not NoticeState.PENDING:
        return None
    shipment = session.get(Shipment, notice.shipment_id)
    reason = _still_wanted(session, notice, shipment) if shipment is not None else "parcel deleted"
    if reason is not None:
        notice.state = NoticeState.SKIPPED
        notice.error = reason
        return None
    assert shipment is not None
    if notice.status not in URGENT_STATUSES and quiet.is_quiet(now):
        notice.due_at = quiet.ends_after(now)
        notice.deferred_at = notice.deferred_at or now
        return None
    fallback = None
    if notice.audience is NoticeAudience.OWNER:
        owner = linked_customer(session, notice.chat_id)
        fallback = owner.preferred_language if owner is not None else None
    language = reply_language(session, notice.chat_id, None, fallback=fallback)
    view = track(session, shipment.tracking_number)
    values = template_values(view, language) if view is not None else {"tracking_number": shipment.tracking_number}
    if notice.audience is NoticeAudience.OWNER:
        # Only the owner learns whom the parcel is for (the public tracking view never says).
        values = {**values, "recipient_name": shipment.recipient_name, "recipient_city": shipment.recipient_city}
    notice.state = NoticeState.SENDING
    notice.attempted_at = now
    notice.language = language
    return NoticeDraft(
        notice.id, notice.chat_id, language, notice.audience, notice.status, shipment.tracking_number, values
    )


def mark_sent(session: Session, notice_id: int, *, message_id: int | None, now: datetime) -> None:
    """Telegram took the notice."""
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id)
        .values(state=NoticeState.SENT, sent_at=now, message_id=message_id, error=None)
    )


def mark_failed(session: Session, notice_id: int, error: str) -> None:
    """Telegram refused the notice (blocked bot, deleted chat, …); it is logged, not retried."""
    session.execute(
        update(Notice).where(Notice.id == notice_id).values(state=NoticeState.FAILED, error=error[:500])
    )


@dataclass
class NoticeCounts:
    """Notices of one status (or all): how each one ended or waits."""

    sent: int = 0
    # Sent, but only after the quiet hours were over.
    sent_after_quiet_hours: int = 0
    # Still waiting for the quiet hours to end.
    waiting_quiet_hours: int = 0
    pending: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def delayed_by_quiet_hours(self) -> int:
        """Every notice the quiet hours held back: sent later, or still waiting."""
        return self.sent_after_quiet_hours + self.waiting_quiet_hours

    @property
    def total(self) -> int:
        """All notices counted."""
        return self.sent + self.waiting_quiet_hours + self.pending + self.failed + self.skipped


@dataclass
class NoticeReport:
    """`parceldesk report notices`: counts per status and in total, since a moment."""

    since: datetime | None
    by_status: dict[ShipmentStatus, NoticeCounts]
    total: NoticeCounts
    failures: Counter[str]


def report(session: Session, *, since: datetime | None = None) -> NoticeReport:
    """Count the notices written since a moment (all when None): sent, delayed by quiet hours, failed, skipped."""
    statement = select(Notice.status, Notice.state, Notice.deferred_at, Notice.error)
    if since is not None:
        statement = statement.where(Notice.created_at >= since)
    by_status: dict[ShipmentStatus, NoticeCounts] = {}
    total = NoticeCounts()
    failures: Counter[str] = Counter()
    for status, state, deferred_at, error in session.execute(statement):
        for counts in (by_status.setdefault(status, NoticeCounts()), total):
            if state is NoticeState.SENT:
                counts.sent += 1
                if deferred_at is not None:
                    counts.sent_after_quiet_hours += 1
            elif state in (NoticeState.PENDING, NoticeState.SENDING):
                if deferred_at is not None:
                    counts.waiting_quiet_hours += 1
                else:
                    counts.pending += 1
            elif state is NoticeState.FAILED:
                counts.failed += 1
            else:
                counts.skipped += 1
        if state is NoticeState.FAILED:
            failures[error or "unknown"] += 1
    return NoticeReport(since, by_status, total, failures)
