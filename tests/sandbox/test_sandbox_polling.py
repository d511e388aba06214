"""A real PTB Application long-polling the sandbox, plus getUpdates semantics seen through a raw Bot."""

from __future__ import annotations

import asyncio
import time

import pytest
from sandbox_harness import Sandbox, StartPolling
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import Conflict
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from sandbox.client import WaitTimeout
from sandbox.media import image_size


async def test_application_echo_buttons_photos_and_contacts(
    sandbox: Sandbox, start_polling: StartPolling
) -> None:
    """Echo text, answer + edit on a button press, download a photo, ask for and receive a contact."""
    seen_photo_sizes: list[tuple[int, int] | None] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Offer an inline keyboard."""
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Track 查件", callback_data="track:SF1")]])
        await update.effective_message.reply_text(
            f"Hello {update.effective_user.first_name}", reply_markup=keyboard
        )

    async def phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask for the user's phone with a request_contact button."""
        button = KeyboardButton("Share phone 分享手机号", request_contact=True)
        await update.effective_message.reply_text("Phone?", reply_markup=ReplyKeyboardMarkup([[button]]))

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Echo the text back, quoting the user's message (PTB sends reply_parameters)."""
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}", do_quote=True)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer the callback query and edit the message it came from."""
        query = update.callback_query
        await query.answer(f"Looking up {query.data.split(':')[1]}")
        await query.edit_message_text(f"Tracking {query.data.split(':')[1]}: in transit")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Download the largest size of the photo and report its dimensions."""
        file = await update.effective_message.photo[-1].get_file()
        content = bytes(await file.download_as_bytearray())
        seen_photo_sizes.append(image_size(content))
        await update.effective_message.reply_text(f"got photo {len(content)} bytes")

    async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Accept only the user's own contact."""
        shared = update.effective_message.contact
        own = shared.user_id == update.effective_user.id
        await update.effective_message.reply_text(
            f"phone {shared.phone_number} own={own}", reply_markup=ReplyKeyboardRemove()
        )

    application = sandbox.application()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("phone", phone))
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(MessageHandler(filters.PHOTO, photo))
    application.add_handler(MessageHandler(filters.CONTACT, contact))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await start_polling(application)
    client = sandbox.client

    sent = await client.send_text(601, "你好 hello", first_name="Mei")
    [reply] = await client.wait_for_bot_messages(601, after_message_id=sent["message_id"])
    assert reply["text"] == "echo: 你好 hello"
    assert reply["reply_to_message"]["message_id"] == sent["message_id"]

    sent = await client.send_text(601, "/start", first_name="Mei")
    [menu] = await client.wait_for_bot_messages(601, after_message_id=sent["message_id"])
    assert menu["text"] == "Hello Mei"
    pressed_at = await client.press_button(601, 601, menu["message_id"], "track:SF1")
    answer = await client.callback_answer(pressed_at["callback_query_id"], wait=5)
    assert answer == {"text": "Looking up SF1", "show_alert": False}
    edited = await client.wait_for_edit(601, menu["message_id"], timeout=5)
    assert edited["text"] == "Tracking SF1: in transit"
    assert "reply_markup" not in edited

    sent = await client.send_photo(601, caption="box")
    [got] = await client.wait_for_bot_messages(601, after_message_id=sent["message_id"])
    assert got["text"].startswith("got photo ")
    assert seen_photo_sizes == [(320, 240)]

    sent = await client.send_text(601, "/phone")
    [asked] = await client.wait_for_bot_messages(601, after_message_id=sent["message_id"])
    assert asked["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    sent = await client.send_contact(601, "+86 138 0000 0000")
    [thanks] = await client.wait_for_bot_messages(601, after_message_id=sent["message_id"])
    assert thanks["text"] == "phone +86 138 0000 0000 own=True"
    assert thanks["reply_markup"] == {"remove_keyboard": True}
    sent = await client.send_contact(601, "+1 555 0100", contact_user_id=999)
    [foreign] = await client.wait_for_bot_messages(601, after_message_id=sent["message_id"])
    assert foreign["text"].endswith("own=False")


async def test_long_poll_wakes_promptly(sandbox: Sandbox, bot: Bot) -> None:
    """A waiting getUpdates returns as soon as an update arrives, not at the end of its timeout."""
    waiting = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    started = time.monotonic()
    await sandbox.client.send_text(602, "ping")
    updates = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - started < 2
    assert [update.message.text for update in updates] == ["ping"]


async def test_offsets_limits_and_confirmation(sandbox: Sandbox, bot: Bot) -> None:
    """Updates stay until confirmed by a higher offset; limit caps a batch; negative offset keeps the tail."""
    for text in ("a", "b", "c", "d"):
        await sandbox.client.send_text(603, text)
    first_two = await bot.get_updates(limit=2)
    assert [u.message.text for u in first_two] == ["a", "b"]
    assert [u.message.text for u in await bot.get_updates()] == ["a", "b", "c", "d"]  # nothing confirmed yet
    rest = await bot.get_updates(offset=first_two[-1].update_id + 1)
    assert [u.message.text for u in rest] == ["c", "d"]
    assert [u.message.text for u in await bot.get_updates()] == ["c", "d"]  # a and b are gone for good
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last] == ["d"]
    assert await bot.get_updates(offset=last[-1].update_id + 1) == ()


