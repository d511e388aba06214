"""How the bot speaks: the language to answer in, sending (and logging) a message, the bot's own texts."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from telegram import Message, Update

from bot.context import BotContext
from bot.language import detect_language
from bot.outbox import Kept, send_or_keep
from bot.rendering import OutgoingMessage, split_text
from bot.texts import command_menu, text
from crm import chatlog
from crm.chats import reply_language

logger = logging.getLogger(__name__)


def update_kind(update: Update) -> str:
    """A short name for what an update carries (for the log and for the reply to non-text)."""
    if update.callback_query:
        return "callback"
    message = update.effective_message
    if message is None:
        return "other"
    for kind in ("photo", "sticker", "voice", "video", "video_note", "audio", "document", "location", "contact"):
        if getattr(message, kind):
            return kind
    if message.text is not None:
        return "command" if message.text.startswith("/") else "text"
    return "other"



def client_language(update: object) -> str | None:
    """The language of the customer's Telegram app, as a last resort for choosing ours."""
    user = update.effective_user if isinstance(update, Update) else None
    code = (user.language_code or "") if user else ""
    return "zh" if code.startswith("zh") else "en" if code else None


async def chat_language(context: BotContext, chat_id: int, sample: str | None, update: object = None) -> str:
    """The language to answer this chat in: the inbound decision's, else learnt from `sample` in the database."""
    inbound = context.inbound
    if inbound is not None and inbound.language is not None and isinstance(update, Update):
        chat = update.effective_chat
        if chat is not None and chat.id == chat_id:
            return inbound.language
    detected = detect_language(sample) if sample else None
    fallback = client_language(update)
    return await context.services.db(lambda s: reply_language(s, chat_id, detected, fallback=fallback))


async def deliver(
    context: BotContext, chat_id: int, outgoing: OutgoingMessage, *, log_kind: str | None = None
) -> Message | Kept | None:
    """Send one message; one Telegram did not take is kept and retried in order (logged as log_kind once delivered).

    None: refused for good (blocked bot, unknown chat), logged, never raised to the customer flow.
    """
    return await send_or_keep(context, chat_id, outgoing, log_kind=log_kind)


async def send(context: BotContext, chat_id: int, outgoing: OutgoingMessage) -> Message | Kept | None:
    """Send one message and log it (in its own transaction; a kept one is logged when it is delivered)."""
    sent = await deliver(context, chat_id, outgoing, log_kind="text")
    if isinstance(sent, Message):
        await context.services.db(lambda s: chatlog.record_outbound(s, chat_id=chat_id, text=outgoing.text))
    return sent


def _parts(context: BotContext, key: str, language: str, values: dict[str, object]) -> list[str]:
    """One of the bot's texts ({brand} is the company's name from the settings), split to Telegram's length."""
    return split_text(text(key, language, **{"brand": context.services.settings.brand_name(language), **values}))


async def say(context: BotContext, chat_id: int, key: str, language: str, /, **values: object) -> None:
    """Send one of the bot's own texts ({brand} is the company's name from the settings)."""
    for part in _parts(context, key, language, values):
        await send(context, chat_id, OutgoingMessage(part))


async def answer(context: BotContext, chat_id: int, key: str, language: str, /, **values: object) -> None:
    """Say one of the bot's texts as the whole answer to the update: the last part's log entry and the update's
    "handled" mark are written in one transaction (one fewer than `say` followed by the closing handler)."""
    *first, last = _parts(context, key, language, values)
    for part in first:
        await send(context, chat_id, OutgoingMessage(part))
    inbound = context.inbound
    if inbound is None or inbound.closed:
        await send(context, chat_id, OutgoingMessage(last))
        return
    sent = await deliver(context, chat_id, OutgoingMessage(last), log_kind="text")

    def close(session: Session) -> None:
        if isinstance(sent, Message):
            chatlog.record_outbound(session, chat_id=chat_id, text=last)
        chatlog.mark_handled(session, inbound.message_id)

    await context.services.db(close)
    inbound.closed = True


async def refuse_command(update: Update, context: BotContext) -> None:
    """The polite reply to a command the sender may not use or the bot does not know."""
    chat_id = update.effective_chat.id
    language = await chat_language(context, chat_id, None, update)
    await say(context, chat_id, "unknown_command", language, commands=command_menu(language))
