"""Update processing: different chats concurrently, one chat's updates strictly in arrival order, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own semaphore only decides how many updates may wait at once (a burst beyond it waits in PTB's queue);
# how many are worked on at once is our semaphore, taken after the chat's turn so one busy chat cannot fill it.
WAITING_LIMIT = 4096
# Commands answered from the bot's own texts, without Rasa: they get a small lane of their own, so customers
# waiting for Rasa in a busy hour (who fill the main slots) never make /help wait (issue #11: < 200 ms).
FAST_COMMANDS = frozenset({"help", "start"})


@dataclass
class ChatTurns:
    """The queue of one chat's updates: a FIFO lock and how many updates hold or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def chat_key(update: object) -> int | None:
    """What orders an update: its chat (or sender without a chat); None for updates that need no order."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


def is_fast(update: object) -> bool:
    """Whether an update is a command the bot answers without Rasa (/help, /start)."""
    if not isinstance(update, Update) or update.message is None or not update.message.text:
        return False
    text = update.message.text
    if not text.startswith("/"):
        return False
    command = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
    return command in FAST_COMMANDS


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently and each chat's updates one at a time, in order."""

    def __init__(self, max_working: int) -> None:
        """At most `max_working` updates are handled at once (database connections, Rasa calls)."""
        super().__init__(WAITING_LIMIT)
        self.max_working = max_working
        self._working = asyncio.BoundedSemaphore(max_working)
        self._fast = asyncio.BoundedSemaphore(max(2, max_working // 4))
        self._chats: dict[int, ChatTurns] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this chat's earlier updates, then for a free worker slot, then handle the update."""
        key = chat_key(update)
        if key is None:
            async with self._working:
                await coroutine
            return
        slots = self._fast if is_fast(update) else self._working
        turns = self._chats.setdefault(key, ChatTurns())
        turns.users += 1
        try:
            # asyncio.Lock is FIFO, and PTB starts update tasks in arrival order: the chat's order holds.
            async with turns.lock, slots:
                await coroutine
        finally:
            turns.users -= 1
            if turns.users == 0:
                self._chats.pop(key, None)

    @property
    def waiting_chats(self) -> int:
        """How many chats have updates being handled or waiting (for monitoring and tests)."""
        return len(self._chats)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
