"""The `parceldesk` command and its sub-apps, run in-process against a temporary SQLite file (and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import demo
from core.db import make_engine, make_sessionmaker, transaction
from core.settings import PROJECT_ROOT
from crm import escalations
from crm.models import AuditEntry, Customer, Shipment, StaffRole
from crm.schema import head_revision
from crm.staff import register_staff
from parceldesk.cli import app
from tests.databases import create_database

GROUPS = {
    "db": ("upgrade", "downgrade", "status", "demo"),
    "staff": ("add", "list", "remove"),
    "desk": ("queue", "audit"),
    "nlu": ("train", "parse", "evaluate", "validate"),
    "engine": ("setup", "path"),
    "learn": ("list", "review", "export", "models", "retrain", "promote", "rollback"),
    "privacy": ("erase", "export", "retention"),
    "import": ("customers", "shipments", "events", "bench"),
    "report": ("notices", "complaints"),
    "complaints": ("list", "show", "assign", "resolve", "reject"),
}
TOP_COMMANDS = ("run", "setup", "bot", "sandbox", "bench", *GROUPS)


def invoke(runner: CliRunner, *args: str) -> Result:
    """Run `parceldesk ARGS…` in-process."""
    return runner.invoke(app, list(args))


def ok(runner: CliRunner, *args: str) -> str:
    """Run a command that must succeed; its output."""
    result = invoke(runner, *args)
    assert result.exit_code == 0, f"parceldesk {' '.join(args)} → {result.exit_code}\n{result.output}"
    return result.output


def rows(output: str) -> list[list[str]]:
    """The body rows of every table printed (header rows use a different bar and are left out)."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in output.splitlines()
            if line.startswith("│") and not line.startswith("│ --")]


def table_after(output: str, title: str) -> list[list[str]]:
    """The body rows of the table printed under a title line."""
    return rows(output.split(title, 1)[1].split("└", 1)[0])


def commands_listed(output: str) -> set[str]:
    """The command names in a help screen's Commands panel."""
    panel = output.split("Commands", 1)[1]
    return {line.strip("│ ").split()[0] for line in panel.splitlines() if line.startswith("│ ") and line[2] != " "}


