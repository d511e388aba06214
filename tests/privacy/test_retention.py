"""Retention on aged data (the test clock moves forward): exactly the expired rows are masked or deleted, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.clock import CLOCK_FILE_ENV, set_clock_offset, utcnow
from core.db import make_sessionmaker
from core.settings import Settings
from crm.models import (
    AuditEntry,
    ChatMessage,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintStatus,
    Direction,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    EscalationStatus,
    Feedback,
    OutboxMessage,
    OutboxState,
    PickupOrder,
    PickupStatus,
    TrainingLabel,
)
from learning.masking import MOBILE_PLACEHOLDER
from privacy.retention import EXPIRED, RetentionPolicy, apply_retention, run_retention
from tests.databases import create_database
from tests.privacy.search import add_event, create_rasa_events, events_of

DAY = timedelta(days=1)
POLICY = RetentionPolicy(chat_days=180, case_days=730, audit_days=1095)
ENTITIES = [{"entity": "tracking_number", "value": "XJ202611180042"}]


@pytest.fixture()
def clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test clock (core.clock): a file with an offset in seconds, starting at zero."""
    path = tmp_path / "clock"
    set_clock_offset(path, 0)
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    yield path


def advance(clock: Path, days: float) -> None:
    """Move the test clock forward."""
    set_clock_offset(clock, days * 86400)


def message(session: Session, text: str, at: datetime, *, labelled: bool = False,
            entities: list[dict[str, str]] | None = ENTITIES) -> ChatMessage:
    """A logged inbound text at a given moment (optionally labelled as training data)."""
    # entities=None is what crm.chatlog writes for a message Rasa found none in: the JSON value null.
    row = ChatMessage(chat_id=5, telegram_user_id=5, direction=Direction.INBOUND, kind="text", text=text,
                      entities=entities, handled=True, created_at=at)
    session.add(row)
    session.flush()
    if labelled:
        session.add(TrainingLabel(message_id=row.id, intent="inform", source="fallback", labelled_by="admin",
                                  created_at=at))
    return row


def escalation(session: Session, resolved_at: datetime | None) -> Escalation:
    """An escalation with a summary, a name and a relayed message; resolved at a moment (or still open)."""
    row = Escalation(chat_id=int(resolved_at.timestamp()) if resolved_at else 9, customer_name="林小红",
                     summary="“13912345678”", reason="request_human", created_at=resolved_at or utcnow(),
                     updated_at=resolved_at or utcnow(),
                     status=EscalationStatus.RESOLVED if resolved_at else EscalationStatus.OPEN,
                     resolved_at=resolved_at, active_chat_id=None if resolved_at else 9)
    session.add(row)
    session.flush()
    session.add(EscalationEvent(escalation_id=row.id, kind=EscalationEventKind.CUSTOMER_MESSAGE, body="hello",
                                created_at=resolved_at or utcnow()))
    return row


def complaint(session: Session, code: str, status: ComplaintStatus, at: datetime) -> Complaint:
    """A complaint with free text, photo and a desk note, created (and resolved, if so) at a moment."""
    ended = status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
    row = Complaint(code=code, category=ComplaintCategory.DAMAGE, description="杯子碎了", photo_file_id="file",
                    status=status, resolution="赔偿" if ended else None, resolved_at=at if ended else None,
                    created_at=at, updated_at=at)
    session.add(row)
    session.flush()
    session.add(ComplaintEvent(complaint_id=row.id, kind=ComplaintEventKind.NOTE, body="note", created_at=at))
    return row


