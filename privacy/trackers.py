"""Rasa's conversation store: the events erasure and retention delete, and export reads.

Rasa keeps every event of a conversation (the customer's texts, slots such as a new address, the bot's
replies) as one row of the `events` table of its SQL tracker store, keyed by sender_id (`tg-<chat id>` for
our Telegram chats, crm.chats.sender_id). Nothing in Rasa removes them: a `restart` event is appended after
the old ones, and the HTTP API has no delete. So the rows are deleted here, in the store itself: an SQLite
file in the cache (settings.effective_tracker_store, written into Rasa's endpoints by nlu/toolchain.py).
Rasa reads a conversation from the store on every message and caches nothing, so a deleted conversation is
gone at once and the customer's next message starts a new one.

When the file is not on this machine (Rasa runs elsewhere, or with another tracker store), the outcome says
`found=False` and the caller reports it: the conversation must then be erased where it lives.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

EVENTS = "events"
# Kinds of event worth showing a customer in an export: what they wrote, what the bot said, what it noted.
READABLE_EVENTS = ("user", "bot", "slot")


@dataclass(frozen=True)
class TrackerOutcome:
    """What was done in the tracker store: where it is, whether it exists, how many events were (or would be) hit."""

    path: Path
    found: bool
    events: int = 0


@contextmanager
def _store(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A connection to an existing store with an events table (None when there is none); commits on success."""
    if not path.is_file():
        yield None
        return
    # mode=rw: never create an empty store where Rasa has none; a generous timeout: Rasa may be writing.
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)) as connection:
        present = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (EVENTS,)
        ).fetchone()
        if present is None:
            yield None
            return
        # Deleted events are zeroed in the file, not left in its free pages.
        connection.execute("PRAGMA secure_delete = ON")
        with connection:
            yield connection


def count_events(path: Path, senders: Collection[str]) -> TrackerOutcome:
    """How many events the store holds for these conversations."""
    with _store(path) as store:
        if store is None:
            return TrackerOutcome(path, found=False)
        if not senders:
            return TrackerOutcome(path, found=True)
        marks = ",".join("?" * len(senders))
        query = f"SELECT count(*) FROM {EVENTS} WHERE sender_id IN ({marks})"
        (count,) = store.execute(query, tuple(senders)).fetchone()
        return TrackerOutcome(path, found=True, events=int(count))


def erase_conversations(path: Path, senders: Collection[str]) -> TrackerOutcome:
    """Delete every event of these conversations (the customer's texts, slots, the bot's replies)."""
    with _store(path) as store:
        if store is None:
            return TrackerOutcome(path, found=False)
        if not senders:
            return TrackerOutcome(path, found=True)
        marks = ",".join("?" * len(senders))
        cursor = store.execute(f"DELETE FROM {EVENTS} WHERE sender_id IN ({marks})", tuple(senders))
        return TrackerOutcome(path, found=True, events=cursor.rowcount)


def expire_events(path: Path, before: datetime, *, dry_run: bool = False) -> TrackerOutcome:
    """Delete (or, dry, count) every event older than a moment, whoever's conversation it belongs to."""
    with _store(path) as store:
        if store is None:
            return TrackerOutcome(path, found=False)
        # Rasa stamps events with Unix time (float seconds).
        limit = before.timestamp()
        if dry_run:
            (count,) = store.execute(f"SELECT count(*) FROM {EVENTS} WHERE timestamp < ?", (limit,)).fetchone()
            return TrackerOutcome(path, found=True, events=int(count))
        cursor = store.execute(f"DELETE FROM {EVENTS} WHERE timestamp < ?", (limit,))
        return TrackerOutcome(path, found=True, events=cursor.rowcount)


def conversation(path: Path, sender: str) -> list[dict[str, Any]]:
    """A conversation's readable events, oldest first: what the customer wrote, the bot's replies, slots set."""
    with _store(path) as store:
        if store is None:
            return []
        rows = store.execute(
            f"SELECT type_name, timestamp, data FROM {EVENTS} WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    events: list[dict[str, Any]] = []
    for kind, timestamp, data in rows:
        if kind not in READABLE_EVENTS:
            continue
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
