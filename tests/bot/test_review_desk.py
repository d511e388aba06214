"""/tag and /review through the real bot and a Telegram sandbox (the only fake), with a real database.

The bot runs in this process against an in-process sandbox; Rasa is deliberately unreachable, which is the
bot-failure path that puts a conversation in the human queue (so the test needs no trained model).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram.ext import Application

from bot.app import build_application
from bot.staffspeech import intent_choices, valid_intents
from bot.texts import command_menu, text
from core.db import make_sessionmaker, transaction
from core.settings import SANDBOX_TOKEN, Settings
from crm import chatlog, escalations
from crm.models import ChatMessage, Direction, Escalation, StaffRole, TrainingLabel
from crm.staff import register_staff
from sandbox.app import create_app
from sandbox.client import SandboxClient
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import free_port, silent_server
from tests.sandbox.sandbox_harness import serving

STAFF = "zh"  # the staff language (settings default)


@dataclass(frozen=True)
class Desk:
    """The running bot's world: sandbox client, database, and who is who (Telegram ids)."""

    sandbox: SandboxClient
    database: TestDatabase
    customer: int
    alice: int  # agent
    ada: int  # admin


@pytest.fixture(scope="module", params=BACKENDS)
def desk_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A database of its own for the bot (it commits), per backend."""
    yield from create_database(request.param, tmp_path_factory.mktemp(f"review-{request.param}"))


def serving_sandbox(port: int) -> contextlib.AbstractAsyncContextManager[str]:
    """The Telegram sandbox served in this process on a port; yields its URL."""
    return serving(create_app(bot_token=SANDBOX_TOKEN), port)


@pytest.fixture(scope="module")
async def desk(desk_db: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    """Sandbox + bot (polling) + staff registered; Rasa points at a server that never answers."""
    ids = random.sample(range(10**7, 9 * 10**7), 3)
    with transaction(make_sessionmaker(desk_db.engine)) as session:
        register_staff(session, ids[1], "Alice", StaffRole.AGENT)
        register_staff(session, ids[2], "Ada", StaffRole.ADMIN)
    port = free_port()
    with silent_server() as rasa_url:
        settings = Settings(
            database_url=desk_db.url, database_schema=desk_db.schema, sandbox_port=port, telegram_bot_token=None,
            rasa_url=rasa_url, rasa_timeout_seconds=1.0, staffed_hours="00:00-24:00",
            handoff_job_interval_seconds=3600, data_dir=Path(tmp_path_factory.mktemp("data")),
            # A staff group: a failure queues the customer (without one they get the company's phone instead).
            staff_chat_id=-100777,
        )
        async with serving_sandbox(port) as url, SandboxClient(url) as client:
            application: Application = build_application(settings, make_sessionmaker(desk_db.engine))
            await application.initialize()
            # run_polling would call these; the test drives the application's parts itself.
            assert application.post_init is not None and application.post_shutdown is not None
            await application.post_init(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=5)
            try:
                yield Desk(client, desk_db, ids[0], ids[1], ids[2])
            finally:
                await application.updater.stop()
                await application.stop()
                await application.post_shutdown(application)
                await application.shutdown()


async def reply(desk: Desk, user: int, body: str, *, chat: int | None = None) -> dict[str, Any]:
    """A user writes; returns the bot's first message in that chat after it."""
    sent = await desk.sandbox.send_text(user, body)
    messages = await desk.sandbox.wait_for_bot_messages(chat or user, after_message_id=sent["message_id"],
                                                         count=1, timeout=20)
    return messages[0]


async def press(desk: Desk, user: int, message: dict[str, Any], data: str) -> dict[str, Any] | None:
    """A user presses a button of a bot message; returns the bot's answer to the press."""
    pressed = await desk.sandbox.press_button(user, message["chat"]["id"], message["message_id"], data)
    return await desk.sandbox.callback_answer(pressed["callback_query_id"], wait=20)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Button caption -> callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Retry a database check until it holds (the bot, in this event loop, commits after Telegram accepted)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


def rows(db: TestDatabase, chat_id: int) -> list[ChatMessage]:
    """The inbound texts logged for a chat, oldest first."""
    with Session(db.engine) as session:
        return list(session.scalars(
            select(ChatMessage).where(ChatMessage.chat_id == chat_id, ChatMessage.kind == "text",
                                      ChatMessage.direction == Direction.INBOUND)
            .order_by(ChatMessage.id)
        ))


