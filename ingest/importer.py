"""`parceldesk import`: a CSV or JSON Lines file through the same validation and upsert as the HTTP API.

Valid rows are written, refused rows are counted with their reasons. A real run commits every `chunk_size` rows, so
a long import never holds the database for long (the bot and the action server keep writing); an interrupted one
is simply run again (nothing is written twice). A dry run does exactly the same work in one transaction and
rolls it back, so its summary is the real run's.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from ingest.files import ImportFileError, detect_format, read_rows
from ingest.records import RECORDS, row_errors
from ingest.upsert import IngestPolicy, Item, Outcome, upsert

DEFAULT_CHUNK = 1000


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do)."""

    kind: str
    path: Path
    file_format: str
    dry_run: bool
    rows: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole import (reading, validating, writing)."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def import_file(
    sessions: sessionmaker[Session],
    kind: str,
    path: Path,
    *,
    file_format: str | None = None,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    notify: bool = True,
    notice_max_age: timedelta = timedelta(hours=48),
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import one file of customers, shipments or events; progress gets the bytes read so far."""
    if kind not in RECORDS:
        raise ImportFileError(f"unknown kind {kind!r}; valid: {', '.join(RECORDS)}")
    record = RECORDS[kind]
    summary = ImportSummary(kind, path, detect_format(path, file_format), dry_run)
    started = time.perf_counter()
    session = sessions()

    def write(batch: list[Item]) -> None:
        if batch:
            policy = IngestPolicy(now=utcnow(), notify=notify, notice_max_age=notice_max_age)
            summary.outcome.add(upsert(session, kind, batch, policy))
        if dry_run:
            session.flush()
        else:
            session.commit()
        # Written rows need not stay in memory: the next chunk looks up what it needs.
        session.expunge_all()

    try:
        with path.open("rb") as raw:
            stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            batch: list[Item] = []
            try:
                for raw_row in read_rows(stream, summary.file_format, record):
                    summary.rows += 1
                    if raw_row.error is not None or raw_row.fields is None:
                        if raw_row.error is not None:
                            summary.outcome.rejected.append(raw_row.error)
                        continue
                    try:
                        batch.append((raw_row.row, record.model_validate(raw_row.fields)))
                    except ValidationError as exc:
                        summary.outcome.rejected.extend(row_errors(exc, raw_row.row))
                    if len(batch) >= chunk_size:
                        write(batch)
                        batch = []
                        if progress is not None:
                            progress(raw.tell())
            except UnicodeDecodeError as exc:
                raise ImportFileError(f"the file is not UTF-8 (after row {summary.rows}): {exc.reason}") from exc
            write(batch)
            if progress is not None:
                progress(raw.tell())
        if dry_run:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    summary.seconds = time.perf_counter() - started
    return summary
