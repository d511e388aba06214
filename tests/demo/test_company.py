"""The demo company generator: deterministic, believable, consistent, fast, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from time import perf_counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.clock import COMPANY_TZ, as_utc, local
from crm.labels import REASON_LABELS
from crm.models import Complaint, Customer, CustomerKind, EventKind, Shipment, ShipmentStatus, TrackingEvent
from crm.tracking import template_values, track
from crm.waybills import is_valid, is_valid_s10
from demo.company import (
    SHOWCASE_NUMBERS,
    DemoDataError,
    DemoSummary,
    demo_is_loaded,
    demo_now,
    fingerprint,
    generate_demo,
)
from demo.geography import find_city
from tests import databases  # not TestDatabase itself: pytest would try to collect it as a test class

TODAY = date(2026, 11, 18)
SMALL = {"customers": 40, "shipments": 200}
PROBLEM_STATUSES = {
    ShipmentStatus.DELAYED,
    ShipmentStatus.EXCEPTION,
    ShipmentStatus.RETURNED,
    ShipmentStatus.LOST,
}
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LoadedDemo:
    """A default-size demo committed to a fresh database, read back once for many checks."""

    backend: str
    summary: DemoSummary
    seconds: float
    customers: list[Customer]
    shipments: list[Shipment]
    digest: str


@pytest.fixture(scope="module", params=databases.BACKENDS)
def full(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedDemo]:
    """The default size (240 customers, 1200 shipments), generated once per backend into its own database."""
    for db in databases.create_database(request.param, tmp_path_factory.mktemp(f"demo-{request.param}")):
        with Session(db.engine, expire_on_commit=False) as session:
            started = perf_counter()
            summary = generate_demo(session, today=TODAY)
            session.commit()
            seconds = perf_counter() - started
        with Session(db.engine, expire_on_commit=False) as session:
            customers = list(session.scalars(select(Customer).order_by(Customer.code)))
            shipments = list(
                session.scalars(
                    select(Shipment).options(selectinload(Shipment.events)).order_by(Shipment.tracking_number)
                )
            )
            digest = fingerprint(session)
        yield LoadedDemo(request.param, summary, seconds, customers, shipments, digest)


def _generate_in_transaction(db: databases.TestDatabase, **kwargs: object) -> str:
    """Generate into a transaction that is rolled back afterwards, returning the data's fingerprint."""
    with db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
                generate_demo(session, **kwargs)  # type: ignore[arg-type]
                return fingerprint(session)
        finally:
            transaction.rollback()


# -- the full default size, once per backend -------------------------------------------------------


def test_default_size_loads_quickly_with_every_status(full: LoadedDemo) -> None:
    """≥200 customers, ≥1000 shipments, each of the 8 statuses ≥ 20 times, in a few seconds."""
    summary = full.summary
    assert len(full.customers) == summary.tables["customers"] == 240
    assert len(full.shipments) == summary.tables["shipments"] == 1200
    assert sum(len(s.events) for s in full.shipments) == summary.tables["tracking_events"]
    statuses = Counter(s.status for s in full.shipments)
    assert statuses == Counter(summary.statuses)
    assert set(statuses) == set(ShipmentStatus)
    assert min(statuses.values()) >= 20, statuses
    assert statuses[ShipmentStatus.DELIVERED] > len(full.shipments) / 2  # most parcels arrived
    assert full.seconds < 20, f"{full.backend}: {full.seconds:.1f}s"
    assert "1200 shipments" in str(summary)


def test_showcase_parcels_of_wang_xiaoming(full: LoadedDemo) -> None:
    """The README's parcels exist with their statuses, reasons and promises, all sent by 王小明."""
    by_number = {s.tracking_number: s for s in full.shipments}
    wang = next(c for c in full.customers if c.code == "C000001")
    assert (wang.name, wang.kind, wang.phone, wang.city) == (
        "王小明",
        CustomerKind.PERSONAL,
        "+8613800138000",
        "上海",
    )
    for number, status in SHOWCASE_NUMBERS.items():
        shipment = by_number[number]
        assert shipment.status is status, number
        assert shipment.customer_id == wang.id and shipment.sender_name == "王小明", number
    assert {s.tracking_number for s in full.shipments if s.customer_id == wang.id} == set(SHOWCASE_NUMBERS)
    assert by_number["XJ202611180042"].promised_date == TODAY + timedelta(days=2)
    assert by_number["XJ202611150013"].status_reason == "weather"
    assert by_number["XJ202611160021"].status_reason == "address_incomplete"
    assert by_number["XJ202611010019"].status_reason == "recipient_refused"
    assert by_number["XJ202610250008"].status_reason == "lost_in_transit"
    assert by_number["XJ202611170007"].delivered_at is not None
    assert by_number["XJ202611200005"].events[-1].kind is EventKind.OUT_FOR_DELIVERY
    assert by_number["XJ202611220031"].events[-1].kind is EventKind.CREATED
    abroad = by_number["EE123456785CN"]
    destination = find_city(abroad.recipient_city)
    assert destination is not None and destination.region == "overseas"


