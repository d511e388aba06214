"""End to end: replies and agent relays Telegram does not take (injected 5xx) are kept in the outbox and arrive
later, in order, exactly once, also across a bot restart; a refusal for good is not retried; old ones are given up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.texts import TEXTS, text
from crm.models import ChatMessage, Direction, OutboxMessage, OutboxState
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, eventually, new_user_id
from tests.e2e.test_handoff import (  # noqa: F401  (fixtures)
    STAFF,
    Desk,
    advance_clock,
    announcement,
    body_of,
    claim,
    desk,
    desk_staff,
    escalation_of,
    wait_for,
)

NUMBERS = ("XJ202611180042", "XJ202611170007", "XJ202611150013")
TIMEOUT = 45
# After the outbox is empty: long enough for a duplicate to show up if one were coming.
SETTLE = 2.0


@pytest.fixture()
async def faults_cleared(sandbox: SandboxClient) -> AsyncIterator[SandboxClient]:
    """The sandbox without injected faults before and after the test (spent faults of other modules are listed
    too, and a failing test must not break the next)."""
    await sandbox.clear_faults()
    try:
        yield sandbox
    finally:
        await sandbox.clear_faults()


def kept(stack: Stack, chat_id: int) -> list[OutboxMessage]:
    """The outbox rows of a chat, oldest first."""
    with Session(stack.database.engine) as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                    .order_by(OutboxMessage.id)))


def served(faults: list[dict[str, object]], method: str) -> int:
    """How many calls of a method the injected faults answered."""
    return sum(int(str(f["served"])) for f in faults if f["method"] == method.lower())


async def test_replies_failing_for_a_while_arrive_later_in_order_exactly_once(
    faults_cleared: SandboxClient, stack: Stack
) -> None:
    """sendMessage answers 502 three times: three tracking questions are answered after that, in order, once each,
    and each answer is logged once (when it was delivered)."""
    sandbox = faults_cleared
    user = new_user_id()
    await sandbox.inject_fault("sendMessage", status=502, count=3, chat_id=user)
    for number in NUMBERS:
        await sandbox.send_text(user, f"where is {number}")
    replies = await sandbox.wait_for_bot_messages(user, count=len(NUMBERS), timeout=TIMEOUT)
    assert served(await sandbox.faults(), "sendMessage") == 3
    eventually(lambda: assert_empty(stack, user), timeout=TIMEOUT)
    await asyncio.sleep(SETTLE)
    replies = await sandbox.bot_messages(user)
    mentioned = [next(n for n in NUMBERS if n in body_of(r)) for r in replies]
    assert mentioned == list(NUMBERS), [body_of(r)[:60] for r in replies]
    with Session(stack.database.engine) as session:
        logged = session.scalars(select(ChatMessage.text).where(
            ChatMessage.chat_id == user, ChatMessage.direction == Direction.OUTBOUND).order_by(ChatMessage.id)).all()
    assert logged == [body_of(r) for r in replies]


def assert_empty(stack: Stack, chat_id: int) -> None:
    """The chat has nothing left in the outbox."""
    assert kept(stack, chat_id) == []


async def test_a_reply_pending_across_a_bot_restart_is_delivered(faults_cleared: SandboxClient, stack: Stack) -> None:
    """Telegram keeps failing; the bot is stopped with the reply in the outbox, Telegram recovers, a new bot process
    delivers it (with its language keyboard), once."""
    sandbox = faults_cleared
    user = new_user_id()
    await sandbox.inject_fault("sendMessage", status=500, count=100_000, chat_id=user)
    await sandbox.send_text(user, "/language")
    pending = eventually(lambda: pending_row(stack, user), timeout=TIMEOUT)
    assert pending.reply_markup is not None
    stack.stop_bot()
    try:
        await sandbox.clear_faults()
    finally:
        stack.start_bot()
    (reply,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=TIMEOUT)
    assert reply["text"] == TEXTS["language_prompt"]["en"] or reply["text"] == TEXTS["language_prompt"]["zh"]
    assert [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row] == [
        "lang:zh", "lang:en", "lang:auto"]
    eventually(lambda: assert_empty(stack, user), timeout=TIMEOUT)
    await asyncio.sleep(SETTLE)
    assert len(await sandbox.bot_messages(user)) == 1


def pending_row(stack: Stack, chat_id: int) -> OutboxMessage:
    """The chat's one pending outbox row; fails until it is there."""
    rows = [row for row in kept(stack, chat_id) if row.state is OutboxState.PENDING]
    assert len(rows) == 1, rows
    return rows[0]


