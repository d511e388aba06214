"""Complaint-reason analysis: how many complaints, why, where, about whom, how fast resolved, how satisfied.

The company documents (seed 003) name the gap: "complaint reasons are not analysed". One fact per complaint is
read from the database (its category and status, the parcel's destination city, where the parcel was last
scanned and by which courier when the customer complained, the ISO week it was filed in), then grouped by one
dimension. The counts are plain counts of complaint rows, so they always equal a direct count in the database.
Rendering (table, CSV, chart) is the reports package's job; the bot and the CLI show the same numbers.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import as_utc, local, utcnow
from crm.labels import COMPLAINT_CATEGORY_LABELS, label
from crm.models import Complaint, ComplaintCategory, ComplaintStatus, Customer, Shipment, TrackingEvent

DIMENSIONS = ("category", "city", "station", "courier", "week")
UNKNOWN = {"zh": "未知", "en": "unknown"}
ACTIVE = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)
DONE = (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)


@dataclass(frozen=True)
class ComplaintFact:
    """One complaint as the analysis sees it (no personal data)."""

    complaint_id: int
    code: str
    category: ComplaintCategory
    status: ComplaintStatus
    serious: bool
    rejected: bool
    created_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    satisfied: bool | None
    reopened_count: int
    # The parcel's destination city, else the customer's city (billing or courier complaints without a parcel).
    city: str | None
    # Where the parcel was last scanned, and by whom, when the customer complained.
    station_zh: str | None
    station_en: str | None
    courier: str | None

    def overdue(self, now: datetime) -> bool:
        """Open past its due time."""
        return self.status in ACTIVE and self.due_at is not None and self.due_at <= now

    @property
    def resolve_hours(self) -> float | None:
        """Hours from filing to resolution (None while open, or when closed without a time)."""
        if self.status not in DONE or self.resolved_at is None:
            return None
        return max(0.0, (self.resolved_at - self.created_at).total_seconds() / 3600)

    def key(self, by: str, language: str) -> str:
        """The group this complaint falls in for a dimension, in a language."""
        if by == "category":
            return self.category.value
        if by == "city":
            return self.city or UNKNOWN[language]
        if by == "station":
            place = self.station_zh if language == "zh" else self.station_en
            return place or UNKNOWN[language]
        if by == "courier":
            return self.courier or UNKNOWN[language]
        if by == "week":
            year, week, _ = local(self.created_at).isocalendar()
            return f"{year}-W{week:02d}"
        raise ValueError(f"unknown dimension {by!r}; choose one of {', '.join(DIMENSIONS)}")


def complaint_facts(session: Session, *, since: datetime, until: datetime) -> list[ComplaintFact]:
    """The facts of every complaint filed in [since, until), oldest first."""
    complaints = session.scalars(
        select(Complaint)
        .where(Complaint.created_at >= since, Complaint.created_at < until)
        .order_by(Complaint.created_at, Complaint.id)
    ).all()
    shipment_ids = {c.shipment_id for c in complaints if c.shipment_id is not None}
    customer_ids = {c.customer_id for c in complaints if c.customer_id is not None}
    cities: dict[int, str] = {}
    for chunk in _chunks(sorted(shipment_ids)):
        cities.update(session.execute(select(Shipment.id, Shipment.recipient_city).where(Shipment.id.in_(chunk)))
                      .all())
    customer_cities: dict[int, str] = {}
    for chunk in _chunks(sorted(customer_ids)):
        customer_cities.update(session.execute(select(Customer.id, Customer.city).where(Customer.id.in_(chunk)))
                               .all())
    scans: dict[int, list[TrackingEvent]] = defaultdict(list)
    for chunk in _chunks(sorted(shipment_ids)):
        for event in session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id.in_(chunk))):
            scans[event.shipment_id].append(event)
    facts: list[ComplaintFact] = []
    for complaint in complaints:
        created = as_utc(complaint.created_at)
        before = sorted(
            (e for e in scans.get(complaint.shipment_id or -1, []) if as_utc(e.occurred_at) <= created),
            key=lambda e: (as_utc(e.occurred_at), e.id),
        )
        last = before[-1] if before else None
        courier = next((e.courier for e in reversed(before) if e.courier), None)
        city = cities.get(complaint.shipment_id) if complaint.shipment_id else None
        if city is None and complaint.customer_id is not None:
            city = customer_cities.get(complaint.customer_id)
        facts.append(
            ComplaintFact(
                complaint_id=complaint.id,
                code=complaint.code,
                category=complaint.category,
                status=complaint.status,
                serious=complaint.serious,
                rejected=complaint.rejected,
                created_at=created,
                due_at=as_utc(complaint.due_at) if complaint.due_at else None,
                resolved_at=as_utc(complaint.resolved_at) if complaint.resolved_at else None,
                satisfied=complaint.satisfied,
                reopened_count=complaint.reopened_count,
                city=city,
                station_zh=last.place_zh if last else None,
                station_en=last.place_en if last else None,
                courier=courier,
            )
        )
    return facts


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    """Id lists short enough for one IN (...) on every backend."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@dataclass(frozen=True)
class Figures:
    """The numbers of one group of complaints (or of all of them)."""

    complaints: int
    open: int
    overdue: int
    resolved: int
    rejected: int
    median_hours: float | None
    answered: int
    satisfied: int

    @property
    def satisfaction(self) -> float | None:
        """Share of "is this resolved?" answers that were yes."""
        return self.satisfied / self.answered if self.answered else None


