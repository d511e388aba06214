"""End to end, under faults: one chat's action call hangs while another chat is answered; the action server is
killed in the middle of a complaint form, the customer is held and queued, and the conversation goes on later."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.texts import TEXTS
from crm import escalations
from crm.models import (
    ChatMessage,
    Complaint,
    Escalation,
    EscalationStatus,
    Shipment,
    ShipmentStatus,
)
from parceldesk.processes import Supervisor, action_server_service
from parceldesk.stall import StallingProxy
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, free_port, new_user_id
from tests.e2e.replies import tracking_reply
from tests.e2e.test_conversations import matches, plain_customer_shipment, say
from tests.e2e.test_failures import is_holding, queued_for
from tests.e2e.test_handoff import body_of, wait_for

TIMEOUT = 30


@pytest.fixture()
async def stalling_proxy(stack: Stack) -> AsyncIterator[StallingProxy]:
    """The shared stack's action port served by a StallingProxy in front of a real action server on another port.

    Rasa's action endpoint is fixed at its start (the session's action_port), so the proxy must take that port:
    the stack's own action server gives it up for the test and is started again afterwards."""
    stack.supervisor.stop(stack.service("actions"))
    supervisor = Supervisor()
    upstream = stack.settings.model_copy(update={"action_port": free_port()})
    supervisor.start(action_server_service(upstream, stack.log_dir / "behind-proxy"))
    proxy = StallingProxy(upstream=f"http://127.0.0.1:{upstream.action_port}", stalled_senders=set())
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", stack.settings.action_port)
    try:
        yield proxy
    finally:
        proxy.release.set()
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
        supervisor.stop_all()
        stack.restart_action_server()


async def test_a_hung_action_for_one_chat_delays_no_other_chat(
    sandbox: SandboxClient, stack: Stack, stalling_proxy: StallingProxy
) -> None:
    """Chat A's tracking action hangs; chat B's tracking question and /help are answered meanwhile, promptly."""
    hung, other = new_user_id(), new_user_id()
    stalling_proxy.stalled_senders.add(f"tg-{hung}")
    await sandbox.send_text(hung, "where is my parcel XJ202611180042")
    deadline = time.monotonic() + 15
    while not stalling_proxy.stalled_calls:  # Rasa is now inside chat A's action call, which will not return
        assert time.monotonic() < deadline, "Rasa never called the action for the hung chat"
        await asyncio.sleep(0.05)

    started = time.monotonic()
    (answer,) = await say(sandbox, other, "where is my parcel XJ202611180042")
    answered_in = time.monotonic() - started
    with Session(stack.database.engine) as session:
        assert body_of(answer) in tracking_reply(session, "XJ202611180042", "en")
    assert f"tg-{other}" in stalling_proxy.forwarded
    started = time.monotonic()
    (helped,) = await say(sandbox, other, "/help")
    help_in = time.monotonic() - started
    # Chat A is still waiting for its action (no reply yet), so B was not served after A.
    assert await sandbox.bot_messages(hung) == []
    # Well under the bot's Rasa timeout (8 s in the test stack), which is what a blocked B would have waited.
    assert answered_in < 4.0, answered_in
    assert help_in < 2.0, help_in
    assert body_of(helped)

    # The hung chat itself is not forgotten: the bot's Rasa timeout gives it the holding reply and the queue.
    (held,) = await sandbox.wait_for_bot_messages(hung, count=1, timeout=TIMEOUT)
    assert is_holding(held["text"], "en")
    with Session(stack.database.engine) as session:
        # Queued for a person (the queue job may already have given it back: Rasa and the actions answer).
        opened = session.scalars(select(Escalation).where(Escalation.chat_id == hung)).all()
        assert [e.reason for e in opened] == ["bot_failure"]


def kill_action_server(stack: Stack) -> None:
    """SIGKILL the action server's process group (a crash: no clean shutdown) and reap it."""
    process = stack.service("actions").process
    assert process is not None and process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def handled_update(stack: Stack, update_id: int) -> ChatMessage:
    """The logged inbound message of an update once the bot has finished it; fails until then."""
    with Session(stack.database.engine) as session:
        row = session.scalars(
            select(ChatMessage).where(ChatMessage.update_id == update_id).order_by(ChatMessage.id).limit(1)
        ).one_or_none()
        assert row is not None and row.handled, update_id
        return row


async def test_action_server_killed_mid_form_holds_then_the_form_continues(
    sandbox: SandboxClient, stack: Stack
) -> None:
    """Killed while the complaint form waits for the number: holding reply and the queue; once the action server
    is back the bot takes the unclaimed conversation back by itself and says so; the same form goes on and files
    the complaint with the number it asked for."""
    number, _ = plain_customer_shipment(stack, ShipmentStatus.IN_TRANSIT)
    user = new_user_id()
    (ask,) = await say(sandbox, user, "my parcel hasnt arrived, it has been a week")
    assert matches(ask, "utter_ask_complaint_form_tracking_number", "en"), body_of(ask)

    kill_action_server(stack)
    try:
        (held,) = await say(sandbox, user, number)
        assert is_holding(held["text"], "en"), held["text"]
        escalation = queued_for(stack.database, user)
        assert escalation is not None and escalation.reason == "bot_failure"
    finally:
        stack.restart_action_server()

    # Back up: the bot's queue job sees Rasa and the action server answer again, hands the unclaimed conversation
    # back to the bot and tells the customer; the form still waits for the number.
    back = await wait_for(
        sandbox, user, lambda m: body_of(m) == TEXTS["bot_back"]["en"], after=held["message_id"], timeout=TIMEOUT
    )
    with Session(stack.database.engine) as session:
        assert escalations.active_for_chat(session, user) is None
        released = session.get(Escalation, escalation.id)
        assert released is not None and released.status == EscalationStatus.RESOLVED
        assert released.claimed_by_id is None  # nobody had to take it
    after = back["message_id"]
    await sandbox.send_text(user, number)
    summary = await wait_for(
        sandbox, user, lambda m: matches(m, "utter_complaint_summary", "en"), after=after, timeout=TIMEOUT
    )
    await sandbox.send_text(user, "yes")
    filed = await wait_for(
        sandbox, user, lambda m: matches(m, "utter_complaint_created", "en"), after=summary["message_id"],
        timeout=TIMEOUT,
    )
    with Session(stack.database.engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.chat_id == user)).one()
        parcel = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()
        assert complaint.shipment_id == parcel.id  # the number the form asked for before the crash
        assert complaint.code in body_of(filed)
        assert escalations.active_for_chat(session, user) is None