@pytest.fixture()
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """An engine on the CLI's SQLite file, to look at what the commands did."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def migrated(runner: CliRunner, sqlite_engine: Engine) -> Engine:
    """The SQLite file, migrated by `parceldesk db upgrade`."""
    ok(runner, "db", "upgrade")
    return sqlite_engine


# --- help ----------------------------------------------------------------------------------------------------


def test_without_arguments_the_help_lists_every_command(runner: CliRunner) -> None:
    """Bare `parceldesk` shows the help (usage error code 2) with every command and sub-app."""
    result = invoke(runner)
    assert result.exit_code == 2
    assert "ParcelDesk — customer-service desk for express-delivery companies." in result.output
    assert commands_listed(result.output) == set(TOP_COMMANDS)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_sub_app_has_help_with_its_commands(runner: CliRunner, group: str) -> None:
    """`parceldesk GROUP --help` describes the group and lists exactly its commands, each with a summary."""
    output = ok(runner, group, "--help")
    assert commands_listed(output) == set(GROUPS[group])
    for name in GROUPS[group]:
        line = next(line for line in output.splitlines() if line.startswith(f"│ {name} "))
        assert len(line.strip("│ ").split()) > 2, f"{group} {name} has no summary: {line!r}"
    # A group without a command is its help, not an error that does something.
    bare = invoke(runner, group)
    assert bare.exit_code == 2 and "Usage:" in bare.output


def test_nlu_help_texts_say_what_the_commands_read_and_write(runner: CliRunner) -> None:
    """The nlu group says what it is for; parse documents stdin/JSON lines, evaluate its pipelines and output."""
    assert "The intent model: train, validate, test." in ok(runner, "nlu", "--help")
    assert "The Rasa engine environment (Python 3.10)." in ok(runner, "engine", "--help")
    parse = ok(runner, "nlu", "parse", "--help")
    assert "Read utterances (one per line) on stdin" in parse and "--model" in parse
    evaluate = ok(runner, "nlu", "evaluate", "--help")
    assert "--pipeline" in evaluate and "parceldesk, parceldesk-before, parceldesk-sparse, rasa-stock" in evaluate
    assert "--set" in evaluate and "heldout (the clean set), noisy, loose, offtopic" in evaluate
    assert "nlu/results/heldout" in evaluate
    assert "--force" in ok(runner, "nlu", "train", "--help")


def test_nlu_evaluate_rejects_an_unknown_pipeline_before_any_training(runner: CliRunner) -> None:
    """An unknown -p name fails at once with the names that exist (no engine is built)."""
    result = invoke(runner, "nlu", "evaluate", "-p", "no-such-pipeline")
    assert result.exit_code == 1
    assert "unknown pipeline 'no-such-pipeline'" in result.stderr
    assert "parceldesk, parceldesk-before, parceldesk-sparse, rasa-stock" in result.stderr


def test_nlu_evaluate_rejects_an_unknown_eval_set_before_any_training(runner: CliRunner) -> None:
    """An unknown --set name fails at once with the sets that exist (no engine is built)."""
    result = invoke(runner, "nlu", "evaluate", "-p", "parceldesk", "--set", "no-such-set")
    assert result.exit_code == 1
    assert "unknown eval set(s) no-such-set: use heldout, noisy, loose, offtopic" in result.stderr


def test_python_dash_m_parceldesk_is_the_same_cli() -> None:
    """`python -m parceldesk --help` runs the CLI under the name parceldesk."""
    result = subprocess.run(
        [sys.executable, "-m", "parceldesk", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PARCELDESK_")}, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: parceldesk [OPTIONS] COMMAND [ARGS]..." in result.stdout
    assert "learn" in result.stdout and "staff" in result.stdout


# --- settings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [("db", "status"), ("db", "upgrade"), ("staff", "list"), ("desk", "queue"), ("learn", "models")]
)
def test_invalid_settings_exit_2_naming_every_problem(
    runner: CliRunner, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """Bad PARCELDESK_* values: exit code 2, each bad setting named on stderr, nothing touched."""
    monkeypatch.setenv("PARCELDESK_RASA_PORT", "not-a-port")
    monkeypatch.setenv("PARCELDESK_STAFFED_HOURS", "22:00-08:00")
    result = invoke(runner, *command)
    assert result.exit_code == 2, result.output
    assert "Invalid settings (environment variables PARCELDESK_* or .env):" in result.stderr
    assert "• rasa_port: Input should be a valid integer" in result.stderr
    assert "• staffed_hours: Value error, staffed hours '22:00-08:00'" in result.stderr
    assert result.stdout == ""
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_settings_come_from_a_dot_env_in_the_working_directory(
    runner: CliRunner, sqlite_url: str, clean_env: Path
) -> None:
    """A .env file in the current directory is read (and validated) like the environment."""
    (clean_env / ".env").write_text("PARCELDESK_STAFF_LANGUAGE=fr\n", encoding="utf-8")
    result = invoke(runner, "db", "status")
    assert result.exit_code == 2
    assert "• staff_language: Value error, staff_language must be zh or en" in result.stderr


# --- db ---------------------------------------------------------------------------------------------------------


def test_db_status_upgrade_and_downgrade(runner: CliRunner, sqlite_url: str) -> None:
    """status says 'not migrated'; upgrade migrates to head; status counts rows; downgrade base undoes it."""
    head = head_revision()
    assert head
    before = ok(runner, "db", "status")
    assert f"database: {sqlite_url}" in before
    assert f"revision: not migrated (code head: {head})" in before
    assert rows(before) == []

    assert f"✓ migrated {sqlite_url} to head" in ok(runner, "db", "upgrade")
    status = ok(runner, "db", "status")
    assert f"revision: {head} (code head: {head})" in status
    assert rows(status) == [[table, "0"] for table in (
        "customers", "shipments", "tracking_events", "complaints", "escalations", "staff", "chat_messages"
    )]

    assert "✓ downgraded to base" in ok(runner, "db", "downgrade", "base")
    assert "revision: not migrated" in ok(runner, "db", "status")


def test_db_status_on_a_postgresql_schema(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PARCELDESK_DATABASE_SCHEMA the CLI looks inside that schema (migrated there, so at head)."""
    for database in create_database("postgresql", tmp_path):
        for name, value in database.env.items():
            monkeypatch.setenv(name, value)
        status = ok(runner, "db", "status")
        assert f"revision: {head_revision()} (code head: {head_revision()})" in status
        assert ["staff", "0"] in rows(status)


