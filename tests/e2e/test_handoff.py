"""End to end: the human agent queue through the sandbox, real bot, Rasa, action server and database.

Every test has a customer chat, the staff group (settings.staff_chat_id) and agents registered in the database
who talk to customers through their private chats with the bot.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.texts import TEXTS, command_menu, text
from core.clock import CLOCK_FILE_ENV, clock_offset, set_clock_offset
from core.db import make_sessionmaker, transaction
from crm import audit
from crm.models import AuditEntry, Customer, Escalation, EscalationEventKind, EscalationStatus, Staff, StaffRole
from crm.staff import register_staff
from demo.company import SHOWCASE_PERSON_CODE
from sandbox.client import SandboxClient, WaitTimeout
from tests.e2e.harness import STAFF_CHAT_ID, Stack, new_user_id
from tests.e2e.replies import domain_text, has_chinese, is_text

STAFF = "zh"  # the stacks' staff language (settings default)


@dataclass(frozen=True)
class Desk:
    """The staff side of a stack: the group, two agents, a supervisor and an admin (Telegram ids)."""

    group: int
    alice: int
    bob: int
    supervisor: int
    admin: int


@pytest.fixture(scope="session")
def desk_staff(stack: Stack) -> Desk:
    """Register the staff of a stack in its database (once per stack)."""
    desk = Desk(STAFF_CHAT_ID, new_user_id(), new_user_id(), new_user_id(), new_user_id())
    with transaction(make_sessionmaker(stack.database.engine)) as session:
        register_staff(session, desk.alice, "Alice", StaffRole.AGENT)
        register_staff(session, desk.bob, "Bob", StaffRole.AGENT)
        register_staff(session, desk.supervisor, "Sam", StaffRole.SUPERVISOR)
        register_staff(session, desk.admin, "Ada", StaffRole.ADMIN)
    return desk


def unlinked(customer: int) -> str:
    """How staff see a customer whose phone is not verified: the Telegram display name (the sandbox's "Test")."""
    return text("staff_customer_unlinked", STAFF, name="Test", chat=customer)


# (sandbox URL, Telegram id) of staff who already opened their private chat with the bot.
_introduced: set[tuple[str, int]] = set()


@pytest.fixture()
async def desk(sandbox: SandboxClient, desk_staff: Desk, stack: Stack) -> AsyncIterator[Desk]:
    """The staff group exists, staff have private chats with the bot, and nobody else is in the queue."""
    await sandbox.create_group(desk_staff.group, "ParcelDesk staff")
    for person in (desk_staff.alice, desk_staff.bob, desk_staff.supervisor, desk_staff.admin):
        if (stack.sandbox_url, person) not in _introduced:
            # As in Telegram, the bot can only write to people who started a private chat with it.
            await sandbox.send_text(person, "/start", first_name=f"staff{person}")
            await sandbox.wait_for_bot_messages(person, count=1, timeout=20)
            _introduced.add((stack.sandbox_url, person))
    clear_queue(stack)
    yield desk_staff
    clear_queue(stack)


def clear_queue(stack: Stack) -> None:
    """Close every escalation left by other tests, so positions and announcements are this test's own."""
    with transaction(make_sessionmaker(stack.database.engine)) as session:
        session.execute(
            update(Escalation)
            .where(Escalation.status != EscalationStatus.RESOLVED)
            .values(status=EscalationStatus.RESOLVED, active_chat_id=None)
        )
        session.execute(update(Staff).values(current_escalation_id=None))


def advance_clock(minutes: float) -> None:
    """Move every process's clock forward (the test clock file is shared by the whole stack)."""
    path = Path(os.environ[CLOCK_FILE_ENV])
    set_clock_offset(path, clock_offset().total_seconds() + minutes * 60)


def escalation_of(stack: Stack, chat_id: int) -> Escalation:
    """The latest escalation of a chat."""
    with Session(stack.database.engine) as session:
        found = session.scalars(
            select(Escalation).where(Escalation.chat_id == chat_id).order_by(Escalation.id.desc()).limit(1)
        ).one_or_none()
        assert found is not None, f"chat {chat_id} has no escalation"
        return found


def body_of(message: dict[str, Any]) -> str:
    """A message's text or caption."""
    return message.get("text") or message.get("caption") or ""


async def wait_for(
    sandbox: SandboxClient, chat_id: int, predicate: Callable[[dict[str, Any]], bool], *, after: int = 0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """The first bot message in a chat (after a message id) that satisfies the predicate."""
    deadline = time.monotonic() + timeout
    while True:
        for message in await sandbox.bot_messages(chat_id, after_message_id=after):
            if predicate(message):
                return message
        if time.monotonic() > deadline:
            seen = [body_of(m)[:80] for m in await sandbox.bot_messages(chat_id, after_message_id=after)]
            raise WaitTimeout(f"no matching bot message in chat {chat_id} within {timeout}s; saw {seen}")
        await asyncio.sleep(0.3)


async def last_id(sandbox: SandboxClient, chat_id: int) -> int:
    """The id of the latest message in a chat (0 if none)."""
    messages = await sandbox.messages(chat_id)
    return messages[-1]["message_id"] if messages else 0


def has_button(message: dict[str, Any], data: str) -> bool:
    """Whether a message carries an inline button with this callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return any(button.get("callback_data") == data for row in rows for button in row)


async def announcement(sandbox: SandboxClient, desk: Desk, escalation_id: int, after: int = 0) -> dict[str, Any]:
    """The staff-group announcement of an escalation (with its Claim button)."""
    return await wait_for(
        sandbox, desk.group, lambda m: has_button(m, f"claim:{escalation_id}") and f"#{escalation_id}" in body_of(m),
        after=after,
    )


async def claim(sandbox: SandboxClient, desk: Desk, agent: int, escalation_id: int,
                message_id: int) -> dict[str, Any]:
    """An agent presses Claim; returns the bot's answer to the press."""
    pressed = await sandbox.press_button(agent, desk.group, message_id, f"claim:{escalation_id}")
    answer = await sandbox.callback_answer(pressed["callback_query_id"], wait=20)
    assert answer is not None
    return answer


async def request_and_claim(
    sandbox: SandboxClient, stack: Stack, desk: Desk, customer: int, request: str, language: str
) -> tuple[Escalation, int, int]:
    """A customer asks for a person and Alice claims; returns the escalation, the customer's last message id
    and the announcement's message id."""
    sent = await sandbox.send_text(customer, request)
    queued = await wait_for(sandbox, customer, lambda m: True, after=sent["message_id"])
    assert queued["text"] in domain_text("utter_handoff_queued", language, position="1",
                                         wait_minutes=re.search(r"(\d+) (?:分钟|minutes)", queued["text"])[1])
    escalation = escalation_of(stack, customer)
    posted = await announcement(sandbox, desk, escalation.id)
    answer = await claim(sandbox, desk, desk.alice, escalation.id, posted["message_id"])
    assert answer["text"] == text("staff_claim_won", STAFF, id=escalation.id)
    joined = await wait_for(sandbox, customer, lambda m: is_text(m.get("text"), "handoff_agent_joined", language),
                            after=queued["message_id"])
    assert "Alice" in joined["text"]
    return escalation, joined["message_id"], posted["message_id"]


async def full_cycle(sandbox: SandboxClient, stack: Stack, desk: Desk, language: str, request: str,
                     customer_line: str, agent_line: str, greeting: str, *, use_buttons: bool) -> None:
    """Request -> announcement -> claim -> two-way relay with photos -> resolve -> rating -> the bot answers."""
    customer = new_user_id()
    agent_seen = await last_id(sandbox, desk.alice)
    escalation, customer_seen, posted = await request_and_claim(sandbox, stack, desk, customer, request, language)

    # The announcement now names the agent; the agent got the hand-over with the summary.
    edited = await sandbox.wait_for_edit(desk.group, posted)
    assert is_text(edited["text"], "staff_claimed_by", STAFF) and "Alice" in edited["text"]
    handover = await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_handover", STAFF),
                              after=agent_seen)
    assert f"#{escalation.id}" in handover["text"] and request in handover["text"]
    agent_seen = handover["message_id"]

    # Agent -> customer: text and a photo, copied as they are.
    await sandbox.send_text(desk.alice, agent_line)
    got = await wait_for(sandbox, customer, lambda m: m.get("text") == agent_line, after=customer_seen)
    await sandbox.send_photo(desk.alice, caption="label")
    photo = await wait_for(sandbox, customer, lambda m: "photo" in m, after=got["message_id"])
    assert photo.get("caption") == "label"
    customer_seen = photo["message_id"]

    # Customer -> agent: text and a photo, under a header naming the conversation.
    await sandbox.send_text(customer, customer_line)
    header = text("staff_customer_header", STAFF, id=escalation.id, customer=unlinked(customer))
    relayed = await wait_for(sandbox, desk.alice, lambda m: body_of(m) == f"{header}\n{customer_line}",
                             after=agent_seen)
    await sandbox.send_photo(customer, caption="broken box")
    relayed_photo = await wait_for(sandbox, desk.alice, lambda m: "photo" in m, after=relayed["message_id"])
    assert relayed_photo["caption"] == f"{header}\nbroken box"
    agent_seen = relayed_photo["message_id"]

    # Resolve (command with a tag, or the button and then a tag button).
    if use_buttons:
        await sandbox.press_button(desk.alice, desk.alice, handover["message_id"], f"resolve:{escalation.id}")
        done = await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_resolved", STAFF),
                              after=agent_seen)
        await sandbox.press_button(desk.alice, desk.alice, done["message_id"], f"tag:{escalation.id}:complain_damage")
        await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_tagged", STAFF),
                       after=done["message_id"])
        tag = "complain_damage"
    else:
        await sandbox.send_text(desk.alice, "/resolve complain_delay")
        await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_resolved_tagged", STAFF),
                       after=agent_seen)
        tag = "complain_delay"

    # The customer is asked for a rating, presses 5, is thanked; the rating is stored.
    prompt = await wait_for(sandbox, customer, lambda m: m.get("text") == TEXTS["handoff_resolved_rate"][language],
                            after=customer_seen)
    assert has_button(prompt, f"rate:{escalation.id}:5")
    await sandbox.press_button(customer, customer, prompt["message_id"], f"rate:{escalation.id}:5")
    thanks = await wait_for(sandbox, customer, lambda m: is_text(m.get("text"), "rating_thanks", language),
                            after=prompt["message_id"])
    with Session(stack.database.engine) as session:
        stored = session.get(Escalation, escalation.id)
        assert stored is not None
        assert (stored.status, stored.rating, stored.tagged_intent) == (EscalationStatus.RESOLVED, 5, tag)
        assert stored.rasa_resumed_at is not None
        kinds = [event.kind for event in stored.events]
        assert kinds.count(EscalationEventKind.CUSTOMER_MESSAGE) == 2
        assert kinds.count(EscalationEventKind.AGENT_MESSAGE) == 2

    # The bot answers again, through Rasa.
    await sandbox.send_text(customer, greeting)
    again = await wait_for(sandbox, customer, lambda m: True, after=thanks["message_id"])
    assert again["text"] in domain_text("utter_greet", language)


