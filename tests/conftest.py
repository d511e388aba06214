"""Shared fixtures: migrated test databases on SQLite and PostgreSQL, each test rolled back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core.settings import load_settings
from nlu.toolchain import Engine, ensure_engine, ensure_model
from tests.databases import BACKENDS, TestDatabase, create_database

logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A migrated database per backend, shared by the tests of a session."""
    yield from create_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))


@pytest.fixture()
def session(database: TestDatabase) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with database.engine.connect() as connection:
        transaction = connection.begin()
        db_session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield db_session
        finally:
            db_session.close()
            transaction.rollback()


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """The name of a database backend, for tests that create their own databases."""
    return str(request.param)


@pytest.fixture(scope="session")
def engine_model() -> tuple[Engine, Path]:
    """The engine environment and the model for the current data (trained once, cached by content hash)."""
    settings = load_settings()
    engine = ensure_engine(settings)
    return engine, ensure_model(settings, engine)
