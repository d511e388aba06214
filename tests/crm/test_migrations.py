"""Alembic migrations on SQLite and PostgreSQL: up, down and up again, matching the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm.models import Base
from crm.schema import current_revision, downgrade, head_revision, table_names, upgrade
from tests.databases import create_database


def test_migrations_round_trip_and_match_models(tmp_path: Path, database_backend: str) -> None:
    """A fresh database migrates to head, matches the models exactly, downgrades to empty and upgrades again."""
    for db in create_database(database_backend, tmp_path):
        engine = db.engine
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert {"customers", "shipments", "tracking_events", "chat_messages", "escalations", "staff"} <= set(
            table_names(engine)
        )
        downgrade(engine, "base")
        assert set(table_names(engine)) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
