"""`parceldesk import bench`: import throughput on a fresh database, and the time from an ingested delay to its notice.

Throughput: N generated tracking events (CSV, `per_parcel` per parcel, their shipments imported first as JSON Lines)
go through `parceldesk import`'s own code path (read, validate, upsert, commit per chunk) into a throwaway SQLite
file or PostgreSQL schema; then the same file once more (every row unchanged: the idempotent path).

Notice latency: the sandbox, the bot and the ingestion API run as processes on free ports against a fresh SQLite
database with one linked customer; each sample POSTs a delay event and waits until the customer's chat shows the
notice. It is bounded by the bot's outbox interval (PARCELDESK_NOTICE_JOB_INTERVAL_SECONDS).
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import secrets
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from core.db import make_engine, make_sessionmaker, transaction
from core.settings import Settings
from crm.models import Customer, CustomerKind, EventKind, ServiceLevel, Shipment, ShipmentStatus, TrackingEvent
from crm.schema import upgrade
from ingest.importer import import_file
from parceldesk.processes import Supervisor, bot_service, ingest_service, sandbox_service

# A parcel's life, cycled: most scans keep it in transit, the last ones deliver it.
TIMELINE = (
    (EventKind.CREATED, ShipmentStatus.CREATED),
    (EventKind.PICKED_UP, ShipmentStatus.IN_TRANSIT),
    (EventKind.ARRIVED_HUB, ShipmentStatus.IN_TRANSIT),
    (EventKind.DEPARTED_HUB, ShipmentStatus.IN_TRANSIT),
)
FINISH = (
    (EventKind.OUT_FOR_DELIVERY, ShipmentStatus.OUT_FOR_DELIVERY),
    (EventKind.DELIVERED, ShipmentStatus.DELIVERED),
)
BENCH_USER = 720_000_001
NOTICE_TIMEOUT_S = 30.0


@dataclass
class ImportRun:
    """One timed import."""

    label: str
    rows: int
    seconds: float
    inserted: int
    updated: int
    unchanged: int
    rejected: int

    @property
    def per_second(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class IngestBenchResults:
    """Everything `parceldesk import bench` measured."""

    backend: str
    events: int
    parcels: int
    runs: list[ImportRun] = field(default_factory=list)
    notice_ms: list[float] = field(default_factory=list)
    notice_interval_s: float = 0.0


def sample_number(index: int) -> str:
    """A valid XJ tracking number for the bench's index-th parcel (year 2099: never a real one)."""
    return f"XJ2099{index:08d}"


