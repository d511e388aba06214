"""End to end: a customer erases their data from the chat (/forget and the words, with a confirmation button),
through the sandbox, the real bot, Rasa (its SQL tracker store, in the same database) and the database."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.texts import text
from crm.chats import sender_id
from crm.identity import customers_with_phone
from crm.models import AuditEntry, Complaint, Customer, CustomerKind, EscalationEvent, Shipment, ShipmentStatus
from demo.company import SHOWCASE_COMPANY_CODE, SHOWCASE_PERSON_CODE
from privacy.erasure import blocking_parcels, second_pass_delay, subject_for_customer
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, eventually, new_user_id
from tests.e2e.test_conversations import buttons, link
from tests.e2e.test_handoff import body_of, escalation_of, last_id, wait_for
from tests.privacy.search import add_event, events_of, search_database, search_rasa_events

TIMEOUT = 30.0


def erasable_customer(stack: Stack) -> tuple[int, str, str, str, str]:
    """(id, name, phone, address, a delivered parcel's number) of a private customer nobody else's test uses:
    from the end of the book, phone of their own, every parcel arrived."""
    with Session(stack.database.engine) as session:
        candidates = session.scalars(
            select(Customer)
            .where(Customer.kind == CustomerKind.PERSONAL, Customer.telegram_user_id.is_(None),
                   Customer.erased_at.is_(None), Customer.code.not_in([SHOWCASE_PERSON_CODE, SHOWCASE_COMPANY_CODE]),
                   Customer.phone.like("+861%"))
            .order_by(Customer.id.desc())
            .limit(200)
        )
        for customer in candidates:
            delivered = session.scalars(
                select(Shipment.tracking_number)
                .where(Shipment.customer_id == customer.id, Shipment.status == ShipmentStatus.DELIVERED)
                .limit(1)
            ).first()
            if delivered is None or len(customers_with_phone(session, customer.phone)) != 1:
                continue
            if blocking_parcels(session, subject_for_customer(session, customer.id)):
                continue
            return customer.id, customer.name, customer.phone, customer.address, delivered
    raise AssertionError("the demo company has no private customer whose parcels have all arrived")


def accounts(stack: Stack) -> tuple[int, Counter[tuple[str, str, bool]]]:
    """Shipments, and complaints per category, status and seriousness."""
    with Session(stack.database.engine) as session:
        shipments = int(session.scalar(select(func.count()).select_from(Shipment)) or 0)
        rows = session.execute(select(Complaint.category, Complaint.status, Complaint.serious)).all()
    return shipments, Counter((c.value, s.value, serious) for c, s, serious in rows)


async def send(sandbox: SandboxClient, user: int, body: str, expect: str) -> dict[str, Any]:
    """Send a text; the bot's first reply containing `expect`."""
    after = await last_id(sandbox, user)
    await sandbox.send_text(user, body)
    return await wait_for(sandbox, user, lambda m: expect in body_of(m), after=after, timeout=TIMEOUT)


async def press(sandbox: SandboxClient, user: int, message: dict[str, Any], prefix: str, expect: str) -> dict[str, Any]:
    """Press the button whose data starts with `prefix`; the bot's reply containing `expect`."""
    data = next(data for _title, data in buttons(message) if data.startswith(prefix))
    after = await last_id(sandbox, user)
    await sandbox.press_button(user, user, message["message_id"], data)
    return await wait_for(sandbox, user, lambda m: expect in body_of(m), after=after, timeout=TIMEOUT)


async def test_customer_erases_their_data_from_the_chat(sandbox: SandboxClient, stack: Stack) -> None:
    """A linked customer tracks a parcel, writes their address and phone, talks to the queue, then "删除我的数据"
    → Cancel changes nothing, /forget → Yes erases: no table and no Rasa event holds their phone, name or texts;
    shipment and complaint counts are unchanged; the erasure is audited; what a Rasa turn still running would write
    back is deleted by the bot's second pass; the chat works on afterwards."""
    customer_id, name, phone, address, number = erasable_customer(stack)
    user = new_user_id()
    said = f"我的地址是{address}，电话{phone}，请帮我查 {number}"
    queued = f"我是{name}，请尽快联系我"
    before = accounts(stack)

    reply = await link(sandbox, user, phone)
    assert name in body_of(reply)
    await send(sandbox, user, said, number)
    await send(sandbox, user, "删除我的数据", text("forget_prompt", "zh")[:12])
    prompt = await wait_for(sandbox, user, lambda m: any(d.startswith("forget:") for _t, d in buttons(m)))
    await press(sandbox, user, prompt, "forget:no", text("forget_cancelled", "zh"))
    await sandbox.send_text(user, "/human")
    eventually(lambda: escalation_of(stack, user), timeout=TIMEOUT)
    await sandbox.send_text(user, queued)

    def relayed() -> None:
        with Session(stack.database.engine) as session:
            bodies = session.scalars(select(EscalationEvent.body).where(EscalationEvent.body == queued)).all()
        assert bodies

    eventually(relayed, timeout=TIMEOUT)
    texts, phones = [name, address, said, queued], [phone]
    with Session(stack.database.engine) as session:
        assert {hit[0] for hit in search_database(session, texts, phones)} >= {"customers", "chat_messages",
                                                                              "escalations", "escalation_events"}
    # Rasa keeps the conversation in the test database itself (its `events` table, next to ours).
    with stack.database.engine.connect() as connection:
        assert search_rasa_events(connection, texts, phones), "Rasa's events should hold the customer's text"

    prompt = await send(sandbox, user, "/forget", text("forget_prompt", "zh")[:12])
    await press(sandbox, user, prompt, "forget:yes:", text("forget_done", "zh")[:10])

    with Session(stack.database.engine) as session:
        assert search_database(session, texts, phones) == []
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "privacy_erasure", AuditEntry.subject_id == str(customer_id))
        ).one()
        assert entry.actor == "customer (chat)" and entry.details is not None and entry.details["rasa_events"] > 0
    with stack.database.engine.connect() as connection:
        assert search_rasa_events(connection, texts, phones) == []
        assert events_of(connection, sender_id(user)) == 0
    assert accounts(stack) == before
    # A Rasa turn still running during the erasure would write the whole conversation back when it ends (Rasa 3.6
    # stores the events beyond the number it finds stored, 0 by then); here written as its save would. The bot's
    # second pass, twice its Rasa timeout after the erasure, deletes it again.
    with stack.database.engine.begin() as connection:
        add_event(connection, sender_id(user), "user", {"text": said})
        add_event(connection, sender_id(user), "bot", {"text": f"好的，{name}"})
        assert search_rasa_events(connection, texts, phones)

    def deleted_again() -> None:
        with stack.database.engine.connect() as connection:
            assert search_rasa_events(connection, texts, phones) == []

    eventually(deleted_again, timeout=second_pass_delay(stack.settings.rasa_timeout_seconds) + TIMEOUT)
    # The conversation goes on, fresh: the bot (and Rasa) answer the next message.
    await send(sandbox, user, "XJ202611180042", "XJ202611180042")
