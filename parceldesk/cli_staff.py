"""`parceldesk desk …`: the human queue and the audit trail from the command line (roles: `parceldesk staff`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from parceldesk.settings import Settings

desk_app = typer.Typer(help="The human agent queue and the audit trail.", no_args_is_help=True)
console = Console()


def _sessions() -> tuple[Settings, sessionmaker[Session]]:
    """A sessionmaker for the configured database."""
    from crm.db import make_engine, make_sessionmaker
    from parceldesk.cli import settings_or_exit

    settings = settings_or_exit()
    return settings, make_sessionmaker(make_engine(settings.effective_database_url, schema=settings.database_schema))


@desk_app.command("queue")
def desk_queue() -> None:
    """Show waiting escalations by priority (with waiting times) and the ones agents are handling."""
    from crm.escalations import claimed_list, waiting_queue
    from crm.models import Staff

    _settings, sessions = _sessions()
    with sessions() as session:
        waiting = Table("#", "id", "priority", "waiting (min)", "reason", "language", "tier", title="waiting")
        for entry in waiting_queue(session):
            e = entry.escalation
            waiting.add_row(str(entry.position), str(e.id), str(entry.score), str(entry.waiting_minutes), e.reason,
                            e.language, e.tier or "-")
        console.print(waiting)
        claimed = Table("id", "agent", "claimed at", "reason", title="in progress")
        for e in claimed_list(session):
            agent = session.get(Staff, e.claimed_by_id) if e.claimed_by_id else None
            claimed.add_row(str(e.id), agent.name if agent else "-", str(e.claimed_at), e.reason)
        console.print(claimed)


@desk_app.command("audit")
def desk_audit(
    action: Annotated[str | None, typer.Option(help="profile_view or role_change")] = None,
    limit: Annotated[int, typer.Option(help="How many entries")] = 50,
) -> None:
    """Show the latest audit entries (profile views and role changes), newest first."""
    from crm.audit import entries

    _settings, sessions = _sessions()
    table = Table("when", "actor", "action", "subject", "details")
    with sessions() as session:
        for entry in entries(session, action=action, limit=limit):
            table.add_row(str(entry.created_at), entry.actor, entry.action, f"{entry.subject_kind} {entry.subject_id}",
                          str(entry.details or ""))
    console.print(table)
