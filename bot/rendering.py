"""Turn Rasa replies into Telegram messages and keyboards."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.rasa import RasaButton, RasaReply

logger = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
BUTTONS_PER_ROW = 2
# Titles longer than this (e.g. "XJ202611180042 · In transit") get a row each, or phones cut them off.
SHORT_TITLE = 14

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class OutgoingMessage:
    """A Telegram message ready to send."""

    text: str
    keyboard: ReplyMarkup | None = None


def keyboard_for(buttons: list[RasaButton]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for Rasa buttons; a payload too long for Telegram's callback data is dropped and logged."""
    usable = []
    for button in buttons:
        if len(button.payload.encode("utf-8")) > CALLBACK_DATA_LIMIT:
            logger.warning("button payload longer than %d bytes dropped (title %r)", CALLBACK_DATA_LIMIT, button.title)
            continue
        usable.append(InlineKeyboardButton(button.title, callback_data=button.payload))
    if not usable:
        return None
    per_row = BUTTONS_PER_ROW if all(len(button.text) <= SHORT_TITLE for button in usable) else 1
    rows = [usable[i : i + per_row] for i in range(0, len(usable), per_row)]
    return InlineKeyboardMarkup(rows)


def contact_keyboard(label: str) -> ReplyKeyboardMarkup:
    """Telegram's share-contact button: the only way to prove a phone number belongs to the sender."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_contact=True)]], resize_keyboard=True, one_time_keyboard=True
    )


def markup_for(reply: RasaReply) -> ReplyMarkup | None:
    """The keyboard of a reply: Rasa buttons inline, or the share-contact button a response asks for."""
    request_contact = (reply.custom or {}).get("request_contact")
    if request_contact:
        return contact_keyboard(str(request_contact))
    return keyboard_for(reply.buttons)


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long text at line breaks (or hard, if a line is longer) into Telegram-sized parts."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current.strip() or not parts:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]


def render(replies: list[RasaReply]) -> list[OutgoingMessage]:
    """Telegram messages for Rasa's replies; buttons go on the last part of their message."""
    messages: list[OutgoingMessage] = []
    for reply in replies:
        body = reply.text or ""
        if reply.image:
            body = f"{body}\n{reply.image}".strip()
        markup = markup_for(reply)
        if not body and markup is None:
            continue
        if not body and messages and messages[-1].keyboard is None:
            # Rasa sends a response's text and its custom payload (the share-contact button) as two messages:
            # the keyboard goes on the text before it instead of on a bubble of its own.
            messages[-1] = OutgoingMessage(messages[-1].text, markup)
            continue
        parts = split_text(body or "…")
        for part in parts[:-1]:
            messages.append(OutgoingMessage(part))
        messages.append(OutgoingMessage(parts[-1], markup))
    return messages
