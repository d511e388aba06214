"""The demo company's complaint history: what customers complained about, and how each ticket ended.

Problem parcels draw complaints (delays and exceptions most, lost parcels nearly always, a few delivered ones for
damage, wrong delivery, the courier or the bill), filed some hours after the trouble, answered by their due time
or a little late, most customers satisfied. Older tickets are resolved (their outcome already told), recent ones
open, a few overdue. Seeded separately from the shipments, so adding complaints changed no parcel; the showcase
parcels and customers get none (the walkthrough and the tests file their own).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import as_utc
from crm.complaints import ComplaintTerms, format_code
from crm.models import (
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Customer,
    EventKind,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)

# Chance that a parcel in this state drew a complaint, and what about.
_RATES: dict[ShipmentStatus, tuple[float, dict[ComplaintCategory, float]]] = {
    ShipmentStatus.DELAYED: (0.35, {ComplaintCategory.DELAY: 85, ComplaintCategory.COURIER_CONDUCT: 15}),
    ShipmentStatus.EXCEPTION: (0.30, {ComplaintCategory.DELAY: 60, ComplaintCategory.COURIER_CONDUCT: 25,
                                      ComplaintCategory.WRONG_DELIVERY: 15}),
    ShipmentStatus.LOST: (0.80, {ComplaintCategory.LOSS: 100}),
    ShipmentStatus.RETURNED: (0.20, {ComplaintCategory.COURIER_CONDUCT: 50, ComplaintCategory.BILLING: 30,
                                     ComplaintCategory.DELAY: 20}),
    ShipmentStatus.DELIVERED: (0.035, {ComplaintCategory.DAMAGE: 40, ComplaintCategory.COURIER_CONDUCT: 25,
                                       ComplaintCategory.WRONG_DELIVERY: 20, ComplaintCategory.BILLING: 15}),
    ShipmentStatus.IN_TRANSIT: (0.01, {ComplaintCategory.DELAY: 70, ComplaintCategory.BILLING: 30}),
}
_STORIES: dict[ComplaintCategory, tuple[str, str]] = {
    ComplaintCategory.DELAY: ("包裹好几天没有更新了，什么时候能到？",
                              "The parcel has not moved for days. When will it arrive?"),
    ComplaintCategory.DAMAGE: ("收到时外箱压坏了，里面的东西也碎了。",
                               "The box arrived crushed and the contents are broken."),
    ComplaintCategory.LOSS: ("物流显示丢件了，里面的东西很重要。",
                             "Tracking says the parcel is lost; its contents matter a lot."),
    ComplaintCategory.WRONG_DELIVERY: ("显示已签收，但我根本没收到，可能送错了。",
                                       "It says delivered but I never got it; it went to the wrong place."),
    ComplaintCategory.COURIER_CONDUCT: ("快递员态度很差，没打电话就走了。",
                                        "The courier was rude and left without calling me."),
    ComplaintCategory.BILLING: ("运费比报价多收了，请核实。", "I was charged more than the quoted fee; please check."),
}
_OUTCOMES: dict[ComplaintCategory, tuple[str, str]] = {
    ComplaintCategory.DELAY: ("已联系转运中心优先处理，包裹已重新发出。",
                              "The hub gave the parcel priority; it is on its way again."),
    ComplaintCategory.DAMAGE: ("已核实破损，按保价赔付。", "Damage confirmed; compensated under the declared value."),
    ComplaintCategory.LOSS: ("已确认遗失，按保价全额赔付。", "Loss confirmed; compensated in full."),
    ComplaintCategory.WRONG_DELIVERY: ("已找回包裹并重新派送。", "The parcel was recovered and delivered again."),
    ComplaintCategory.COURIER_CONDUCT: ("已约谈快递员并加强培训，向您致歉。",
                                        "We spoke to the courier and retrained them; our apologies."),
    ComplaintCategory.BILLING: ("已核实多收的运费并退回差额。", "The overcharge was confirmed and refunded."),
}
_REJECTIONS = ("经核实，包裹按时效正常派送，未发现问题。",
               "After checking, the parcel was handled on time and as agreed.")
_PAID = {ComplaintCategory.DAMAGE, ComplaintCategory.LOSS, ComplaintCategory.BILLING}
# Where the trouble shows in the timeline: the complaint follows that scan.
_TROUBLE = {
    ShipmentStatus.DELAYED: EventKind.DELAYED,
    ShipmentStatus.EXCEPTION: EventKind.EXCEPTION,
    ShipmentStatus.LOST: EventKind.LOST,
    ShipmentStatus.RETURNED: EventKind.RETURNED,
    ShipmentStatus.DELIVERED: EventKind.DELIVERED,
}
# Overdue open tickets are kept few: they are what supervisors are alerted about when the demo starts.
_MAX_OVERDUE = 3
_SALT = 0xC0FFEE


def add_demo_complaints(
    session: Session, *, seed: int, now: datetime, exclude_numbers: Collection[str],
    exclude_customers: Collection[str],
) -> int:
    """File the demo's complaints for the parcels in the database (caller commits); how many were filed."""
    rng = random.Random(seed ^ _SALT)
    terms = ComplaintTerms()
    excluded_ids = set(session.scalars(select(Customer.id).where(Customer.code.in_(list(exclude_customers)))))
    shipments = session.scalars(
        select(Shipment).where(Shipment.status.in_(list(_RATES))).order_by(Shipment.tracking_number)
    ).all()
    languages = dict(session.execute(select(Customer.id, Customer.preferred_language)).all())
    events: dict[int, list[TrackingEvent]] = defaultdict(list)
    for event in session.scalars(
        select(TrackingEvent).where(TrackingEvent.shipment_id.in_(select(Shipment.id).where(
            Shipment.status.in_(list(_RATES)))))
    ):
        events[event.shipment_id].append(event)
    filed: list[Complaint] = []
    overdue = 0
    for shipment in shipments:
        rate, categories = _RATES[shipment.status]
        # Draw for every candidate (even excluded ones) so the choices do not depend on the exclusions.
        draw, category_draw = rng.random(), rng.random()
        if draw >= rate or shipment.tracking_number in exclude_numbers or shipment.customer_id in excluded_ids:
            continue
        category = _pick(categories, category_draw)
        timeline = sorted(events[shipment.id], key=lambda e: (as_utc(e.occurred_at), e.id))
        trouble = next((e for e in reversed(timeline) if e.kind is _TROUBLE.get(shipment.status)), None)
        start = as_utc((trouble or timeline[-1]).occurred_at) if timeline else as_utc(shipment.shipped_at)
        created = start + timedelta(hours=rng.uniform(1, 30))
        if created >= now - timedelta(hours=1):
            created = now - timedelta(hours=rng.uniform(1, 4))
        if created <= start:
            continue
        serious = category is ComplaintCategory.LOSS or (
            category is ComplaintCategory.DAMAGE and (shipment.declared_value or 0) >= terms.high_value_yuan
        )
        hours = terms.hours_for(category, serious=serious)
        due = created + timedelta(hours=hours)
        language = languages.get(shipment.customer_id or -1, "zh")
        zh = language == "zh"
        complaint = Complaint(
            code=f"demo-{len(filed)}",
            customer_id=shipment.customer_id,
            shipment_id=shipment.id,
            chat_id=None,
            category=category,
            description=_STORIES[category][0 if zh else 1],
            status=ComplaintStatus.OPEN,
            serious=serious,
            language=language,
            due_at=due,
            created_at=created,
            updated_at=created,
        )
        answered_at = created + timedelta(hours=rng.uniform(0.1, 1.3) * hours)
        settle, satisfaction = rng.random(), rng.random()
        if answered_at > now:
            if due < now and overdue >= _MAX_OVERDUE:
                answered_at = now - timedelta(minutes=rng.uniform(5, 60))
            else:
                overdue += due < now
                filed.append(complaint)
                continue
        complaint.resolved_at = answered_at
        complaint.updated_at = answered_at
        complaint.outcome_queued_at = complaint.outcome_sent_at = answered_at
        if settle < 0.08:
            complaint.status = ComplaintStatus.CLOSED
            complaint.rejected = True
            complaint.resolution = _REJECTIONS[0 if zh else 1]
        else:
            complaint.resolution = _OUTCOMES[category][0 if zh else 1]
            if category in _PAID:
                value = shipment.declared_value or shipment.fee * 5
                complaint.compensation_yuan = (Decimal(value) * Decimal(str(round(0.2 + settle * 0.8, 2)))).quantize(
                    Decimal("0.01"))
            if satisfaction < 0.75:
                complaint.satisfied, complaint.status = True, ComplaintStatus.CLOSED
                complaint.answered_at = answered_at + timedelta(hours=2)
            elif satisfaction < 0.9:
                # The customer said it is not resolved: reopened once, then resolved again a day later.
                complaint.satisfied, complaint.status = True, ComplaintStatus.CLOSED
                complaint.reopened_count = 1
                complaint.answered_at = answered_at + timedelta(hours=26)
                complaint.resolved_at = answered_at + timedelta(hours=24)
                if complaint.answered_at > now:
                    complaint.satisfied, complaint.answered_at, complaint.status = None, None, ComplaintStatus.RESOLVED
                    complaint.resolved_at = answered_at
            else:
                complaint.status = ComplaintStatus.RESOLVED
        filed.append(complaint)
    session.add_all(filed)
    session.flush()
    for complaint in filed:
        complaint.code = format_code(complaint.id)
    session.flush()
    return len(filed)


def _pick(weights: dict[ComplaintCategory, float], draw: float) -> ComplaintCategory:
    """The category a uniform draw in [0, 1) falls on, by weight."""
    total = sum(weights.values())
    running = 0.0
    for category, weight in weights.items():
        running += weight / total
        if draw < running:
            return category
    return next(reversed(weights))
