"""Searching every table of the customer database, and Rasa's tracker store, for someone's personal data.

Used by the erasure tests (unit, CLI and end to end): after an erasure none of the needles may be found.
Phone numbers are compared by their digits (stored as "+86 138 0013 8000", "13800138000" or inside a text).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, Text, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crm.models import Base

RASA_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER NOT NULL PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)
"""


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


def search_tracker_store(
    path: Path, texts: Iterable[str], phones: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(sender_id, needle) for every Rasa event holding one of the needles (JSON decoded: Rasa escapes Chinese)."""
    if not path.exists():
        return []
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT sender_id, data FROM events").fetchall()
    hits = []
    for sender, data in rows:
        try:
            text = json.dumps(json.loads(data or "null"), ensure_ascii=False)
        except ValueError:
            text = data or ""
        hits += [(sender, needle) for needle in matches(text, texts, phones)]
    return hits


def make_tracker_store(path: Path) -> Path:
    """An SQLite file with the table Rasa's SQL tracker store writes (rasa/core/tracker_store.py SQLEvent)."""
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(RASA_EVENTS_TABLE)
    return path


def add_event(path: Path, sender: str, kind: str, data: dict[str, Any], *, timestamp: float | None = None) -> None:
    """One Rasa event, stored as Rasa does (JSON with ASCII escapes)."""
    stamp = time.time() if timestamp is None else timestamp
    body = json.dumps({"event": kind, "timestamp": stamp, **data})
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?,?,?,?,?,?)",
            (sender, kind, stamp, None, None, body),
        )


def events_of(path: Path, sender: str) -> int:
    """How many events a conversation has in the store."""
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0])
