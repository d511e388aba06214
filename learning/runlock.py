"""One retrain at a time, across processes: an exclusive file lock beside the model cache, naming who holds it.

The command line and the bot (any number of admins) take the same lock, so a second retrain is refused, never
queued. It is a `flock`, like the training locks of nlu/toolchain.py: the operating system releases it when its
holder dies, so a crashed or restarted bot leaves no stale lock behind. The holder's record (who, when, which
chat message shows the progress) is written into the lock file and cleared when the run ends; a record found in
a free lock therefore belongs to a run that died, and the next start can tell its admin (`take_interrupted`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import make_url

from core.settings import Settings


@dataclass(frozen=True)
class Holder:
    """Who runs the retrain: a name for people, the process, and the chat message showing its progress (bot)."""

    actor: str
    started_at: datetime
    pid: int
    chat_id: int | None = None
    message_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The record written into the lock file."""
        return {**asdict(self), "started_at": self.started_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Holder:
        """Read a record back (raises KeyError/ValueError/TypeError when it is not one)."""
        return cls(
            actor=str(data["actor"]), started_at=datetime.fromisoformat(data["started_at"]), pid=int(data["pid"]),
            chat_id=data.get("chat_id"), message_id=data.get("message_id"),
        )


class RetrainBusy(RuntimeError):
    """Another retrain holds the lock; `holder` says whose (None if it has not written its record yet)."""

    def __init__(self, holder: Holder | None) -> None:
        """Name the holder in the message (for the command line)."""
        who = f" by {holder.actor} since {holder.started_at:%Y-%m-%d %H:%M} UTC" if holder else ""
        super().__init__(f"a retrain is already running{who}; wait for it to finish")
        self.holder = holder


def lock_path(settings: Settings) -> Path:
    """The lock file of this deployment, among the model cache's other locks.

    The cache is shared by every clone on the machine, the registry is not: the lock is named after the database
    (its URL without the password, and the schema), so the command line and the bot of one deployment share it
    and two deployments (or two test databases) never wait for each other.
    """
    url = make_url(settings.effective_database_url.get_secret_value()).render_as_string(hide_password=True)
    where = f"{url}|{settings.database_schema or ''}"
    return settings.cache_dir / "locks" / f"retrain-{hashlib.sha256(where.encode()).hexdigest()[:16]}.lock"


def _record(handle: IO[str]) -> Holder | None:
    """The holder record in an open lock file (None when empty or unreadable)."""
    handle.seek(0)
    raw = handle.read().strip()
    if not raw:
        return None
    try:
        return Holder.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return None


def _write(handle: IO[str], holder: Holder | None) -> None:
    """Replace the record (the file is opened for appending: after truncating, the end is the start)."""
    handle.seek(0)
    handle.truncate()
    if holder is not None:
        handle.write(json.dumps(holder.to_json()))
    handle.flush()
    os.fsync(handle.fileno())


def _open(path: Path) -> IO[str]:
    """Open (create) the lock file without truncating a holder's record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a+", encoding="utf-8")


def _try_lock(handle: IO[str]) -> bool:
    """Take the lock without waiting; False when someone holds it (another process, or another open in this one)."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def exclusive(path: Path, holder: Holder) -> Iterator[None]:
    """Hold the retrain lock for the block, with the holder's record in it; RetrainBusy when it is taken."""
    with _open(path) as handle:
        if not _try_lock(handle):
            raise RetrainBusy(_record(handle))
        try:
            _write(handle, holder)
            yield
        finally:
            _write(handle, None)
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_free(path: Path) -> None:
    """Raise RetrainBusy (naming the holder) when a retrain runs now: a quick answer before starting one.

    Only a courtesy: `exclusive` is what guarantees one run at a time.
    """
    with _open(path) as handle:
        if not _try_lock(handle):
            raise RetrainBusy(_record(handle))
        fcntl.flock(handle, fcntl.LOCK_UN)


def take_interrupted(path: Path) -> Holder | None:
    """The record of a run whose process died while holding the lock, cleared as it is read (None otherwise)."""
    with _open(path) as handle:
        if not _try_lock(handle):
            return None  # a run is going on: not interrupted
        try:
            found = _record(handle)
            if found is not None or handle.tell() > 0:
                _write(handle, None)
            return found
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