def test_db_demo_loads_once_and_refuses_a_database_that_is_not_empty(runner: CliRunner, sqlite_engine: Engine) -> None:
    """`db demo` migrates and loads the company; a second run exits 1 with the reason and changes nothing."""
    loaded = ok(runner, "db", "demo", "--customers", "20", "--shipments", "40", "--today", "2026-11-18")
    assert "✓ 20 customers, 40 shipments" in loaded and "as of 2026-11-18" in loaded

    again = invoke(runner, "db", "demo", "--customers", "20", "--shipments", "40", "--today", "2026-11-18")
    assert again.exit_code == 1
    assert "the database already has shipments; use a fresh database" in again.stderr
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Shipment)) == 40
        assert session.scalar(select(func.count()).select_from(Customer)) == 20
    assert ["shipments", "40"] in rows(ok(runner, "db", "status"))


def test_db_demo_without_the_demo_extra_says_how_to_install_it(
    runner: CliRunner, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Faker, `db demo` names the optional extra and touches no database."""
    monkeypatch.setattr(demo, "demo_available", lambda: False)
    result = invoke(runner, "db", "demo")
    assert result.exit_code == 1
    assert "pip install -e '.[demo]'" in result.stderr
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


# --- staff and desk -----------------------------------------------------------------------------------------


def test_staff_add_list_remove_are_audited(runner: CliRunner, migrated: Engine) -> None:
    """Staff are added, updated, listed by role, deactivated (kept with --all), and every change is audited."""
    assert "✓ Ada (1001) is admin" in ok(runner, "staff", "add", "1001", "Ada", "--role", "admin")
    assert "✓ Bo (1002) is agent" in ok(runner, "staff", "add", "1002", "Bo")
    assert "✓ Bo Li (1002) is supervisor" in ok(runner, "staff", "add", "1002", "Bo Li", "--role", "supervisor")
    assert sorted(rows(ok(runner, "staff", "list"))) == [["1001", "Ada", "admin", "yes"],
                                                         ["1002", "Bo Li", "supervisor", "yes"]]

    bad_role = invoke(runner, "staff", "add", "1003", "Cy", "--role", "boss")
    assert bad_role.exit_code == 1
    assert "unknown role 'boss'; choose one of: agent, supervisor, manager, admin" in bad_role.stderr

    assert "✓ 1002 deactivated" in ok(runner, "staff", "remove", "1002")
    assert rows(ok(runner, "staff", "list")) == [["1001", "Ada", "admin", "yes"]]
    assert ["1002", "Bo Li", "supervisor", "no"] in rows(ok(runner, "staff", "list", "--all"))
    unknown = invoke(runner, "staff", "remove", "999")
    assert unknown.exit_code == 1 and "no staff member with Telegram id 999" in unknown.stderr

    with Session(migrated) as session:
        audited = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.actor, e.action, e.subject_id, (e.details or {}).get("to")) for e in audited] == [
            ("command line", "role_change", "1001", "admin"),
            ("command line", "role_change", "1002", "agent"),
            ("command line", "role_change", "1002", "supervisor"),
            ("command line", "role_change", "1002", None),
        ]
    audit = rows(ok(runner, "desk", "audit", "--action", "role_change", "--limit", "2"))
    assert [(row[1], row[2], row[3]) for row in audit] == [
        ("command line", "role_change", "staff 1002"), ("command line", "role_change", "staff 1002")
    ]
    assert rows(ok(runner, "desk", "audit", "--action", "profile_view")) == []


def test_the_last_admin_stays_and_the_audit_filters_by_staff_and_customer(
    runner: CliRunner, migrated: Engine
) -> None:
    """`staff remove` / a demotion of the only admin is refused; `desk audit --staff/--customer` filter."""
    ok(runner, "staff", "add", "1101", "Ada", "--role", "admin")
    for args in (("staff", "remove", "1101"), ("staff", "add", "1101", "Ada", "--role", "agent")):
        refused = invoke(runner, *args)
        assert refused.exit_code == 1 and "1101 is the last admin" in refused.stderr
    assert rows(ok(runner, "staff", "list")) == [["1101", "Ada", "admin", "yes"]]
    ok(runner, "staff", "add", "1102", "Grace", "--role", "admin")
    assert "✓ 1101 deactivated" in ok(runner, "staff", "remove", "1101")

    with transaction(make_sessionmaker(migrated)) as session:
        session.add_all([
            AuditEntry(actor="Wu", actor_telegram_user_id=2101, action="profile_view", subject_kind="customer",
                       subject_id="77", created_at=datetime(2026, 11, 20, tzinfo=UTC)),
            AuditEntry(actor="Li", actor_telegram_user_id=2102, action="profile_denied", subject_kind="customer",
                       subject_id="77", created_at=datetime(2026, 11, 21, tzinfo=UTC)),
        ])
    by_wu = rows(ok(runner, "desk", "audit", "--staff", "2101"))
    assert [(row[1], row[2], row[3]) for row in by_wu] == [("Wu", "profile_view", "customer 77")]
    about = rows(ok(runner, "desk", "audit", "--customer", "77"))
    assert [(row[1], row[2]) for row in about] == [("Li", "profile_denied"), ("Wu", "profile_view")]
    unknown = invoke(runner, "desk", "audit", "--customer", "NOPE")
    assert unknown.exit_code == 1 and "no customer with code 'NOPE'" in unknown.stderr


def test_desk_queue_ranks_waiting_escalations_and_lists_claimed_ones(runner: CliRunner, migrated: Engine) -> None:
    """`desk queue`: empty tables first; then waiting by priority (bot failure above a plain request), claimed apart."""
    empty = ok(runner, "desk", "queue")
    assert "waiting" in empty and "in progress" in empty and rows(empty) == []

    policy = escalations.QueuePolicy()
    with transaction(make_sessionmaker(migrated)) as session:
        register_staff(session, 2001, "Agent Wu", StaffRole.AGENT)
        asked = escalations.open_escalation(session, 501, "request_human", policy=policy, language="en")
        failed = escalations.open_escalation(session, 502, "bot_failure", policy=policy, language="zh")
        taken = escalations.open_escalation(session, 503, "repeated_misses", policy=policy)
        assert escalations.claim(session, taken.escalation_id, 2001, policy=policy).won

    output = ok(runner, "desk", "queue")
    waiting = table_after(output, "waiting")
    assert [(row[0], row[1], row[4], row[5]) for row in waiting] == [
        ("1", str(failed.escalation_id), "bot_failure", "zh"),
        ("2", str(asked.escalation_id), "request_human", "en"),
    ]
    assert int(waiting[0][2]) > int(waiting[1][2])  # priority
    claimed = table_after(output, "in progress")
    assert [(row[0], row[1], row[3]) for row in claimed] == [(str(taken.escalation_id), "Agent Wu", "repeated_misses")]
