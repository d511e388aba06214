"""`parceldesk report notices` in-process on SQLite and PostgreSQL: notices written and handled the way the
ingestion and the bot's job do it (enqueue, claim through the quiet hours, sent / failed / skipped), then the
printed counts per parcel status and in total, with and without --since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import make_sessionmaker, transaction
from core.hours import parse_quiet_hours
from crm import notices
from crm.models import Notice, NoticeState, ShipmentStatus
from crm.notices import StatusChange
from parceldesk.cli import app
from tests.crm.factories import make_customer, make_shipment
from tests.databases import TestDatabase

QUIET = parse_quiet_hours("22:00-08:00")
MAX_AGE = timedelta(hours=48)
# China time: 14:00 on 20 November; 14:00, 23:30 on 1 December; 08:00 on 2 December.
OLD_AFTERNOON = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
AFTERNOON = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
MORNING = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
OWNER, FOLLOWER = 7_300_001, 7_300_002
BLOCKED = "Forbidden: bot was blocked by the user"
COLUMNS = ("sent", "delayed by quiet hours", "waiting (quiet hours)", "pending", "failed", "skipped", "total")


@pytest.fixture()
def desk(cli_database: TestDatabase) -> TestDatabase:
    """The fresh database the CLI is pointed at (tests/parceldesk/conftest.py)."""
    return cli_database


def change(session: Session, number: str, old: ShipmentStatus, new: ShipmentStatus, when: datetime) -> list[int]:
    """The parcel's status changes at `when` (an event of that moment); the ids of the notices now due."""
    shipment = notices.find_shipment(session, number)
    assert shipment is not None
    shipment.status = new
    notices.enqueue(session, [StatusChange(shipment, old, new, when)], now=when, max_age=MAX_AGE)
    return notices.due_ids(session, now=when, limit=100)


def claim_all(session: Session, ids: list[int], when: datetime) -> dict[int, int]:
    """The bot's job claims these notices at `when`: chat -> notice id of those to send now (others wait)."""
    drafts = [notices.claim(session, notice_id, now=when, quiet=QUIET) for notice_id in ids]
    return {draft.chat_id: draft.id for draft in drafts if draft is not None}


def seed(database: TestDatabase) -> None:
    """Seven notices: sent at once (20 Nov), sent after the quiet hours, still waiting for the morning, failed,
    sent out for delivery in the night (urgent), pending, skipped (the owner muted the parcel)."""
    with transaction(make_sessionmaker(database.engine)) as session:
        owner = make_customer(session, "T730001", "+8613900073001", telegram_user_id=OWNER)
        for number in ("XJ202612017301", "XJ202612017302", "XJ202612017303"):
            make_shipment(session, number, ShipmentStatus.IN_TRANSIT, customer=owner)
        assert notices.subscribe(session, FOLLOWER, "XJ202612017301", now=OLD_AFTERNOON) is (
            notices.SubscribeResult.SUBSCRIBED)

        # 20 Nov, afternoon: a delay of parcel 2, told to its owner at once.
        sent = claim_all(session, change(session, "XJ202612017302", ShipmentStatus.IN_TRANSIT,
                                         ShipmentStatus.DELAYED, OLD_AFTERNOON), OLD_AFTERNOON)
        notices.mark_sent(session, sent[OWNER], message_id=1, now=OLD_AFTERNOON)

        # 1 Dec, 23:30: parcel 1 is delayed; both notices wait for the morning, when the owner's goes out.
        ids = change(session, "XJ202612017301", ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELAYED, NIGHT)
        assert claim_all(session, ids, NIGHT) == {}
        assert notices.due_ids(session, now=MORNING - timedelta(seconds=1), limit=100) == []
        owners = list(session.scalars(select(Notice.id).where(Notice.chat_id == OWNER, Notice.due_at <= MORNING,
                                                              Notice.state == NoticeState.PENDING)))
        notices.mark_sent(session, claim_all(session, owners, MORNING)[OWNER], message_id=2, now=MORNING)
        # Out for delivery the same night: urgent, sent in the quiet hours; the owner has blocked the bot.
        ids = change(session, "XJ202612017301", ShipmentStatus.DELAYED, ShipmentStatus.OUT_FOR_DELIVERY, NIGHT)
        urgent = claim_all(session, ids, NIGHT)
        notices.mark_failed(session, urgent[OWNER], BLOCKED)
        notices.mark_sent(session, urgent[FOLLOWER], message_id=3, now=NIGHT)

        # 1 Dec, afternoon: parcel 2 has an exception, not yet picked up by the job; parcel 3 is returned and
        # its owner mutes it before the notice goes.
        change(session, "XJ202612017302", ShipmentStatus.DELAYED, ShipmentStatus.EXCEPTION, AFTERNOON)
        change(session, "XJ202612017303", ShipmentStatus.IN_TRANSIT, ShipmentStatus.RETURNED, AFTERNOON)
        assert notices.unsubscribe(session, OWNER, "XJ202612017303", now=AFTERNOON)


def counts(output: str) -> dict[str, dict[str, int]]:
    """The printed table: row name -> column -> number."""
    rows: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == len(COLUMNS) + 1 and cells[1].isdigit():
            rows[cells[0]] = dict(zip(COLUMNS, map(int, cells[1:]), strict=True))
    return rows


def row(*values: int) -> dict[str, int]:
    """A row of the table from its numbers, in column order."""
    return dict(zip(COLUMNS, values, strict=True))


def test_report_notices_counts_sent_delayed_failed(runner: CliRunner, desk: TestDatabase) -> None:
    """Per status and in total: sent (also after the quiet hours), waiting, pending, failed (with the reason),
    skipped; --since leaves out older notices; a bad --since is refused."""
    seed(desk)
    result = runner.invoke(app, ["report", "notices"])
    assert result.exit_code == 0, result.output
    assert counts(result.output) == {
        #                  sent delayed waiting pending failed skipped total
        "Delayed": row(2, 2, 1, 0, 0, 0, 3),
        "Exception, being handled": row(0, 0, 0, 1, 0, 0, 1),
        "Out for delivery": row(1, 0, 0, 0, 1, 0, 2),
        "Returned to sender": row(0, 0, 0, 0, 0, 1, 1),
        "all": row(3, 2, 1, 1, 1, 1, 7),
    }, result.output
    assert f"failed ×1: {BLOCKED}" in result.output

    recent = runner.invoke(app, ["report", "notices", "--since", "2026-12-01"])
    assert recent.exit_code == 0, recent.output
    assert "notices since 2026-12-01" in recent.output
    table = counts(recent.output)
    assert table["Delayed"] == row(1, 2, 1, 0, 0, 0, 2)
    assert table["all"] == row(2, 2, 1, 1, 1, 1, 6)

    assert counts(runner.invoke(app, ["report", "notices", "--since", "2027-01-01"]).output) == {
        "all": row(0, 0, 0, 0, 0, 0, 0)}
    wrong = runner.invoke(app, ["report", "notices", "--since", "last week"])
    assert wrong.exit_code == 1 and "--since must be a day" in wrong.stderr
