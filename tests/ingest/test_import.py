"""`parceldesk import`: CSV and JSON Lines through the API's validation; dry run and real run agree; the samples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.settings import PROJECT_ROOT
from crm.models import Customer, Shipment, ShipmentStatus, TrackingEvent
from ingest.files import ImportFileError
from ingest.importer import ImportSummary, import_file
from parceldesk import cli_import
from parceldesk.cli import app
from tests.ingest.conftest import IngestDatabase, customer_item, event_item, new_number, shipment_item

SAMPLES = PROJECT_ROOT / "docs" / "samples"


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    """A CSV file with a header of every field used."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def counts(summary: ImportSummary) -> tuple[int, int, int, int, list[tuple[int, str | None]]]:
    """inserted, updated, unchanged, rejected rows, and where the refusals are."""
    outcome = summary.outcome
    return (outcome.inserted, outcome.updated, outcome.unchanged, outcome.rejected_rows,
            [(error.row, error.field) for error in outcome.rejected])


def stored_events(db: IngestDatabase, number: str) -> int:
    """How many events a parcel has."""
    with db.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(TrackingEvent).join(Shipment).where(Shipment.tracking_number == number)
        ) or 0


def test_csv_dry_run_and_real_run_agree(ingest_db: IngestDatabase, tmp_path: Path) -> None:
    """The dry run reports exactly what the real run then does, and writes nothing; a rerun changes nothing."""
    numbers = [new_number() for _ in range(3)]
    shipments = write_csv(tmp_path / "shipments.csv", [shipment_item(n) for n in numbers])
    assert counts(import_file(ingest_db.sessions, "shipments", shipments))[:4] == (3, 0, 0, 0)
    rows = [event_item(n, f"E-{i}", hours=i) for n in numbers for i in range(4)]
    rows.append(event_item(numbers[0], "E-0", hours=0, note="corrected"))  # the same event again, changed
    rows.append(event_item(numbers[1], "E-9", status="beamed"))  # line 15: unknown status
    rows.append(event_item(new_number(), "E-1"))  # line 16: a parcel nobody sent
    rows.append(event_item(numbers[2], "E-8", occurred_at="yesterday"))  # line 17: not a time
    events = write_csv(tmp_path / "events.csv", rows)

    dry = import_file(ingest_db.sessions, "events", events, dry_run=True, chunk_size=20)
    assert stored_events(ingest_db, numbers[0]) == 0
    real = import_file(ingest_db.sessions, "events", events, chunk_size=20)
    assert counts(dry) == counts(real)
    # The same event twice in one chunk: the later (corrected) one wins, the earlier counts as unchanged.
    assert counts(real) == (12, 0, 1, 3, [(15, "status"), (17, "occurred_at"), (16, "tracking_number")])
    assert [stored_events(ingest_db, n) for n in numbers] == [4, 4, 4]

    again = import_file(ingest_db.sessions, "events", events, dry_run=True)
    assert counts(again)[:4] == (0, 0, 13, 3)


def test_json_lines_with_a_broken_line(ingest_db: IngestDatabase, tmp_path: Path) -> None:
    """A line that is not JSON (or not an object) is refused on its own; the others are imported."""
    number = new_number()
    path = tmp_path / "shipments.jsonl"
    path.write_text(
        json.dumps(shipment_item(number)) + "\n{oops\n\n[1, 2]\n", encoding="utf-8"
    )
    summary = import_file(ingest_db.sessions, "shipments", path)
    assert counts(summary) == (1, 0, 0, 2, [(2, None), (4, None)])
    with ingest_db.sessions() as session:
        assert session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()


def test_an_unknown_column_refuses_the_file(ingest_db: IngestDatabase, tmp_path: Path) -> None:
    """A typo in the header is a file-level error naming the column and the valid ones."""
    path = write_csv(tmp_path / "customers.csv", [{**customer_item("T9999999"), "nmae": "x"}])
    with pytest.raises(ImportFileError, match="nmae"):
        import_file(ingest_db.sessions, "customers", path)


def test_the_sample_files_import_cleanly(ingest_db: IngestDatabase) -> None:
    """docs/samples: customers, shipments, events (CSV and JSON Lines) import with no refusal, and again unchanged."""
    for kind, name in (("customers", "customers.csv"), ("shipments", "shipments.csv"), ("events", "events.csv"),
                       ("events", "events.jsonl")):
        first = import_file(ingest_db.sessions, kind, SAMPLES / name, notify=False)
        assert first.outcome.rejected == [], (name, first.outcome.rejected)
        second = import_file(ingest_db.sessions, kind, SAMPLES / name, notify=False)
        assert second.outcome.unchanged == second.rows, name
    with ingest_db.sessions() as session:
        delayed = session.scalars(select(Shipment).where(Shipment.tracking_number == "XJ202612010001")).one()
        assert (delayed.status, delayed.status_reason) == (ShipmentStatus.DELAYED, "weather")
        delivered = session.scalars(select(Shipment).where(Shipment.tracking_number == "XJ202612010002")).one()
        assert delivered.status is ShipmentStatus.DELIVERED and delivered.delivered_at is not None
        company = session.scalars(select(Customer).where(Customer.code == "K100002")).one()
        assert company.kind.value == "company"


def test_the_command_prints_a_summary_and_exits_1_on_refusals(
    ingest_db: IngestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`parceldesk import customers FILE --dry-run`: the counts, each refusal, exit 1; --errors writes them all."""
    from rich.console import Console

    monkeypatch.setattr(cli_import, "console", Console(width=200, color_system=None))
    monkeypatch.setenv("PARCELDESK_DATABASE_URL", ingest_db.database.url)
    if ingest_db.database.schema:
        monkeypatch.setenv("PARCELDESK_DATABASE_SCHEMA", ingest_db.database.schema)
    path = write_csv(tmp_path / "customers.csv", [customer_item("T8000001"), customer_item("T8000002", kind="robot")])
    errors = tmp_path / "errors.csv"
    result = CliRunner().invoke(app, ["import", "customers", str(path), "--dry-run", "--errors", str(errors)])
    assert result.exit_code == 1, result.output
    assert "dry run" in result.output
    assert "row 3, kind: unknown kind 'robot'; valid: personal, company" in result.output
    assert errors.read_text(encoding="utf-8").splitlines()[1].startswith("3,kind,")
    with ingest_db.sessions() as session:
        assert session.scalar(select(Customer).where(Customer.code == "T8000001")) is None
