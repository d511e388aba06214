"""`parceldesk complaints …` and `parceldesk report complaints` in-process, on a fresh SQLite file and PostgreSQL
schema: the same rules and audit as the bot's desk, and the report's table, CSV and PNG."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.clock import utcnow
from core.db import make_sessionmaker, transaction
from crm import audit
from crm.complaints import open_complaint
from crm.models import AuditEntry, Complaint, ComplaintCategory, ComplaintStatus, StaffRole
from crm.staff import register_staff
from demo.company import generate_demo
from parceldesk.cli import app
from tests.databases import TestDatabase


def ok(runner: CliRunner, *args: str) -> str:
    """Run a command that must succeed; its output."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"parceldesk {' '.join(args)} → {result.exit_code}\n{result.output}"
    return result.output


@pytest.fixture()
def engine(cli_database: TestDatabase) -> Engine:
    """The engine of the fresh database the CLI is pointed at (tests/parceldesk/conftest.py)."""
    return cli_database.engine


def test_list_show_assign_resolve_reject(runner: CliRunner, engine: Engine) -> None:
    """The desk from the command line: listed by urgency, shown (audited), assigned, resolved with compensation."""
    now = utcnow()
    with transaction(make_sessionmaker(engine)) as session:
        register_staff(session, 3101, "Agent Wu", StaffRole.AGENT)
        register_staff(session, 3102, "Agent Li", StaffRole.AGENT)
        late = open_complaint(session, category=ComplaintCategory.BILLING, description="charged twice",
                              chat_id=801, telegram_user_id=None, tracking_number=None,
                              now=now - timedelta(hours=80)).code
        fresh = open_complaint(session, category=ComplaintCategory.DELAY, description="where is it", chat_id=802,
                               telegram_user_id=None, tracking_number=None, now=now).code

    listing = ok(runner, "complaints", "list")
    assert listing.index(late) < listing.index(fresh) and "OVERDUE" in listing
    assert late not in ok(runner, "complaints", "list", "--category", "delay")

    shown = ok(runner, "complaints", "show", fresh)
    assert fresh in shown and "where is it" in shown
    ok(runner, "complaints", "assign", fresh, "3101")
    taken = runner.invoke(app, ["complaints", "assign", fresh, "3102"])
    assert taken.exit_code == 1 and "someone else holds" in taken.stderr
    assert fresh in ok(runner, "complaints", "list", "--mine", "3101")
    refused = runner.invoke(app, ["complaints", "resolve", fresh, "done", "--as", "3102"])
    assert refused.exit_code == 1 and "another staff member holds" in refused.stderr
    bad = runner.invoke(app, ["complaints", "resolve", fresh, "done", "--compensation", "lots"])
    assert bad.exit_code == 1
    ok(runner, "complaints", "resolve", fresh, "Delivered today", "--compensation", "20", "--as", "3101")
    ok(runner, "complaints", "reject", late, "The fee was right")
    unknown = runner.invoke(app, ["complaints", "show", "C-99999"])
    assert unknown.exit_code == 1

    with Session(engine) as session:
        done = session.scalars(select(Complaint).where(Complaint.code == fresh)).one()
        assert (done.status, str(done.compensation_yuan), done.outcome_queued_at is not None) == (
            ComplaintStatus.RESOLVED, "20.00", True)
        rejected = session.scalars(select(Complaint).where(Complaint.code == late)).one()
        assert rejected.rejected and rejected.resolution == "The fee was right"
        # Changes name the ticket; the view names whom it is about (no customer record: the reporting chat).
        trail = session.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.subject_id.in_((fresh, "802"))).order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in trail] == [
        (audit.COMPLAINT_VIEW, audit.CLI_ACTOR), (audit.COMPLAINT_CHANGE, audit.CLI_ACTOR),
        (audit.COMPLAINT_CHANGE, "Agent Wu"),
    ]
    assert "complaint_change" in ok(runner, "desk", "audit")


def test_report_complaints_prints_and_writes_csv_and_png(runner: CliRunner, engine: Engine, tmp_path: Path) -> None:
    """On the demo company: the table's total is the database's count; the CSV and the PNG are written."""
    with transaction(make_sessionmaker(engine)) as session:
        generate_demo(session, today=date.today())
    with Session(engine) as session:
        # The report's window is [now - 400 days, now): the demo's day may hold complaints later than now.
        now = utcnow()
        total = session.scalar(select(func.count(Complaint.id)).where(
            Complaint.created_at >= now - timedelta(days=400), Complaint.created_at < now))
    out = tmp_path / "out"
    output = ok(runner, "report", "complaints", "--days", "400", "--by", "city", "--language", "en",
                "--output", str(out))
    assert f"volume {total} " in output, output
    (csv_file,) = out.glob("complaints-by-city-*.csv")
    (png_file,) = out.glob("complaints-by-city-*.png")
    with csv_file.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[-1][:2] == ["total", str(total)]
    assert sum(int(line[1]) for line in lines[1:-1]) == total
    assert png_file.read_bytes().startswith(b"\x89PNG")
    wrong = runner.invoke(app, ["report", "complaints", "--by", "colour"])
    assert wrong.exit_code == 1 and "--by must be one of" in wrong.stderr
