"""Scheduled reports: which period is due, and a once-only claim on sending it (restart-safe, many processes).

A weekly report for ISO week 2026-W48 is due from its send moment (e.g. Monday 09:00 company time) for a day;
whoever inserts the (name, period) row first sends it, and a restarted bot sees the row and does not send again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import COMPANY_TZ, as_utc, local, utcnow
from core.weekly import WeeklySchedule
from crm.models import ReportRun, Staff, StaffRole

# A report missed by more than this (the bot was down all day, or was first started mid-week) is skipped:
# last week's numbers a week late help nobody, and a new installation should not open with one.
CATCH_UP = timedelta(days=1)


@dataclass(frozen=True)
class DuePeriod:
    """A report period that is due now: its key and the moments it covers."""

    period: str
    send_at: datetime
    since: datetime
    until: datetime


def weekly_due(schedule: WeeklySchedule, *, now: datetime | None = None) -> DuePeriod:
    """The latest weekly send moment at or before now, and the seven days before it (UTC)."""
    now = now or utcnow()
    today = local(now)
    days_back = (today.weekday() - schedule.weekday) % 7
    moment = datetime.combine(today.date() - timedelta(days=days_back), schedule.at, COMPANY_TZ)
    if moment > today:
        moment -= timedelta(days=7)
    year, week, _ = moment.isocalendar()
    send_at = moment.astimezone(as_utc(now).tzinfo)
    return DuePeriod(f"{year}-W{week:02d}", send_at, send_at - timedelta(days=7), send_at)


def claim(session: Session, name: str, period: str, *, now: datetime | None = None) -> bool:
    """Claim sending a report for a period; False when someone already did (or is doing) it."""
    try:
        with session.begin_nested():
            session.add(ReportRun(name=name, period=period, created_at=now or utcnow()))
    except IntegrityError:
        return False
    return True


def already_claimed(session: Session, name: str, period: str) -> bool:
    """Whether a report for this period was claimed (sent or being sent)."""
    return session.scalar(
        select(ReportRun.id).where(ReportRun.name == name, ReportRun.period == period).limit(1)
    ) is not None


def mark_sent(session: Session, name: str, period: str, *, now: datetime | None = None) -> None:
    """Record that a claimed report went out."""
    run = session.scalars(select(ReportRun).where(ReportRun.name == name, ReportRun.period == period)).one_or_none()
    if run is not None:
        run.sent_at = now or utcnow()


# Who receives complaint reports (/report, the weekly summary): the people who decide about the service.
REPORT_ROLES = (StaffRole.MANAGER, StaffRole.ADMIN)


def report_recipients(session: Session) -> list[Staff]:
    """Active managers and admins, by id."""
    return list(
        session.scalars(select(Staff).where(Staff.active.is_(True), Staff.role.in_(REPORT_ROLES)).order_by(Staff.id))
    )
