"""End to end: Rasa keeps its conversations in the application's database, so a Rasa that crashes in the middle
of a complaint form and is started again continues the form where it was (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.chats import sender_id
from crm.models import Complaint, Shipment, ShipmentStatus
from privacy.trackers import conversation
from sandbox.client import SandboxClient
from tests.e2e.harness import RasaServer, Stack, new_user_id
from tests.e2e.test_conversations import matches, plain_customer_shipment, press, say
from tests.e2e.test_handoff import body_of

DESCRIPTION = "it was promised for Monday and it is still not here"


async def test_rasa_crash_mid_form_keeps_the_form(sandbox: SandboxClient, stack: Stack, rasa: RasaServer) -> None:
    """The form has the parcel number and asks what happened; Rasa is SIGKILLed and started again (a new process
    with nothing in memory); the customer's answer completes the same form: the complaint is filed for the parcel
    given before the crash. The conversation was in our database's `events` table all along."""
    number, _ = plain_customer_shipment(stack, ShipmentStatus.IN_TRANSIT)
    user = new_user_id()
    # The number on its own: "my parcel XJ… is late" would already be the description and the form complete.
    (ask_number,) = await say(sandbox, user, "my parcel is late")
    assert matches(ask_number, "utter_ask_complaint_form_tracking_number", "en"), body_of(ask_number)
    (question,) = await say(sandbox, user, number)
    assert matches(question, "utter_ask_complaint_description", "en"), body_of(question)
    with Session(stack.database.engine) as session:
        slots = {e["name"]: e["value"] for e in conversation(session, sender_id(user)) if e["event"] == "slot"}
    assert slots.get("tracking_number") == number, slots  # in the application's database, not in Rasa's memory

    before = rasa.service.process.pid if rasa.service.process else None
    await asyncio.to_thread(rasa.crash_and_restart)
    assert rasa.service.process is not None and rasa.service.process.pid != before

    (summary,) = await say(sandbox, user, DESCRIPTION)
    assert matches(summary, "utter_complaint_summary", "en") and number in body_of(summary), body_of(summary)
    (filed,) = await press(sandbox, user, summary, "/affirm")
    assert matches(filed, "utter_complaint_created", "en"), body_of(filed)
    with Session(stack.database.engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.chat_id == user)).one()
        parcel = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()
    assert complaint.shipment_id == parcel.id and complaint.description == DESCRIPTION
    assert complaint.code in body_of(filed)
