"""Schema migrations (Alembic) for the customer database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Tables in our database that are not ours: Rasa's SQL tracker store creates and writes `events` (every
# conversation's events) next to our tables (nlu/trackerstore.py). Migrations and schema checks leave it alone;
# privacy/trackers.py erases and expires its rows.
RASA_EVENTS = "events"
RASA_TABLES = frozenset({RASA_EVENTS})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: compare and migrate our tables only, never Rasa's (nor their indexes)."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table not in RASA_TABLES


def alembic_config(engine: Engine) -> Any:
    """An Alembic config that runs this package's migrations on the given engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to a revision (head by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Roll migrations back to a revision (base by default)."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    config = alembic_config(create_engine("sqlite://"))
    return ScriptDirectory.from_config(config).get_current_head()


def schema_differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match the models (empty when it matches)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm.models import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


def table_names(engine: Engine) -> list[str]:
    """Tables present in the database (for health checks and tests)."""
    return sorted(inspect(engine).get_table_names())
