"""`parceldesk import customers|shipments|events FILE` (CSV or JSON Lines) and `parceldesk import bench`."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from parceldesk.console import console, database_or_exit, fail

if TYPE_CHECKING:
    from ingest.importer import ImportSummary

import_app = typer.Typer(
    help="Import customers, shipments or tracking events from CSV or JSON Lines (same rules as the ingestion API).",
    no_args_is_help=True,
)
# The first refusals are printed; --errors FILE writes every one.
SHOWN_ERRORS = 20

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .csv or .jsonl file")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Validate and count everything, write nothing")]
Format = Annotated[str | None, typer.Option("--format", help="csv or jsonl (default: from the file name)")]
Chunk = Annotated[int, typer.Option(min=1, max=5000, help="Rows written (and committed) together")]
Notify = Annotated[
    bool, typer.Option("--notify/--no-notify", help="Events: tell subscribers about status changes (recent events)")
]
Errors = Annotated[Path | None, typer.Option("--errors", help="Write every refused row to this CSV file")]


def run_import(kind: str, path: Path, *, dry_run: bool, file_format: str | None, chunk: int, notify: bool,
               errors: Path | None) -> None:
    """Import one file with a progress bar, print the summary, exit 1 when any row was refused."""
    from ingest.files import ImportFileError
    from ingest.importer import import_file

    settings, database = database_or_exit()
    total = path.stat().st_size
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{'checking' if dry_run else 'importing'} {kind}", total=total)
            summary = import_file(
                database.sessions, kind, path, file_format=file_format, dry_run=dry_run, chunk_size=chunk,
                notify=notify, notice_max_age=timedelta(hours=settings.notice_max_age_hours),
                progress=lambda done: progress.update(task, completed=min(done, total)),
            )
    except ImportFileError as exc:
        fail(f"{path}: {exc}")
        return
    finally:
        database.dispose()
    print_summary(summary)
    if errors is not None:
        write_errors(summary, errors)
        console.print(f"refused rows written to {errors}")
    if summary.outcome.rejected:
        raise typer.Exit(1)


def print_summary(summary: ImportSummary) -> None:
    """The counts, and the first reasons rows were refused."""
    outcome = summary.outcome
    title = f"{summary.kind} from {summary.path.name}" + (" — dry run, nothing written" if summary.dry_run else "")
    table = Table("rows", "inserted", "updated", "unchanged", "rejected", "notices", "seconds", "rows/s",
                  title=escape(title))
    table.add_row(str(summary.rows), str(outcome.inserted), str(outcome.updated), str(outcome.unchanged),
                  str(outcome.rejected_rows), str(outcome.notices), f"{summary.seconds:.1f}",
                  f"{summary.rows_per_second:,.0f}")
    console.print(table)
    for error in outcome.rejected[:SHOWN_ERRORS]:
        where = f"row {error.row}" + (f", {error.field}" if error.field else "")
        console.print(f"  [red]✗[/] {escape(where)}: {escape(error.reason)}")
    if len(outcome.rejected) > SHOWN_ERRORS:
        console.print(f"  … and {len(outcome.rejected) - SHOWN_ERRORS} more (--errors FILE writes them all)")


def write_errors(summary: ImportSummary, path: Path) -> None:
    """Every refusal as CSV: row, field, reason."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["row", "field", "reason"])
        for error in summary.outcome.rejected:
            writer.writerow([error.row, error.field or "", error.reason])


@import_app.command("customers")
def import_customers(file: FileArgument, dry_run: DryRun = False, file_format: Format = None,
                     chunk: Chunk = 1000, errors: Errors = None) -> None:
    """Insert or update customers by code."""
    run_import("customers", file, dry_run=dry_run, file_format=file_format, chunk=chunk, notify=False, errors=errors)


@import_app.command("shipments")
def import_shipments(file: FileArgument, dry_run: DryRun = False, file_format: Format = None,
                     chunk: Chunk = 1000, errors: Errors = None) -> None:
    """Insert or update shipments by tracking number (their customer_code must exist)."""
    run_import("shipments", file, dry_run=dry_run, file_format=file_format, chunk=chunk, notify=False, errors=errors)


@import_app.command("events")
def import_events(file: FileArgument, dry_run: DryRun = False, file_format: Format = None,
                  chunk: Chunk = 1000, notify: Notify = True, errors: Errors = None) -> None:
    """Insert or update tracking events by tracking number and event id; the newest sets each parcel's status."""
    run_import("events", file, dry_run=dry_run, file_format=file_format, chunk=chunk, notify=notify, errors=errors)


@import_app.command("bench")
def import_bench(
    events: Annotated[int, typer.Option(min=10, help="Events to import")] = 100_000,
    per_parcel: Annotated[int, typer.Option(min=1, help="Events per parcel")] = 10,
    database_url: Annotated[
        str | None, typer.Option(help="A PostgreSQL URL (a throwaway schema is used); default: a temporary SQLite file")
    ] = None,
    notice_samples: Annotated[int, typer.Option(min=0, help="Delay events timed from the API to the notice")] = 10,
) -> None:
    """Measure import throughput (events/s) on a fresh database, and the time from an ingested delay to its notice."""
    from parceldesk.ingestbench import print_results, run_benchmark

    settings, database = database_or_exit()
    database.dispose()
    results = run_benchmark(settings, console, events=events, per_parcel=per_parcel, database_url=database_url,
                            notice_samples=notice_samples)
    print_results(results, console)
