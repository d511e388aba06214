"""Alembic migrations on SQLite and PostgreSQL: up, down and up again, matching the models."""

from __future__ import annotations

from pathlib import Path

from crm.models import Base
from crm.schema import (
    RASA_TABLES,
    current_revision,
    downgrade,
    head_revision,
    schema_differences,
    table_names,
    upgrade,
)
from tests.databases import create_database
from tests.privacy.search import add_event, create_rasa_events, events_of


def test_migrations_round_trip_and_match_models(tmp_path: Path, database_backend: str) -> None:
    """A fresh database migrates to head, matches the models exactly, downgrades to empty and upgrades again."""
    for db in create_database(database_backend, tmp_path):
        engine = db.engine
        assert current_revision(engine) == head_revision()
        diff = schema_differences(engine)
        assert diff == [], f"models and migrations differ: {diff}"
        assert {"customers", "shipments", "tracking_events", "chat_messages", "escalations", "staff"} <= set(
            table_names(engine)
        )
        downgrade(engine, "base")
        assert set(table_names(engine)) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()


def test_migrations_and_schema_checks_leave_rasas_table_alone(tmp_path: Path, database_backend: str) -> None:
    """Rasa's tracker store table in our database: no model of ours has its name, the schema check sees no
    difference, and migrating down and up again keeps it with its conversations."""
    assert RASA_TABLES.isdisjoint(Base.metadata.tables)
    for db in create_database(database_backend, tmp_path):
        with db.engine.begin() as connection:
            create_rasa_events(connection)
            add_event(connection, "tg-1", "user", {"text": "where is my parcel"})
        assert schema_differences(db.engine) == []
        downgrade(db.engine, "base")
        assert set(table_names(db.engine)) <= {"alembic_version", *RASA_TABLES}
        upgrade(db.engine)
        assert schema_differences(db.engine) == []
        with db.engine.connect() as connection:
            assert events_of(connection, "tg-1") == 1
