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

TESTS = Path(__file__).resolve().parent
E2E = TESTS / "e2e"
# Modules that build the real engine environment through fixtures of their own (not `engine_model`).
ENGINE_MODULES = frozenset(
    TESTS / "nlu" / name
    for name in ("test_sentence_encoder.py", "test_linear_components.py", "test_training_cache.py", "test_ngrams.py")
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark by need: `e2e` for everything under tests/e2e; `engine` for whatever needs the Rasa engine environment.

    `engine` goes to every end-to-end test, to every test whose fixtures (transitively) include `engine_model`,
    and to the modules in ENGINE_MODULES. `-m "not e2e and not engine"` is then the fast, engine-free suite.
    """
    for item in items:
        path = Path(item.path)
        if path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
        if path.is_relative_to(E2E) or path in ENGINE_MODULES or "engine_model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)


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
