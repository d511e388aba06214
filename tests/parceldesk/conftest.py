"""Fixtures for the roof: a clean environment, a wide console and a CLI runner on a temporary SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from parceldesk import cli, cli_complaints, cli_db, cli_learn, cli_nlu, cli_report, cli_staff
from parceldesk import console as console_module
from tests.databases import TestDatabase, create_database


@pytest.fixture()
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No PARCELDESK_* or token from the caller's environment, and no .env (cwd is an empty folder)."""
    for name in list(os.environ):
        if (name.startswith("PARCELDESK_") and not name.startswith("PARCELDESK_TEST_")) or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


@pytest.fixture()
def sqlite_url(clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """PARCELDESK_DATABASE_URL pointing at a fresh (not yet created) SQLite file."""
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    monkeypatch.setenv("PARCELDESK_DATABASE_URL", url)
    return url


@pytest.fixture()
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles (made at import) and Typer's help (made per call, reads COLUMNS) print wide and plain."""
    monkeypatch.setenv("COLUMNS", "250")
    wide = Console(width=250, color_system=None)
    for module in (console_module, cli, cli_db, cli_staff, cli_nlu, cli_learn, cli_complaints, cli_report):
        monkeypatch.setattr(module, "console", wide)
    wide_err = Console(width=250, color_system=None, stderr=True)
    for module in (console_module, cli_learn):
        monkeypatch.setattr(module, "err", wide_err)


@pytest.fixture()
def runner(clean_env: Path, wide_consoles: None) -> CliRunner:
    """A CLI runner in a clean environment with wide, plain output (no wrapped table cells, no colour codes)."""
    return CliRunner()


@pytest.fixture()
def cli_database(
    runner: CliRunner, database_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    """A fresh migrated database per backend, the CLI pointed at it by environment (as in production)."""
    for database in create_database(database_backend, tmp_path):
        monkeypatch.setenv("PARCELDESK_DATABASE_URL", database.url)
        if database.schema:
            monkeypatch.setenv("PARCELDESK_DATABASE_SCHEMA", database.schema)
        yield database
