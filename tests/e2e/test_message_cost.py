"""What one customer message costs the bot: Rasa HTTP calls and database transactions, counted, not guessed.

The bot runs in this test's process (the stack's bot process is paused meanwhile) against the stack's sandbox,
the shared Rasa server, the action server and the database, so a counting hook can sit on its Rasa client and
a SQLAlchemy listener on its engine. The budget is the issue's: one Rasa call and at most two transactions
(one that logs and decides, one that records the outcome), so the cost cannot creep back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from core.db import open_database
from crm.models import ChatMessage, Direction, Escalation, EscalationEventKind
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, eventually, new_user_id
from tests.e2e.replies import is_text
from tests.e2e.test_captions_and_language import CAPTIONS, fresh_parcel
from tests.e2e.test_handoff import Desk, body_of, desk, desk_staff, last_id, request_and_claim, wait_for  # noqa: F401 - fixtures

RASA_CALL_BUDGET = 1
TRANSACTION_BUDGET = 2


@dataclass
class Meter:
    """Rasa requests and database transactions of the in-process bot since the last reset."""

    rasa: list[str] = field(default_factory=list)
    transactions: int = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.rasa.clear()
        self.transactions = 0


@dataclass
class MeteredBot:
    """The in-process bot and its meter."""

    application: Application
    meter: Meter


@pytest.fixture()
async def metered_bot(stack: Stack) -> AsyncIterator[MeteredBot]:
    """The real bot, built by the application factory, polling the stack's sandbox with counters attached."""
    settings = stack.settings
    database = open_database(settings)
    meter = Meter()

    def count_transaction(_connection: Any) -> None:
        meter.transactions += 1

    event.listen(database.engine, "begin", count_transaction)
    stack.stop_bot()
    application = build_application(settings, database.sessions)
    try:
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        rasa_http: httpx.AsyncClient = application.bot_data["services"].rasa._client

        async def count_request(request: httpx.Request) -> None:
            meter.rasa.append(f"{request.method} {request.url.path}")

        rasa_http.event_hooks["request"].append(count_request)
        # The repeating jobs (handoff, complaints, notices, spool, retention) read the database on their own
        # schedule, not per message: they are not part of a message's cost, so none runs while we count.
        assert application.job_queue is not None
        for job in application.job_queue.jobs():
            job.schedule_removal()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
        yield MeteredBot(application, meter)
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        await application.shutdown()
        event.remove(database.engine, "begin", count_transaction)
        database.dispose()
        stack.start_bot()


def latest_inbound_handled(stack: Stack, chat_id: int) -> None:
    """The chat's latest customer message is logged as handled (the outcome transaction committed)."""
    with Session(stack.database.engine) as session:
        row = session.scalars(
            select(ChatMessage)
            .where(ChatMessage.chat_id == chat_id, ChatMessage.direction == Direction.INBOUND)
            .order_by(ChatMessage.id.desc())
            .limit(1)
        ).one()
        assert row.handled


async def settle(stack: Stack, sandbox: SandboxClient, chat_id: int, count: int) -> list[dict[str, Any]]:
    """Wait for the bot's replies and for the turn's outcome to be logged."""
    replies = await sandbox.wait_for_bot_messages(chat_id, count=count, timeout=30)
    await asyncio.to_thread(eventually, lambda: latest_inbound_handled(stack, chat_id))
    return replies


async def test_one_customer_text_costs_one_rasa_call_and_two_transactions(
    stack: Stack, sandbox: SandboxClient, metered_bot: MeteredBot
) -> None:
    """A tracking question after the conversation started: one Rasa call, at most two transactions."""
    user = new_user_id()
    meter = metered_bot.meter
    await sandbox.send_text(user, "你好")  # starts the conversation (and Rasa's session)
    await settle(stack, sandbox, user, 1)
    seen = len(await sandbox.bot_messages(user))

    meter.reset()
    await sandbox.send_text(user, "where is my parcel XJ202611180042")
    await sandbox.wait_for_bot_messages(user, count=seen + 1, timeout=30)
    await asyncio.to_thread(eventually, lambda: latest_inbound_handled(stack, user))

    assert meter.rasa == ["POST /webhooks/parceldesk/webhook"], meter.rasa
    assert len(meter.rasa) == RASA_CALL_BUDGET
    assert meter.transactions <= TRANSACTION_BUDGET, meter.transactions
    with Session(stack.database.engine) as session:
        row = session.scalars(
            select(ChatMessage)
            .where(ChatMessage.chat_id == user, ChatMessage.direction == Direction.INBOUND)
            .order_by(ChatMessage.id.desc())
            .limit(1)
        ).one()
        # What the one call brought back is logged: the intent, its confidence, the model and the language.
        assert row.intent == "track_shipment"
        assert row.confidence is not None and row.model_version and row.model_version.startswith("parceldesk-")
        assert row.language == "en"


async def test_first_message_of_a_conversation_costs_the_same(
    stack: Stack, sandbox: SandboxClient, metered_bot: MeteredBot
) -> None:
    """Even the very first message (Rasa starts a session) is one call and two transactions, in Chinese."""
    user = new_user_id()
    meter = metered_bot.meter
    meter.reset()
    await sandbox.send_text(user, "我的快递XJ202611170007到哪了")
    await settle(stack, sandbox, user, 1)
    assert meter.rasa == ["POST /webhooks/parceldesk/webhook"], meter.rasa
    assert meter.transactions <= TRANSACTION_BUDGET, meter.transactions
    with Session(stack.database.engine) as session:
        languages = session.scalars(
            select(ChatMessage.language).where(ChatMessage.chat_id == user, ChatMessage.direction == Direction.INBOUND)
        ).all()
    assert languages == ["zh"]