def figures(facts: Sequence[ComplaintFact], now: datetime) -> Figures:
    """Count, open, overdue, resolved, rejected, median hours to resolve and satisfaction of some complaints."""
    hours = [h for f in facts if (h := f.resolve_hours) is not None and not f.rejected]
    # Every "no" reopened the ticket (reopened_count); a "yes" is the latest answer (satisfied). So the answers
    # are the reopenings plus the confirmations, and a "no" still counts after the ticket was resolved again.
    yes = sum(1 for f in facts if f.satisfied is True)
    return Figures(
        complaints=len(facts),
        open=sum(1 for f in facts if f.status in ACTIVE),
        overdue=sum(1 for f in facts if f.overdue(now)),
        resolved=sum(1 for f in facts if f.status in DONE and not f.rejected),
        rejected=sum(1 for f in facts if f.rejected),
        median_hours=statistics.median(hours) if hours else None,
        answered=yes + sum(f.reopened_count for f in facts),
        satisfied=yes,
    )


@dataclass(frozen=True)
class Group:
    """One row of the report: a group's key, its label in the report's language, and its figures."""

    key: str
    label: str
    figures: Figures
    share: float


@dataclass(frozen=True)
class ComplaintReport:
    """The complaint report: period, dimension, every group and the top numbers."""

    since: datetime
    until: datetime
    by: str
    language: str
    total: Figures
    groups: tuple[Group, ...]
    # Share by reason whatever the dimension: (category, label, count, share), largest first.
    reasons: tuple[tuple[ComplaintCategory, str, int, float], ...]


def build_report(
    facts: Sequence[ComplaintFact], *, by: str, language: str, since: datetime, until: datetime, now: datetime
) -> ComplaintReport:
    """Group the facts by a dimension: largest group first (weeks in time order), with the top numbers."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}; choose one of {', '.join(DIMENSIONS)}")
    buckets: dict[str, list[ComplaintFact]] = defaultdict(list)
    for fact in facts:
        buckets[fact.key(by, language)].append(fact)
    total = len(facts)
    groups = [
        Group(key, _label(by, key, language), figures(members, now), len(members) / total if total else 0.0)
        for key, members in buckets.items()
    ]
    if by == "week":
        groups.sort(key=lambda g: g.key)
    else:
        groups.sort(key=lambda g: (-g.figures.complaints, g.label))
    per_reason: dict[ComplaintCategory, int] = defaultdict(int)
    for fact in facts:
        per_reason[fact.category] += 1
    reasons = tuple(
        sorted(
            ((category, label(COMPLAINT_CATEGORY_LABELS, category, language), count, count / total)
             for category, count in per_reason.items()),
            key=lambda row: (-row[2], row[0].value),
        )
    )
    return ComplaintReport(since, until, by, language, figures(facts, now), tuple(groups), reasons)


def _label(by: str, key: str, language: str) -> str:
    """How a group is shown: categories by their label, everything else as it is."""
    if by == "category":
        return label(COMPLAINT_CATEGORY_LABELS, ComplaintCategory(key), language)
    return key


def complaint_report(
    session: Session, *, since: datetime | None = None, until: datetime | None = None, by: str = "category",
    language: str = "zh", now: datetime | None = None, days: int = 30,
) -> ComplaintReport:
    """The complaint report for [since, until) — by default the last `days` days up to now."""
    now = now or utcnow()
    until = until or now
    since = since or until - timedelta(days=days)
    facts = complaint_facts(session, since=since, until=until)
    return build_report(facts, by=by, language=language, since=since, until=until, now=now)
