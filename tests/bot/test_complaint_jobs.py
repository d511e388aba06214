"""The weekly complaint summary through the real bot and a Telegram sandbox (the only fake), on both databases.

The bot's complaint job runs every half second on a test clock put just before Monday 09:00 China time (the
weekly_report_at default): nothing goes out before the moment; after it every active manager and admin gets the
chart and the week's numbers exactly once, while agents and deactivated managers get nothing; a week later the next
summary goes out, once. With weekly_report=false the job runs (it tells a customer's outcome meanwhile) but neither
sends the summary nor claims the week.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.complaintjobs import WEEKLY
from bot.texts import text
from core.clock import COMPANY_TZ
from core.db import make_sessionmaker, transaction
from crm import complaintdesk
from crm.complaints import open_complaint
from crm.models import Complaint, ComplaintCategory, ReportRun, StaffRole
from crm.staff import deactivate_staff, register_staff
from tests.bot.test_review_desk import eventually
from tests.bot.test_waiting import Bot, advance, reply_of, running_bot
from tests.databases import TestDatabase, create_database
from tests.e2e.replies import is_text

STAFF = "zh"  # the staff language (settings default)
# Job passes every half second: "nothing more arrives" is checked over several of them.
SETTLE = 2.5
TIMEOUT = 30


@pytest.fixture()
def jobs_db(database_backend: str, tmp_path: Path) -> Iterator[TestDatabase]:
    """A database of its own for each bot (it commits), per backend."""
    yield from create_database(database_backend, tmp_path / "db")


def data(tmp_path: Path) -> Path:
    """The bot's data folder (its clock file lives there)."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def next_monday_nine() -> datetime:
    """Monday 09:00 China time, at least a day from now (so the test clock only ever moves forward), in UTC."""
    today = (datetime.now(UTC) + timedelta(days=1)).astimezone(COMPANY_TZ).date()
    day = today + timedelta(days=(7 - today.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=COMPANY_TZ).astimezone(UTC)


def offset_to(moment: datetime) -> float:
    """The clock offset (seconds) that puts the processes at this moment."""
    return (moment - datetime.now(UTC)).total_seconds()


def file_resolved(database: TestDatabase, at: datetime) -> int:
    """A complaint filed at a moment (no Telegram chat) and resolved an hour later; its id."""
    with transaction(make_sessionmaker(database.engine)) as session:
        ticket = open_complaint(session, category=ComplaintCategory.DELAY, description="late", chat_id=None,
                                telegram_user_id=None, tracking_number=None, now=at).complaint
        complaintdesk.resolve(session, ticket.id, None, "delivered", now=at + timedelta(hours=1))
        return ticket.id


def staff_people(database: TestDatabase) -> dict[str, int]:
    """A manager and an admin (recipients), a supervisor and a deactivated manager (not recipients)."""
    people = dict(zip(("mia", "ada", "sam", "max"), random.sample(range(10**7, 9 * 10**7), 4), strict=True))
    with transaction(make_sessionmaker(database.engine)) as session:
        register_staff(session, people["mia"], "Mia", StaffRole.MANAGER)
        register_staff(session, people["ada"], "Ada", StaffRole.ADMIN)
        register_staff(session, people["sam"], "Sam", StaffRole.SUPERVISOR)
        register_staff(session, people["max"], "Max", StaffRole.MANAGER)
        assert deactivate_staff(session, people["max"])
    return people


async def open_chats(bot: Bot, users: list[int]) -> dict[int, int]:
    """Each user starts the bot (it may only write to people who did): user -> the last message id so far."""
    return {user: int((await reply_of(bot, user, "/start"))["message_id"]) for user in users}


async def summaries(bot: Bot, user: int, after: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The chart photos and the weekly summary texts the bot sent a user after a message id."""
    messages = await bot.sandbox.bot_messages(user, after_message_id=after)
    header = text("report_weekly_header", STAFF)
    return ([m for m in messages if "photo" in m],
            [m["text"] for m in messages if str(m.get("text", "")).startswith(header)])


def runs(database: TestDatabase) -> list[tuple[str, str, bool]]:
    """The report runs claimed: (name, period, sent)."""
    with Session(database.engine) as session:
        return [(r.name, r.period, r.sent_at is not None)
                for r in session.scalars(select(ReportRun).order_by(ReportRun.id))]


def claimed(database: TestDatabase, expected: list[tuple[str, str, bool]]) -> None:
    """The report runs claimed are these (a check for eventually: the run is marked after Telegram took it)."""
    assert runs(database) == expected


async def test_managers_get_the_weekly_summary_once_per_week(jobs_db: TestDatabase, tmp_path: Path) -> None:
    """Not before Monday 09:00; then once to each active manager and admin (chart + the week's numbers); once again
    the next week; never to an agent, a supervisor or a deactivated manager."""
    monday = next_monday_nine()
    week, next_week = monday.astimezone(COMPANY_TZ).isocalendar(), (monday + timedelta(days=7)).astimezone(
        COMPANY_TZ).isocalendar()
    period, next_period = f"{week[0]}-W{week[1]:02d}", f"{next_week[0]}-W{next_week[1]:02d}"
    # The week before the first Monday: one complaint (one more the week before that, outside it); the second: two.
    for at in (monday - timedelta(days=10), monday - timedelta(days=3), monday + timedelta(days=1),
               monday + timedelta(days=2)):
        file_resolved(jobs_db, at)
    people = staff_people(jobs_db)
    recipients = [people["mia"], people["ada"]]
    async with running_bot(jobs_db, data(tmp_path), clock_offset_seconds=offset_to(monday - timedelta(minutes=2)),
                           weekly_report_at="mon 09:00") as bot:
        others = [bot.alice, people["sam"], people["max"]]
        seen = await open_chats(bot, recipients + others)
        await asyncio.sleep(SETTLE)  # several passes at 08:58: not due yet
        for user in recipients:
            assert await summaries(bot, user, seen[user]) == ([], [])
        assert runs(jobs_db) == []

        advance(bot, 3 * 60)  # 09:01
        for user in recipients:
            await bot.sandbox.wait_for_bot_messages(user, after_message_id=seen[user], count=2, timeout=TIMEOUT)
        await eventually(lambda: claimed(jobs_db, [(WEEKLY, period, True)]))
        await asyncio.sleep(SETTLE)  # more passes in the same week: nothing again
        for user in recipients:
            photos, texts = await summaries(bot, user, seen[user])
            assert len(photos) == 1 and len(texts) == 1, texts
            assert is_text(texts[0].split("\n", 1)[1], "report_summary", STAFF), texts[0]
            assert "投诉量：1（" in texts[0], texts[0]  # the week before Monday 09:00 only
            seen[user] = max(int(m["message_id"]) for m in await bot.sandbox.bot_messages(user))
        for user in others:
            assert await summaries(bot, user, 0) == ([], []), user

        advance(bot, 7 * 24 * 3600)  # the next Monday, 09:01
        for user in recipients:
            await bot.sandbox.wait_for_bot_messages(user, after_message_id=seen[user], count=2, timeout=TIMEOUT)
        await eventually(lambda: claimed(jobs_db, [(WEEKLY, period, True), (WEEKLY, next_period, True)]))
        await asyncio.sleep(SETTLE)
        for user in recipients:
            photos, texts = await summaries(bot, user, seen[user])
            assert len(photos) == 1 and len(texts) == 1 and "投诉量：2（" in texts[0], texts
        for user in others:
            assert await summaries(bot, user, 0) == ([], []), user


async def test_no_weekly_summary_when_opted_out(jobs_db: TestDatabase, tmp_path: Path) -> None:
    """weekly_report=false: at Monday 09:01 the job runs (a resolved complaint's outcome is dealt with) but no
    manager gets the summary and the week is not claimed."""
    monday = next_monday_nine()
    ticket_id = file_resolved(jobs_db, monday - timedelta(days=3))
    people = staff_people(jobs_db)
    async with running_bot(jobs_db, data(tmp_path), clock_offset_seconds=offset_to(monday + timedelta(minutes=1)),
                           weekly_report=False) as bot:
        seen = await open_chats(bot, [people["mia"], people["ada"]])

        def outcome_dealt_with() -> None:
            with Session(jobs_db.engine) as session:
                ticket = session.get(Complaint, ticket_id)
                assert ticket is not None and ticket.outcome_sent_at is not None

        await eventually(outcome_dealt_with)  # the complaint job has run
        await asyncio.sleep(SETTLE)
        for user, after in seen.items():
            assert await bot.sandbox.bot_messages(user, after_message_id=after) == [], user
    assert runs(jobs_db) == []
