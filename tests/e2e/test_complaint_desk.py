"""End to end: a complaint handled to the end through the sandbox, real bot, Rasa, action server and database.

A customer files a damage complaint with a photo; staff list it with /complaints; two agents press Take at once
and one wins; the winner messages the customer through the bot (in their language, logged on the ticket), then
resolves it with a result and compensation; the customer is told the outcome in their language, sees it in the
complaint status, answers No, and their next words reach the handler; as the new due time nears the handler is
reminded, when it passes the supervisor is alerted (the shared test clock moves instead of sleeping); a manager gets
the report chart with /report. Most rules are tested at service level (tests/crm/test_complaintdesk.py); this is
the one long scenario through every process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.texts import text
from core.clock import as_utc, utcnow
from core.db import make_sessionmaker, transaction
from crm import audit
from crm.models import (
    AuditEntry,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintStatus,
    ShipmentStatus,
    StaffRole,
)
from crm.staff import register_staff
from sandbox.client import SandboxClient
from tests.e2e.harness import STAFF_CHAT_ID, Stack, eventually, new_user_id
from tests.e2e.replies import is_text
from tests.e2e.test_conversations import link, matches, plain_customer_shipment, say
from tests.e2e.test_handoff import advance_clock, body_of, has_button, last_id, wait_for

STAFF = "zh"  # the stacks' staff language (settings default)
TIMEOUT = 30


@dataclass(frozen=True)
class People:
    """The complaint desk's staff in a stack (Telegram ids)."""

    alice: int
    bob: int
    supervisor: int
    manager: int


@pytest.fixture(scope="session")
def complaint_staff(stack: Stack) -> People:
    """Two agents, a supervisor and a manager, registered once per stack."""
    people = People(new_user_id(), new_user_id(), new_user_id(), new_user_id())
    with transaction(make_sessionmaker(stack.database.engine)) as session:
        register_staff(session, people.alice, "Alice", StaffRole.AGENT)
        register_staff(session, people.bob, "Bob", StaffRole.AGENT)
        register_staff(session, people.supervisor, "Sam", StaffRole.SUPERVISOR)
        register_staff(session, people.manager, "Mia", StaffRole.MANAGER)
    return people


@pytest.fixture()
async def people(sandbox: SandboxClient, complaint_staff: People) -> People:
    """Staff who opened their private chat with the bot (it can only write to people who did)."""
    await sandbox.create_group(STAFF_CHAT_ID, "ParcelDesk staff")
    for person in (complaint_staff.alice, complaint_staff.bob, complaint_staff.supervisor, complaint_staff.manager):
        if not await sandbox.bot_messages(person):
            await sandbox.send_text(person, "/start", first_name=f"staff{person}")
            await sandbox.wait_for_bot_messages(person, count=1, timeout=20)
    return complaint_staff


async def card_of(sandbox: SandboxClient, person: int, code: str) -> dict[str, Any]:
    """A staff member opens a ticket's card with /complaints CODE; returns the card message (with buttons)."""
    after = await last_id(sandbox, person)
    await sandbox.send_text(person, f"/complaints {code}")
    return await wait_for(sandbox, person, lambda m: is_text(body_of(m), "desk_card", STAFF) and code in body_of(m),
                          after=after, timeout=TIMEOUT)


async def press(sandbox: SandboxClient, person: int, message: dict[str, Any], data: str) -> dict[str, Any] | None:
    """Press a button of a bot message; the bot's answer to the press."""
    assert has_button(message, data), f"no button {data} on {body_of(message)[:60]!r}"
    pressed = await sandbox.press_button(person, message["chat"]["id"], message["message_id"], data)
    return await sandbox.callback_answer(pressed["callback_query_id"], wait=20)


async def reply_to_prompt(sandbox: SandboxClient, person: int, body: str, key: str) -> dict[str, Any]:
    """A staff member answers a desk prompt; the bot's next text of kind `key`."""
    after = await last_id(sandbox, person)
    await sandbox.send_text(person, body)
    return await wait_for(sandbox, person, lambda m: is_text(body_of(m), key, STAFF), after=after, timeout=TIMEOUT)


def alerted(ticket: Complaint) -> Complaint:
    """The ticket, once its supervisor alert is recorded (a check for eventually)."""
    assert ticket.due_alerted_at is not None
    return ticket


def stored(stack: Stack, code: str) -> Complaint:
    """The complaint row as it is now."""
    with Session(stack.database.engine) as session:
        return session.scalars(select(Complaint).where(Complaint.code == code)).one()


