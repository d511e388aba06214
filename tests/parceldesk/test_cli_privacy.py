"""`parceldesk privacy erase | export | retention` against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import make_sessionmaker, transaction
from crm.chats import sender_id
from crm.models import AuditEntry, Complaint, Shipment
from parceldesk import cli_privacy
from parceldesk.cli import app
from tests.databases import TestDatabase, create_database
from tests.privacy.search import add_event, events_of, search_database, search_rasa_events
from tests.privacy.story import COMPLAINT, NAME, SAID, Story, tell_story


@pytest.fixture()
def desk(database_backend: str, tmp_path: Path, runner: CliRunner,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[TestDatabase]:
    """A migrated database the CLI is pointed at (by environment, as in production); Rasa's table lands in it."""
    monkeypatch.setattr(cli_privacy, "console", Console(width=250, color_system=None))
    # `privacy erase` waits twice the Rasa timeout before its second pass: a tenth of a second here.
    monkeypatch.setenv("PARCELDESK_RASA_TIMEOUT_SECONDS", "0.05")
    for database in create_database(database_backend, tmp_path):
        monkeypatch.setenv("PARCELDESK_DATABASE_URL", database.url)
        if database.schema:
            monkeypatch.setenv("PARCELDESK_DATABASE_SCHEMA", database.schema)
        yield database


def story_in(database: TestDatabase, **options: object) -> Story:
    """The customer story, committed, with the customer's conversation in Rasa's events table."""
    with transaction(make_sessionmaker(database.engine)) as session:
        return tell_story(session, **options)  # type: ignore[arg-type]


def invoke(runner: CliRunner, *args: str, answer: str | None = None) -> Result:
    """Run `parceldesk ARGS…` in-process (answering a confirmation prompt if given)."""
    return runner.invoke(app, list(args), input=answer)


def totals(session: Session) -> tuple[int, Counter[tuple[str, str]]]:
    """Shipments, and complaints per category and status."""
    shipments = int(session.scalar(select(func.count()).select_from(Shipment)) or 0)
    complaints = Counter((c.value, s.value) for c, s in session.execute(select(Complaint.category, Complaint.status)))
    return shipments, complaints


def test_erase_asks_then_leaves_nothing_to_find(runner: CliRunner, desk: TestDatabase) -> None:
    """`privacy erase --customer CODE`: "no" changes nothing; "yes" erases everywhere, counts unchanged, audited."""
    database = desk
    story = story_in(database)
    with Session(database.engine) as session:
        before = totals(session)
    declined = invoke(runner, "privacy", "erase", "--customer", "P000001", answer="n\n")
    assert declined.exit_code == 1 and "cannot be undone" in declined.output
    with Session(database.engine) as session:
        assert search_database(session, [NAME]) != [] and search_rasa_events(session, [NAME]) != []

    result = invoke(runner, "privacy", "erase", "--customer", str(story.customer_id), answer="y\n")
    assert result.exit_code == 0, result.output
    assert "✓ erased" in result.output and "rasa events" in result.output
    with Session(database.engine) as session:
        assert search_database(session, list(story.texts), list(story.phones)) == []
        assert totals(session) == before
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy_erasure")).one()
        assert entry.actor == "command line" and entry.details is not None and entry.details["requested_by"] == "admin"
    with database.engine.connect() as connection:
        assert search_rasa_events(connection, list(story.texts), list(story.phones)) == []


