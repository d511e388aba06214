"""Control API, web page, command line and the request/markup decoding pieces."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sandbox_harness import Sandbox, free_port
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from sandbox.client import SandboxError
from sandbox.errors import ApiError
from sandbox.formatting import plain_text
from sandbox.params import parse_multipart

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_user_message_kinds_build_telegram_objects(sandbox: Sandbox, bot: Bot) -> None:
    """Each message kind becomes the Message object Telegram would send."""
    client = sandbox.client
    await client.send_text(801, "/track SF123", first_name="王", language_code="zh-hans")
    await client.send_sticker(801)
    await client.send_voice(801)
    await client.send_document(801, file_name="invoice.txt", caption="发票")
    updates = await bot.get_updates()
    command, sticker, voice, document = (update.message for update in updates)
    assert command.text == "/track SF123" and command.from_user.language_code == "zh-hans"
    assert [(e.type, e.offset, e.length) for e in command.entities] == [("bot_command", 0, 6)]
    assert command.from_user.first_name == "王" and command.chat.first_name == "王"
    assert sticker.sticker is not None and sticker.sticker.emoji == "👍"
    assert voice.voice is not None and voice.voice.mime_type == "audio/wav"
    assert document.document is not None and document.document.file_name == "invoice.txt"
    assert document.caption == "发票"
    content = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    assert b"user 801" in bytes(content)


async def test_groups_replies_and_button_checks(sandbox: Sandbox, bot: Bot) -> None:
    """Users write in created groups; replies quote; presses must match a button the bot sent."""
    client = sandbox.client
    with pytest.raises(SandboxError, match=r"create it first"):
        await client.send_text(802, "hi", chat_id=-42)
    group = await client.create_group(-42, "Agents 客服")
    assert group == {"id": -42, "type": "group", "title": "Agents 客服"}
    asked = await bot.send_message(
        -42,
        "Who takes ticket #7?",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Take 接单", callback_data="take:7")]]),
    )
    sent = await client.send_message(
        802, text="/take@ParcelDeskBot 7", chat_id=-42, reply_to_message_id=asked.message_id
    )
    [update] = await bot.get_updates()
    assert update.message.chat.type == "group" and update.message.chat.id == -42
    assert update.message.entities[0].length == len("/take@ParcelDeskBot")
    assert update.message.reply_to_message.message_id == asked.message_id
    assert sent["chat_id"] == -42

    with pytest.raises(SandboxError, match=r"no inline button"):
        await client.press_button(802, -42, asked.message_id, "take:8")
    with pytest.raises(SandboxError, match=r"no bot message"):
        await client.press_button(802, -42, sent["message_id"], "take:7")
    press = await client.press_button(802, -42, asked.message_id, "take:7")
    [query_update] = await bot.get_updates(offset=update.update_id + 1)
    query = query_update.callback_query
    assert query.id == press["callback_query_id"] and query.message.message_id == asked.message_id
    assert await client.callback_answer(press["callback_query_id"]) is None
    assert await query.answer("Taken", show_alert=True)
    assert await client.callback_answer(press["callback_query_id"]) == {"text": "Taken", "show_alert": True}
    with pytest.raises(Exception, match=r"(?i)query is too old"):
        await query.answer("again")


async def test_waiting_reset_state_and_files(sandbox: Sandbox, bot: Bot) -> None:
    """Message long-polls end when the bot answers; reset keeps update ids growing; state hides the token."""
    client = sandbox.client
    first = await client.send_text(803, "hello")
    waiter = asyncio.create_task(
        client.wait_for_bot_messages(803, after_message_id=first["message_id"], timeout=5)
    )
    await asyncio.sleep(0.1)
    await bot.send_message(803, "hi there")
    [reply] = await asyncio.wait_for(waiter, 5)
    assert reply["text"] == "hi there" and reply["edited"] is False
    photo = await client.send_photo(803)
    file_id = (await bot.get_updates())[-1].message.photo[-1].file_id
    assert (await client.file_content(file_id)).startswith(b"\x89PNG")

    state = await client.state()
    assert sandbox.token not in str(state) and "sandbox-test-token" not in str(state)
    assert [chat["id"] for chat in state["chats"]] == [803]
    assert state["pending_updates"] == [first["update_id"], photo["update_id"]]

    await client.reset()
    assert (await client.state())["chats"] == []
    after_reset = await client.send_text(803, "again")
    assert after_reset["update_id"] > photo["update_id"] and after_reset["message_id"] == 1


async def test_page_and_health(sandbox: Sandbox) -> None:
    """The chat page is served, self-contained (no external resources) and bilingual."""
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        page = await http.get("/")
        health = await http.get("/healthz")
        snapshot = await http.get("/sandbox/api/chats/5/snapshot", params={"after_version": -1},
                                  headers={"X-Sandbox-Token": sandbox.app.state.control_token})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "发送 / Send" in page.text and "/sandbox/api" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert health.json() == {"ok": True}
    assert snapshot.json() == {"version": 0, "chat": None, "messages": [], "action": None, "bot_name": "ParcelDesk"}


async def test_page_greets_an_empty_chat_and_labels_buttons_as_telegram_does(sandbox: Sandbox) -> None:
    """An empty chat shows a bilingual hint of what to try; the share-contact button gets no second 📱."""
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        page = (await http.get("/")).text
    assert "可以试试" in page and "Try:" in page and "if (!snapshot.messages.length) log.append(hint());" in page
    # The bot's label already carries its icon ("📱 Verify my phone number"); Telegram shows labels as sent.
    assert "`📱 ${b.text}`" not in page and "btn.textContent = b.text;" in page


async def test_the_bot_is_named_as_set_my_name_says(sandbox: Sandbox, bot: Bot) -> None:
    """setMyName per language: getMyName, getMe and the page's header (every language's name) follow it."""
    assert (await bot.get_my_name()).name == "ParcelDesk"
    assert await bot.set_my_name("XunJie Express")
    assert await bot.set_my_name("迅捷速运", language_code="zh")
    assert (await bot.get_my_name()).name == "XunJie Express"
    assert (await bot.get_my_name(language_code="zh")).name == "迅捷速运"
    assert (await bot.get_my_name(language_code="de")).name == "XunJie Express"
    assert (await bot.get_me()).first_name == "XunJie Express"
    await sandbox.client.send_text(811, "hi")
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        snapshot = await http.get("/sandbox/api/chats/811/snapshot", params={"after_version": -1},
                                  headers={"X-Sandbox-Token": sandbox.app.state.control_token})
    assert snapshot.json()["bot_name"] == "迅捷速运 / XunJie Express"


def test_command_line_serves_and_prints_the_page_url() -> None:
    """python -m sandbox starts a server on the given port and prints the chat page URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--token", "1:secret-token-xyz"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first_line
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).json() == {"ok": True}:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail("sandbox did not start")
        assert httpx.get(f"http://127.0.0.1:{port}/bot2:other/getMe").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/bot1:secret-token-xyz/getMe").json()["result"]["id"] == 1
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert "secret-token-xyz" not in first_line + output