async def test_full_cycle_in_chinese(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """转人工 through Rasa, claim, relay both ways with photos, /resolve with a tag, rating, Rasa answers again."""
    await full_cycle(sandbox, stack, desk, "zh", "转人工", "我的快递还没到", "您好，我是客服，马上为您查询。", "你好",
                     use_buttons=False)


async def test_full_cycle_in_english(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """An English request for a person, the Resolve and tag buttons, rating, then Rasa answers in English."""
    await full_cycle(sandbox, stack, desk, "en", "can I talk to a real person please", "my parcel is broken",
                     "Hello, this is Alice from customer service.", "hello there", use_buttons=True)


async def test_concurrent_claims_one_wins(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """Two agents press Claim at the same moment: exactly one wins, the other is told who has it."""
    customer = new_user_id()
    await sandbox.send_text(customer, "/human")
    await sandbox.wait_for_bot_messages(customer, count=1, timeout=20)
    escalation = escalation_of(stack, customer)
    posted = await announcement(sandbox, desk, escalation.id)
    answers = await asyncio.gather(
        claim(sandbox, desk, desk.alice, escalation.id, posted["message_id"]),
        claim(sandbox, desk, desk.bob, escalation.id, posted["message_id"]),
    )
    texts_ = sorted(answer["text"] for answer in answers)
    with Session(stack.database.engine) as session:
        stored = session.get(Escalation, escalation.id)
        assert stored is not None and stored.status == EscalationStatus.CLAIMED
        winner = session.get(Staff, stored.claimed_by_id)
        assert winner is not None
    assert text("staff_claim_won", STAFF, id=escalation.id) in texts_
    assert text("staff_claim_taken", STAFF, id=escalation.id, agent=winner.name) in texts_


async def test_non_staff_cannot_claim_or_use_staff_commands(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """A customer pressing Claim is refused and nothing changes; staff commands get the unknown-command reply."""
    customer, stranger = new_user_id(), new_user_id()
    await sandbox.send_text(customer, "/human", language_code="en")
    await sandbox.wait_for_bot_messages(customer, count=1, timeout=20)
    escalation = escalation_of(stack, customer)
    posted = await announcement(sandbox, desk, escalation.id)
    answer = await claim(sandbox, desk, stranger, escalation.id, posted["message_id"])
    assert answer["text"] == text("staff_claim_not_staff", STAFF)
    with Session(stack.database.engine) as session:
        assert session.get(Escalation, escalation.id).status == EscalationStatus.OPEN  # type: ignore[union-attr]
    commands = ["/queue", "/profile", f"/profile {escalation.id}", "/note hi", "/transfer 1", "/resolve",
                f"/staff add {stranger} admin", "/staff list"]
    for command in commands:
        await sandbox.send_text(stranger, command, language_code="en")
    replies = await sandbox.wait_for_bot_messages(stranger, count=len(commands), timeout=30)
    assert [r["text"] for r in replies] == [text("unknown_command", "en", commands=command_menu("en"))] * len(commands)
    with Session(stack.database.engine) as session:
        assert session.scalars(select(Staff).where(Staff.telegram_user_id == stranger)).one_or_none() is None
        views = session.scalars(select(AuditEntry).where(AuditEntry.actor_telegram_user_id == stranger)).all()
        assert views == []


async def test_sla_reminder_and_supervisor_escalation(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """Unclaimed past the deadline: re-announced, then supervisors alerted; claimed without a reply: likewise."""
    customer = new_user_id()
    await sandbox.send_text(customer, "/human")
    await sandbox.wait_for_bot_messages(customer, count=1, timeout=20)
    escalation = escalation_of(stack, customer)
    first = await announcement(sandbox, desk, escalation.id)
    supervisor_seen = await last_id(sandbox, desk.supervisor)
    settings = stack.settings

    advance_clock(settings.sla_claim_minutes + 1)
    reminder = await wait_for(
        sandbox, desk.group,
        lambda m: is_text(body_of(m), "staff_reannounce", STAFF) and f"#{escalation.id}" in body_of(m),
        after=first["message_id"],
    )
    assert has_button(reminder, f"claim:{escalation.id}")
    advance_clock(settings.sla_supervisor_minutes + 1)
    alert = await wait_for(sandbox, desk.supervisor, lambda m: is_text(body_of(m), "staff_alert_claim", STAFF),
                           after=supervisor_seen)
    assert f"#{escalation.id}" in alert["text"]
    supervisor_seen = alert["message_id"]

    # Claimed (from the reminder) but the agent never answers.
    agent_seen = await last_id(sandbox, desk.bob)
    answer = await claim(sandbox, desk, desk.bob, escalation.id, reminder["message_id"])
    assert answer["text"] == text("staff_claim_won", STAFF, id=escalation.id)
    advance_clock(settings.sla_reply_minutes + 1)
    nudge = await wait_for(sandbox, desk.bob, lambda m: is_text(body_of(m), "staff_remind_agent", STAFF),
                           after=agent_seen)
    assert f"#{escalation.id}" in nudge["text"]
    advance_clock(settings.sla_supervisor_minutes + 1)
    alert = await wait_for(sandbox, desk.supervisor, lambda m: is_text(body_of(m), "staff_alert_reply", STAFF),
                           after=supervisor_seen)
    assert "Bob" in alert["text"]
    with Session(stack.database.engine) as session:
        kinds = [e.kind for e in session.get(Escalation, escalation.id).events]  # type: ignore[union-attr]
    assert kinds.count(EscalationEventKind.REMINDED) == 2
    assert kinds.count(EscalationEventKind.SUPERVISOR_ALERTED) == 2


async def test_bot_restart_mid_handoff_loses_nothing(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """Messages written on both sides while the bot is down are relayed once it is back; the claim stands."""
    customer = new_user_id()
    escalation, customer_seen, _ = await request_and_claim(sandbox, stack, desk, customer, "转人工", "zh")
    agent_seen = await last_id(sandbox, desk.alice)
    stack.stop_bot()
    try:
        await sandbox.send_text(customer, "你们还在吗")
        await sandbox.send_text(desk.alice, "在的，请稍等")
    finally:
        stack.start_bot()
    header = text("staff_customer_header", STAFF, id=escalation.id, customer=unlinked(customer))
    await wait_for(sandbox, desk.alice, lambda m: body_of(m) == f"{header}\n你们还在吗", after=agent_seen)
    got = await wait_for(sandbox, customer, lambda m: m.get("text") == "在的，请稍等", after=customer_seen)
    await sandbox.send_text(desk.alice, "/resolve")
    await wait_for(sandbox, customer, lambda m: m.get("text") == TEXTS["handoff_resolved_rate"]["zh"],
                   after=got["message_id"])


async def test_customer_writing_while_queued(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """Every queued message is answered (an acknowledgement, then one catch-up notice for the burst), tracking is
    answered by the bot meanwhile, and the agent sees all of it."""
    customer = new_user_id()
    await sandbox.send_text(customer, "/human", language_code="en")
    (queued,) = await sandbox.wait_for_bot_messages(customer, count=1, timeout=20)
    assert is_text(queued["text"], "handoff_queued", "en")
    await sandbox.send_text(customer, "hello? anyone there")
    ack = await wait_for(sandbox, customer, lambda m: True, after=queued["message_id"])
    assert is_text(ack["text"], "queue_ack", "en")
    await sandbox.send_photo(customer, caption="the label")
    advance_clock(1.1)
    notice = await wait_for(sandbox, customer, lambda m: True, after=ack["message_id"])
    assert is_text(notice["text"], "handoff_still_queued", "en")
    await sandbox.send_text(customer, "where is XJ202611180042")
    answer = await wait_for(sandbox, customer, lambda m: "XJ202611180042" in (m.get("text") or ""),
                            after=notice["message_id"])
    await wait_for(sandbox, customer, lambda m: is_text(m.get("text"), "queue_reminder", "en"),
                   after=answer["message_id"])
    escalation = escalation_of(stack, customer)
    agent_seen = await last_id(sandbox, desk.alice)
    posted = await announcement(sandbox, desk, escalation.id)
    await claim(sandbox, desk, desk.alice, escalation.id, posted["message_id"])
    header = text("staff_customer_header", STAFF, id=escalation.id, customer=unlinked(customer))
    first = await wait_for(sandbox, desk.alice, lambda m: body_of(m) == f"{header}\nhello? anyone there",
                           after=agent_seen)
    photo = await wait_for(sandbox, desk.alice, lambda m: "photo" in m, after=first["message_id"])
    assert photo["caption"] == f"{header}\nthe label"
    await wait_for(sandbox, desk.alice, lambda m: body_of(m) == f"{header}\nwhere is XJ202611180042",
                   after=photo["message_id"])


async def test_two_customers_get_the_right_positions(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """The first customer is number 1, the second number 2; /queue lists them in that order."""
    first, second = new_user_id(), new_user_id()
    await sandbox.send_text(first, "/human", language_code="zh-hans")
    (one,) = await sandbox.wait_for_bot_messages(first, count=1, timeout=20)
    await sandbox.send_text(second, "I want to talk to an agent")
    (two,) = await sandbox.wait_for_bot_messages(second, count=1, timeout=30)
    assert is_text(one["text"], "handoff_queued", "zh") and "第 1 位" in one["text"]
    assert "number 2 in the queue" in two["text"]
    assert two["text"] in domain_text("utter_handoff_queued", "en", position="2",
                                      wait_minutes=re.search(r"about (\d+) minutes", two["text"])[1])
    seen = await last_id(sandbox, desk.group)
    await sandbox.send_text(desk.bob, "/queue", chat_id=desk.group)
    listing = await wait_for(sandbox, desk.group, lambda m: is_text(body_of(m).split("\n")[0], "staff_queue_header",
                                                                    STAFF), after=seen)
    first_id, second_id = escalation_of(stack, first).id, escalation_of(stack, second).id
    lines = listing["text"].split("\n")
    assert lines[1].startswith(f"1. #{first_id} ") and lines[2].startswith(f"2. #{second_id} ")


async def test_profile_is_staff_only_and_audited(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """The agent holding the conversation sees a linked customer's profile with recent shipments, not in the group;
    another agent asking for it is refused, a supervisor is not; views and the refusal are audited."""
    customer = new_user_id()
    with transaction(make_sessionmaker(stack.database.engine)) as session:
        person = session.scalars(select(Customer).where(Customer.code == SHOWCASE_PERSON_CODE)).one()
        person.telegram_user_id = customer
        name, person_id = person.name, person.id
    try:
        await request_and_claim(sandbox, stack, desk, customer, "转人工", "zh")
        seen = await last_id(sandbox, desk.alice)
        await sandbox.send_text(desk.alice, "/profile")
        profile = await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_profile", STAFF),
                                 after=seen)
        assert name in profile["text"] and "XJ" in profile["text"]
        group_seen = await last_id(sandbox, desk.group)
        await sandbox.send_text(desk.alice, "/profile", chat_id=desk.group)
        refused = await wait_for(sandbox, desk.group, lambda m: True, after=group_seen)
        assert refused["text"] == text("staff_private_only", STAFF)
        case_id = escalation_of(stack, customer).id
        bob_seen, sam_seen = await last_id(sandbox, desk.bob), await last_id(sandbox, desk.supervisor)
        await sandbox.send_text(desk.bob, f"/profile {case_id}")
        not_yours = await wait_for(sandbox, desk.bob, lambda m: True, after=bob_seen)
        assert not_yours["text"] == text("staff_profile_not_yours", STAFF, id=case_id) and name not in not_yours["text"]
        await sandbox.send_text(desk.supervisor, f"/profile {case_id}")
        await wait_for(sandbox, desk.supervisor, lambda m: is_text(body_of(m), "staff_profile", STAFF), after=sam_seen)
        with Session(stack.database.engine) as session:
            about = [e for e in audit.entries(session, customer_id=person_id)
                     if e.action in (audit.PROFILE_VIEW, audit.PROFILE_DENIED)]
            assert [(v.action, v.actor_telegram_user_id) for v in reversed(about)] == [
                (audit.PROFILE_VIEW, desk.alice), (audit.PROFILE_DENIED, desk.bob),
                (audit.PROFILE_VIEW, desk.supervisor),
            ]
    finally:
        with transaction(make_sessionmaker(stack.database.engine)) as session:
            session.execute(update(Customer).where(Customer.id == person_id).values(telegram_user_id=None))


async def test_note_transfer_and_admin_roles(sandbox: SandboxClient, stack: Stack, desk: Desk) -> None:
    """A note and a transfer reach the new agent with the history; only admins change roles, and it is audited."""
    customer = new_user_id()
    escalation, customer_seen, _ = await request_and_claim(sandbox, stack, desk, customer, "转人工", "zh")
    seen = await last_id(sandbox, desk.alice)
    bob_seen = await last_id(sandbox, desk.bob)
    await sandbox.send_text(desk.alice, "/note 客户很着急")
    await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_note_saved", STAFF), after=seen)
    await sandbox.send_text(desk.alice, f"/transfer {desk.bob}")
    await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_transferred", STAFF), after=seen)
    await wait_for(sandbox, desk.bob, lambda m: is_text(body_of(m), "staff_handover", STAFF), after=bob_seen)
    await wait_for(sandbox, desk.bob, lambda m: "客户很着急" in body_of(m), after=bob_seen)
    told = await wait_for(sandbox, customer, lambda m: is_text(m.get("text"), "handoff_transferred", "zh"),
                          after=customer_seen)
    assert "Bob" in told["text"]
    await sandbox.send_text(customer, "好的")
    header = text("staff_customer_header", STAFF, id=escalation.id, customer=unlinked(customer))
    await wait_for(sandbox, desk.bob, lambda m: body_of(m) == f"{header}\n好的", after=bob_seen)

    newcomer = new_user_id()
    await sandbox.send_text(desk.alice, f"/staff add {newcomer} agent Carol")
    await wait_for(sandbox, desk.alice, lambda m: is_text(body_of(m), "staff_admin_only", STAFF), after=seen)
    admin_seen = await last_id(sandbox, desk.admin)
    await sandbox.send_text(desk.admin, f"/staff add {newcomer} supervisor Carol")
    done = await wait_for(sandbox, desk.admin, lambda m: is_text(body_of(m), "staff_role_set", STAFF),
                          after=admin_seen)
    assert "Carol" in done["text"] and "supervisor" in done["text"]
    with Session(stack.database.engine) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == audit.ROLE_CHANGE, AuditEntry.subject_id == str(newcomer))
        ).one()
        assert entry.actor_telegram_user_id == desk.admin and (entry.details or {}).get("to") == "supervisor"
    await sandbox.send_text(desk.admin, f"/staff remove {newcomer}")
    await wait_for(sandbox, desk.admin, lambda m: is_text(body_of(m), "staff_removed", STAFF),
                   after=done["message_id"])


def test_chinese_texts_are_chinese() -> None:
    """Every bot text has a Chinese and an English variant (the Chinese one with Chinese in it)."""
    for key, variants in TEXTS.items():
        assert set(variants) >= {"zh", "en"}, key
        if key not in ("language_set_en",):
            assert has_chinese(variants["zh"]) or not has_chinese(variants["en"]), key
