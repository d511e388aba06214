"""The database engine and session factory: one engine and one sessionmaker per process, passed in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings

# Fail fast instead of stalling every chat when PostgreSQL is unreachable or a statement hangs.
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_MS = 15_000
POOL_TIMEOUT_SECONDS = 10
# Execution option asking SQLite for BEGIN IMMEDIATE (see _sqlite_begin).
SQLITE_IMMEDIATE = "parceldesk_sqlite_immediate"


def make_engine(
    url: str, *, echo: bool = False, schema: str | None = None, sqlite_busy_seconds: float = 30.0
) -> Engine:
    """Create an engine for a database URL, tuned for concurrent bot + action server use."""
    parsed = make_url(url)
    # Parameters are customers' phones, names and texts: never in log lines or exception messages.
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # The bot and the action server are separate processes writing one file.
        kwargs["connect_args"] = {"timeout": sqlite_busy_seconds, "check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not ship.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        # An unreachable or stuck server must fail fast, not stall the bot: connect, statement and pool timeouts.
        options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
        if schema:
            options += f" -csearch_path={schema}"
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options}
        kwargs["pool_timeout"] = POOL_TIMEOUT_SECONDS
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=int(sqlite_busy_seconds * 1000)))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int) -> None:
    """Enable WAL, foreign keys and a busy timeout on every SQLite connection; we issue BEGIN ourselves."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()
    # SQLAlchemy's documented pysqlite recipe: stop the driver's own (late, deferred) BEGIN; _sqlite_begin emits it.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    """Begin a transaction: IMMEDIATE for the app's read-write transactions, deferred for plain reads.

    Two deferred transactions that both read and then write deadlock in SQLite (one fails at once with
    "database is locked", the busy timeout does not help); taking the write lock at BEGIN makes them queue.
    """
    immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """One sessionmaker per process, passed to whoever needs it."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (on SQLite it holds the write lock from BEGIN)."""
    with factory() as session, session.begin():
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        yield session


@dataclass(frozen=True)
class Database:
    """One process's engine and its sessionmaker, opened once from the settings."""

    engine: Engine
    sessions: sessionmaker[Session]

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(settings: Settings) -> Database:
    """The configured database's engine and sessionmaker (the one place a process makes them)."""
    engine = make_engine(
        settings.effective_database_url.get_secret_value(),
        schema=settings.database_schema,
        sqlite_busy_seconds=settings.sqlite_busy_timeout_seconds,
    )
    return Database(engine, make_sessionmaker(engine))
