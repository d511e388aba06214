"""Retention: personal data is kept for a set time per kind, then masked or deleted by a daily job.

Kinds and their settings (core/settings.py, README "Privacy"):
- chat texts (PARCELDESK_RETENTION_CHAT_DAYS, 180): a logged message's text and entities are deleted; a message
  an admin labelled as training data keeps a masked text (learning/masking.py) so the training export stays
  reproducible. Rasa's conversation events older than this are deleted as well (privacy/trackers.py).
- case texts (PARCELDESK_RETENTION_CASE_DAYS, 730), counted from the end of the case: a resolved escalation's
  summary, customer name and relayed messages and notes; a resolved or closed complaint's description, photo,
  resolution and desk texts; feedback comments; pickup addresses and contents (from the pickup window).
- undelivered messages (the outbox) are deleted after the chat period, like the chat texts.
- audit entries (PARCELDESK_RETENTION_AUDIT_DAYS, 1095): deleted.

Restart-safe by construction: every run computes what is due from the rows' own timestamps and what they
still hold, changes only that, and keeps no state anywhere else; a run that finds nothing due changes nothing.
The clock is core.clock's, so tests age data by moving it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, delete, exists, func, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import transaction
from core.settings import Settings
from crm.models import (
    AuditEntry,
    ChatMessage,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Feedback,
    OutboxMessage,
    PickupOrder,
    TrainingLabel,
)
from learning.masking import mask_personal_data
from privacy.erasure import ERASED, overwrite_freed_space
from privacy.trackers import TrackerOutcome, expire_events

# What an expired text field (one that may not be empty in the schema) holds from now on.
EXPIRED = "[expired 已过期]"
CHAT, CASE, AUDIT = "chat", "case", "audit"
# Each kind of row the job handles: which retention period applies and what happens to it.
KINDS: dict[str, tuple[str, str]] = {
    "chat_texts": (CHAT, "chat message texts deleted"),
    "training_texts": (CHAT, "labelled training texts masked"),
    "escalation_summaries": (CASE, "resolved escalations: summary and customer name deleted"),
    "escalation_messages": (CASE, "resolved escalations: relayed messages and notes deleted"),
    "complaint_texts": (CASE, "closed complaints: description, photo and resolution deleted"),
    "complaint_desk_texts": (CASE, "closed complaints: desk notes and messages deleted"),
    "feedback_comments": (CASE, "feedback comments deleted"),
    "pickup_texts": (CASE, "past pickups: address and contents deleted"),
    "outbox_messages": (CHAT, "undelivered messages (given up or refused) deleted"),
    "audit_entries": (AUDIT, "audit entries deleted"),
}
_ENDED_COMPLAINTS = (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
_BLANK = (ERASED, EXPIRED)
_NO_ENTITIES = ("null", "[]")


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days each kind of personal data is kept."""

    chat_days: int = 180
    case_days: int = 730
    audit_days: int = 1095

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The configured retention periods."""
        return cls(settings.retention_chat_days, settings.retention_case_days, settings.retention_audit_days)

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Per period: rows older than this are due."""
        return {
            CHAT: now - timedelta(days=self.chat_days),
            CASE: now - timedelta(days=self.case_days),
            AUDIT: now - timedelta(days=self.audit_days),
        }


@dataclass
class RetentionReport:
    """What one run changed (or, dry, would change): rows per kind, and Rasa's events."""

    now: datetime
    dry_run: bool
    cutoffs: dict[str, datetime]
    counts: dict[str, int] = field(default_factory=dict)
    tracker: TrackerOutcome | None = None

    @property
    def total(self) -> int:
        """Rows due (or changed) in the database and in Rasa's tracker store."""
        events = self.tracker.events if self.tracker is not None and self.tracker.found else 0
        return sum(self.counts.values()) + events

    def rows(self) -> list[tuple[str, str, datetime, int]]:
        """(kind, what happens, before when, how many) for a report, in a fixed order."""
        return [(kind, what, self.cutoffs[period], self.counts.get(kind, 0)) for kind, (period, what) in KINDS.items()]


def _chat_due(cutoff: datetime) -> ColumnElement[bool]:
    """Logged messages past the chat period that still hold a text or entities."""
    # Entities written as None elsewhere are the JSON value null (not SQL NULL); an empty list holds nothing either.
    entities = and_(ChatMessage.entities.is_not(None), cast(ChatMessage.entities, Text).not_in(_NO_ENTITIES))
    return and_(ChatMessage.created_at < cutoff, or_(ChatMessage.text.is_not(None), entities))


def _labelled() -> ColumnElement[bool]:
    """The message carries an active training label."""
    return exists().where(TrainingLabel.message_id == ChatMessage.id, TrainingLabel.active.is_(True))


def _resolved_escalation_ids(cutoff: datetime) -> Any:
    """Escalations resolved before the cutoff (a subquery)."""
    return select(Escalation.id).where(Escalation.status == EscalationStatus.RESOLVED, Escalation.resolved_at < cutoff)


def _ended_complaint_ids(cutoff: datetime) -> Any:
    """Complaints resolved or closed before the cutoff (a subquery)."""
    return select(Complaint.id).where(
        Complaint.status.in_(_ENDED_COMPLAINTS), func.coalesce(Complaint.resolved_at, Complaint.updated_at) < cutoff
    )


