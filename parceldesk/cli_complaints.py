"""`parceldesk complaints …`: the complaint desk from the command line, with the same rules and audit as /complaints.

The command line acts for the company (audited as "command line") unless --as names a staff member, whose rules
then apply (an agent acts only on tickets they hold). A resolve or reject here queues the outcome: the running
bot tells the customer and asks them whether it is resolved, exactly as after a resolve in Telegram.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from parceldesk.console import console, database_or_exit, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crm.models import Staff

complaints_app = typer.Typer(help="Complaint tickets: list, show, assign, resolve, reject.", no_args_is_help=True)


def _actor(session: Session, telegram_user_id: int | None) -> Staff | None:
    """The staff member --as names (None: the command line); exits when there is no such active member."""
    from crm.staff import staff_member

    if telegram_user_id is None:
        return None
    member = staff_member(session, telegram_user_id)
    if member is None:
        fail(f"no active staff member with Telegram id {telegram_user_id}")
    return member


def _ticket_id(session: Session, code: str) -> int:
    """The row id of a ticket code, or exit."""
    from crm.complaintdesk import find_ticket

    found = find_ticket(session, code)
    if found is None:
        fail(f"no complaint {code!r}")
        raise typer.Exit(1)
    return found.id


@complaints_app.command("list")
def complaints_list(
    unassigned: Annotated[bool, typer.Option(help="Only tickets nobody has taken")] = False,
    category: Annotated[str | None, typer.Option(help="delay, damage, loss, wrong_delivery, courier_conduct, billing")]
    = None,
    mine: Annotated[int | None, typer.Option("--mine", help="Only tickets held by this staff Telegram id")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many tickets")] = 50,
) -> None:
    """Open tickets by urgency: overdue first, then due soonest, serious first."""
    from core.clock import local, utcnow
    from crm.complaintdesk import DeskFilter, open_tickets
    from crm.models import ComplaintCategory

    try:
        chosen = ComplaintCategory(category) if category else None
    except ValueError:
        fail(f"unknown category {category!r}; choose one of: {', '.join(c.value for c in ComplaintCategory)}")
        return
    desk_filter = DeskFilter(mine=mine is not None, unassigned=unassigned, category=chosen)
    _settings, database = database_or_exit()
    now = utcnow()
    table = Table("code", "category", "serious", "status", "due", "overdue", "handler", "reopened")
    with database.sessions() as session:
        member = _actor(session, mine)
        lines, total = open_tickets(session, desk_filter, member=member, limit=limit)
        for line in lines:
            table.add_row(
                line.code, line.category.value, "yes" if line.serious else "", line.status.value,
                local(line.due_at).strftime("%Y-%m-%d %H:%M") if line.due_at else "-",
                "OVERDUE" if line.overdue(now) else "", line.assignee_name or "-", str(line.reopened_count or ""),
            )
    database.dispose()
    table.title = f"open complaints ({desk_filter.key}): {len(lines)} of {total}"
    console.print(table)


@complaints_app.command("show")
def complaints_show(code: Annotated[str, typer.Argument(help="Ticket code, e.g. C-1042")]) -> None:
    """One ticket: customer, parcel timeline, outcome and history (audited as a view from the command line)."""
    from core.clock import local
    from core.db import transaction
    from crm.complaintdesk import Ticket, view_ticket

    _settings, database = database_or_exit()
    with transaction(database.sessions) as session:
        card = view_ticket(session, _ticket_id(session, code), None)
    database.dispose()
    assert isinstance(card, Ticket)  # the command line (no staff member) may open every card
    console.print(f"[bold]{card.code}[/] · {card.category.value}{' · serious' if card.serious else ''} · "
                  f"{card.status.value}{' (rejected)' if card.rejected else ''}")
    console.print(f"filed {local(card.created_at):%Y-%m-%d %H:%M} · due "
                  f"{local(card.due_at).strftime('%Y-%m-%d %H:%M') if card.due_at else '-'} · handler "
                  f"{card.assignee_name or '-'} · reopened {card.reopened_count}×")
    customer = (f"{card.customer_name} ({card.customer_code}, {card.customer_city}, tier {card.tier}, "
                f"{card.shipments_last_year} shipments in a year)") if card.customer_name else "no customer record"
    console.print(f"customer: {customer}", markup=False)
    console.print(f"earlier complaints: {', '.join(p.code for p in card.past) or '-'}")
    console.print(f"description: {card.description}", markup=False)
    if card.resolution:
        amount = f" (compensation {card.compensation} yuan)" if card.compensation is not None else ""
        answer = {True: " · customer: resolved", False: " · customer: NOT resolved", None: ""}[card.satisfied]
        console.print(f"outcome: {card.resolution}{amount}{answer}", markup=False)
    if card.photos:
        console.print(f"photos (Telegram file ids): {', '.join(card.photos)}", markup=False)
    if card.tracking_number:
        console.print(f"parcel {card.tracking_number} · {card.shipment_status.value if card.shipment_status else '-'}")
        for scan in card.timeline:
            courier = f" · {scan.courier}" if scan.courier else ""
            console.print(f"  {local(scan.occurred_at):%m-%d %H:%M} {scan.kind.value} · {scan.place_en}{courier}",
                          markup=False)
    console.print("history:")
    for entry in card.history:
        who = f" {entry.staff_name}" if entry.staff_name else ""
        amount = f" ¥{entry.amount}" if entry.amount is not None else ""
        console.print(f"  {local(entry.created_at):%m-%d %H:%M} {entry.kind.value}{who}: {entry.body or ''}{amount}",
                      markup=False)


@complaints_app.command("assign")
def complaints_assign(
    code: Annotated[str, typer.Argument(help="Ticket code, e.g. C-1042")],
    telegram_user_id: Annotated[int, typer.Argument(help="The staff member's Telegram user id")],
    force: Annotated[bool, typer.Option(help="Take it from whoever holds it now")] = False,
    as_: Annotated[int | None, typer.Option("--as", help="Act as this staff member (Telegram id)")] = None,
) -> None:
    """Give an open ticket to a staff member (only an unassigned one unless --force); audited."""
    from crm.complaintdesk import assign

    result = _desk_change(
        lambda session: assign(session, code, telegram_user_id, actor=_actor(session, as_), force=force).code
    )
    console.print(f"[green]✓[/] {result} assigned to {telegram_user_id}")


@complaints_app.command("resolve")
def complaints_resolve(
    code: Annotated[str, typer.Argument(help="Ticket code, e.g. C-1042")],
    result: Annotated[str, typer.Argument(help="The outcome, as the customer is told it")],
    compensation: Annotated[str | None, typer.Option(help="Compensation in yuan, e.g. 50")] = None,
    as_: Annotated[int | None, typer.Option("--as", help="Act as this staff member (Telegram id)")] = None,
) -> None:
    """Resolve a ticket: the running bot tells the customer the outcome and asks whether it is resolved; audited."""
    from crm.complaintdesk import parse_amount, resolve

    amount: Decimal | None = None
    if compensation is not None:
        amount = parse_amount(compensation)
        if amount is None:
            fail(f"--compensation must be an amount in yuan, e.g. 50 or 50.5, not {compensation!r}")
    done = _desk_change(
        lambda session: resolve(
            session, _ticket_id(session, code), _actor(session, as_), result, compensation=amount
        ).code
    )
    console.print(f"[green]✓[/] {done} resolved; the bot tells the customer and asks them to confirm")


@complaints_app.command("reject")
def complaints_reject(
    code: Annotated[str, typer.Argument(help="Ticket code, e.g. C-1042")],
    reason: Annotated[str, typer.Argument(help="Why it is not upheld, as the customer is told it")],
    as_: Annotated[int | None, typer.Option("--as", help="Act as this staff member (Telegram id)")] = None,
) -> None:
    """Close a ticket without upholding it: the running bot tells the customer the reason; audited."""
    from crm.complaintdesk import reject

    done = _desk_change(lambda session: reject(session, _ticket_id(session, code), _actor(session, as_), reason).code)
    console.print(f"[green]✓[/] {done} rejected; the bot tells the customer why")


def _desk_change(work: Callable[[Session], str]) -> str:
    """Run one audited desk change in a transaction; a refused change exits with the desk's explanation."""
    from core.db import transaction
    from crm.complaintdesk import DeskError

    _settings, database = database_or_exit()
    try:
        with transaction(database.sessions) as session:
            return work(session)
    except DeskError as exc:
        fail(_explain(exc.key))
        raise  # fail() exits; this line only tells type checkers so
    finally:
        database.dispose()


EXPLANATIONS = {
    "complaint_unknown": "no such complaint",
    "complaint_not_open": "the complaint is already resolved or closed",
    "complaint_taken": "someone else holds the complaint (use --force to reassign)",
    "complaint_unknown_staff": "no active staff member with that Telegram id",
    "complaint_take_first": "that staff member must take the complaint first (or act without --as)",
    "complaint_not_yours": "another staff member holds the complaint",
    "complaint_text_empty": "the text must not be empty",
    "complaint_bad_amount": "the compensation amount is not valid",
}


def _explain(key: str) -> str:
    """A desk error key in words."""
    return EXPLANATIONS.get(key, key)
