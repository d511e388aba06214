"""The action server's database access, created on first use (never at import time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from crm.db import make_engine, make_sessionmaker, transaction
from parceldesk.settings import Settings, load_settings

T = TypeVar("T")


@lru_cache(maxsize=1)
def action_settings() -> Settings:
    """The action server's settings, read on first use."""
    return load_settings()


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    """The process-wide sessionmaker, built from settings on first use."""
    settings = action_settings()
    return make_sessionmaker(make_engine(settings.effective_database_url, schema=settings.database_schema))


async def run_in_session(work: Callable[[Session], T]) -> T:
    """Run a synchronous crm service call in a transaction, off the event loop."""

    def call() -> T:
        with transaction(session_factory()) as session:
            return work(session)

    return await asyncio.to_thread(call)