async def test_redelivered_update_is_seen_twice(sandbox: Sandbox, bot: Bot) -> None:
    """Fault injection: a confirmed update comes back once more with the same id and payload."""
    injected = await sandbox.client.send_text(604, "pay 50 yuan")
    [first] = await bot.get_updates()
    assert first.update_id == injected["update_id"]
    assert await bot.get_updates(offset=first.update_id + 1) == ()
    await sandbox.client.redeliver(first.update_id)
    [again] = await bot.get_updates(offset=first.update_id + 1)
    assert again.update_id == first.update_id
    assert again.to_dict() == first.to_dict()
    assert await bot.get_updates(offset=first.update_id + 1) == ()  # the copy was confirmed


async def test_redelivery_reaches_a_running_application(
    sandbox: Sandbox, start_polling: StartPolling
) -> None:
    """A polling Application receives the redelivered update a second time."""
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remember the update id and acknowledge."""
        seen.append(update.update_id)
        await update.effective_message.reply_text(f"seen {len(seen)}")

    application = sandbox.application()
    application.add_handler(MessageHandler(filters.TEXT, record))
    await start_polling(application)
    sent = await sandbox.client.send_text(605, "once")
    await sandbox.client.wait_for_bot_messages(605, after_message_id=sent["message_id"])
    await sandbox.client.redeliver(sent["update_id"])
    await sandbox.client.wait_for_bot_messages(605, after_message_id=sent["message_id"], count=2)
    assert seen == [sent["update_id"], sent["update_id"]]


async def test_second_poller_conflicts_and_allowed_updates_filter(sandbox: Sandbox, bot: Bot) -> None:
    """A newer getUpdates ends an older one with 409; allowed_updates drops unwanted update types."""
    async with sandbox.bot() as second_instance:
        older = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.2)
        assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"terminated by other getUpdates request"):
            await asyncio.wait_for(older, 5)

    await sandbox.client.send_text(606, "/start")
    [update] = await bot.get_updates(allowed_updates=["message"])
    await bot.send_message(
        606, "menu", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )
    menu = (await sandbox.client.bot_messages(606))[-1]
    await sandbox.client.press_button(606, 606, menu["message_id"], "a")
    await sandbox.client.send_text(606, "after the press")
    later = await bot.get_updates(offset=update.update_id + 1, allowed_updates=["message"])
    assert [u.message.text for u in later] == ["after the press"]
    await sandbox.client.press_button(606, 606, menu["message_id"], "a")
    [query] = await bot.get_updates(offset=later[-1].update_id + 1, allowed_updates=[])
    assert query.callback_query is not None and query.callback_query.data == "a"


async def test_wait_for_bot_messages_reports_what_arrived(sandbox: Sandbox, bot: Bot) -> None:
    """A timeout names the messages that did arrive, so a failing test explains itself."""
    await sandbox.client.send_text(607, "hi")
    await bot.send_message(607, "only one reply")
    with pytest.raises(WaitTimeout, match=r"(?s)expected 2 bot message.*got 1.*only one reply"):
        await sandbox.client.wait_for_bot_messages(607, count=2, timeout=0.3)
