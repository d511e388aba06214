"""A customer waiting for a person, through the real bot and a Telegram sandbox (the only fake), with a real database.

The bot runs in this process; Rasa never answers, so the bot side is tested without a model: a waiting customer's
text still gets an acknowledgement (Rasa failing is no reason for silence), the way out works without Rasa (its
hand-back is retried later), and without a staff group nobody is promised an agent. Answers while queued (FAQ,
tracking) need the real Rasa: tests/e2e/test_queue_exit.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram.ext import Application

from bot.app import build_application
from bot.texts import text
from bot.waiting import LEAVE
from core.clock import CLOCK_FILE_ENV, clock_offset, set_clock_offset
from core.db import make_sessionmaker, transaction
from core.settings import Settings
from crm.models import Escalation, EscalationEvent, EscalationEventKind, EscalationStatus, StaffRole
from crm.staff import register_staff
from sandbox.client import SandboxClient
from tests.bot.test_review_desk import eventually, press, serving_sandbox
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import free_port, silent_server
from tests.e2e.replies import is_text

STAFF = "zh"  # the staff language (settings default)
T = TypeVar("T")
GROUP = -100424242


@dataclass(frozen=True)
class Bot:
    """A running bot: its sandbox client, database, clock file and an agent (Telegram id)."""

    sandbox: SandboxClient
    database: TestDatabase
    clock: Path
    alice: int


@pytest.fixture(scope="module", params=BACKENDS)
def waiting_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A database of its own for the bot (it commits), per backend."""
    yield from create_database(request.param, tmp_path_factory.mktemp(f"waiting-{request.param}"))


@contextlib.asynccontextmanager
async def running_bot(database: TestDatabase, data: Path, *, clock_offset_seconds: float = 0.0,
                      **overrides: object) -> AsyncIterator[Bot]:
    """Sandbox + bot (polling) against a Rasa that never answers, on a test clock (set before the bot starts, so its
    first job pass already sees it); Alice is a registered agent."""
    alice = random.randrange(10**7, 9 * 10**7)
    with transaction(make_sessionmaker(database.engine)) as session:
        register_staff(session, alice, "Alice", StaffRole.AGENT)
    clock = data / "clock"
    set_clock_offset(clock, clock_offset_seconds)
    port = free_port()
    with silent_server() as rasa_url, pytest.MonkeyPatch.context() as patch:
        patch.setenv(CLOCK_FILE_ENV, str(clock))
        settings = Settings(
            database_url=database.url, database_schema=database.schema, sandbox_port=port, telegram_bot_token=None,
            rasa_url=rasa_url, rasa_timeout_seconds=0.5, staffed_hours="00:00-24:00", handoff_job_interval_seconds=0.5,
            data_dir=data, **overrides,  # type: ignore[arg-type]
        )
        async with serving_sandbox(port) as url, SandboxClient(url) as client:
            application: Application = build_application(settings, make_sessionmaker(database.engine))
            await application.initialize()
            assert application.post_init is not None and application.post_shutdown is not None
            await application.post_init(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=5)
            try:
                yield Bot(client, database, clock, alice)
            finally:
                await application.updater.stop()
                await application.stop()
                await application.post_shutdown(application)
                await application.shutdown()


