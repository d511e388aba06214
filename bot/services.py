"""What the handlers need, wired once by the application factory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.rasa import RasaClient
from bot.spool import Spool
from core.db import transaction
from core.settings import Settings

T = TypeVar("T")


@dataclass
class BotServices:
    """Settings, database and Rasa client shared by all handlers of one bot process."""

    settings: Settings
    sessions: sessionmaker[Session]
    rasa: RasaClient | None = None
    # Updates kept on disk while the database is unreachable (None: no spool, failures are errors).
    spool: Spool | None = None
    # One pass of the handoff jobs at a time (the repeating job and the immediate kick after a trigger).
    handoff_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Chats with messages waiting in the outbox (crm/outbox.py), loaded from the database on first use: a new
    # message for one of them queues behind instead of overtaking. The lock keeps "queue behind" and "the chat's
    # queue is empty" from crossing; the pass lock runs one retry pass at a time.
    outbox_chats: set[int] | None = None
    outbox_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    outbox_pass_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One pass of the complaint-desk jobs at a time (outcomes to tell, due times, the weekly summary).
    complaint_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Running background work (a /retrain): asyncio keeps only weak references to tasks.
    background: set[asyncio.Task[None]] = field(default_factory=set)

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run synchronous crm service calls in one transaction, off the event loop."""

        def call() -> T:
            with transaction(self.sessions) as session:
                return work(session)

        return await asyncio.to_thread(call)

    @property
    def rasa_client(self) -> RasaClient:
        """The Rasa client (opened in post_init)."""
        if self.rasa is None:
            raise RuntimeError("the Rasa client is opened in post_init; the application was not initialised")
        return self.rasa

