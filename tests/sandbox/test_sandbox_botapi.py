"""The Bot API side of the sandbox, driven through the real python-telegram-bot Bot."""

from __future__ import annotations

import httpx
import pytest
from sandbox_harness import Sandbox, serving
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken

from sandbox.app import create_app
from sandbox.media import image_size, make_png


async def test_get_me_through_ptb(bot: Bot) -> None:
    """getMe answers with the ParcelDesk bot whose id is the token's digits."""
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "ParcelDeskBot"
    assert me.first_name == "ParcelDesk"
    assert me.can_join_groups is True


async def test_wrong_token_is_unauthorized(sandbox: Sandbox) -> None:
    """A token other than the configured one gets 401 Unauthorized (PTB: InvalidToken)."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{sandbox.base_url}/bot999:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        async with sandbox.bot("999:wrong") as wrong:
            await wrong.get_me()


async def test_any_well_formed_token_when_none_configured() -> None:
    """Without a configured token every <digits>:<text> token works; malformed ones get 401."""
    async with serving(create_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        good = await http.post("/bot42:anything/getMe")
        bad = await http.post("/botnot-a-token/getMe")
        health = await http.get("/healthz")
    assert good.json()["result"]["id"] == 42
    assert bad.status_code == 401
    assert health.json() == {"ok": True}


async def test_unknown_method_and_case_insensitive_names(sandbox: Sandbox) -> None:
    """Unknown methods are 404 'method not found'; method names ignore case."""
    async with httpx.AsyncClient(base_url=f"{sandbox.base_url}/bot{sandbox.token}") as http:
        missing = await http.post("/sendCarrierPigeon")
        lower = await http.get("/getme")
        json_body = await http.post("/GETME", json={})
    assert missing.status_code == 404
    assert missing.json()["description"] == "Not Found: method not found"
    assert lower.json()["result"]["username"] == "ParcelDeskBot"
    assert json_body.json()["ok"] is True


async def test_send_message_validation(sandbox: Sandbox, bot: Bot) -> None:
    """Too long (4096 UTF-16 units), empty, unknown chat, oversize callback_data: refused like Telegram."""
    await sandbox.client.send_text(501, "hi")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(501, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(501, "📦" * 2049)  # 4098 UTF-16 code units
    assert (await bot.send_message(501, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(501, "   ")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "nobody here")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("Track", callback_data="t" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(501, "pick", reply_markup=too_long)
    exactly_64 = InlineKeyboardMarkup([[InlineKeyboardButton("Track", callback_data="追" * 21 + "x")]])
    sent = await bot.send_message(501, "pick", reply_markup=exactly_64)
    assert sent.reply_markup == exactly_64
    bot_texts = [message["text"] for message in await sandbox.client.bot_messages(501)]
    assert bot_texts == ["x" * 4096, "pick"]


async def test_message_ids_are_shared_and_increasing(sandbox: Sandbox, bot: Bot) -> None:
    """User and bot messages of one chat share one increasing message_id sequence."""
    first = await sandbox.client.send_text(502, "one")
    reply = await bot.send_message(502, "two")
    second = await sandbox.client.send_text(502, "three")
    assert (first["message_id"], reply.message_id, second["message_id"]) == (1, 2, 3)
    assert first["chat_id"] == 502 and reply.chat.id == 502 and reply.chat.type == "private"
    everything = await sandbox.client.messages(502)
    assert [(m["message_id"], m["from"]["is_bot"]) for m in everything] == [(1, False), (2, True), (3, False)]


async def test_inline_and_reply_keyboards(sandbox: Sandbox, bot: Bot) -> None:
    """Inline keyboards are part of the Message; reply keyboards are visible only through the control API."""
    await sandbox.client.send_text(503, "hi")
    inline = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Track 查件", callback_data="track"),
                InlineKeyboardButton("Site", url="https://example.com"),
            ]
        ]
    )
    sent = await bot.send_message(503, "Menu", reply_markup=inline)
    assert sent.reply_markup == inline
    contact = ReplyKeyboardMarkup(
        [[KeyboardButton("Share phone 分享手机号", request_contact=True)]], one_time_keyboard=True
    )
    asked = await bot.send_message(503, "Your phone?", reply_markup=contact)
    assert asked.reply_markup is None  # Telegram never echoes reply keyboards in Message objects
    removed = await bot.send_message(503, "Thanks", reply_markup=ReplyKeyboardRemove())
    forced = await bot.send_message(
        503, "Tracking number?", reply_markup=ForceReply(input_field_placeholder="SF123")
    )
    seen = {m["message_id"]: m.get("reply_markup") for m in await sandbox.client.bot_messages(503)}
    assert seen[sent.message_id]["inline_keyboard"][0][0] == {"text": "Track 查件", "callback_data": "track"}
    assert seen[asked.message_id]["keyboard"] == [
        [{"text": "Share phone 分享手机号", "request_contact": True}]
    ]
    assert seen[asked.message_id]["one_time_keyboard"] is True
    assert seen[removed.message_id] == {"remove_keyboard": True}
    assert seen[forced.message_id]["force_reply"] is True
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(503, "x", reply_markup={"inline_keyboard": [[{"text": "no action"}]]})


async def test_edit_delete_and_not_modified(sandbox: Sandbox, bot: Bot) -> None:
    """editMessageText/ReplyMarkup change the stored message; deleting removes it; errors match Telegram's."""
    await sandbox.client.send_text(504, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    sent = await bot.send_message(504, "Confirm?", reply_markup=keyboard)
    edited = await bot.edit_message_text("Confirmed ✅", chat_id=504, message_id=sent.message_id)
    assert edited.text == "Confirmed ✅" and edited.reply_markup is None and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Confirmed ✅", chat_id=504, message_id=sent.message_id)
    again = await bot.edit_message_reply_markup(
        chat_id=504, message_id=sent.message_id, reply_markup=keyboard
    )
    assert again.reply_markup == keyboard
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("?", chat_id=504, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("?", chat_id=504, message_id=1)
    [stored] = await sandbox.client.bot_messages(504)
    assert stored["edited"] is True and stored["text"] == "Confirmed ✅"
    assert await bot.delete_message(504, sent.message_id) is True
    assert await sandbox.client.bot_messages(504) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(504, sent.message_id)


async def test_parse_modes_store_plain_text(sandbox: Sandbox, bot: Bot) -> None:
    """HTML/MarkdownV2 markup is stripped from the stored text; malformed markup is refused."""
    await sandbox.client.send_text(505, "hi")
    html = await bot.send_message(
        505, "<b>运单</b> SF1 &lt;已签收&gt; &amp; <a href='https://x.y'>link</a>", parse_mode=ParseMode.HTML
    )
    assert html.text == "运单 SF1 <已签收> & link"
    markdown = await bot.send_message(505, r"*Order* SF\-1\. _done_", parse_mode=ParseMode.MARKDOWN_V2)
    assert markdown.text == "Order SF-1. done"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities.*unsupported start tag"):
        await bot.send_message(505, "price <10 yuan>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(505, "Order SF1 is out.", parse_mode=ParseMode.MARKDOWN_V2)
    plain = await bot.send_message(505, '[1, 2] {"json": "looking"}')
    assert plain.text == '[1, 2] {"json": "looking"}'


async def test_replies_actions_commands_and_get_chat(sandbox: Sandbox, bot: Bot) -> None:
    """reply_parameters, sendChatAction, bot commands and getChat behave like Telegram."""
    sent = await sandbox.client.send_text(506, "where is SF1?", first_name="Li", language_code="zh-hans")
    answer = await bot.send_message(506, "On its way", reply_parameters=ReplyParameters(sent["message_id"]))
    assert answer.reply_to_message is not None and answer.reply_to_message.text == "where is SF1?"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(506, "x", reply_to_message_id=99)
    assert await bot.send_chat_action(506, ChatAction.TYPING)
    with pytest.raises(BadRequest):
        await bot.send_chat_action(506, "dancing")
    assert await sandbox.client.chat_actions(506) == ["typing"]
    commands = [BotCommand("start", "开始 / start"), BotCommand("track", "查件 / track")]
    assert await bot.set_my_commands(commands)
    assert list(await bot.get_my_commands()) == commands
    assert await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    assert await bot.delete_my_commands()
    assert list(await bot.get_my_commands()) == []
    assert await bot.set_my_description("ParcelDesk helps you track parcels")
    assert await bot.set_my_short_description("Parcel help")
    chat = await bot.get_chat(506)
    assert (chat.id, chat.type, chat.first_name) == (506, "private", "Li")
    await sandbox.client.create_group(-1001234, "Agents 客服组")
    group = await bot.get_chat(-1001234)
    assert (group.type, group.title) == ("group", "Agents 客服组")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat(-5)


async def test_photos_files_copy_and_forward(sandbox: Sandbox, bot: Bot) -> None:
    """A user's photo can be downloaded, re-sent by file_id, copied and forwarded to an agent group."""
    await sandbox.client.create_group(-100200, "Agents")
    sent = await sandbox.client.send_photo(507, caption="damaged box 破损")
    [update] = await bot.get_updates()
    photo = update.message.photo
    assert [(size.width, size.height) for size in photo] == [(90, 90), (320, 240)]
    assert update.message.caption == "damaged box 破损"
    file = await bot.get_file(photo[-1].file_id)
    content = bytes(await file.download_as_bytearray())
    assert image_size(content) == (320, 240) and file.file_size == len(content)

    copied = await bot.copy_message(
        -100200, from_chat_id=507, message_id=sent["message_id"], caption="from 507"
    )
    forwarded = await bot.forward_message(-100200, from_chat_id=507, message_id=sent["message_id"])
    resent = await bot.send_photo(-100200, photo=photo[-1].file_id)
    uploaded = await bot.send_photo(-100200, photo=make_png(64, 48), caption="upload")
    assert resent.photo[-1].file_id == photo[-1].file_id
    assert (uploaded.photo[-1].width, uploaded.photo[-1].height) == (64, 48)
    assert forwarded.forward_origin is not None and forwarded.forward_origin.sender_user.id == 507
    in_group = {m["message_id"]: m for m in await sandbox.client.bot_messages(-100200)}
    assert in_group[copied.message_id]["caption"] == "from 507"
    assert in_group[copied.message_id]["photo"][-1]["file_id"] == photo[-1].file_id
    assert "forward_origin" not in in_group[copied.message_id]

    document = await bot.send_document(-100200, document=b"tracking,status\nSF1,ok\n", filename="report.csv")
    assert document.document is not None and document.document.file_name == "report.csv"
    downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"tracking,status\nSF1,ok\n"
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(-100200, from_chat_id=507, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.get_file("nope")