def write_files(workdir: Path, *, events: int, per_parcel: int) -> tuple[Path, Path, int]:
    """Generate shipments (JSON Lines) and events (CSV) files; their paths and the number of parcels."""
    # Rounded up: with events not a multiple of per_parcel the last parcel gets the rest (all `events` are written).
    parcels = max(1, -(-events // per_parcel))
    start = datetime.now(UTC) - timedelta(days=30)  # old events: nobody is notified about history
    shipments = workdir / "shipments.jsonl"
    with shipments.open("w", encoding="utf-8") as stream:
        for index in range(parcels):
            stream.write(json.dumps({
                "tracking_number": sample_number(index), "sender_name": "寄件人", "sender_phone": "13800000000",
                "sender_address": "上海市浦东新区测试路1号", "sender_city": "上海", "recipient_name": "收件人",
                "recipient_phone": f"139{index % 100_000_000:08d}", "recipient_address": "北京市朝阳区测试街2号",
                "recipient_city": "北京", "weight_kg": "1.20", "fee": "18.00", "service_level": "standard",
                "promised_date": (start + timedelta(days=3)).date().isoformat(), "shipped_at": start.isoformat(),
            }, ensure_ascii=False) + "\n")
    path = workdir / "events.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["tracking_number", "event_id", "occurred_at", "kind", "status", "place_zh", "place_en"])
        written = 0
        for index in range(parcels):
            steps = [TIMELINE[0], *(TIMELINE[1 + i % 3] for i in range(max(0, per_parcel - 3))), *FINISH]
            for step, (kind, status) in enumerate(steps[:per_parcel]):
                if written >= events:
                    break
                moment = start + timedelta(hours=step)
                writer.writerow([sample_number(index), f"E{index}-{step}", moment.isoformat(), kind.value,
                                 status.value, "上海浦东转运中心", "Shanghai Pudong Hub"])
                written += 1
    return shipments, path, parcels


@contextmanager
def throwaway_database(url: str | None, workdir: Path) -> Iterator[tuple[str, Engine]]:
    """A fresh, migrated database: an SQLite file in workdir, or a new schema in the given PostgreSQL database."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        engine = make_engine(url or f"sqlite:///{workdir / 'bench.sqlite3'}")
        try:
            upgrade(engine)
            yield "sqlite", engine
        finally:
            engine.dispose()
        return
    schema = f"pd_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, schema=schema)
    try:
        upgrade(engine)
        yield "postgresql", engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def timed_import(sessions: object, kind: str, path: Path, label: str) -> ImportRun:
    """Import a file the way `parceldesk import` does and time it."""
    summary = import_file(sessions, kind, path)  # type: ignore[arg-type]
    outcome = summary.outcome
    return ImportRun(label, summary.rows, summary.seconds, outcome.inserted, outcome.updated, outcome.unchanged,
                     outcome.rejected_rows)


def run_benchmark(settings: Settings, console: Console, *, events: int, per_parcel: int, database_url: str | None,
                  notice_samples: int) -> IngestBenchResults:
    """Measure the import of `events` events (and the re-import), then the notice latency."""
    with tempfile.TemporaryDirectory(prefix="parceldesk-ingest-bench-") as tmp:
        workdir = Path(tmp)
        with console.status("writing the files…"):
            shipments, events_file, parcels = write_files(workdir, events=events, per_parcel=per_parcel)
        with throwaway_database(database_url, workdir) as (backend, engine):
            results = IngestBenchResults(backend, events, parcels)
            sessions = make_sessionmaker(engine)
            with console.status(f"importing {parcels:,} shipments…"):
                results.runs.append(timed_import(sessions, "shipments", shipments, "shipments (JSON Lines)"))
            with console.status(f"importing {events:,} events ({backend})…"):
                results.runs.append(timed_import(sessions, "events", events_file, "events (CSV), first import"))
            with console.status("importing the same events again…"):
                results.runs.append(timed_import(sessions, "events", events_file, "events again (all unchanged)"))
        if notice_samples:
            with console.status(f"timing {notice_samples} delay notices (sandbox, bot, ingestion API)…"):
                results.notice_ms = measure_notice_latency(settings, workdir, notice_samples)
            results.notice_interval_s = settings.notice_job_interval_seconds
    return results


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed_notice_database(url: str, samples: int) -> None:
    """One linked customer and `samples` parcels of theirs in transit, with a recent scan each."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(engine)) as session:
        customer = Customer(code="BENCH1", kind=CustomerKind.PERSONAL, name="测试客户", phone="+8613900009999",
                            address="上海市浦东新区测试路1号", city="上海", preferred_language="zh",
                            telegram_user_id=BENCH_USER)
        session.add(customer)
        session.flush()
        for index in range(samples):
            shipment = Shipment(
                tracking_number=sample_number(index), customer_id=customer.id, sender_name="测试客户",
                sender_phone="+8613900009999", sender_address="上海", sender_city="上海", recipient_name="收件人",
                recipient_phone="+8613900000002", recipient_address="北京", recipient_city="北京",
                weight_kg=Decimal("1.00"), fee=Decimal("12.00"), service_level=ServiceLevel.STANDARD,
                status=ShipmentStatus.IN_TRANSIT, promised_date=date.today() + timedelta(days=2),
                shipped_at=now - timedelta(hours=3),
            )
            session.add(shipment)
            session.flush()
            session.add(TrackingEvent(shipment_id=shipment.id, occurred_at=now - timedelta(hours=1),
                                      kind=EventKind.ARRIVED_HUB, status=ShipmentStatus.IN_TRANSIT,
                                      place_zh="上海浦东转运中心", place_en="Shanghai Pudong Hub"))
    engine.dispose()


def measure_notice_latency(base: Settings, workdir: Path, samples: int) -> list[float]:
    """Milliseconds from POST /v1/events (a delay) to the notice in the owner's chat, once per sample."""
    url = f"sqlite:///{workdir / 'notices.sqlite3'}"
    seed_notice_database(url, samples)
    settings = Settings(
        database_url=url, data_dir=workdir, cache_dir=base.cache_dir, sandbox_port=free_port(),
        ingest_port=free_port(), ingest_token=secrets.token_urlsafe(24), telegram_bot_token=None, sandbox=True,
        telegram_api_url=None, quiet_hours="off", notice_job_interval_seconds=base.notice_job_interval_seconds,
    )  # type: ignore[call-arg]
    supervisor = Supervisor()
    try:
        for service in (sandbox_service(settings, workdir), bot_service(settings, workdir),
                        ingest_service(settings, workdir)):
            supervisor.start(service)
        return asyncio.run(_latencies(settings, samples))
    finally:
        supervisor.stop_all()


async def _latencies(settings: Settings, samples: int) -> list[float]:
    """Post a delay per parcel and wait for each notice."""
    from sandbox.client import SandboxClient

    assert settings.ingest_token is not None
    api = f"http://{settings.connect_host('ingest')}:{settings.ingest_port}"
    headers = {"Authorization": f"Bearer {settings.ingest_token.get_secret_value()}"}
    timings = []
    async with (
        SandboxClient(settings.sandbox_url, token=settings.sandbox_control_token.get_secret_value()) as sandbox,
        httpx.AsyncClient(base_url=api, headers=headers, timeout=10) as client,
    ):
        # Telegram lets a bot write only to people who started a chat with it.
        await sandbox.send_text(BENCH_USER, "/start")
        seen = len(await sandbox.wait_for_bot_messages(BENCH_USER, count=1, timeout=20))
        for index in range(samples):
            # Events arrive at random moments, not in step with the bot's job: wait a random part of its interval.
            await asyncio.sleep(random.uniform(0, settings.notice_job_interval_seconds))
            event = {
                "tracking_number": sample_number(index), "event_id": f"delay-{index}",
                "occurred_at": datetime.now(UTC).isoformat(), "kind": "delayed", "status": "delayed",
                "place_zh": "上海浦东转运中心", "place_en": "Shanghai Pudong Hub", "reason": "weather",
            }
            begin = time.perf_counter()
            response = await client.post("/v1/events", json={"items": [event]})
            response.raise_for_status()
            received = await sandbox.wait_for_bot_messages(BENCH_USER, count=seen + 1, timeout=NOTICE_TIMEOUT_S)
            timings.append((time.perf_counter() - begin) * 1000)
            seen = len(received)
    return timings


def print_results(results: IngestBenchResults, console: Console) -> None:
    """Tables of the throughput and the notice latency."""
    table = Table(title=f"Import on {results.backend}: {results.events:,} events, {results.parcels:,} parcels")
    for column in ("import", "rows", "seconds", "rows/s", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="left" if column == "import" else "right")
    for run in results.runs:
        table.add_row(run.label, f"{run.rows:,}", f"{run.seconds:.1f}", f"{run.per_second:,.0f}", f"{run.inserted:,}",
                      f"{run.updated:,}", f"{run.unchanged:,}", f"{run.rejected:,}")
    console.print(table)
    if results.notice_ms:
        values = sorted(results.notice_ms)
        console.print(
            f"ingested delay → notice in the customer's chat ({len(values)} samples, outbox interval "
            f"{results.notice_interval_s:g} s): median {statistics.median(values):.0f} ms, "
            f"min {values[0]:.0f} ms, max {values[-1]:.0f} ms"
        )
