"""`parceldesk report …`: counts for managers (notices; the complaint report lives here too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

import typer
from rich.table import Table

from core.clock import COMPANY_TZ
from parceldesk.console import console, database_or_exit, fail

report_app = typer.Typer(help="Reports: notices (and complaints).", no_args_is_help=True)


def since_moment(since: str | None) -> datetime | None:
    """A --since day (YYYY-MM-DD, local midnight) as an aware UTC moment; None for everything."""
    if since is None:
        return None
    try:
        day = date.fromisoformat(since)
    except ValueError:
        fail(f"--since must be a day like 2026-11-01, not {since!r}")
        raise
    return datetime.combine(day, time(0), tzinfo=COMPANY_TZ).astimezone(UTC)


@report_app.command("notices")
def report_notices(
    since: Annotated[str | None, typer.Option(help="Only notices written since this day (YYYY-MM-DD, local)")] = None,
) -> None:
    """Proactive notices by parcel status: sent, delayed by quiet hours, waiting, failed, skipped (opted out)."""
    from crm.labels import STATUS_LABELS, label
    from crm.notices import report

    moment = since_moment(since)
    _settings, database = database_or_exit()
    try:
        with database.sessions() as session:
            result = report(session, since=moment)
    finally:
        database.dispose()
    title = "notices" + (f" since {since}" if since else "")
    table = Table("status", "sent", "delayed by quiet hours", "waiting (quiet hours)", "pending", "failed",
                  "skipped", "total", title=title)
    rows = [(label(STATUS_LABELS, status, "en"), counts) for status, counts in sorted(
        result.by_status.items(), key=lambda item: item[0].value)]
    for name, counts in [*rows, ("all", result.total)]:
        table.add_row(name, str(counts.sent), str(counts.delayed_by_quiet_hours), str(counts.waiting_quiet_hours),
                      str(counts.pending), str(counts.failed), str(counts.skipped), str(counts.total),
                      style="bold" if name == "all" else None)
    console.print(table)
    console.print("[dim]delayed by quiet hours = sent after the quiet hours + still waiting for them to end[/]")
    for error, count in result.failures.most_common(5):
        console.print(f"  failed ×{count}: {error}")


@report_app.command("complaints")
def report_complaints(
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD, local); default: --days ago")] = None,
    until: Annotated[str | None, typer.Option(help="Day after the last one (YYYY-MM-DD, local); default: now")] = None,
    days: Annotated[int, typer.Option(min=1, help="Without --since: the last N days")] = 30,
    by: Annotated[str, typer.Option(help="category, city, station, courier or week")] = "category",
    language: Annotated[str | None, typer.Option(help="zh or en (default: the staff language)")] = None,
    output: Annotated[str | None, typer.Option(help="Folder for the CSV and PNG (default: <data_dir>/reports)")]
    = None,
) -> None:
    """Complaint reasons analysed: a table, a CSV file and a PNG chart, grouped by one dimension."""
    from datetime import timedelta
    from pathlib import Path

    from core.clock import utcnow
    from crm.complaintanalysis import DIMENSIONS, build_report, complaint_facts
    from reports.complaints import (
        CSV_COLUMNS,
        chart_language,
        hours,
        percent,
        period,
        table_rows,
        total_row,
        write_chart,
        write_csv,
    )

    if by not in DIMENSIONS:
        fail(f"--by must be one of {', '.join(DIMENSIONS)}, not {by!r}")
    settings, database = database_or_exit()
    language = language or settings.staff_language
    if language not in ("zh", "en"):
        fail(f"--language must be zh or en, not {language!r}")
    now = utcnow()
    end = since_moment(until) or now
    start = since_moment(since) or end - timedelta(days=days)
    if start >= end:
        fail("--since must be before --until")
    try:
        with database.sessions() as session:
            facts = complaint_facts(session, since=start, until=end)
    finally:
        database.dispose()
    report = build_report(facts, by=by, language=language, since=start, until=end, now=now)
    drawn_in = chart_language(language)
    chart = report if drawn_in == language else build_report(facts, by=by, language=drawn_in, since=start,
                                                             until=end, now=now)
    first, last = period(report)
    table = Table(*CSV_COLUMNS, title=f"complaints by {by}, {first} to {last}")
    for row in table_rows(report):
        table.add_row(*row)
    table.add_row(*total_row(report), style="bold")
    console.print(table)
    total = report.total
    reasons = ", ".join(f"{name} {percent(share)}" for _c, name, _n, share in report.reasons) or "-"
    console.print(f"volume {total.complaints} · open {total.open} · overdue {total.overdue} · "
                  f"median time to resolve {hours(total.median_hours)} h · satisfaction after resolution "
                  f"{percent(total.satisfaction)} of {total.answered} answers", markup=False)
    console.print(f"share by reason: {reasons}", markup=False)
    folder = Path(output) if output else settings.data_dir / "reports"
    stem = f"complaints-by-{by}-{first}-{last}"
    csv_path = write_csv(report, folder / f"{stem}.csv")
    png_path = write_chart(chart, folder / f"{stem}.png")
    console.print(f"[green]✓[/] {csv_path}", highlight=False)
    console.print(f"[green]✓[/] {png_path}", highlight=False)