def test_company_showcase_customer_ships_a_lot(full: LoadedDemo) -> None:
    """杭州云仓 (C000002) is a heavy monthly-billing e-commerce shipper."""
    cloud = next(c for c in full.customers if c.code == "C000002")
    assert cloud.kind is CustomerKind.COMPANY and cloud.name == "杭州云仓电子商务有限公司"
    assert cloud.phone == "+8657188886666" and cloud.contact_person and cloud.industry == "e_commerce"
    assert "月结" in (cloud.notes or "")
    theirs = [s for s in full.shipments if s.customer_id == cloud.id]
    assert len(theirs) >= 40
    counts = Counter(s.customer_id for s in full.shipments if s.customer_id)
    assert counts[cloud.id] == max(counts.values())


def test_numbers_are_valid_unique_and_dated(full: LoadedDemo) -> None:
    """XJ + ship date + serial for domestic parcels, valid S10 numbers for the ~3 % going abroad."""
    numbers = [s.tracking_number for s in full.shipments]
    assert len(set(numbers)) == len(numbers)
    assert all(is_valid(number) for number in numbers)
    abroad = 0
    for shipment in full.shipments:
        number = shipment.tracking_number
        destination = find_city(shipment.recipient_city)
        assert destination is not None, shipment.recipient_city
        if number.startswith("XJ"):
            assert destination.region != "overseas", number
            if number not in SHOWCASE_NUMBERS:
                assert number[2:10] == local(shipment.shipped_at).strftime("%Y%m%d"), number
        else:
            abroad += 1
            assert is_valid_s10(number) and number.endswith("CN") and destination.region == "overseas", number
    assert 0.015 <= abroad / len(numbers) <= 0.05


def test_timelines_are_consistent_and_never_in_the_future(full: LoadedDemo) -> None:
    """Events strictly increase, start with 'created', end with the shipment's status, by the demo clock."""
    now = demo_now(TODAY)
    for shipment in full.shipments:
        events = shipment.events
        times = [as_utc(event.occurred_at) for event in events]
        number = shipment.tracking_number
        assert events and events[0].kind is EventKind.CREATED, number
        assert all(earlier < later for earlier, later in pairwise(times)), number
        assert times[-1] <= now, number
        assert events[-1].status is shipment.status, number
        assert as_utc(shipment.shipped_at) == times[0], number
        assert all(event.place_zh and event.place_en for event in events), number
        delivered = [event for event in events if event.kind is EventKind.DELIVERED]
        if shipment.status is ShipmentStatus.DELIVERED:
            assert len(delivered) == 1 and as_utc(shipment.delivered_at) == as_utc(delivered[0].occurred_at)
        else:
            assert shipment.delivered_at is None and not delivered, number
        assert shipment.promised_date >= local(shipment.shipped_at).date(), number


def test_problem_shipments_have_reasons_in_both_languages(full: LoadedDemo) -> None:
    """Delayed, exception, returned and lost parcels carry a known reason the bot can explain."""
    for shipment in full.shipments:
        if shipment.status in PROBLEM_STATUSES:
            assert shipment.status_reason in REASON_LABELS, shipment.tracking_number
            assert REASON_LABELS[shipment.status_reason]["zh"] and REASON_LABELS[shipment.status_reason]["en"]
            assert shipment.status_reason in {e.reason for e in shipment.events}, shipment.tracking_number
        else:
            assert shipment.status_reason is None, shipment.tracking_number
        for event in shipment.events:
            assert event.reason is None or event.reason in REASON_LABELS
    lost = [s for s in full.shipments if s.status is ShipmentStatus.LOST]
    assert all(s.events[-1].kind is EventKind.LOST for s in lost)
    returned = [s for s in full.shipments if s.status is ShipmentStatus.RETURNED]
    assert all(s.events[-1].kind is EventKind.RETURNED for s in returned)
    # A returned parcel travels back: its last scan is at a station of the sender's city.
    assert all(s.events[-1].place_zh.startswith(s.sender_city) for s in returned)
    delayed = [s for s in full.shipments if s.status is ShipmentStatus.DELAYED]
    assert all(any(e.kind is EventKind.DELAYED for e in s.events) for s in delayed)
    exceptions = [s for s in full.shipments if s.status is ShipmentStatus.EXCEPTION]
    assert all(any(e.kind is EventKind.EXCEPTION for e in s.events) for s in exceptions)