async def test_complaint_from_filing_to_supervisor_alert(sandbox: SandboxClient, stack: Stack, people: People) -> None:
    """Filed → listed → taken by one of two → message → resolved → told → status → No + words → due → alerts."""
    # --- the customer (linked to their account) files a damage complaint with a photo
    number, phone = plain_customer_shipment(stack, ShipmentStatus.DELIVERED)
    customer = new_user_id()
    await link(sandbox, customer, phone)
    story = f"parcel {number} arrived today with the box crushed and the lamp inside is broken"
    (ask,) = await say(sandbox, customer, story)
    assert matches(ask, "utter_ask_complaint_photo", "en"), body_of(ask)
    after = await last_id(sandbox, customer)
    await sandbox.send_photo(customer, caption=None)
    (summary,) = await sandbox.wait_for_bot_messages(customer, after_message_id=after, timeout=TIMEOUT)
    assert matches(summary, "utter_complaint_summary", "en"), body_of(summary)
    (filed,) = await say(sandbox, customer, "confirm")
    assert matches(filed, "utter_complaint_created", "en"), body_of(filed)
    with Session(stack.database.engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.chat_id == customer)).one()
    code = complaint.code
    assert complaint.category is ComplaintCategory.DAMAGE and not complaint.serious and complaint.customer_id

    # --- listed for staff (the damage filter), then the card: timeline, customer, the photo, the buttons
    seen = await last_id(sandbox, people.alice)
    await sandbox.send_text(people.alice, "/complaints damage")
    listing = await wait_for(sandbox, people.alice, lambda m: is_text(body_of(m), "desk_list_header", STAFF),
                             after=seen, timeout=TIMEOUT)
    assert has_button(listing, f"cd:c:{complaint.id}")
    alice_card = await card_of(sandbox, people.alice, code)
    assert number in body_of(alice_card) and has_button(alice_card, f"cd:t:{complaint.id}")
    photos = [m for m in await sandbox.bot_messages(people.alice, after_message_id=listing["message_id"])
              if "photo" in m]
    assert photos and photos[0].get("caption") == code
    bob_card = await card_of(sandbox, people.bob, code)

    # --- two agents press Take at the same moment: exactly one wins, the other is told who has it
    answers = await asyncio.gather(
        press(sandbox, people.alice, alice_card, f"cd:t:{complaint.id}"),
        press(sandbox, people.bob, bob_card, f"cd:t:{complaint.id}"),
    )
    ticket = stored(stack, code)
    assert ticket.status is ComplaintStatus.IN_PROGRESS and ticket.assigned_to_id is not None
    winner_name = "Alice" if answers[0] and answers[0]["text"] == text("desk_take_won", STAFF, code=code) else "Bob"
    winner, loser_answer = (people.alice, answers[1]) if winner_name == "Alice" else (people.bob, answers[0])
    assert sorted(a["text"] for a in answers if a) == sorted([
        text("desk_take_won", STAFF, code=code), text("desk_take_taken", STAFF, code=code, agent=winner_name)])
    assert loser_answer is not None and winner_name in loser_answer["text"]
    # The other agent may no longer open the card (least privilege): told so, and the attempt is audited.
    loser = people.bob if winner == people.alice else people.alice
    seen = await last_id(sandbox, loser)
    await sandbox.send_text(loser, f"/complaints {code}")
    await wait_for(sandbox, loser, lambda m: is_text(body_of(m), "desk_card_not_yours", STAFF) and code in body_of(m),
                   after=seen, timeout=TIMEOUT)
    with Session(stack.database.engine) as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == audit.COMPLAINT_DENIED,
                                                          AuditEntry.actor_telegram_user_id == loser)).all()
    assert [(d.subject_kind, d.subject_id) for d in denied] == [("customer", str(complaint.customer_id))]

    # --- the holder messages the customer: relayed in the customer's language, logged on the ticket
    card = await card_of(sandbox, winner, code)
    await press(sandbox, winner, card, f"cd:m:{complaint.id}")
    await wait_for(sandbox, winner, lambda m: is_text(body_of(m), "desk_prompt_message", STAFF),
                   after=card["message_id"], timeout=TIMEOUT)
    customer_seen = await last_id(sandbox, customer)
    await reply_to_prompt(sandbox, winner, "A courier collects the broken lamp tomorrow.", "desk_message_sent")
    relayed = await wait_for(sandbox, customer, lambda m: is_text(body_of(m), "complaint_staff_message", "en"),
                             after=customer_seen, timeout=TIMEOUT)
    assert body_of(relayed) == text("complaint_staff_message", "en", code=code,
                                    text="A courier collects the broken lamp tomorrow.")

    # --- the winner resolves it: the result, then a compensation amount
    await press(sandbox, winner, card, f"cd:r:{complaint.id}")
    await wait_for(sandbox, winner, lambda m: is_text(body_of(m), "desk_prompt_resolve", STAFF),
                   after=card["message_id"], timeout=TIMEOUT)
    await reply_to_prompt(sandbox, winner, "We sent a new lamp by express today.", "desk_prompt_amount")
    customer_seen = await last_id(sandbox, customer)
    await reply_to_prompt(sandbox, winner, "¥50", "desk_resolved")

    # --- the customer is told the result in English and asked whether it is resolved
    outcome = await wait_for(sandbox, customer, lambda m: is_text(body_of(m), "complaint_outcome_resolved", "en"),
                             after=customer_seen, timeout=TIMEOUT)
    assert "We sent a new lamp by express today." in outcome["text"] and "50.00 yuan" in outcome["text"]
    assert has_button(outcome, f"cf:{complaint.id}:y") and has_button(outcome, f"cf:{complaint.id}:n")
    (status,) = await say(sandbox, customer, f"what is the status of complaint {code}")
    assert matches(status, "utter_complaint_status_resolved", "en"), body_of(status)
    assert "We sent a new lamp by express today." in body_of(status) and "50.00 yuan" in body_of(status)

    # --- No: reopened, the handler alerted; the customer's next words reach the handler
    handler_seen = await last_id(sandbox, winner)
    await press(sandbox, customer, outcome, f"cf:{complaint.id}:n")
    await wait_for(sandbox, customer, lambda m: is_text(body_of(m), "complaint_reopened", "en"),
                   after=status["message_id"], timeout=TIMEOUT)
    alert = await wait_for(sandbox, winner, lambda m: is_text(body_of(m), "desk_reopened_alert", STAFF),
                           after=handler_seen, timeout=TIMEOUT)
    assert code in alert["text"]
    (thanks,) = await say(sandbox, customer, "The new lamp came broken as well.")
    assert is_text(body_of(thanks), "complaint_words_received", "en")
    words = await wait_for(sandbox, winner, lambda m: is_text(body_of(m), "desk_customer_words", STAFF),
                           after=alert["message_id"], timeout=TIMEOUT)
    assert "The new lamp came broken as well." in words["text"]
    ticket = stored(stack, code)
    assert (ticket.status, ticket.reopened_count, ticket.satisfied) == (ComplaintStatus.IN_PROGRESS, 1, False)
    with Session(stack.database.engine) as session:
        kinds = [e.kind for e in session.scalars(select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id))]
    assert kinds == [ComplaintEventKind.TAKEN, ComplaintEventKind.MESSAGE, ComplaintEventKind.RESOLVED,
                     ComplaintEventKind.OUTCOME_SENT, ComplaintEventKind.REOPENED, ComplaintEventKind.CUSTOMER_WORDS]

    # --- the new due time nears: the handler is reminded; it passes: the supervisor is alerted
    assert ticket.due_at is not None
    to_due = (as_utc(ticket.due_at) - utcnow()).total_seconds() / 60
    reminder_seen = await last_id(sandbox, winner)
    advance_clock(to_due - stack.settings.complaint_remind_minutes / 2)
    reminder = await wait_for(sandbox, winner, lambda m: is_text(body_of(m), "desk_due_reminder", STAFF)
                              and code in body_of(m), after=reminder_seen, timeout=TIMEOUT)
    supervisor_seen = await last_id(sandbox, people.supervisor)
    advance_clock(stack.settings.complaint_remind_minutes)
    alarm = await wait_for(sandbox, people.supervisor, lambda m: is_text(body_of(m), "desk_due_alert", STAFF)
                           and code in body_of(m), after=supervisor_seen, timeout=TIMEOUT)
    assert winner_name in alarm["text"]
    # The job marks the ticket just after Telegram accepted the alert (at least once, never lost): wait for it.
    ticket = eventually(lambda: alerted(stored(stack, code)))
    assert ticket.due_reminded_at is not None
    assert reminder["message_id"] > reminder_seen

    # --- the report: managers get the chart and the top numbers; agents are refused
    manager_seen = await last_id(sandbox, people.manager)
    await sandbox.send_text(people.manager, "/report category 3650")
    summary = await wait_for(sandbox, people.manager, lambda m: is_text(body_of(m), "report_summary", STAFF),
                             after=manager_seen, timeout=60)
    chart = [m for m in await sandbox.bot_messages(people.manager, after_message_id=manager_seen) if "photo" in m]
    assert chart and chart[0]["message_id"] < summary["message_id"]
    assert "破损" in summary["text"]  # the damage reason is among the shares
    (refused,) = await say(sandbox, people.alice, "/report")
    assert body_of(refused) == text("report_managers_only", STAFF)