def test_erase_deletes_what_a_running_rasa_turn_writes_back(runner: CliRunner, desk: TestDatabase,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A Rasa turn still running during the erasure saves the whole conversation again when it ends (Rasa 3.6 stores
    the events beyond the number it finds stored, 0 after the erasure): the CLI waits twice the Rasa timeout, then
    deletes the conversation once more. With --no-wait it does not wait, and says what that risks."""
    story = story_in(desk)
    sender = sender_id(story.chat_id)
    waited: list[float] = []

    def rasa_turn_ends(seconds: float) -> None:
        """While the CLI waits, the turn ends and Rasa's SQLTrackerStore.save writes the tracker's events back."""
        waited.append(seconds)
        with transaction(make_sessionmaker(desk.engine)) as session:
            add_event(session, sender, "user", {"text": SAID})
            add_event(session, sender, "bot", {"text": f"好的，{NAME}"})

    monkeypatch.setattr(cli_privacy, "pause", rasa_turn_ends)
    result = invoke(runner, "privacy", "erase", "--customer", str(story.customer_id), "--yes")
    assert result.exit_code == 0, result.output
    assert waited == [pytest.approx(0.1)] and "Waiting 0 s for a Rasa turn" in result.output
    assert "rasa events (second pass) │ 2" in result.output
    with desk.engine.connect() as connection:
        assert events_of(connection, sender) == 0
        assert search_rasa_events(connection, list(story.texts), list(story.phones)) == []

    second = story_in(desk, chat_id=772345678, code="P000011")
    waited.clear()
    hurried = invoke(runner, "privacy", "erase", "--chat", str(second.chat_id), "--yes", "--no-wait")
    assert hurried.exit_code == 0, hurried.output
    assert waited == [] and "second pass" not in hurried.output
    assert "use it only while Rasa is stopped" in hurried.output
    with desk.engine.connect() as connection:
        assert events_of(connection, sender_id(second.chat_id)) == 0


def test_erase_refuses_while_parcels_are_under_way(runner: CliRunner, desk: TestDatabase) -> None:
    """A parcel in transit: a clear refusal naming it (nothing erased); --force --yes erases."""
    database = desk
    story = story_in(database, in_transit=True)
    refused = invoke(runner, "privacy", "erase", "--chat", str(story.chat_id), "--yes")
    assert refused.exit_code == 1 and "still under way" in refused.output and "XJ2026112" in refused.output
    with Session(database.engine) as session:
        assert search_database(session, [COMPLAINT]) != []
    forced = invoke(runner, "privacy", "erase", "--chat", str(story.chat_id), "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    with Session(database.engine) as session:
        assert search_database(session, list(story.texts), list(story.phones)) == []


def test_export_prints_the_customers_data_as_json(runner: CliRunner, desk: TestDatabase,
                                                  tmp_path: Path) -> None:
    """`privacy export --customer ID`: JSON on stdout, or a file readable by its owner only."""
    database = desk
    story = story_in(database)
    printed = invoke(runner, "privacy", "export", "--customer", str(story.customer_id))
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.stdout)
    assert document["customer"]["name"] == NAME and document["complaints"][0]["description"] == COMPLAINT
    target = tmp_path / "export.json"
    written = invoke(runner, "privacy", "export", "--customer", "P000001", "--output", str(target))
    assert written.exit_code == 0, written.output
    assert json.loads(target.read_text(encoding="utf-8"))["customer"]["code"] == "P000001"
    assert target.stat().st_mode & 0o077 == 0
    assert invoke(runner, "privacy", "export", "--customer", "nobody").exit_code == 1


def test_retention_dry_run_reports_and_changes_nothing(runner: CliRunner, desk: TestDatabase) -> None:
    """`privacy retention --dry-run` prints every kind with its cutoff; a real run on fresh data changes nothing."""
    database = desk
    story_in(database)
    dry = invoke(runner, "privacy", "retention", "--dry-run")
    assert dry.exit_code == 0, dry.output
    for kind in ("chat_texts", "complaint_texts", "audit_entries", "rasa_events"):
        assert kind in dry.output
    assert "0 row(s) due" in dry.output
    done = invoke(runner, "privacy", "retention")
    assert done.exit_code == 0 and "0 row(s) masked or deleted" in done.output
    with Session(database.engine) as session:
        assert search_database(session, [NAME]) != []
