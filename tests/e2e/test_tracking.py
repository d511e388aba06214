"""End to end: a customer tracks parcels through the sandbox, real bot, Rasa, action server and database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.texts import TEXTS
from crm.models import ChatMessage, Direction, Shipment
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, eventually, new_user_id
from tests.e2e.replies import domain_text, has_chinese, tracking_reply


def texts(messages: list[dict]) -> list[str]:
    """The text of each bot message."""
    return [m.get("text") or m.get("caption") or "" for m in messages]


async def test_track_in_english(sandbox: SandboxClient, stack: Stack) -> None:
    """An English question gets the English status, last scan and expected date from the database."""
    user = new_user_id()
    await sandbox.send_text(user, "where is my parcel XJ202611180042")
    (reply,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    with Session(stack.database.engine) as session:
        assert reply in tracking_reply(session, "XJ202611180042", "en")
    assert "XJ202611180042" in reply
    assert not has_chinese(reply)


async def test_track_in_chinese_with_spaced_number(sandbox: SandboxClient, stack: Stack) -> None:
    """Chinese text with a spaced, lower-case number gets the Chinese answer."""
    user = new_user_id()
    await sandbox.send_text(user, "我的快递 xj 2026 1118 0042 到哪了")
    (reply,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    with Session(stack.database.engine) as session:
        assert reply in tracking_reply(session, "XJ202611180042", "zh")
    assert has_chinese(reply)


async def test_delayed_parcel_says_why(sandbox: SandboxClient, stack: Stack) -> None:
    """A delayed parcel's answer carries the reason."""
    user = new_user_id()
    await sandbox.send_text(user, "我的快递XJ202611150013怎么还没到")
    (reply,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    with Session(stack.database.engine) as session:
        assert reply in tracking_reply(session, "XJ202611150013", "zh")


async def test_several_numbers_in_one_message(sandbox: SandboxClient, stack: Stack) -> None:
    """Each number gets its own answer, in order."""
    user = new_user_id()
    await sandbox.send_text(user, "track XJ202611170007 and EE123456785CN please")
    replies = texts(await sandbox.wait_for_bot_messages(user, count=2, timeout=30))
    with Session(stack.database.engine) as session:
        assert replies[0] in tracking_reply(session, "XJ202611170007", "en")
        assert replies[1] in tracking_reply(session, "EE123456785CN", "en")


async def test_unknown_number_is_a_polite_not_found(sandbox: SandboxClient, stack: Stack) -> None:
    """A valid but unknown number gets the not-found answer."""
    user = new_user_id()
    await sandbox.send_text(user, "where is my parcel XJ209901019999")
    (reply,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    assert reply in domain_text("utter_track_not_found", "en", tracking_number="XJ209901019999")


async def test_malformed_number_explains_the_format(sandbox: SandboxClient, stack: Stack) -> None:
    """A number of the wrong length gets the format explanation, in Chinese when asked in Chinese."""
    user = new_user_id()
    await sandbox.send_text(user, "帮我查一下快递 XJ2026111800")
    (reply,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    assert reply in domain_text("utter_track_malformed", "zh", candidate="XJ2026111800")


async def test_tracking_discloses_no_personal_data(sandbox: SandboxClient, stack: Stack) -> None:
    """Without a verified identity the answer has no names, phones or addresses."""
    user = new_user_id()
    await sandbox.send_text(user, "where is XJ202611180042")
    (reply,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    with Session(stack.database.engine) as session:
        shipment = session.scalars(select(Shipment).where(Shipment.tracking_number == "XJ202611180042")).one()
        private = [shipment.sender_name, shipment.recipient_name, shipment.sender_phone, shipment.recipient_phone,
                   shipment.sender_address, shipment.recipient_address]
    for value in private:
        assert value not in reply


async def test_redelivered_update_is_answered_once(sandbox: SandboxClient, stack: Stack) -> None:
    """Telegram delivering the same update twice gives one answer and one log row."""
    user = new_user_id()
    sent = await sandbox.send_text(user, "where is my parcel XJ202611180042")
    first = await sandbox.wait_for_bot_messages(user, count=1, timeout=30)
    await sandbox.redeliver(sent["update_id"])
    # Updates are handled in order, so once "hi" is answered the redelivery has been processed too.
    await sandbox.send_text(user, "hi")
    after = await sandbox.wait_for_bot_messages(user, count=1, after_message_id=first[-1]["message_id"], timeout=30)
    assert len(after) == 1
    assert after[0]["text"] in domain_text("utter_greet", "en")

    def logged_once() -> None:
        with Session(stack.database.engine) as session:
            rows = session.scalars(select(ChatMessage).where(ChatMessage.update_id == sent["update_id"])).all()
            assert len(rows) == 1 and rows[0].handled
            assert rows[0].intent == "track_shipment"
            outbound = session.scalars(
                select(ChatMessage).where(ChatMessage.chat_id == user, ChatMessage.direction == Direction.OUTBOUND)
            ).all()
            assert len(outbound) == 2

    eventually(logged_once)


async def test_non_text_messages_get_a_useful_reply(sandbox: SandboxClient, stack: Stack) -> None:
    """Photos, stickers and voice notes get a polite hint, never a crash or silence."""
    user = new_user_id()
    await sandbox.send_photo(user)
    await sandbox.send_sticker(user)
    await sandbox.send_voice(user)
    replies = texts(await sandbox.wait_for_bot_messages(user, count=3, timeout=30))
    # A photo without caption is asked what it is about; stickers and voice say what works instead.
    assert replies[0] in TEXTS["photo_without_caption"].values()
    assert all(reply in TEXTS["unsupported_media"].values() for reply in replies[1:])


async def test_empty_and_overlong_messages(sandbox: SandboxClient, stack: Stack) -> None:
    """A blank message and a 5,000-character one each get a polite answer."""
    user = new_user_id()
    # Real clients never send these; the sandbox injects them to prove the bot copes.
    await sandbox.send_text(user, "", unchecked=True)
    await sandbox.send_text(user, "   ", unchecked=True)
    await sandbox.send_text(user, "where is my parcel " + "x" * 5000, unchecked=True)
    empty, blank, too_long = texts(await sandbox.wait_for_bot_messages(user, count=3, timeout=30))
    assert empty in TEXTS["empty"].values() and blank in TEXTS["empty"].values()
    assert str(stack.settings.max_message_chars) in too_long


async def test_commands_and_language_choice(sandbox: SandboxClient, stack: Stack) -> None:
    """/start greets, /language pins English, after which Chinese text is answered in English."""
    user = new_user_id()
    await sandbox.send_text(user, "/start", language_code="zh-hans")
    (welcome,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=30)
    assert has_chinese(welcome["text"])
    await sandbox.send_text(user, "/language")
    (prompt,) = await sandbox.wait_for_bot_messages(user, count=1, after_message_id=welcome["message_id"])
    await sandbox.press_button(user, user, prompt["message_id"], "lang:en")
    (confirmed,) = await sandbox.wait_for_bot_messages(user, count=1, after_message_id=prompt["message_id"])
    assert "English" in confirmed["text"]
    await sandbox.send_text(user, "我的快递XJ202611180042到哪了")
    (reply,) = await sandbox.wait_for_bot_messages(user, count=1, after_message_id=confirmed["message_id"])
    assert not has_chinese(reply["text"].replace("XJ", ""))
    await sandbox.send_text(user, "/nonsense")
    (unknown,) = await sandbox.wait_for_bot_messages(user, count=1, after_message_id=reply["message_id"])
    assert "/help" in unknown["text"]


async def test_greeting_in_both_languages(sandbox: SandboxClient, stack: Stack) -> None:
    """Small talk goes through Rasa too and is answered in the customer's language."""
    user = new_user_id()
    await sandbox.send_text(user, "你好")
    (zh,) = texts(await sandbox.wait_for_bot_messages(user, count=1, timeout=30))
    assert zh in domain_text("utter_greet", "zh")
    await sandbox.send_text(user, "hello there")
    en = texts(await sandbox.wait_for_bot_messages(user, count=2, timeout=30))[-1]
    assert en in domain_text("utter_greet", "en")