@pytest.fixture(scope="module")
async def staffed(waiting_db: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    """The bot with a staff group (Alice has opened her private chat with the bot)."""
    async with running_bot(waiting_db, tmp_path_factory.mktemp("staffed"), staff_chat_id=GROUP) as bot:
        await bot.sandbox.create_group(GROUP, "ParcelDesk staff")
        await reply_of(bot, bot.alice, "/start")
        yield bot


@pytest.fixture(scope="module")
async def unstaffed(waiting_db: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    """The bot as ./scripts/run.sh starts it on a first run: no staff group."""
    async with running_bot(waiting_db, tmp_path_factory.mktemp("unstaffed"), staff_chat_id=None,
                           contact_phone="400-000-0001", contact_email="help@example.com") as bot:
        yield bot


async def reply_of(bot: Bot, user: int, body: str, **fields: Any) -> dict[str, Any]:
    """A user writes; the bot's first message in that chat after it."""
    sent = await bot.sandbox.send_text(user, body, **fields)
    (message,) = await bot.sandbox.wait_for_bot_messages(user, after_message_id=sent["message_id"], count=1,
                                                         timeout=20)
    return message


def has_button(message: dict[str, Any], data: str) -> bool:
    """Whether a message carries an inline button with this callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return any(button.get("callback_data") == data for row in rows for button in row)


def latest_escalation(database: TestDatabase, chat_id: int) -> Escalation:
    """The chat's latest escalation, with its history loaded."""
    with Session(database.engine) as session:
        found = session.scalars(
            select(Escalation).where(Escalation.chat_id == chat_id).order_by(Escalation.id.desc()).limit(1)
        ).one_or_none()
        assert found is not None, f"chat {chat_id} has no escalation"
        _ = [event.kind for event in found.events]
        return found


def event_kinds(database: TestDatabase, escalation_id: int) -> list[EscalationEventKind]:
    """An escalation's history, oldest first."""
    with Session(database.engine) as session:
        return list(session.scalars(select(EscalationEvent.kind).where(
            EscalationEvent.escalation_id == escalation_id).order_by(EscalationEvent.id)))


def advance(bot: Bot, seconds: float) -> None:
    """Move the bot's clock forward."""
    set_clock_offset(bot.clock, clock_offset().total_seconds() + seconds)


async def test_hello_right_after_the_notice_is_acknowledged_and_words_leave_the_queue(staffed: Bot) -> None:
    """/human; "hello?" at once gets an acknowledgement (Rasa down too); 不用了，取消转人工 closes it as withdrawn."""
    customer = random.randrange(10**8, 9 * 10**8)
    notice = await reply_of(staffed, customer, "/human", language_code="zh-hans")
    assert is_text(notice["text"], "handoff_queued", "zh") and has_button(notice, LEAVE)
    ack = await reply_of(staffed, customer, "hello?")
    assert is_text(ack["text"], "queue_ack", "zh") or is_text(ack["text"], "queue_ack", "en")
    left = await reply_of(staffed, customer, "不用了，取消转人工")
    assert left["text"] == text("queue_left", "zh")
    escalation = latest_escalation(staffed.database, customer)
    assert escalation.status is EscalationStatus.RESOLVED and escalation.active_chat_id is None
    assert event_kinds(staffed.database, escalation.id)[-1] is EscalationEventKind.WITHDRAWN
    assert escalation.rasa_resumed_at is None  # Rasa is down: the hand-back is retried before the next message
    # The notice's button, pressed after the words: nothing to leave, and the customer is told so.
    await press(staffed, customer, notice, LEAVE)
    (again,) = await staffed.sandbox.wait_for_bot_messages(customer, after_message_id=left["message_id"], count=1,
                                                          timeout=20)
    assert again["text"] == text("queue_not_waiting", "zh")


async def test_the_button_leaves_the_queue(staffed: Bot) -> None:
    """The button on the queue notice: back with the bot, and the button is gone from the notice."""
    customer = random.randrange(10**8, 9 * 10**8)
    notice = await reply_of(staffed, customer, "/human", language_code="en")
    await press(staffed, customer, notice, LEAVE)
    (left,) = await staffed.sandbox.wait_for_bot_messages(customer, after_message_id=notice["message_id"], count=1,
                                                         timeout=20)
    assert left["text"] == text("queue_left", "en")
    assert latest_escalation(staffed.database, customer).status is EscalationStatus.RESOLVED
    edited = await staffed.sandbox.wait_for_edit(customer, notice["message_id"])
    assert not has_button(edited, LEAVE)


async def test_an_agent_who_claimed_is_told_and_the_card_updated(staffed: Bot) -> None:
    """Alice claimed; the customer presses "leave the queue": Alice is told, the group card loses its Claim button."""
    customer = random.randrange(10**8, 9 * 10**8)
    notice = await reply_of(staffed, customer, "/human", language_code="en")
    escalation = latest_escalation(staffed.database, customer)
    claim = f"claim:{escalation.id}"

    async def announced() -> dict[str, Any]:
        for message in await staffed.sandbox.bot_messages(GROUP):
            if has_button(message, claim):
                return message
        raise AssertionError("not announced yet")

    card = await eventually_async(announced)
    alice_seen = await last_id(staffed, staffed.alice)
    await press(staffed, staffed.alice, card, claim)
    await eventually(lambda: _claimed(staffed.database, customer))
    await press(staffed, customer, notice, LEAVE)
    told = await staffed.sandbox.wait_for_bot_messages(staffed.alice, after_message_id=alice_seen, count=1, timeout=20)

    async def withdrawn_notice() -> dict[str, Any]:
        for message in await staffed.sandbox.bot_messages(staffed.alice, after_message_id=alice_seen):
            if is_text(message.get("text"), "staff_customer_withdrew", STAFF):
                return message
        raise AssertionError(f"Alice was not told; she got {[m.get('text', '')[:40] for m in told]}")

    assert f"#{escalation.id}" in (await eventually_async(withdrawn_notice))["text"]
    edited = await staffed.sandbox.wait_for_edit(GROUP, card["message_id"])
    assert edited["text"] == text("staff_withdrawn_group", STAFF, id=escalation.id)
    assert not has_button(edited, claim)


def _claimed(database: TestDatabase, chat_id: int) -> None:
    """Assert the chat's escalation is claimed."""
    assert latest_escalation(database, chat_id).status is EscalationStatus.CLAIMED


async def eventually_async(check: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Retry an async check until it stops raising AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def last_id(bot: Bot, chat_id: int) -> int:
    """The id of the latest message in a chat (0 if none)."""
    messages = await bot.sandbox.messages(chat_id)
    return messages[-1]["message_id"] if messages else 0


async def test_a_burst_gets_one_catch_up_notice_when_the_interval_ends(staffed: Bot) -> None:
    """Three messages in a row: the first acknowledged, the other two answered by one notice once the minute ends."""
    customer = random.randrange(10**8, 9 * 10**8)
    await reply_of(staffed, customer, "/human", language_code="en")
    ack = await reply_of(staffed, customer, "hello?")
    assert is_text(ack["text"], "queue_ack", "en")
    await staffed.sandbox.send_text(customer, "anyone?")
    sent = await staffed.sandbox.send_photo(customer, caption="the label")
    advance(staffed, 61)
    (notice,) = await staffed.sandbox.wait_for_bot_messages(customer, after_message_id=sent["message_id"], count=1,
                                                           timeout=20)
    assert is_text(notice["text"], "handoff_still_queued", "en") and has_button(notice, LEAVE)
    # Nothing more for the same burst: the next one answered is a new message.
    after = await reply_of(staffed, customer, "still there?")
    assert is_text(after["text"], "queue_ack", "en")
    between = await staffed.sandbox.bot_messages(customer, after_message_id=ack["message_id"])
    assert [m["message_id"] for m in between] == [notice["message_id"], after["message_id"]]


async def test_without_a_staff_group_nobody_is_promised(unstaffed: Bot) -> None:
    """No staff group: /human and a bot failure give the company's phone and email; nothing is queued."""
    customer = random.randrange(10**8, 9 * 10**8)
    human = await reply_of(unstaffed, customer, "/human", language_code="en")
    assert human["text"] == text("handoff_unstaffed", "en", phone="400-000-0001", email="help@example.com")
    failed = await reply_of(unstaffed, customer, "where is my parcel")
    assert failed["text"] == text("holding_unstaffed", "en", phone="400-000-0001", email="help@example.com")
    with Session(unstaffed.database.engine) as session:
        assert session.scalars(select(Escalation).where(Escalation.chat_id == customer)).first() is None