async def test_a_blocked_chat_is_not_retried(faults_cleared: SandboxClient, stack: Stack) -> None:
    """403 "bot was blocked by the user": nothing is kept, nothing is sent later; the next reply goes out normally."""
    sandbox = faults_cleared
    user = new_user_id()
    await sandbox.inject_fault("sendMessage", status=403, count=1, description="Forbidden: bot was blocked by the user",
                               chat_id=user)
    await sandbox.send_text(user, "/help")
    eventually(lambda: assert_served(stack, user), timeout=TIMEOUT)
    await asyncio.sleep(SETTLE)
    assert await sandbox.bot_messages(user) == [] and kept(stack, user) == []
    await sandbox.send_text(user, "/help")
    (helped,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=TIMEOUT)
    assert body_of(helped)


def assert_served(stack: Stack, chat_id: int) -> None:
    """The chat's inbound message is handled."""
    with Session(stack.database.engine) as session:
        handled = session.scalars(select(ChatMessage.handled).where(
            ChatMessage.chat_id == chat_id, ChatMessage.direction == Direction.INBOUND)).all()
    assert handled == [True]


async def test_a_reply_failing_past_the_give_up_time_is_given_up(faults_cleared: SandboxClient, stack: Stack) -> None:
    """Telegram fails longer than the give-up time: the reply is marked gave_up and never sent late."""
    sandbox = faults_cleared
    user = new_user_id()
    await sandbox.inject_fault("sendMessage", status=500, count=100_000, chat_id=user)
    await sandbox.send_text(user, "/help")
    eventually(lambda: pending_row(stack, user), timeout=TIMEOUT)
    advance_clock(stack.settings.outbox_give_up_minutes + 1)

    def given_up() -> None:
        """The row ended as gave_up."""
        assert [row.state for row in kept(stack, user)] == [OutboxState.GAVE_UP]

    eventually(given_up, timeout=TIMEOUT)
    await sandbox.clear_faults()
    await asyncio.sleep(SETTLE + stack.settings.outbox_retry_seconds)
    assert await sandbox.bot_messages(user) == []


async def test_an_agent_relay_that_fails_is_retried_and_the_agent_told(
    faults_cleared: SandboxClient, stack: Stack, desk: Desk  # noqa: F811
) -> None:
    """copyMessage answers 502 twice: the agent hears "not delivered yet", the customer gets the message, then the
    agent hears "delivered"; the relay is logged once."""
    sandbox = faults_cleared
    customer = new_user_id()
    await sandbox.send_text(customer, "/human")
    await sandbox.wait_for_bot_messages(customer, count=1, timeout=TIMEOUT)
    escalation = escalation_of(stack, customer)
    posted = await announcement(sandbox, desk, escalation.id)
    answer = await claim(sandbox, desk, desk.alice, escalation.id, posted["message_id"])
    assert answer["text"] == text("staff_claim_won", STAFF, id=escalation.id)
    joined = await wait_for(sandbox, customer, lambda m: "Alice" in body_of(m))
    agent_seen = (await sandbox.bot_messages(desk.alice))[-1]["message_id"]

    await sandbox.inject_fault("copyMessage", status=502, count=2, chat_id=customer)
    await sandbox.send_text(desk.alice, "Your parcel left Shanghai this morning.")
    await wait_for(sandbox, desk.alice, lambda m: body_of(m) == text("staff_relay_pending", STAFF, id=escalation.id),
                   after=agent_seen, timeout=TIMEOUT)
    relayed = await wait_for(sandbox, customer, lambda m: "left Shanghai" in body_of(m), after=joined["message_id"],
                             timeout=TIMEOUT)
    await wait_for(sandbox, desk.alice, lambda m: body_of(m) == text("staff_relay_delivered", STAFF, id=escalation.id),
                   after=agent_seen, timeout=TIMEOUT)
    assert served(await sandbox.faults(), "copyMessage") == 2
    eventually(lambda: assert_empty(stack, customer), timeout=TIMEOUT)
    await asyncio.sleep(SETTLE)
    after_join = await sandbox.bot_messages(customer, after_message_id=joined["message_id"])
    assert [m["message_id"] for m in after_join] == [relayed["message_id"]]
    with Session(stack.database.engine) as session:
        logged = session.scalars(select(ChatMessage.kind).where(
            ChatMessage.chat_id == customer, ChatMessage.text == "Your parcel left Shanghai this morning.")).all()
    assert logged == ["agent_text"]