def _count(session: Session, model: Any, condition: ColumnElement[bool]) -> int:
    """Rows of a table matching a condition."""
    return int(session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _change(session: Session, model: Any, condition: ColumnElement[bool], values: dict[str, Any] | None,
            dry_run: bool) -> int:
    """Update (values) or delete (None) the matching rows; dry, only count them."""
    if dry_run:
        return _count(session, model, condition)
    statement = (
        update(model).where(condition).values(**values) if values is not None else delete(model).where(condition)
    )
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _mask_training_texts(session: Session, cutoff: datetime, dry_run: bool) -> int:
    """Mask the old texts admins labelled as training data (once: an already masked text is left alone)."""
    rows = session.execute(select(ChatMessage.id, ChatMessage.text).where(_chat_due(cutoff), _labelled())).all()
    changed = 0
    for message_id, body in rows:
        masked = mask_personal_data(body) if body is not None else None
        if masked == body:
            continue
        changed += 1
        if not dry_run:
            session.execute(
                update(ChatMessage)
                .where(ChatMessage.id == message_id)
                .values(text=masked)
                .execution_options(synchronize_session=False)
            )
    return changed


def apply_retention(session: Session, policy: RetentionPolicy, *, now: datetime | None = None,
                    dry_run: bool = False) -> RetentionReport:
    """Mask or delete, in the caller's transaction, every piece of personal data past its retention period."""
    now = now or utcnow()
    cutoffs = policy.cutoffs(now)
    chat, case, audit_cutoff = cutoffs[CHAT], cutoffs[CASE], cutoffs[AUDIT]
    report = RetentionReport(now, dry_run, cutoffs)
    if not dry_run:
        overwrite_freed_space(session)
    counts = report.counts
    counts["training_texts"] = _mask_training_texts(session, chat, dry_run)
    counts["chat_texts"] = _change(
        session, ChatMessage, and_(_chat_due(chat), ~_labelled()), {"text": None, "entities": null()}, dry_run
    )
    if not dry_run:
        # Entities of labelled messages go too (the masked text is all the training export needs).
        session.execute(update(ChatMessage).where(_chat_due(chat), _labelled()).values(entities=null())
                        .execution_options(synchronize_session=False))
    counts["escalation_messages"] = _change(
        session, EscalationEvent,
        and_(EscalationEvent.escalation_id.in_(_resolved_escalation_ids(case)),
             or_(EscalationEvent.body.is_not(None), EscalationEvent.file_id.is_not(None))),
        {"body": None, "file_id": None}, dry_run,
    )
    counts["escalation_summaries"] = _change(
        session, Escalation,
        and_(Escalation.id.in_(_resolved_escalation_ids(case)),
             or_(Escalation.summary.is_not(None), Escalation.customer_name.is_not(None))),
        {"summary": None, "customer_name": None}, dry_run,
    )
    # Desk texts before the complaints themselves: expiring a complaint touches its updated_at.
    counts["complaint_desk_texts"] = _change(
        session, ComplaintEvent,
        and_(ComplaintEvent.complaint_id.in_(_ended_complaint_ids(case)),
             or_(ComplaintEvent.body.is_not(None), ComplaintEvent.file_id.is_not(None))),
        {"body": None, "file_id": None}, dry_run,
    )
    counts["complaint_texts"] = _change(
        session, Complaint,
        and_(Complaint.id.in_(_ended_complaint_ids(case)),
             or_(Complaint.description.not_in(_BLANK), Complaint.photo_file_id.is_not(None),
                 Complaint.resolution.is_not(None))),
        {"description": EXPIRED, "photo_file_id": None, "resolution": None}, dry_run,
    )
    counts["feedback_comments"] = _change(
        session, Feedback, and_(Feedback.created_at < case, Feedback.comment.is_not(None)), {"comment": None}, dry_run
    )
    counts["pickup_texts"] = _change(
        session, PickupOrder,
        and_(PickupOrder.window_end < case,
             or_(PickupOrder.address.not_in(_BLANK), PickupOrder.contents.not_in(_BLANK))),
        {"address": EXPIRED, "contents": EXPIRED}, dry_run,
    )
    # Only ended ones are ever this old: a pending message is given up long before (crm/outbox.py).
    counts["outbox_messages"] = _change(session, OutboxMessage, OutboxMessage.created_at < chat, None, dry_run)
    counts["audit_entries"] = _change(session, AuditEntry, AuditEntry.created_at < audit_cutoff, None, dry_run)
    return report


def run_retention(sessions: sessionmaker[Session], settings: Settings, *, dry_run: bool = False,
                  now: datetime | None = None) -> RetentionReport:
    """One retention run over the database, Rasa's conversation events included (the bot's daily job and the CLI)."""
    with transaction(sessions) as session:
        report = apply_retention(session, RetentionPolicy.from_settings(settings), now=now, dry_run=dry_run)
        # Same transaction: Rasa's events go with our own chat texts, or neither does.
        report.tracker = expire_events(session, report.cutoffs[CHAT], dry_run=dry_run)
    return report
