"""End to end: a customer waiting for a person can leave the queue and still gets answers (real bot, Rasa, actions).

What needs the real Rasa: a question the bot can answer without a person (FAQ, tracking by number) is answered
while queued through the queued channel turn, with a reminder of the place, and the escalation stays open; after
leaving the queue the Rasa conversation is resumed, so the next message gets the bot's answer. The bot-only side
(acknowledgements, the button, the agent told, no staff group) is tested in tests/bot/test_waiting.py.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.texts import text
from bot.waiting import LEAVE
from crm.models import EscalationEvent, EscalationEventKind, EscalationStatus
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, new_user_id
from tests.e2e.replies import _domain, is_text, pattern, response_variants, tracking_reply

# The staff fixtures of the handoff tests (pytest finds fixtures by name in the module's namespace).
from tests.e2e.test_handoff import Desk, desk, desk_staff, escalation_of, has_button, wait_for  # noqa: F401

PARCEL = "XJ202611180042"


def is_response(body: str | None, prefix: str, language: str) -> bool:
    """Whether a message is a variant of a domain response whose name starts with `prefix`, whatever its values."""
    names = [name for name in _domain()["responses"] if name.startswith(prefix)]
    return body is not None and any(
        pattern(variant).match(body) for name in names for variant in response_variants(name, language)
    )


async def queue(sandbox: SandboxClient, customer: int, request: str, language: str) -> dict[str, Any]:
    """The customer asks for a person; the queue notice (with the leave button)."""
    sent = await sandbox.send_text(customer, request)
    notice = await wait_for(sandbox, customer, lambda m: True, after=sent["message_id"])
    assert is_response(notice["text"], "utter_handoff_queued", language), notice["text"]
    assert has_button(notice, LEAVE)
    return notice


async def test_faq_and_tracking_are_answered_while_queued(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:  # noqa: F811
    """转人工, then a FAQ and a tracking number: each answered by the bot, then the place; still waiting."""
    customer = new_user_id()
    notice = await queue(sandbox, customer, "转人工", "zh")
    sent = await sandbox.send_text(customer, "运费怎么算")
    answer = await wait_for(sandbox, customer, lambda m: True, after=sent["message_id"])
    assert is_response(answer["text"], "utter_faq/", "zh"), answer["text"]
    reminder = await wait_for(sandbox, customer, lambda m: True, after=answer["message_id"])
    assert is_text(reminder["text"], "queue_reminder", "zh") and has_button(reminder, LEAVE)

    sent = await sandbox.send_text(customer, f"{PARCEL} 到哪了")
    tracked = await wait_for(sandbox, customer, lambda m: PARCEL in (m.get("text") or ""), after=sent["message_id"])
    with Session(stack.database.engine) as session:
        assert tracked["text"] in tracking_reply(session, PARCEL, "zh")
    reminder = await wait_for(sandbox, customer, lambda m: True, after=tracked["message_id"])
    assert is_text(reminder["text"], "queue_reminder", "zh")
    escalation = escalation_of(stack, customer)
    assert escalation.status is EscalationStatus.OPEN
    # Kept for the agent all the same.
    with Session(stack.database.engine) as session:
        kept = session.scalars(select(EscalationEvent.body).where(
            EscalationEvent.escalation_id == escalation.id,
            EscalationEvent.kind == EscalationEventKind.CUSTOMER_MESSAGE).order_by(EscalationEvent.id)).all()
    assert kept == ["运费怎么算", f"{PARCEL} 到哪了"]
    assert notice["message_id"] < reminder["message_id"]


async def test_anything_else_is_acknowledged_not_answered(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:  # noqa: F811
    """A complaint typed while queued is for the agent: a short acknowledgement, no form started."""
    customer = new_user_id()
    await queue(sandbox, customer, "I want to talk to an agent", "en")
    sent = await sandbox.send_text(customer, "my parcel arrived broken")
    ack = await wait_for(sandbox, customer, lambda m: True, after=sent["message_id"])
    assert is_text(ack["text"], "queue_ack", "en"), ack["text"]
    assert escalation_of(stack, customer).status is EscalationStatus.OPEN


async def test_leaving_by_words_gives_the_conversation_back_to_the_bot(
    sandbox: SandboxClient, stack: Stack, desk: Desk  # noqa: F811
) -> None:
    """"never mind the agent": back with the bot (Rasa resumed: the next message is answered), nothing open."""
    customer = new_user_id()
    await queue(sandbox, customer, "I want to talk to an agent", "en")
    sent = await sandbox.send_text(customer, "never mind the agent")
    left = await wait_for(sandbox, customer, lambda m: True, after=sent["message_id"])
    assert left["text"] == text("queue_left", "en")
    escalation = escalation_of(stack, customer)
    assert escalation.status is EscalationStatus.RESOLVED and escalation.rasa_resumed_at is not None
    sent = await sandbox.send_text(customer, f"where is {PARCEL}")
    tracked = await wait_for(sandbox, customer, lambda m: True, after=sent["message_id"])
    with Session(stack.database.engine) as session:
        assert tracked["text"] in tracking_reply(session, PARCEL, "en")
    later = await sandbox.bot_messages(customer, after_message_id=tracked["message_id"])
    assert not any(is_text(m.get("text"), "queue_reminder", "en") for m in later)
    assert re.search(PARCEL, tracked["text"])