async def test_tag_marks_the_customers_latest_message(desk: Desk) -> None:
    """A customer queued after a bot failure; Alice claims; /tag lands on the latest customer text."""
    first = await reply(desk, desk.customer, "我的快递丢了怎么办")
    assert "您目前排在第 1 位" in first["text"]  # holding_queued: Rasa failed, the human queue took over
    await desk.sandbox.send_text(desk.customer, "就是那个大箱子，电话13800138000")

    def both_linked() -> list[ChatMessage]:
        logged = rows(desk.database, desk.customer)
        assert len(logged) == 2 and all(r.escalation_id for r in logged)
        return logged

    logged = await eventually(both_linked)
    with transaction(make_sessionmaker(desk.database.engine)) as session:
        escalation = session.get(Escalation, logged[0].escalation_id)
        assert escalation is not None
        escalations.claim(session, escalation.id, desk.alice, policy=escalations.QueuePolicy())

    usage = await reply(desk, desk.alice, "/tag")
    assert usage["text"] == text("staff_tag_usage", STAFF, intents=intent_choices(STAFF))
    assert all(f"{name} · " in usage["text"] for name in valid_intents())
    wrong = await reply(desk, desk.alice, "/tag lost_parcel")
    assert wrong["text"].startswith(text("staff_tag_unknown_intent", STAFF, intent="lost_parcel", intents=""))
    saved = await reply(desk, desk.alice, "/tag complain_loss")
    assert f"#{escalation.id}" in saved["text"] and "complain_loss" in saved["text"]
    assert "13800138000" not in saved["text"] and "13812345678" in saved["text"]
    tagged = rows(desk.database, desk.customer)
    assert [(r.agent_intent, r.agent_tagged_by_id is not None) for r in tagged] == [(None, False),
                                                                                    ("complain_loss", True)]
    # Customers (anyone not on the staff) get the ordinary unknown-command answer.
    outsider = random.randint(10**8, 2 * 10**8)
    refused = await reply(desk, outsider, "/tag greet")
    assert refused["text"] == text("unknown_command", "zh", commands=command_menu("zh"))


async def test_review_is_for_admins_and_labels_groups_with_buttons(desk: Desk) -> None:
    """Ada labels the top group with the guess button, skips one, stops; Alice is refused in both languages."""
    with transaction(make_sessionmaker(desk.database.engine)) as session:
        for body in ("运费怎么算啊", "运费怎么算啊？", "运费 怎么算啊"):
            chat = random.randint(10**8, 2 * 10**8)
            row = chatlog.record_inbound(session, bot_id=9, update_id=random.randint(1, 10**12), chat_id=chat,
                                         telegram_user_id=chat, kind="text", text=body)
            chatlog.record_understanding(session, row.message_id, intent="faq/shipping_fee", confidence=0.41)
        row = chatlog.record_inbound(session, bot_id=9, update_id=random.randint(1, 10**12), chat_id=chat + 1,
                                     telegram_user_id=chat + 1, kind="text", text="asdf qwer zxcv")
        chatlog.record_understanding(session, row.message_id, intent="out_of_scope", confidence=0.2, fell_back=True)

    refusal = await reply(desk, desk.alice, "/review")
    assert "只有管理员" in refusal["text"] and "only admins" in refusal["text"]
    outsider = random.randint(2 * 10**8, 3 * 10**8)
    refused_review = await reply(desk, outsider, "/review")
    assert refused_review["text"] == text("unknown_command", "zh", commands=command_menu("zh"))

    shown = await reply(desk, desk.ada, "/review")
    assert "运费怎么算啊" in shown["text"] and "faq/shipping_fee" in shown["text"]
    keys = buttons(shown)
    confirm = keys["✓ faq/shipping_fee"]
    # Alice pressing the admin's button is refused too (the role is checked on every press).
    answer = await press(desk, desk.alice, shown, confirm)
    assert answer is not None and "only admins" in (answer.get("text") or "")

    await press(desk, desk.ada, shown, confirm)
    after = await desk.sandbox.wait_for_bot_messages(desk.ada, after_message_id=shown["message_id"], count=2,
                                                     timeout=20)
    assert after[0]["text"] == text("review_labelled", STAFF, count=3, intent="faq/shipping_fee")
    with Session(desk.database.engine) as session:
        labels = session.execute(select(TrainingLabel.intent, TrainingLabel.labelled_by,
                                        TrainingLabel.labelled_by_telegram_id, TrainingLabel.source)).all()
    assert sorted(set(labels)) == [("faq/shipping_fee", "Ada", desk.ada, "low_confidence")]

    # The agent-tagged message of the other test comes next (strongest reason), guessed as tagged.
    following = after[1]
    assert "就是那个大箱子" in following["text"] and "13800138000" not in following["text"]
    assert "✓ complain_loss" in buttons(following)
    skip = buttons(following)[text("review_skip_button", STAFF)]
    await press(desk, desk.ada, following, skip)
    third = (await desk.sandbox.wait_for_bot_messages(desk.ada, after_message_id=following["message_id"], count=1,
                                                      timeout=20))[0]
    assert "asdf qwer zxcv" in third["text"]
    everything = buttons(third)[text("review_all_button", STAFF)]
    await press(desk, desk.ada, third, everything)
    edited = await desk.sandbox.wait_for_edit(desk.ada, third["message_id"])
    assert "faq/insurance" in buttons(edited) and "greet" in buttons(edited)
    await press(desk, desk.ada, edited, buttons(edited)[text("review_stop_button", STAFF)])
    stopped = (await desk.sandbox.wait_for_bot_messages(desk.ada, after_message_id=third["message_id"], count=1,
                                                        timeout=20))[0]
    assert stopped["text"] == text("review_stopped", STAFF)
