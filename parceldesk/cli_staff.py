"""`parceldesk staff …` and `parceldesk desk …`: staff roles, the human queue and the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from parceldesk.console import console, database_or_exit, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from core.settings import Settings

desk_app = typer.Typer(help="The human agent queue and the audit trail.", no_args_is_help=True)
staff_app = typer.Typer(help="Service-centre staff and their roles.", no_args_is_help=True)


def _sessions() -> tuple[Settings, sessionmaker[Session]]:
    """A sessionmaker for the configured database."""
    settings, database = database_or_exit()
    return settings, database.sessions


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
    action: Annotated[
        str | None,
        typer.Option(help="profile_view, profile_denied, role_change, complaint_view, complaint_denied, …"),
    ] = None,
    staff: Annotated[int | None, typer.Option(help="Only what this staff member (Telegram user id) did")] = None,
    customer: Annotated[
        str | None,
        typer.Option(help="Only entries about this customer (database id or code): their record, chats, tickets"),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many entries")] = 50,
) -> None:
    """Show the latest audit entries (profile and complaint-card views and refusals, changes), newest first."""
    from sqlalchemy import select

    from crm.audit import entries
    from crm.models import Customer

    _settings, sessions = _sessions()
    table = Table("when", "actor", "action", "subject", "details")
    with sessions() as session:
        customer_id: int | None = None
        if customer is not None:
            found = session.scalars(select(Customer.id).where(Customer.code == customer)).first()
            if found is None and not customer.isdigit():
                fail(f"no customer with code {customer!r}")
            customer_id = found if found is not None else int(customer)
        for entry in entries(session, action=action, actor_telegram_user_id=staff, customer_id=customer_id,
                             limit=limit):
            table.add_row(str(entry.created_at), entry.actor, entry.action, f"{entry.subject_kind} {entry.subject_id}",
                          str(entry.details or ""))
    console.print(table)


@staff_app.command("add")
def staff_add(
    telegram_user_id: Annotated[int, typer.Argument(help="The person's numeric Telegram user id")],
    name: Annotated[str, typer.Argument(help="Display name")],
    role: Annotated[str, typer.Option(help="agent, supervisor, manager or admin")] = "agent",
) -> None:
    """Register (or update) a staff member."""
    from core.db import transaction
    from crm.models import StaffRole
    from crm.staff import StaffError, register_staff

    try:
        staff_role = StaffRole(role)
    except ValueError:
        fail(f"unknown role {role!r}; choose one of: {', '.join(r.value for r in StaffRole)}")
        return
    _settings, database = database_or_exit()
    try:
        with transaction(database.sessions) as session:
            member = register_staff(session, telegram_user_id, name, staff_role)
            console.print(f"[green]✓[/] {member.name} ({member.telegram_user_id}) is {member.role.value}")
    except StaffError:
        fail(f"{telegram_user_id} is the last admin; make someone else an admin first")


@staff_app.command("list")
def staff_list(all_: Annotated[bool, typer.Option("--all", help="Include deactivated staff")] = False) -> None:
    """List staff and their roles."""

    from crm.staff import list_staff

    _settings, database = database_or_exit()
    table = Table("telegram id", "name", "role", "active")
    with database.sessions() as session:
        for member in list_staff(session, include_inactive=all_):
            table.add_row(
                str(member.telegram_user_id), member.name, member.role.value, "yes" if member.active else "no"
            )
    console.print(table)


@staff_app.command("remove")
def staff_remove(telegram_user_id: int) -> None:
    """Deactivate a staff member (their history stays); the last admin cannot be removed."""
    from core.db import transaction
    from crm.staff import StaffError, deactivate_staff

    _settings, database = database_or_exit()
    try:
        with transaction(database.sessions) as session:
            if not deactivate_staff(session, telegram_user_id):
                fail(f"no staff member with Telegram id {telegram_user_id}")
    except StaffError:
        fail(f"{telegram_user_id} is the last admin; make someone else an admin first")
    console.print(f"[green]✓[/] {telegram_user_id} deactivated")