def test_multipart_parsing_keeps_binary_content() -> None:
    """File parts keep every byte (CR/LF included); plain fields become strings."""
    content = bytes(range(256)) * 3 + b"\r\n--not-the-boundary\r\n"
    request = httpx.Request(
        "POST",
        "http://x/",
        data={"chat_id": "5", "caption": "破损 box"},
        files={"photo": ("p.png", content, "image/png")},
    )
    body = request.read()
    fields, files = parse_multipart(body, request.headers["content-type"])
    assert fields == {"chat_id": "5", "caption": "破损 box"}
    assert files["photo"].content == content
    assert (files["photo"].filename, files["photo"].content_type) == ("p.png", "image/png")


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("<b>bold</b> <i>it</i> <code>x &lt; y</code>", "HTML", "bold it x < y"),
        ('<a href="tg://user?id=1">Li</a> &#128230;', "HTML", "Li 📦"),
        ("<br>", "HTML", ApiError),
        ("<b>open", "HTML", ApiError),
        ("a & b", "HTML", "a & b"),
        (r"Track *SF1* \(express\)\!", "MarkdownV2", "Track SF1 (express)!"),
        ("[site](https://example.com/a_b)", "MarkdownV2", "site"),
        ("```python\nprint(1)\n```", "MarkdownV2", "print(1)\n"),
        ("*open", "MarkdownV2", ApiError),
        ("1+1", "MarkdownV2", ApiError),
        ("*b* _i_ `c`", "Markdown", "b i c"),
        ("snake_case", "Markdown", ApiError),
        ("plain <b>", None, "plain <b>"),
    ],
)
def test_parse_modes(text: str, mode: str | None, expected: str | type[Exception]) -> None:
    """HTML/MarkdownV2/Markdown give Telegram's plain text or a 'can't parse entities' error."""
    if isinstance(expected, str):
        assert plain_text(text, mode) == expected
    else:
        with pytest.raises(expected, match=r"can't parse entities"):
            plain_text(text, mode)




async def test_empty_and_overlong_text_need_explicit_fault_injection(sandbox: Sandbox) -> None:
    """Like a real client the control API refuses empty or over-long text, unless `unchecked` is asked for."""
    user = 4242
    with pytest.raises(SandboxError, match="message text is empty"):
        await sandbox.client.send_text(user, "   ")
    with pytest.raises(SandboxError, match="message is too long"):
        await sandbox.client.send_text(user, "x" * 5000)
    empty = await sandbox.client.send_text(user, "", unchecked=True)
    long = await sandbox.client.send_text(user, "x" * 5000, unchecked=True)
    assert long["message_id"] == empty["message_id"] + 1
    stored = await sandbox.client.messages(user, sender="user")
    assert [len(m.get("text", "")) for m in stored[-2:]] == [0, 5000]
