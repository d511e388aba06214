"""Customer tiers from recency, frequency and monetary value of shipments (RFM), as the company classifies them.

Each dimension scores 1-5 over the last year of shipments; the sum (3-15) gives the tier:
A (top customers) >= 13, B >= 10, C >= 6, else D. Used for queue priority here and by complaint
seriousness (a top-tier customer's complaint is serious).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import as_utc, utcnow
from crm.models import Shipment

# (threshold, score) pairs, best first: the first threshold met gives the score, else 1.
RECENCY_DAYS = ((30, 5), (90, 4), (180, 3), (365, 2))
FREQUENCY_SHIPMENTS = ((24, 5), (12, 4), (6, 3), (2, 2))
MONETARY_YUAN = ((Decimal(5000), 5), (Decimal(2000), 4), (Decimal(800), 3), (Decimal(200), 2))
TIERS = ((13, "A"), (10, "B"), (6, "C"))
# Queue priority points per tier (an unknown customer gets none).
TIER_PRIORITY = {"A": 30, "B": 20, "C": 10, "D": 5}


@dataclass(frozen=True)
class Segment:
    """A customer's RFM scores and tier."""

    recency: int
    frequency: int
    monetary: int
    tier: str
    shipments: int
    spent: Decimal
    last_shipped_at: datetime | None

    @property
    def score(self) -> int:
        """The RFM total (3-15)."""
        return self.recency + self.frequency + self.monetary


def _at_most(value: float, thresholds: tuple[tuple[int, int], ...]) -> int:
    """Score where smaller is better (days since the last shipment)."""
    return next((score for limit, score in thresholds if value <= limit), 1)


def _at_least(value: Decimal | int, thresholds: tuple[tuple[Decimal, int], ...] | tuple[tuple[int, int], ...]) -> int:
    """Score where bigger is better (count, money)."""
    return next((score for limit, score in thresholds if value >= limit), 1)


def score(days_since_last: float | None, shipments: int, spent: Decimal) -> tuple[int, int, int, str]:
    """RFM scores and tier from the raw figures (no shipment in a year scores 1 on every dimension)."""
    recency = 1 if days_since_last is None else _at_most(days_since_last, RECENCY_DAYS)
    frequency = _at_least(shipments, FREQUENCY_SHIPMENTS)
    monetary = _at_least(spent, MONETARY_YUAN)
    total = recency + frequency + monetary
    tier = next((name for limit, name in TIERS if total >= limit), "D")
    return recency, frequency, monetary, tier


def customer_segment(session: Session, customer_id: int, *, now: datetime | None = None) -> Segment:
    """The RFM segment of a customer from their shipments of the last 365 days."""
    now = now or utcnow()
    since = now - timedelta(days=365)
    count, spent, last = session.execute(
        select(func.count(Shipment.id), func.coalesce(func.sum(Shipment.fee), 0), func.max(Shipment.shipped_at)).where(
            Shipment.customer_id == customer_id, Shipment.shipped_at >= since
        )
    ).one()
    spent = Decimal(str(spent))
    days = (now - as_utc(last)).total_seconds() / 86400 if last is not None else None
    recency, frequency, monetary, tier = score(days, int(count), spent)
    return Segment(recency, frequency, monetary, tier, int(count), spent, as_utc(last) if last else None)
