"""Where Rasa keeps conversations: its SQL tracker store, in the application's own database.

Rasa 3.6's SQLTrackerStore (rasa/core/tracker_store.py in the engine environment) keeps one row per event
in a table `events` (crm/schema.py RASA_TABLES), through its own SQLAlchemy 1.4 engine: pysqlite for SQLite,
psycopg2 (engine/requirements.txt) for PostgreSQL. It is pointed at the database the application uses, so a
conversation survives a restart of Rasa or a model switch, and erasure and retention (privacy/trackers.py)
delete its events with the application's own engine, in the same transaction as the rest:

- SQLite: the same file. Both sides use WAL (set persistently on the file by core/db.py) and wait for the
  write lock instead of failing: Rasa's writes are single INSERT transactions, given the same busy timeout
  (pysqlite's `timeout`, read from the URL query) as ours.
- PostgreSQL: the same server, database, login and schema (the search_path core/db.py sets), our driver's URL
  translated into Rasa's terms (dialect `postgresql` = psycopg2). The password is not written into the
  endpoints file: Rasa expands `${PARCELDESK_TRACKER_STORE_PASSWORD}` from its environment.

Rasa's events carry the customer's texts and slots as SQL parameters. Rasa builds its engine itself, in its own
process, so the `hide_parameters=True` our engines get (core/db.py) is added there by engine/serve.py (it wraps
Rasa's `create_engine_kwargs`): no statement log or exception message of Rasa's shows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from core.db import CONNECT_TIMEOUT_SECONDS
from core.settings import Settings

TRACKER_PASSWORD_ENV = "PARCELDESK_TRACKER_STORE_PASSWORD"
# Rasa's PostgreSQL pool defaults to 50 + 100 overflow connections, most of a server's; it uses its store
# synchronously from one event loop, so a handful is plenty (its own variables, read in create_engine_kwargs).
POOL_ENV = {"SQL_POOL_SIZE": "2", "SQL_MAX_OVERFLOW": "3"}
# libpq options of our URL that Rasa must not take over: the search_path is set from the schema setting,
# as core/db.py does (which also replaces any `options` of the URL).
OWN_QUERY = ("options", "connect_timeout")


class TrackerStoreError(ValueError):
    """The application's database cannot hold Rasa's conversations (an in-memory SQLite, another backend)."""


@dataclass(frozen=True)
class TrackerStoreEndpoint:
    """The `tracker_store` section of Rasa's endpoints file (no secret in it) and what Rasa's environment needs."""

    section: str
    env: dict[str, str] = field(default_factory=dict, repr=False)


def tracker_store_endpoint(settings: Settings) -> TrackerStoreEndpoint:
    """Rasa's SQL tracker store in the application's database (SQLite file or PostgreSQL database and schema)."""
    url = make_url(settings.effective_database_url.get_secret_value())
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite(url, settings)
    if backend == "postgresql":
        return _postgresql(url, settings)
    raise TrackerStoreError(f"Rasa's conversations can live in SQLite or PostgreSQL, not in {backend}")


def _sqlite(url: URL, settings: Settings) -> TrackerStoreEndpoint:
    """The application's SQLite file, by absolute path (Rasa runs in another directory)."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise TrackerStoreError("Rasa cannot share an in-memory SQLite database: set PARCELDESK_DATABASE_URL to a file")
    path = Path(database).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "type: SQL",
        "dialect: sqlite",
        f"db: {json.dumps(str(path))}",
        "query:",
        f"  timeout: {json.dumps(str(settings.sqlite_busy_timeout_seconds))}",
    ]
    return TrackerStoreEndpoint(_section(lines))


def _postgresql(url: URL, settings: Settings) -> TrackerStoreEndpoint:
    """The application's PostgreSQL database and schema, through Rasa's psycopg2."""
    if not url.database:
        raise TrackerStoreError("the PostgreSQL URL names no database for Rasa's conversations")
    query = {key: value for key, value in url.query.items() if key not in OWN_QUERY and isinstance(value, str)}
    query["connect_timeout"] = str(CONNECT_TIMEOUT_SECONDS)
    if settings.database_schema:
        query["options"] = f"-csearch_path={settings.database_schema}"
    lines = ["type: SQL", "dialect: postgresql", f"db: {json.dumps(url.database)}"]
    if url.host:
        # Rasa hands the endpoint's `url` to SQLTrackerStore as its host (a `host` key would be passed twice).
        lines.append(f"url: {json.dumps(url.host)}")
    if url.port:
        lines.append(f"port: {url.port}")
    if url.username:
        lines.append(f"username: {json.dumps(url.username)}")
    env = dict(POOL_ENV)
    if url.password:
        # Unquoted on purpose: Rasa expands ${…} in plain YAML scalars only.
        lines.append(f"password: ${{{TRACKER_PASSWORD_ENV}}}")
        env[TRACKER_PASSWORD_ENV] = str(url.password)
    lines.append("query:")
    lines += [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in sorted(query.items())]
    return TrackerStoreEndpoint(_section(lines), env)


def _section(lines: list[str]) -> str:
    """The lines as Rasa's `tracker_store:` block."""
    return "tracker_store:\n" + "".join(f"  {line}\n" for line in lines)
