"""`parceldesk privacy …`: erase a customer's personal data, export what we hold about them, run retention."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from parceldesk.console import console, database_or_exit, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from privacy.erasure import Subject

privacy_app = typer.Typer(help="Personal data: erasure, export, retention.", no_args_is_help=True)

# How `privacy erase` waits for a Rasa turn that may still write the conversation back (tests replace it).
pause = time.sleep

CustomerOption = Annotated[str | None, typer.Option("--customer", help="Customer id or code (e.g. 42 or C000042)")]
ChatOption = Annotated[int | None, typer.Option("--chat", help="Telegram chat id (a private chat's id is its user's)")]


def _customer_id(session: Session, value: str) -> int:
    """A customer's id from an id or a customer code; exits when there is no such customer."""
    from sqlalchemy import select

    from crm.models import Customer

    found = session.get(Customer, int(value)) if value.isdigit() else session.scalars(
        select(Customer).where(Customer.code == value.strip().upper())
    ).one_or_none()
    if found is None:
        fail(f"no customer {value}")
        raise AssertionError  # unreachable: fail() exits
    return found.id


def _subject(session: Session, customer: str | None, chat: int | None) -> Subject:
    """Whose data the command is about: exactly one of --customer and --chat."""
    from privacy.erasure import subject_for_chat, subject_for_customer

    if (customer is None) == (chat is None):
        fail("give exactly one of --customer and --chat")
    if customer is not None:
        return subject_for_customer(session, _customer_id(session, customer))
    assert chat is not None
    return subject_for_chat(session, chat)


@privacy_app.command("erase")
def erase(
    customer: CustomerOption = None,
    chat: ChatOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    force: Annotated[bool, typer.Option(help="Erase even while parcels are on their way (their address goes)")] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Delete the Rasa conversation once more after twice the Rasa timeout, in case a turn was running "
            "(--no-wait: only when Rasa is not running)",
        ),
    ] = True,
) -> None:
    """Erase a customer's (or a chat's) personal data everywhere, Rasa's conversations included (audited)."""
    from privacy.erasure import (
        ADMIN_REQUEST,
        ErasureBlocked,
        blocking_parcels,
        erase_conversations_again,
        forget,
        second_pass_delay,
    )
    from privacy.trackers import TrackerOutcome

    settings, database = database_or_exit()
    again: TrackerOutcome | None = None
    try:
        with database.sessions() as session:
            subject = _subject(session, customer, chat)
            blocking = blocking_parcels(session, subject)
        who = f"customer {subject.customer_id}" if subject.customer_id is not None else "an unlinked chat"
        console.print(
            f"About to erase the personal data of {who}: {len(subject.chat_ids)} chat(s), their messages, "
            "complaint texts, feedback comments, pickups, agent conversations and Rasa conversations. "
            "This cannot be undone."
        )
        if blocking:
            console.print(f"[yellow]Still on their way:[/] {', '.join(blocking)}")
            if not force:
                fail("parcels or pickups are still under way (their address is needed): erase after them, "
                     "or add --force")
        if not yes and not typer.confirm("Erase?", default=False):
            raise typer.Exit(1)
        try:
            report = forget(database.sessions, subject, requested_by=ADMIN_REQUEST, force=force)
        except ErasureBlocked as exc:  # a parcel was added since the check above
            fail(f"parcels or pickups are still under way: {', '.join(exc.parcels)}")
            return
        if wait and report.tracker is not None and report.tracker.found:
            # A Rasa turn running during the erasure writes the whole conversation back when it ends
            # (privacy/erasure.py): delete it once more after such a turn must have ended.
            delay = second_pass_delay(settings.rasa_timeout_seconds)
            console.print(f"Erased. Waiting {delay:.0f} s for a Rasa turn that may still be running, then deleting "
                          "the Rasa conversation once more (--no-wait skips this)…")
            pause(delay)
            again = erase_conversations_again(database.sessions, report.senders)
    finally:
        database.dispose()
    table = Table("kind", "rows", title="erased")
    for kind, count in report.counts.items():
        table.add_row(kind, str(count))
    tracker = report.tracker
    if tracker is not None:
        # No table: Rasa has never run against this database, so it holds no conversation either.
        table.add_row("rasa events", str(tracker.events) if tracker.found else "none (Rasa never used this database)")
    if again is not None:
        table.add_row("rasa events (second pass)", str(again.events))
    console.print(table)
    console.print(f"[green]✓[/] erased (audit entry {report.audit_id})")
    if not wait:
        console.print("[yellow]--no-wait:[/] a Rasa turn running right now could still write this conversation back; "
                      "use it only while Rasa is stopped.")


@privacy_app.command("export")
def export(
    customer: CustomerOption = None,
    chat: ChatOption = None,
    output: Annotated[Path | None, typer.Option(help="Write the JSON here (readable by you only); else stdout")] = None,
) -> None:
    """Everything held about a customer (or a chat), as JSON (PIPL art. 45; audited)."""
    from core.db import transaction
    from privacy.export import export_subject
    from privacy.retention import RetentionPolicy

    settings, database = database_or_exit()
    try:
        with transaction(database.sessions) as session:
            subject = _subject(session, customer, chat)
            document = export_subject(session, subject, policy=RetentionPolicy.from_settings(settings))
    finally:
        database.dispose()
    body = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        print(body)
        return
    # Personal data: the file is created readable by its owner only.
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(body + "\n")
    console.print(f"[green]✓[/] written to {output}")


@privacy_app.command("retention")
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what is due; change nothing")] = False,
) -> None:
    """Mask or delete what is past its retention period (the bot does this daily), with a report."""
    from privacy.retention import run_retention

    settings, database = database_or_exit()
    try:
        report = run_retention(database.sessions, settings, dry_run=dry_run)
    finally:
        database.dispose()
    verb = "due" if dry_run else "done"
    table = Table("kind", "what happens", "older than", verb, title=f"retention ({'dry run' if dry_run else 'run'})")
    for kind, what, cutoff, count in report.rows():
        table.add_row(kind, what, cutoff.strftime("%Y-%m-%d"), str(count))
    tracker = report.tracker
    if tracker is not None:
        table.add_row("rasa_events", "Rasa conversation events deleted", report.cutoffs["chat"].strftime("%Y-%m-%d"),
                      str(tracker.events) if tracker.found else "none (no Rasa table)")
    console.print(table)
    console.print(f"{report.total} row(s) {'due' if dry_run else 'masked or deleted'}")
