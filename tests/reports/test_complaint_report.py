"""The complaint report on the demo company, both databases: its counts equal direct counts in the database, and
the table, CSV and PNG chart are produced; the weekly schedule is claimed once per week."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import COMPANY_TZ
from core.weekly import parse_weekly
from crm import reportruns
from crm.complaintanalysis import DIMENSIONS, complaint_report
from crm.models import Complaint, ComplaintStatus, Customer, Shipment
from demo.company import demo_now, generate_demo
from reports.complaints import CSV_COLUMNS, render_chart, table_rows, write_chart, write_csv

TODAY = date(2026, 11, 23)
NOW = demo_now(TODAY)
SINCE = NOW - timedelta(days=365)


@pytest.fixture()
def demo(session: Session) -> Session:
    """The demo company (with its complaint history) in the test transaction."""
    summary = generate_demo(session, today=TODAY)
    assert summary.tables["complaints"] > 30
    return session


def direct(session: Session, *columns: object) -> dict[object, int]:
    """COUNT(*) of the period's complaints grouped by some columns, straight from SQL."""
    rows = session.execute(
        select(*columns, func.count(Complaint.id))
        .select_from(Complaint)
        .outerjoin(Shipment, Shipment.id == Complaint.shipment_id)
        .outerjoin(Customer, Customer.id == Complaint.customer_id)
        .where(Complaint.created_at >= SINCE, Complaint.created_at < NOW)
        .group_by(*columns)
    ).all()
    return {tuple(row[:-1]) if len(row) > 2 else row[0]: row[-1] for row in rows}


def test_counts_equal_a_direct_count_in_the_database(demo: Session) -> None:
    """Total, by reason, by city, open and overdue: the report's numbers are the database's."""
    session = demo
    by_category = complaint_report(session, since=SINCE, until=NOW, by="category", language="en", now=NOW)
    assert by_category.total.complaints == session.scalar(
        select(func.count(Complaint.id)).where(Complaint.created_at >= SINCE, Complaint.created_at < NOW))
    assert {g.key: g.figures.complaints for g in by_category.groups} == {
        category.value: count for category, count in direct(session, Complaint.category).items()}
    assert sum(g.figures.complaints for g in by_category.groups) == by_category.total.complaints
    assert {c.value: n for c, _label, n, _share in by_category.reasons} == {
        g.key: g.figures.complaints for g in by_category.groups}

    by_city = complaint_report(session, since=SINCE, until=NOW, by="city", language="zh", now=NOW)
    expected = direct(session, func.coalesce(Shipment.recipient_city, Customer.city))
    assert {g.key: g.figures.complaints for g in by_city.groups} == {
        (city or "未知"): count for city, count in expected.items()}

    open_now = session.scalar(select(func.count(Complaint.id)).where(
        Complaint.created_at >= SINCE, Complaint.created_at < NOW,
        Complaint.status.in_((ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS))))
    overdue = session.scalar(select(func.count(Complaint.id)).where(
        Complaint.created_at >= SINCE, Complaint.created_at < NOW, Complaint.due_at <= NOW,
        Complaint.status.in_((ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS))))
    assert (by_city.total.open, by_city.total.overdue) == (open_now, overdue)
    confirmed = session.scalar(select(func.count(Complaint.id)).where(
        Complaint.created_at >= SINCE, Complaint.created_at < NOW, Complaint.satisfied.is_(True)))
    reopened = session.scalar(select(func.coalesce(func.sum(Complaint.reopened_count), 0)).where(
        Complaint.created_at >= SINCE, Complaint.created_at < NOW))
    assert (by_city.total.satisfied, by_city.total.answered) == (confirmed, confirmed + reopened)
    assert by_city.total.median_hours is not None and by_city.total.median_hours > 0


@pytest.mark.parametrize("by", DIMENSIONS)
def test_every_dimension_adds_up_and_draws(demo: Session, by: str, tmp_path: Path) -> None:
    """Each grouping covers every complaint once; the CSV has a row per group plus the total; the PNG is a PNG."""
    report = complaint_report(demo, since=SINCE, until=NOW, by=by, language="en", now=NOW)
    assert sum(g.figures.complaints for g in report.groups) == report.total.complaints
    assert abs(sum(g.share for g in report.groups) - 1) < 1e-9
    if by == "week":
        assert [g.key for g in report.groups] == sorted(g.key for g in report.groups)
    else:
        counts = [g.figures.complaints for g in report.groups]
        assert counts == sorted(counts, reverse=True)
    if by in ("station", "courier"):
        assert any(g.key != "unknown" for g in report.groups)  # the demo's scans name places and couriers
    written = write_csv(report, tmp_path / f"{by}.csv")
    with written.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == list(CSV_COLUMNS) and len(lines) == len(report.groups) + 2
    assert lines[1:-1] == table_rows(report) and lines[-1][1] == str(report.total.complaints)
    png = write_chart(report, tmp_path / f"{by}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_an_empty_period_still_draws(demo: Session) -> None:
    """No complaints in the period: zero figures, and a chart that says so."""
    report = complaint_report(demo, since=NOW + timedelta(days=1), until=NOW + timedelta(days=2), by="courier",
                              language="en", now=NOW)
    assert report.total.complaints == 0 and report.groups == () and report.total.median_hours is None
    assert render_chart(report).startswith(b"\x89PNG")


def test_weekly_schedule_and_one_claim_per_week(session: Session) -> None:
    """The latest Monday 09:00 (company time) is due, covering the week before; a period is claimed once."""
    schedule = parse_weekly("mon 09:00")
    monday = datetime.combine(date(2026, 11, 23), time(9, 0), COMPANY_TZ).astimezone(UTC)  # a Monday
    due = reportruns.weekly_due(schedule, now=monday + timedelta(hours=3))
    assert (due.period, due.send_at, due.since) == ("2026-W48", monday, monday - timedelta(days=7))
    before = reportruns.weekly_due(schedule, now=monday - timedelta(minutes=1))
    assert before.period == "2026-W47"
    assert reportruns.claim(session, "weekly_complaints", due.period, now=monday)
    assert not reportruns.claim(session, "weekly_complaints", due.period, now=monday)
    assert reportruns.already_claimed(session, "weekly_complaints", due.period)
    assert reportruns.claim(session, "weekly_complaints", "2026-W49", now=monday)
    with pytest.raises(ValueError):
        parse_weekly("someday 25:00")
    assert parse_weekly("Friday 17:30").weekday == 4
