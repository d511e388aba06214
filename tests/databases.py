"""Test databases: a fresh SQLite file and a private PostgreSQL schema, both migrated with Alembic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from core.db import make_engine
from crm.schema import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class TestDatabase:
    """A migrated database for one test session: its URL, schema (PostgreSQL) and engine."""

    __test__ = False  # not a test class, despite the name

    backend: str
    url: str
    schema: str | None
    engine: Engine

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point a ParcelDesk process at this database."""
        env = {"PARCELDESK_DATABASE_URL": self.url}
        if self.schema:
            env["PARCELDESK_DATABASE_SCHEMA"] = self.schema
        return env


def postgres_url() -> str:
    """The PostgreSQL server tests use (override with PARCELDESK_TEST_POSTGRES_URL)."""
    return os.environ.get("PARCELDESK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def require_postgres() -> None:
    """Skip locally, fail on CI, when PostgreSQL cannot be reached."""
    try:
        probe = create_engine(postgres_url(), connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("select 1"))
        probe.dispose()
    except OperationalError as exc:
        reason = f"PostgreSQL not reachable at {postgres_url()}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required on CI)")
        pytest.skip(f"{reason} (start it or set PARCELDESK_TEST_POSTGRES_URL)")


def create_database(backend: str, workdir: Path) -> Iterator[TestDatabase]:
    """Create and migrate a throwaway database, drop it afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'parceldesk-{uuid.uuid4().hex[:8]}.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield TestDatabase(backend, url, None, engine)
        finally:
            engine.dispose()
        return
    require_postgres()
    schema = f"pd_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres_url(), schema=schema)
    try:
        upgrade(engine)
        yield TestDatabase(backend, postgres_url(), schema, engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