def test_customers_are_a_believable_book(full: LoadedDemo) -> None:
    """~75 % private, ~25 % companies; unique codes and phones; mostly Chinese-speaking; varied activity."""
    customers = full.customers
    kinds = Counter(c.kind for c in customers)
    assert 0.2 <= kinds[CustomerKind.COMPANY] / len(customers) <= 0.3
    assert all(re.fullmatch(r"C\d{6}", c.code) for c in customers)
    phones = [c.phone for c in customers]
    assert len(set(phones)) == len(phones)
    mobiles = [c.phone for c in customers if c.kind is CustomerKind.PERSONAL]
    assert all(re.fullmatch(r"\+861[3-9]\d{9}", phone) for phone in mobiles)
    assert all(re.fullmatch(r"\+86\d{10,11}", phone) for phone in phones)
    assert all(find_city(c.city) is not None for c in customers)
    languages = Counter(c.preferred_language for c in customers)
    assert languages["zh"] > 0.8 * len(customers) and languages["en"] >= 5
    companies = [c for c in customers if c.kind is CustomerKind.COMPANY]
    assert all(c.contact_person and c.industry for c in companies)
    assert all(c.contact_person is None and c.industry is None for c in customers if c not in companies)
    assert sum(1 for c in customers if c.notes) >= 20


def test_activity_supports_rfm_ranking(full: LoadedDemo) -> None:
    """Heavy company shippers, many occasional private ones, and dormant customers (> 6 months quiet)."""
    by_customer: dict[int, list[Shipment]] = {}
    for shipment in full.shipments:
        if shipment.customer_id is not None:
            by_customer.setdefault(shipment.customer_id, []).append(shipment)
    kind = {c.id: c.kind for c in full.customers}
    frequency = {cid: len(items) for cid, items in by_customer.items()}
    monetary = {cid: sum((s.fee for s in items), Decimal(0)) for cid, items in by_customer.items()}
    heavy = [cid for cid, count in frequency.items() if count >= 20]
    assert len(heavy) >= 4 and all(kind[cid] is CustomerKind.COMPANY for cid in heavy)
    occasional = [
        cid for cid, count in frequency.items() if count <= 3 and kind[cid] is CustomerKind.PERSONAL
    ]
    assert len(occasional) >= 60
    six_months_ago = datetime.combine(TODAY - timedelta(days=183), datetime.min.time(), UTC)
    dormant = [
        cid for cid, items in by_customer.items() if max(as_utc(s.shipped_at) for s in items) < six_months_ago
    ]
    assert len(dormant) >= 10
    top_spenders = sorted(monetary, key=monetary.__getitem__, reverse=True)[:10]
    assert sum(kind[cid] is CustomerKind.COMPANY for cid in top_spenders) >= 7
    # Denser recently: the last 90 days hold more parcels than the 90 days half a year earlier.
    ages = [(TODAY - local(s.shipped_at).date()).days for s in full.shipments]
    assert sum(age < 90 for age in ages) > 1.5 * sum(180 <= age < 270 for age in ages)
    assert max(ages) <= 380


def test_money_and_weights_are_plausible(full: LoadedDemo) -> None:
    """Fees in CNY with 2 decimals grow with weight; declared values appear on some parcels only."""
    for shipment in full.shipments:
        assert Decimal("0.1") <= shipment.weight_kg <= Decimal(80)
        assert shipment.fee > 0 and shipment.fee == shipment.fee.quantize(Decimal("0.01"))
    declared = sum(1 for s in full.shipments if s.declared_value is not None)
    assert 0.05 * len(full.shipments) < declared < 0.5 * len(full.shipments)
    light = [s.fee for s in full.shipments if s.weight_kg <= 1]
    heavy = [s.fee for s in full.shipments if s.weight_kg >= 10]
    assert sum(heavy) / len(heavy) > 3 * sum(light) / len(light)


def test_times_follow_china_office_hours(full: LoadedDemo) -> None:
    """Orders are created in the daytime in Shanghai; stored times are UTC."""
    created = [local(s.shipped_at) for s in full.shipments]
    assert all(8 <= moment.hour <= 21 for moment in created)
    assert all(local(s.shipped_at).utcoffset() == timedelta(hours=8) for s in full.shipments[:5])
    company_ids = {c.id for c in full.customers if c.kind is CustomerKind.COMPANY}
    company_created = [local(s.shipped_at) for s in full.shipments if s.customer_id in company_ids]
    assert all(time(8, 30) <= moment.time() <= time(17, 30) for moment in company_created)


# -- smaller generations on the shared test database (rolled back) ---------------------------------


