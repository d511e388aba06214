"""`parceldesk db …`: migrations, status and the demo company."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from parceldesk.console import console, database_or_exit, fail

db_app = typer.Typer(help="The customer database: migrations and demo data.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (to head by default)."""
    from crm.schema import upgrade

    _settings, database = database_or_exit()
    engine = database.engine
    upgrade(engine, revision)
    console.print(f"[green]✓[/] migrated {engine.url.render_as_string(hide_password=True)} to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. base")]) -> None:
    """Roll migrations back to a revision."""
    from crm.schema import downgrade

    _settings, database = database_or_exit()
    downgrade(database.engine, revision)
    console.print(f"[green]✓[/] downgraded to {revision}")


@db_app.command("status")
def db_status() -> None:
    """Show the database URL, its migration revision and row counts."""
    from sqlalchemy import func, select

    from crm import models
    from crm.schema import current_revision, head_revision

    _settings, database = database_or_exit()
    engine = database.engine
    current, head = current_revision(engine), head_revision()
    console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    console.print(f"revision: {current or 'not migrated'} (code head: {head})")
    if current is None:
        return
    table = Table("table", "rows")
    with database.sessions() as session:
        for model in (
            models.Customer,
            models.Shipment,
            models.TrackingEvent,
            models.Complaint,
            models.Escalation,
            models.Staff,
            models.ChatMessage,
        ):
            table.add_row(model.__tablename__, str(session.scalar(select(func.count()).select_from(model))))
    console.print(table)


@db_app.command("demo")
def db_demo(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and date give the same data")] = 20261118,
    today: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD (default: today)")] = None,
    customers: int = 240,
    shipments: int = 1200,
) -> None:
    """Load the deterministic demo company into an empty database."""
    from core.db import transaction
    from crm.schema import upgrade
    from demo import DEMO_EXTRA_MISSING, demo_available

    if not demo_available():
        fail(DEMO_EXTRA_MISSING)
    from demo.company import demo_is_loaded, generate_demo

    _settings, database = database_or_exit()
    engine = database.engine
    upgrade(engine)
    with transaction(database.sessions) as session:
        if demo_is_loaded(session):
            fail("the database already has shipments; use a fresh database (or `parceldesk db downgrade base`)")
        reference = date.fromisoformat(today) if today else date.today()
        with console.status("generating the demo company…"):
            summary = generate_demo(session, today=reference, seed=seed, customers=customers, shipments=shipments)
    console.print(f"[green]✓[/] {summary}")
