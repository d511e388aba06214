"""`parceldesk import bench` without the running system: the generated files, the timed imports on a throwaway
SQLite file or PostgreSQL schema (first run inserts, the second finds everything unchanged), the printed tables, and
the command itself with a tiny --events and no notice samples. No timings are asserted."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from core.settings import Settings
from crm.waybills import is_valid
from parceldesk import cli_import
from parceldesk.cli import app
from parceldesk.ingestbench import (
    FINISH,
    ImportRun,
    IngestBenchResults,
    print_results,
    run_benchmark,
    write_files,
)
from tests.databases import postgres_url, require_postgres


def test_the_files_hold_exactly_the_events_asked_for(tmp_path: Path) -> None:
    """25 events at 10 a parcel: 3 parcels (the last one shorter), valid numbers, unique event ids, each parcel's
    scans in order from "created" and full ones ending delivered."""
    shipments, events, parcels = write_files(tmp_path, events=25, per_parcel=10)
    assert parcels == 3
    parcels_rows = [json.loads(line) for line in shipments.read_text(encoding="utf-8").splitlines()]
    assert len(parcels_rows) == 3 and all(is_valid(row["tracking_number"]) for row in parcels_rows)
    with events.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 25 and len({row["event_id"] for row in rows}) == 25
    per_parcel = Counter(row["tracking_number"] for row in rows)
    assert sorted(per_parcel.values()) == [5, 10, 10]
    assert set(per_parcel) == {row["tracking_number"] for row in parcels_rows}
    for number, count in per_parcel.items():
        timeline = [row for row in rows if row["tracking_number"] == number]
        assert timeline[0]["kind"] == "created"
        assert [row["occurred_at"] for row in timeline] == sorted(row["occurred_at"] for row in timeline)
        if count == 10:
            assert [(row["kind"], row["status"]) for row in timeline[-2:]] == [
                (kind.value, status.value) for kind, status in FINISH]


def schemas() -> set[str]:
    """The bench's throwaway schemas now in the PostgreSQL test database."""
    engine = create_engine(postgres_url())
    try:
        with engine.connect() as connection:
            return set(connection.scalars(text(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'pd_bench_%'")))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_benchmark_imports_then_finds_everything_unchanged(backend: str, tmp_path: Path) -> None:
    """40 events on a throwaway database: shipments and events inserted, then the same events all unchanged; the
    throwaway PostgreSQL schema is dropped afterwards."""
    url = None
    before: set[str] = set()
    if backend == "postgresql":
        require_postgres()
        url, before = postgres_url(), schemas()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}", data_dir=tmp_path)  # type: ignore[call-arg]
    results = run_benchmark(settings, Console(file=None, quiet=True), events=40, per_parcel=8, database_url=url,
                            notice_samples=0)
    assert (results.backend, results.events, results.parcels, results.notice_ms) == (backend, 40, 5, [])
    assert [(run.rows, run.inserted, run.updated, run.unchanged, run.rejected) for run in results.runs] == [
        (5, 5, 0, 0, 0), (40, 40, 0, 0, 0), (40, 0, 0, 40, 0)]
    assert all(run.seconds > 0 and run.per_second > 0 for run in results.runs)
    if backend == "postgresql":
        assert schemas() == before


def test_the_tables_show_every_import_and_the_notice_latency() -> None:
    """One row per import with its counts; the latency line gives the median, min and max."""
    results = IngestBenchResults("sqlite", 100, 10, notice_ms=[120.0, 80.0, 100.0], notice_interval_s=1.0)
    results.runs = [ImportRun("events (CSV), first import", 100, 0.5, 100, 0, 0, 0),
                    ImportRun("events again (all unchanged)", 100, 0.25, 0, 0, 100, 0)]
    console = Console(record=True, width=200, color_system=None)
    print_results(results, console)
    output = console.export_text()
    assert "Import on sqlite: 100 events, 10 parcels" in output
    assert "events (CSV), first import" in output and "200" in output  # 100 rows in 0.5 s
    assert "events again (all unchanged)" in output and "400" in output
    assert "(3 samples, outbox interval 1 s): median 100 ms, min 80 ms, max 120 ms" in output


def test_the_command_runs_a_tiny_benchmark(runner: CliRunner, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                           ) -> None:
    """`parceldesk import bench --events 20 --per-parcel 5 --notice-samples 0` prints the import table."""
    monkeypatch.setattr(cli_import, "console", Console(width=250, color_system=None))
    result = runner.invoke(app, ["import", "bench", "--events", "20", "--per-parcel", "5", "--notice-samples", "0"])
    assert result.exit_code == 0, result.output
    assert "Import on sqlite: 20 events, 4 parcels" in result.output
    for label in ("shipments (JSON Lines)", "events (CSV), first import", "events again (all unchanged)"):
        assert label in result.output
    assert "notice" not in result.output.split("parcels", 1)[1]
    assert runner.invoke(app, ["import", "bench", "--events", "5"]).exit_code != 0  # at least 10 events