def test_same_seed_and_date_give_identical_rows(database: databases.TestDatabase) -> None:
    """Two generations into two fresh transactions give byte-identical rows; another seed does not."""
    first = _generate_in_transaction(database, today=TODAY, seed=7, **SMALL)
    second = _generate_in_transaction(database, today=TODAY, seed=7, **SMALL)
    other = _generate_in_transaction(database, today=TODAY, seed=8, **SMALL)
    assert first == second
    assert other != first


def test_identical_across_processes_and_backends(database: databases.TestDatabase, tmp_path: Path) -> None:
    """A separate process (other hash seed, fresh SQLite file) gives the same fingerprint as this backend."""
    script = (
        "import sys; from datetime import date; from sqlalchemy.orm import Session\n"
        "from core.db import make_engine\nfrom crm.schema import upgrade\n"
        "from demo.company import generate_demo, fingerprint\n"
        "engine = make_engine(sys.argv[1]); upgrade(engine)\n"
        "with Session(engine) as session:\n"
        "    generate_demo(session, today=date(2026, 11, 18), seed=11, customers=40, shipments=200)\n"
        "    print(fingerprint(session))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'other.sqlite3'}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    here = _generate_in_transaction(database, today=TODAY, seed=11, **SMALL)
    assert result.stdout.strip().splitlines()[-1] == here


def test_showcase_exists_for_any_seed_and_moves_with_today(session: Session) -> None:
    """Showcase parcels exist for any seed and date, dated relative to `today`, nothing after the demo clock."""
    today = date(2025, 3, 2)  # a Sunday in another year
    generate_demo(session, today=today, seed=99, **SMALL)
    found = {
        s.tracking_number: s
        for s in session.scalars(
            select(Shipment)
            .where(Shipment.tracking_number.in_(list(SHOWCASE_NUMBERS)))
            .options(selectinload(Shipment.events))
        )
    }
    assert {number: s.status for number, s in found.items()} == SHOWCASE_NUMBERS
    assert found["XJ202611180042"].promised_date == today + timedelta(days=2)
    assert local(found["XJ202611220031"].shipped_at).date() == today
    latest = session.scalar(select(func.max(TrackingEvent.occurred_at)))
    assert latest is not None and as_utc(latest) <= demo_now(today)
    assert demo_now(today) == datetime(2025, 3, 2, 12, 0, tzinfo=COMPANY_TZ)


def test_showcase_reads_well_in_the_bot(session: Session) -> None:
    """The tracking service explains the showcase parcels in Chinese and English."""
    generate_demo(session, today=TODAY, **SMALL)
    delayed = track(session, "XJ202611150013")
    assert delayed is not None and delayed.status is ShipmentStatus.DELAYED
    zh, en = template_values(delayed, "zh"), template_values(delayed, "en")
    assert zh["reason"] == "受天气影响，干线运输延误" and en["reason"] == "Line-haul delayed by bad weather"
    assert zh["status_label"] == "延误" and en["status_label"] == "Delayed"
    moving = track(session, "xj 2026 1118 0042")
    assert moving is not None and moving.last_scan is not None
    assert template_values(moving, "en")["eta"] == (TODAY + timedelta(days=2)).isoformat()


def test_refuses_a_database_that_is_not_empty(session: Session) -> None:
    """Loading twice is an error, not duplicated data; demo_is_loaded tells the two states apart."""
    assert not demo_is_loaded(session)
    summary = generate_demo(session, today=TODAY, **SMALL)
    assert summary.tables == {
        "customers": session.scalar(select(func.count()).select_from(Customer)),
        "shipments": session.scalar(select(func.count()).select_from(Shipment)),
        "tracking_events": session.scalar(select(func.count()).select_from(TrackingEvent)),
        "complaints": session.scalar(select(func.count()).select_from(Complaint)),
    }
    assert demo_is_loaded(session)
    with pytest.raises(DemoDataError, match="empty database"):
        generate_demo(session, today=TODAY, **SMALL)
    assert session.scalar(select(func.count()).select_from(Shipment)) == SMALL["shipments"]


@pytest.mark.parametrize(("customers", "shipments"), [(1, 200), (40, 5)])
def test_rejects_impossible_sizes(session: Session, customers: int, shipments: int) -> None:
    """The showcase needs its two customers and nine parcels."""
    with pytest.raises(DemoDataError):
        generate_demo(session, today=TODAY, customers=customers, shipments=shipments)
    assert not demo_is_loaded(session)


def test_logs_carry_no_personal_data(session: Session, caplog: pytest.LogCaptureFixture) -> None:
    """Generation logs counts only: no names, phone numbers or addresses."""
    with caplog.at_level(logging.DEBUG, logger="demo"):
        generate_demo(session, today=TODAY, **SMALL)
    text = caplog.text
    assert "shipments" in text
    secrets = [value for c in session.scalars(select(Customer)) for value in (c.name, c.phone, c.address)]
    assert not [secret for secret in secrets if secret in text]