def test_retention_masks_exactly_the_expired_rows_once(session: Session, clock: Path) -> None:
    """Rows on both sides of each period; after the clock moves on, a dry run counts what a run then changes,
    exactly those rows, and a second run finds nothing."""
    start = utcnow()
    old_chat = message(session, "where is XJ202611180042", start - 181 * DAY)
    old_reply = message(session, "您好，林小红", start - 190 * DAY, entities=None)
    fresh_chat = message(session, "where is XJ202611170007", start - 179 * DAY)
    old_training = message(session, "call me on 13912345678", start - 200 * DAY, labelled=True)
    old_escalation = escalation(session, start - 731 * DAY)
    fresh_escalation = escalation(session, start - 729 * DAY)
    open_escalation = escalation(session, None)
    old_complaint = complaint(session, "C-9001", ComplaintStatus.CLOSED, start - 731 * DAY)
    fresh_complaint = complaint(session, "C-9002", ComplaintStatus.RESOLVED, start - 700 * DAY)
    still_open = complaint(session, "C-9003", ComplaintStatus.OPEN, start - 900 * DAY)
    old_feedback = Feedback(rating=2, comment="太慢了", created_at=start - 731 * DAY)
    fresh_feedback = Feedback(rating=5, comment="很好", created_at=start - 10 * DAY)
    old_pickup = PickupOrder(code="P-9001", address="南京西路1266号", contents="书", status=PickupStatus.PICKED_UP,
                             window_start=start - 732 * DAY, window_end=start - 731 * DAY)
    fresh_pickup = PickupOrder(code="P-9002", address="南京西路1号", contents="书", status=PickupStatus.PICKED_UP,
                               window_start=start - 2 * DAY, window_end=start - DAY)
    old_audit = AuditEntry(actor="a", action="profile_view", subject_kind="customer", subject_id="1",
                           created_at=start - 1096 * DAY)
    fresh_audit = AuditEntry(actor="a", action="profile_view", subject_kind="customer", subject_id="1",
                             created_at=start - 1094 * DAY)
    old_outbox = OutboxMessage(chat_id=7, text="林小红, your parcel", state=OutboxState.GAVE_UP,
                               next_attempt_at=start - 181 * DAY, created_at=start - 181 * DAY,
                               ended_at=start - 181 * DAY)
    fresh_outbox = OutboxMessage(chat_id=7, text="林小红, your parcel", state=OutboxState.PENDING,
                                 next_attempt_at=start, created_at=start - 179 * DAY)
    session.add_all([old_feedback, fresh_feedback, old_pickup, fresh_pickup, old_audit, fresh_audit, old_outbox,
                     fresh_outbox])
    session.flush()
    old_audit_id, fresh_audit_id = old_audit.id, fresh_audit.id
    old_outbox_id, fresh_outbox_id = old_outbox.id, fresh_outbox.id

    # Half a day on, no row crosses a boundary (each is a day or more from one): what is due is what was made old.
    advance(clock, 0.5)
    expected = {
        "chat_texts": 2, "training_texts": 1, "escalation_summaries": 1, "escalation_messages": 1,
        "complaint_texts": 1, "complaint_desk_texts": 1, "feedback_comments": 1, "pickup_texts": 1,
        "outbox_messages": 1, "audit_entries": 1,
    }
    dry = apply_retention(session, POLICY, dry_run=True)
    assert dry.counts == expected
    assert old_chat.text is not None  # a dry run changes nothing
    done = apply_retention(session, POLICY)
    assert done.counts == expected
    session.expire_all()

    assert old_chat.text is None and old_chat.entities is None and old_reply.text is None
    assert fresh_chat.text == "where is XJ202611170007" and fresh_chat.entities is not None
    assert old_training.text == f"call me on {MOBILE_PLACEHOLDER}"  # training data kept, masked
    assert (old_escalation.summary, old_escalation.customer_name) == (None, None)
    assert fresh_escalation.summary is not None and open_escalation.summary is not None
    bodies = dict(session.execute(select(EscalationEvent.escalation_id, EscalationEvent.body)).all())
    assert bodies[old_escalation.id] is None and bodies[fresh_escalation.id] == bodies[open_escalation.id] == "hello"
    assert (old_complaint.description, old_complaint.photo_file_id, old_complaint.resolution) == (EXPIRED, None, None)
    assert old_complaint.category is ComplaintCategory.DAMAGE and old_complaint.status is ComplaintStatus.CLOSED
    assert fresh_complaint.description == still_open.description == "杯子碎了"
    notes = dict(session.execute(select(ComplaintEvent.complaint_id, ComplaintEvent.body)).all())
    assert notes == {old_complaint.id: None, fresh_complaint.id: "note", still_open.id: "note"}
    assert old_feedback.comment is None and old_feedback.rating == 2 and fresh_feedback.comment == "很好"
    assert (old_pickup.address, old_pickup.contents) == (EXPIRED, EXPIRED) and fresh_pickup.address == "南京西路1号"
    assert session.get(AuditEntry, old_audit_id) is None and session.get(AuditEntry, fresh_audit_id) is not None
    assert session.get(OutboxMessage, old_outbox_id) is None and session.get(OutboxMessage, fresh_outbox_id)

    # Restart-safe: running again (or after a restart) finds nothing left to do.
    again = apply_retention(session, POLICY)
    assert sum(again.counts.values()) == 0

    # Two days later the rows that were one day from a boundary are due, and only they.
    advance(clock, 2)
    later = apply_retention(session, POLICY)
    assert {kind: count for kind, count in later.counts.items() if count} == {
        "chat_texts": 1, "escalation_summaries": 1, "escalation_messages": 1, "outbox_messages": 1,
        "audit_entries": 1,
    }
    session.expire_all()
    assert fresh_chat.text is None and fresh_escalation.summary is None and open_escalation.summary is not None


def test_retention_run_deletes_old_rasa_events_too(database_backend: str, tmp_path: Path, clock: Path) -> None:
    """The job's entry point (bot and CLI) also deletes Rasa events older than the chat period, and only those,
    from Rasa's table in the same database, in the same transaction."""
    for database in create_database(database_backend, tmp_path):
        now = utcnow().timestamp()
        with database.engine.begin() as connection:
            create_rasa_events(connection)
            add_event(connection, "tg-1", "user", {"text": "old"}, timestamp=now - 181 * 86400)
            add_event(connection, "tg-1", "user", {"text": "new"}, timestamp=now - 179 * 86400)

        def events(engine: Engine = database.engine) -> int:
            with engine.connect() as connection:
                return events_of(connection, "tg-1")

        settings = Settings(database_url=database.url, database_schema=database.schema)
        sessions = make_sessionmaker(database.engine)
        dry = run_retention(sessions, settings, dry_run=True)
        assert dry.tracker is not None and dry.tracker.found and dry.tracker.events == 1
        assert events() == 2
        done = run_retention(sessions, settings)
        assert done.tracker is not None and done.tracker.events == 1
        assert events() == 1
        advance(clock, 2)
        assert run_retention(sessions, settings).tracker.events == 1  # type: ignore[union-attr]
        assert events() == 0
