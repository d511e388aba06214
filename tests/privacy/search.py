"""Searching every table of the customer database, Rasa's events included, for someone's personal data.

Used by the erasure tests (unit, CLI and end to end): after an erasure none of the needles may be found.
Phone numbers are compared by their digits (stored as "+86 138 0013 8000", "13800138000" or inside a text).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table, Text, func, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crm.models import Base

# Rasa's SQLEvent (rasa/core/tracker_store.py, Rasa 3.6), as its SQL tracker store creates it in our database.
RASA_EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def _digits(value: str) -> str:
    """Only the digits of a text."""
    return re.sub(r"\D", "", value)


def matches(value: str, texts: Iterable[str], phones: Iterable[str] = ()) -> list[str]:
    """The needles a text contains: texts as written, phones by their national digits (the last 11)."""
    found = [needle for needle in texts if needle in value]
    digits = _digits(value)
    found += [phone for phone in phones if _digits(phone)[-11:] in digits]
    return found


def search_database(
    session_or_connection: Session | Connection, texts: Iterable[str], phones: Iterable[str] = ()
) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text or JSON cell of every table that holds one of the needles."""
    hits: list[tuple[str, str, str]] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in session_or_connection.execute(select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                hits += [(table.name, column.name, needle) for needle in matches(text, texts, phones)]
    return hits


def search_rasa_events(
    db: Session | Connection, texts: Iterable[str], phones: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(sender_id, needle) for every Rasa event holding one of the needles (JSON decoded: Rasa escapes Chinese)."""
    if not inspect(_connection(db)).has_table("events"):
        return []
    hits = []
    for sender, data in db.execute(select(RASA_EVENTS.c.sender_id, RASA_EVENTS.c.data)).all():
        try:
            text = json.dumps(json.loads(data or "null"), ensure_ascii=False)
        except ValueError:
            text = data or ""
        hits += [(sender, needle) for needle in matches(text, texts, phones)]
    return hits


def create_rasa_events(db: Session | Connection) -> None:
    """Rasa's events table in the test database, as Rasa creates it when it starts (in the caller's transaction)."""
    RASA_EVENTS.create(_connection(db), checkfirst=True)


def add_event(
    db: Session | Connection, sender: str, kind: str, data: dict[str, Any], *, timestamp: float | None = None
) -> None:
    """One Rasa event, stored as Rasa does (JSON with ASCII escapes)."""
    stamp = time.time() if timestamp is None else timestamp
    body = json.dumps({"event": kind, "timestamp": stamp, **data})
    db.execute(insert(RASA_EVENTS).values(sender_id=sender, type_name=kind, timestamp=stamp, data=body))


def events_of(db: Session | Connection, sender: str) -> int:
    """How many events a conversation has in Rasa's table."""
    query = select(func.count()).select_from(RASA_EVENTS).where(RASA_EVENTS.c.sender_id == sender)
    return int(db.execute(query).scalar_one())


def _connection(db: Session | Connection) -> Connection:
    """The connection under a session (or the connection itself)."""
    return db.connection() if isinstance(db, Session) else db
