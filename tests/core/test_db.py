"""The database floor: SQLite writers queue instead of deadlocking; PostgreSQL fails fast instead of stalling."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, func, insert, select, text
from sqlalchemy.exc import OperationalError

from core.db import CONNECT_TIMEOUT_SECONDS, make_engine, make_sessionmaker, transaction

metadata = MetaData()
counters = Table("counters", metadata, Column("id", Integer, primary_key=True), Column("value", Integer))


def read_then_write(sessions: object, barrier: threading.Barrier, errors: list[BaseException]) -> None:
    """Read the row count, wait for the other writer to have read too, then insert: the classic deadlock."""
    try:
        with transaction(sessions) as session:  # type: ignore[arg-type]
            seen = session.scalar(select(func.count()).select_from(counters))
            try:
                barrier.wait(timeout=1.0)
            except threading.BrokenBarrierError:
                pass  # the other writer holds the lock and waits for us to finish: that is the fix working
            session.execute(insert(counters).values(value=seen))
    except BaseException as exc:  # noqa: BLE001 - collected for the assertion
        errors.append(exc)


def test_sqlite_writers_queue_instead_of_deadlocking(tmp_path: Path) -> None:
    """Two transactions that both read then write the same SQLite file both commit (one waits for the other)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    workers = [threading.Thread(target=read_then_write, args=(sessions, barrier, errors)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert errors == []
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(counters)) == 2
    engine.dispose()


def test_app_transactions_begin_immediate_and_plain_reads_do_not(tmp_path: Path) -> None:
    """The app's transactions take SQLite's write lock at BEGIN; a plain read session stays deferred."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    metadata.create_all(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        session.execute(insert(counters).values(value=1))
    with sessions() as session:
        session.scalar(select(func.count()).select_from(counters))
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]
    engine.dispose()


def test_sqlite_rolls_back_on_error(tmp_path: Path) -> None:
    """A failed transaction leaves nothing behind (we issue BEGIN ourselves, so check it still rolls back)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        session.execute(insert(counters).values(value=1))
        raise RuntimeError("boom")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(counters)) == 0
    engine.dispose()


def test_unreachable_postgresql_fails_within_the_connect_timeout() -> None:
    """A PostgreSQL server that never answers (a blackholed address) fails in seconds, not forever."""
    # 10.255.255.1 is a non-routable address: connection attempts hang until the client's timeout.
    engine = make_engine("postgresql+psycopg://nobody@10.255.255.1:5432/test")
    started = time.monotonic()
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(text("select 1"))
    assert time.monotonic() - started < CONNECT_TIMEOUT_SECONDS * 2 + 2  # pre-ping may try twice
    engine.dispose()
