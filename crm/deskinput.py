"""What the bot waits for next from a private chat: the next message there is an answer, not a new request.

A staff member who pressed Note, Message customer, Resolve or Reject on a complaint ticket types the text next;
a customer who answered "not resolved" may say why in their next message. The state is one row per chat in the
database (never bot memory), so a restarted bot — or another bot process — goes on exactly where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.clock import as_utc, utcnow
from crm.models import DeskInput

# A prompt nobody answered within this many minutes is forgotten: the next message is an ordinary one again.
INPUT_MINUTES = 30

# The kinds of input: a staff member's (the row names them) and a customer's words after "not resolved".
NOTE = "note"
MESSAGE = "message"
RESOLVE = "resolve"
RESOLVE_AMOUNT = "resolve_amount"
REJECT = "reject"
REOPEN_WORDS = "reopen_words"


def expect(
    session: Session,
    chat_id: int,
    kind: str,
    complaint_id: int,
    *,
    staff_id: int | None = None,
    draft: str | None = None,
    minutes: int = INPUT_MINUTES,
    now: datetime | None = None,
) -> DeskInput:
    """Wait for the next message of a chat as `kind` for a complaint (replacing whatever was awaited there)."""
    now = now or utcnow()
    row = session.get(DeskInput, chat_id)
    if row is None:
        row = DeskInput(chat_id=chat_id)
        session.add(row)
    row.kind = kind
    row.complaint_id = complaint_id
    row.staff_id = staff_id
    row.draft = draft
    row.created_at = now
    row.expires_at = now + timedelta(minutes=minutes)
    session.flush()
    return row


def pending(session: Session, chat_id: int, *, now: datetime | None = None) -> DeskInput | None:
    """What the chat's next message answers, if anything is awaited and not expired."""
    row = session.get(DeskInput, chat_id)
    if row is None or as_utc(row.expires_at) <= (now or utcnow()):
        return None
    return row


def clear(session: Session, chat_id: int) -> DeskInput | None:
    """Stop waiting for the chat's next message; returns what was awaited (expired or not)."""
    row = session.get(DeskInput, chat_id)
    if row is not None:
        session.delete(row)
        session.flush()
    return row
