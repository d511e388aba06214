"""Rendering Rasa replies as Telegram messages."""

from __future__ import annotations

from telegram import ReplyKeyboardMarkup

from bot.rasa import RasaButton, RasaReply
from bot.rendering import TELEGRAM_TEXT_LIMIT, render, split_text


def test_buttons_become_an_inline_keyboard_on_the_last_part() -> None:
    """Buttons are rendered two per row with their payload as callback data."""
    reply = RasaReply("pick one", [RasaButton("A", "/a"), RasaButton("B", "/b"), RasaButton("C", "/c")])
    (message,) = render([reply])
    assert message.text == "pick one"
    rows = message.keyboard.inline_keyboard
    assert [[b.callback_data for b in row] for row in rows] == [["/a", "/b"], ["/c"]]


def test_payload_too_long_for_telegram_is_dropped() -> None:
    """Telegram refuses callback data over 64 bytes, so such a button is left out rather than failing the send."""
    (message,) = render([RasaReply("x", [RasaButton("long", "/" + "界" * 30), RasaButton("ok", "/ok")])])
    assert [b.callback_data for row in message.keyboard.inline_keyboard for b in row] == ["/ok"]


def test_long_text_is_split_at_lines_within_the_limit() -> None:
    """Replies longer than Telegram's 4096 characters are split without losing text."""
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    parts = split_text(text)
    assert len(parts) > 1
    assert all(0 < len(p) <= TELEGRAM_TEXT_LIMIT for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_one_huge_line_is_split_hard() -> None:
    """A single line longer than the limit is cut into limit-sized parts."""
    parts = split_text("y" * (TELEGRAM_TEXT_LIMIT * 2 + 10))
    assert [len(p) for p in parts] == [TELEGRAM_TEXT_LIMIT, TELEGRAM_TEXT_LIMIT, 10]


def test_empty_replies_are_skipped() -> None:
    """A reply with neither text nor buttons sends nothing."""
    assert render([RasaReply(None)]) == []


def test_long_button_titles_get_a_row_each() -> None:
    """Titles like "XJ202611180042 · In transit" would be cut off two to a row on a phone."""
    reply = RasaReply(
        "parcels", [RasaButton("XJ202611180042 · In transit", "/a"), RasaButton("XJ202611170007 · Delivered", "/b")]
    )
    (message,) = render([reply])
    assert [[b.callback_data for b in row] for row in message.keyboard.inline_keyboard] == [["/a"], ["/b"]]


def test_request_contact_becomes_the_share_contact_keyboard() -> None:
    """A response's custom request_contact is shown as Telegram's share-contact button (one-time, resized)."""
    (message,) = render([RasaReply("verify please", custom={"request_contact": "📱 Verify my phone number"})])
    assert isinstance(message.keyboard, ReplyKeyboardMarkup)
    (row,) = message.keyboard.keyboard
    (button,) = row
    assert button.text == "📱 Verify my phone number" and button.request_contact is True
    assert message.keyboard.one_time_keyboard and message.keyboard.resize_keyboard


def test_a_keyboard_sent_apart_from_its_text_goes_on_that_text() -> None:
    """Rasa sends a response's text and its custom request_contact as two messages: one bubble, no "…"."""
    messages = render(
        [RasaReply("verify please"), RasaReply(None, custom={"request_contact": "📱 Verify my phone number"})]
    )
    assert [m.text for m in messages] == ["verify please"]
    assert isinstance(messages[0].keyboard, ReplyKeyboardMarkup)


def test_a_keyboard_alone_still_gets_a_bubble() -> None:
    """With no text before it (or a text that has its own buttons), the keyboard needs a message of its own."""
    alone = render([RasaReply(None, custom={"request_contact": "📱"})])
    assert [m.text for m in alone] == ["…"] and isinstance(alone[0].keyboard, ReplyKeyboardMarkup)
    contact = RasaReply(None, custom={"request_contact": "📱"})
    after_buttons = render([RasaReply("pick", [RasaButton("A", "/a")]), contact])
    assert len(after_buttons) == 2
