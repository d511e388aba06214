"""Alembic environment: migrations run on the engine handed in by core.db (never a global one)."""

from __future__ import annotations

from alembic import context

from crm.models import Base
from crm.schema import include_object

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the engine passed through the Alembic config attributes."""
    engine = context.config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("crm migrations need an engine: use core.db.upgrade(engine) or `parceldesk db upgrade`")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # Rasa's tracker store shares the database (crm/schema.py RASA_TABLES): never ours to drop.
            include_object=include_object,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run them against a database")
run_migrations_online()
