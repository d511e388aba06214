"""The action server's database access, created on first use (never at import time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from core.db import open_database, transaction
from core.settings import Settings, load_settings

T = TypeVar("T")


@lru_cache(maxsize=1)
def action_settings() -> Settings:
    """The action server's settings, read on first use."""
    return load_settings()


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    """The process-wide sessionmaker, built from settings on first use."""
    return open_database(action_settings()).sessions


async def run_in_session(work: Callable[[Session], T]) -> T:
    """Run a synchronous crm service call in a transaction, off the event loop."""

    def call() -> T:
        with transaction(session_factory()) as session:
            return work(session)

    return await asyncio.to_thread(call)
