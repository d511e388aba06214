"""End to end: photo captions read like text, /language with an argument, and the brand from the settings, through
the sandbox, the real bot, Rasa, the action server and the database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.texts import TEXTS
from crm.models import Complaint, ComplaintCategory, Customer, Shipment, ShipmentStatus
from crm.segments import customer_segment
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, new_user_id
from tests.e2e.replies import brand, domain_text, has_chinese, tracking_reply
from tests.e2e.test_conversations import TIMEOUT, matches, press, say
from tests.e2e.test_handoff import body_of, last_id

CAPTIONS = {
    "en": "my parcel {number} arrived today with the box crushed and the lamp inside is broken",
    "zh": "我的快递{number}今天到了，箱子被压扁了，里面的台灯也摔碎了",
}


async def send_photo(sandbox: SandboxClient, user: int, caption: str | None, *, count: int = 1) -> list[dict[str, Any]]:
    """Send a photo (with a caption or none) and wait for the bot's replies to it."""
    after = await last_id(sandbox, user)
    await sandbox.send_photo(user, caption=caption)
    return await sandbox.wait_for_bot_messages(user, count=count, after_message_id=after, timeout=TIMEOUT)


def fresh_parcel(stack: Stack) -> str:
    """A delivered parcel whose damage complaint is not serious (low value, owner not top tier, unlinked) and that
    nobody has complained about yet (a second complaint about a parcel is a serious repeat)."""
    with Session(stack.database.engine) as session:
        complained = select(Complaint.shipment_id).where(Complaint.shipment_id.is_not(None))
        candidates = session.scalars(
            select(Shipment)
            .join(Customer, Shipment.customer_id == Customer.id)
            .where(Shipment.status == ShipmentStatus.DELIVERED)
            .where((Shipment.declared_value.is_(None)) | (Shipment.declared_value < Decimal(500)))
            .where(Shipment.id.not_in(complained))
            .where(Customer.telegram_user_id.is_(None))
            .order_by(Shipment.id)
        ).all()
        for shipment in candidates:
            if customer_segment(session, shipment.customer_id).tier != "A":
                return shipment.tracking_number
    raise AssertionError("the demo has no delivered parcel left without a complaint")


def only_complaint(stack: Stack, user: int) -> Complaint:
    """The one complaint filed from this chat."""
    with Session(stack.database.engine) as session:
        return session.scalars(select(Complaint).where(Complaint.chat_id == user)).one()


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_captioned_photo_files_a_damage_complaint_with_that_photo(
    sandbox: SandboxClient, stack: Stack, language: str
) -> None:
    """Photo + "my parcel … arrived broken" is the natural report: the caption starts the form, the photo is its."""
    number = fresh_parcel(stack)
    user = new_user_id()
    (summary,) = await send_photo(sandbox, user, CAPTIONS[language].format(number=number))
    # The photo is already in the summary shown before anything is filed.
    assert matches(summary, "utter_complaint_summary", language), body_of(summary)
    (filed,) = await press(sandbox, user, summary, "/affirm")
    assert matches(filed, "utter_complaint_created", language), body_of(filed)
    complaint = only_complaint(stack, user)
    assert complaint.category is ComplaintCategory.DAMAGE and complaint.photo_file_id
    assert complaint.code in body_of(filed)


async def test_a_photo_the_form_asked_for_is_the_photo_even_with_a_caption(
    sandbox: SandboxClient, stack: Stack
) -> None:
    """When the form waits for the photo, a captioned photo answers it (the caption does not restart anything)."""
    number = fresh_parcel(stack)
    user = new_user_id()
    (ask,) = await say(sandbox, user, CAPTIONS["en"].format(number=number))
    assert matches(ask, "utter_ask_complaint_photo", "en")
    (summary,) = await send_photo(sandbox, user, "here it is")
    assert matches(summary, "utter_complaint_summary", "en"), body_of(summary)
    (filed,) = await press(sandbox, user, summary, "/affirm")
    assert matches(filed, "utter_complaint_created", "en"), body_of(filed)
    assert only_complaint(stack, user).photo_file_id


async def test_a_caption_is_answered_like_the_same_text(sandbox: SandboxClient, stack: Stack) -> None:
    """A tracking question as a caption gets the tracking answer; a photo without caption asks what it is about."""
    user = new_user_id()
    (tracked,) = await send_photo(sandbox, user, "where is my parcel XJ202611180042")
    with Session(stack.database.engine) as session:
        assert body_of(tracked) in tracking_reply(session, "XJ202611180042", "en")
    (asked,) = await send_photo(sandbox, user, None)
    assert "caption" in body_of(asked)


@pytest.mark.parametrize(("command", "language", "message"), [
    ("/language zh", "zh", "where is my parcel XJ202611180042"),
    ("/language en", "en", "我的快递XJ202611180042到哪了"),
])
async def test_language_argument_sets_the_next_reply_language(
    sandbox: SandboxClient, stack: Stack, command: str, language: str, message: str
) -> None:
    """/language zh answers the next English message in Chinese (Rasa's language slot follows), and vice versa."""
    user = new_user_id()
    (confirmed,) = await say(sandbox, user, command)
    assert has_chinese(body_of(confirmed)) == (language == "zh")
    (reply,) = await say(sandbox, user, message)
    with Session(stack.database.engine) as session:
        assert body_of(reply) in tracking_reply(session, "XJ202611180042", language)
    (auto,) = await say(sandbox, user, "/language auto")
    assert body_of(auto) in TEXTS["language_set_auto"].values()
    (followed,) = await say(sandbox, user, message)
    with Session(stack.database.engine) as session:
        other = "en" if language == "zh" else "zh"
        assert body_of(followed) in tracking_reply(session, "XJ202611180042", other)


@pytest.mark.parametrize(("message", "language"), [("hello", "en"), ("你好", "zh")])
async def test_rasa_says_the_brand_from_the_settings(sandbox: SandboxClient, stack: Stack, message: str,
                                                     language: str) -> None:
    """`hello` and /start name the same company: the settings' brand, not "ParcelDesk"."""
    user = new_user_id()
    (greeting,) = await say(sandbox, user, message)
    assert body_of(greeting) in domain_text("utter_greet", language)
    assert brand(language) in body_of(greeting) and "ParcelDesk" not in body_of(greeting)
    (welcome,) = await say(sandbox, user, "/start")
    assert brand(language) in body_of(welcome)
