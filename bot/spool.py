"""The spool: updates the bot could not store (database unreachable) wait on disk and are handled later, in order.

Why a local spool and not "leave the update unconfirmed at Telegram": with polling, PTB confirms an update as
soon as it fetched it, and in webhook mode Telegram stops redelivering after its own retries; a few small JSON
files next to the bot survive a bot restart and keep each chat's order. The database stays the place of record:
a spooled update is deleted once its inbound transaction committed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from telegram import Update

from bot.updates import chat_key

logger = logging.getLogger(__name__)


def stored_chat(data: dict[str, Any]) -> int | None:
    """The chat of a stored update's JSON (the same key as bot.updates.chat_key), without decoding it all."""
    for kind in ("message", "edited_message", "callback_query", "channel_post"):
        part = data.get(kind)
        if isinstance(part, dict):
            message = part.get("message", part) if kind == "callback_query" else part
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict) and "id" in chat:
                return int(chat["id"])
            sender = part.get("from")
            if isinstance(sender, dict) and "id" in sender:
                return int(sender["id"])
    return None


class Spool:
    """A directory of spooled updates (one JSON file each, named by update id) plus what is being replayed."""

    def __init__(self, directory: Path) -> None:
        """Open (and create) the spool directory; updates left by an earlier run are picked up."""
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        # update id -> chat key, so "does this chat have spooled updates?" needs no disk scan per message.
        self._chats: dict[int, int | None] = {}
        self.replaying: set[int] = set()
        for update_id, data in self._read_all():
            self._chats[update_id] = stored_chat(data)

    def __len__(self) -> int:
        """How many updates wait in the spool."""
        return len(self._chats)

    def _path(self, update_id: int) -> Path:
        """The file of one spooled update (zero-padded: file order is update order)."""
        return self.directory / f"{update_id:015d}.json"

    def put(self, update: Update) -> None:
        """Keep an update on disk (atomically: a crash never leaves half a file)."""
        path = self._path(update.update_id)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(update.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)
        self._chats[update.update_id] = chat_key(update)
        logger.warning("update %s spooled (%s waiting)", update.update_id, len(self))

    def holds(self, update: Update) -> bool:
        """True when this update is spooled, or its chat has spooled updates it must not overtake."""
        if update.update_id in self._chats:
            return True
        key = chat_key(update)
        return key is not None and key in self._chats.values()

    def replaying_chat(self, update: Update) -> bool:
        """True while updates of this update's chat are being replayed (the database is back)."""
        key = chat_key(update)
        return key is not None and any(self._chats.get(update_id) == key for update_id in self.replaying)

    def done(self, update_id: int) -> None:
        """Forget an update once the database has it."""
        self.replaying.discard(update_id)
        if self._chats.pop(update_id, None) is not None or self._path(update_id).exists():
            self._path(update_id).unlink(missing_ok=True)

    def release(self, update_id: int) -> None:
        """An update sent for replay could not be stored again: it stays spooled for the next attempt."""
        self.replaying.discard(update_id)

    def waiting(self) -> list[tuple[int, dict[str, Any]]]:
        """Spooled updates not being replayed right now, oldest first."""
        return [(update_id, data) for update_id, data in self._read_all() if update_id not in self.replaying]

    def _read_all(self) -> list[tuple[int, dict[str, Any]]]:
        """Every spooled update on disk, oldest first (unreadable files are set aside, not lost)."""
        found: list[tuple[int, dict[str, Any]]] = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append((int(path.stem), json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError):
                logger.error("spooled update %s is unreadable; moved aside", path.name)
                path.rename(path.with_suffix(".bad"))
        return found
