"""Rasa's conversations: the events erasure and retention delete, and export reads.

Rasa keeps every event of a conversation (the customer's texts, slots such as a new address, the bot's
replies) as one row of the `events` table of its SQL tracker store, keyed by sender_id (`tg-<chat id>` for
our Telegram chats, crm.chats.sender_id). Nothing in Rasa removes them: a `restart` event is appended after
the old ones, and the HTTP API has no delete. That table lives in our own database (nlu/trackerstore.py points
Rasa there; crm/schema.py keeps migrations off it), so its rows are read and deleted here with our engine, in
the caller's transaction, on SQLite and PostgreSQL alike: an erasure removes the conversation together with
everything else, or nothing. Rasa reads a conversation from the store on every message and caches nothing, so
a deleted conversation is gone at once and the customer's next message starts a new one.

When the table is not there (Rasa never ran against this database), the outcome says `found=False`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, inspect, select
from sqlalchemy.orm import Session

from crm.schema import RASA_EVENTS

# The columns of Rasa's SQLEvent we use (Rasa creates and owns the table; this is not in our models' metadata).
EVENTS = Table(
    RASA_EVENTS,
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("data", Text),
)
# Kinds of event worth showing a customer in an export: what they wrote, what the bot said, what it noted.
READABLE_EVENTS = ("user", "bot", "slot")
# Ids per IN clause: well under every backend's parameter limit.
CHUNK = 500


@dataclass(frozen=True)
class TrackerOutcome:
    """What was done in Rasa's events: whether the table exists, how many events were (or would be) hit."""

    found: bool
    events: int = 0


def has_events_table(session: Session) -> bool:
    """True once Rasa has created its table in this database (in the schema on the search_path)."""
    return inspect(session.connection()).has_table(RASA_EVENTS)


def _chunks(senders: Collection[str]) -> list[list[str]]:
    """Sender ids in IN-clause-sized lists."""
    ordered = sorted(senders)
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


def erase_conversations(session: Session, senders: Collection[str]) -> TrackerOutcome:
    """Delete every event of these conversations (the customer's texts, slots, the bot's replies)."""
    if not has_events_table(session):
        return TrackerOutcome(found=False)
    deleted = 0
    for chunk in _chunks(senders):
        result = session.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk)))
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return TrackerOutcome(found=True, events=deleted)


def expire_events(session: Session, before: datetime, *, dry_run: bool = False) -> TrackerOutcome:
    """Delete (or, dry, count) every event older than a moment, whoever's conversation it belongs to."""
    if not has_events_table(session):
        return TrackerOutcome(found=False)
    # Rasa stamps events with Unix time (float seconds).
    old = EVENTS.c.timestamp < before.timestamp()
    if dry_run:
        return TrackerOutcome(found=True, events=int(session.scalar(select(func.count()).where(old)) or 0))
    result = session.execute(delete(EVENTS).where(old))
    return TrackerOutcome(found=True, events=int(result.rowcount or 0))  # type: ignore[attr-defined]


def conversation(session: Session, sender: str) -> list[dict[str, Any]]:
    """A conversation's readable events, oldest first: what the customer wrote, the bot's replies, slots set."""
    if not has_events_table(session):
        return []
    rows = session.execute(
        select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender, EVENTS.c.type_name.in_(READABLE_EVENTS))
        .order_by(EVENTS.c.id)
    ).all()
    events: list[dict[str, Any]] = []
    for kind, timestamp, data in rows:
        try:
            body = json.loads(data or "{}")
        except ValueError:
            body = {}
        entry: dict[str, Any] = {"event": kind, "timestamp": timestamp}
        if kind == "slot":
            entry.update(name=body.get("name"), value=body.get("value"))
        else:
            entry["text"] = body.get("text")
        events.append(entry)
    return events