async def test_a_pressed_bot_button_costs_the_same(
    stack: Stack, sandbox: SandboxClient, metered_bot: MeteredBot
) -> None:
    """A button Rasa offered, pressed: one Rasa call and at most two transactions, like typed text."""
    user = new_user_id()
    meter = metered_bot.meter
    await sandbox.send_text(user, "I want to give feedback")
    await settle(stack, sandbox, user, 1)
    sent = await sandbox.bot_messages(user)
    question = next(m for m in reversed(sent) if (m.get("reply_markup") or {}).get("inline_keyboard"))
    buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
    seen = len(sent)

    meter.reset()
    await sandbox.press_button(user, user, question["message_id"], buttons[-1]["callback_data"])
    await sandbox.wait_for_bot_messages(user, count=seen + 1, timeout=30)
    await asyncio.to_thread(eventually, lambda: latest_inbound_handled(stack, user))
    assert meter.rasa == ["POST /webhooks/parceldesk/webhook"], meter.rasa
    assert meter.transactions <= TRANSACTION_BUDGET, meter.transactions


# A live conversation with a person costs no Rasa call at all. The relay's own transactions, as measured when this
# test was written (staff flows must not get slower than that): a customer's line = the inbound decision, storing it
# on the escalation (and closing its log entry), logging the copy sent to the agent; an agent's line = the inbound
# decision, storing it on the escalation with the chat-log entry of the copy, closing the agent's log entry.
CUSTOMER_RELAY_BUDGET = 3
AGENT_RELAY_BUDGET = 3


async def test_a_live_handoff_costs_no_rasa_call_either_way(
    stack: Stack, sandbox: SandboxClient, desk: Desk, metered_bot: MeteredBot  # noqa: F811 - the fixture
) -> None:
    """Customer → agent and agent → customer while a person holds the chat: no Rasa call, within the relay's budgets."""
    customer = new_user_id()
    meter = metered_bot.meter
    await request_and_claim(sandbox, stack, desk, customer, "转人工", "zh")
    agent_seen = await last_id(sandbox, desk.alice)
    customer_seen = await last_id(sandbox, customer)

    meter.reset()
    await sandbox.send_text(customer, "我的快递还没到")
    await wait_for(sandbox, desk.alice, lambda m: body_of(m).endswith("我的快递还没到"), after=agent_seen)
    await asyncio.to_thread(eventually, lambda: latest_inbound_handled(stack, customer))
    assert meter.rasa == [], meter.rasa
    assert meter.transactions <= CUSTOMER_RELAY_BUDGET, meter.transactions

    meter.reset()
    await sandbox.send_text(desk.alice, "您好，马上为您查询。")
    await wait_for(sandbox, customer, lambda m: m.get("text") == "您好，马上为您查询。", after=customer_seen)
    await asyncio.to_thread(eventually, lambda: relayed_by_agent(stack, customer, "您好，马上为您查询。"))
    assert meter.rasa == [], meter.rasa
    assert meter.transactions <= AGENT_RELAY_BUDGET, meter.transactions


def relayed_by_agent(stack: Stack, chat_id: int, line: str) -> None:
    """The agent's line is recorded on the customer's escalation (the relay's last transaction committed)."""
    with Session(stack.database.engine) as session:
        escalation = session.scalars(
            select(Escalation).where(Escalation.chat_id == chat_id).order_by(Escalation.id.desc()).limit(1)
        ).one()
        assert any(
            event.kind == EscalationEventKind.AGENT_MESSAGE and event.body == line for event in escalation.events
        )


async def test_a_photo_costs_one_rasa_call_too(stack: Stack, sandbox: SandboxClient, metered_bot: MeteredBot) -> None:
    """A captioned photo that starts a damage complaint, and the photo answering it, and a bare photo: one call each."""
    user = new_user_id()
    meter = metered_bot.meter
    number = fresh_parcel(stack)
    await sandbox.send_text(user, "你好")
    await settle(stack, sandbox, user, 1)

    # The caption starts the form and the photo answers its question, in the same one call: the summary comes back.
    seen = len(await sandbox.bot_messages(user))
    meter.reset()
    await sandbox.send_photo(user, caption=CAPTIONS["en"].format(number=number))
    await settle(stack, sandbox, user, seen + 1)
    assert meter.rasa == ["POST /webhooks/parceldesk/webhook"], meter.rasa
    assert meter.transactions <= TRANSACTION_BUDGET, meter.transactions

    # A bare photo nothing asked for: one call (Rasa says no form waits for it), the bot asks for a caption.
    other = new_user_id()
    meter.reset()
    await sandbox.send_photo(other, caption=None)
    (asked,) = await settle(stack, sandbox, other, 1)
    assert any(is_text(body_of(asked), "photo_without_caption", language) for language in ("zh", "en")), asked
    assert meter.rasa == ["POST /webhooks/parceldesk/webhook"], meter.rasa
    assert meter.transactions <= TRANSACTION_BUDGET, meter.transactions
