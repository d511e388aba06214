"""Reading import files: CSV (with a header row) and JSON Lines (one object per line), row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ingest.records import Record, RowError

FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (unknown format, bad header, not UTF-8)."""


@dataclass(frozen=True)
class RawRow:
    """One row as read: its line number, and its fields or why it could not be read."""

    row: int
    fields: dict[str, Any] | None
    error: RowError | None = None


def detect_format(path: Path, given: str | None = None) -> str:
    """csv or jsonl: as given, else from the file name."""
    if given is not None:
        if given not in FORMATS:
            raise ImportFileError(f"unknown format {given!r}; valid: {', '.join(FORMATS)}")
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ImportFileError(f"cannot tell the format of {path.name}: name it .csv or .jsonl, or pass --format")
    return found


def read_csv(stream: TextIO, record: type[Record]) -> Iterator[RawRow]:
    """CSV rows as dicts; the header must name fields of the record (unknown columns are refused at once)."""
    reader = csv.DictReader(stream)
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError("the CSV file has no header row")
    unknown = [name for name in header if name not in record.model_fields]
    if unknown:
        raise ImportFileError(
            f"unknown column(s) {', '.join(unknown)}; valid: {', '.join(record.model_fields)}"
        )
    reader.fieldnames = header
    for values in reader:
        # reader.line_num is the line the row ended on: with quoted line breaks, the row's last line.
        row = reader.line_num
        if None in values:
            yield RawRow(row, None, RowError(row, None, "more cells than columns in the header"))
            continue
        yield RawRow(row, {name: value for name, value in values.items() if value is not None})


def read_jsonl(stream: TextIO) -> Iterator[RawRow]:
    """JSON Lines rows as dicts; blank lines are skipped."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(number, None, RowError(number, None, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(value, dict):
            yield RawRow(number, None, RowError(number, None, "each line must be a JSON object"))
            continue
        yield RawRow(number, value)


def read_rows(stream: TextIO, file_format: str, record: type[Record]) -> Iterator[RawRow]:
    """The rows of an open import file."""
    if file_format == "csv":
        return read_csv(stream, record)
    return read_jsonl(stream)
