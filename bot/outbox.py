"""Sending through the outbox: a message Telegram did not take (after the rate limiter's own retries) is kept in the
database and retried by bot/redelivery.py; while a chat has kept messages, its new ones queue behind them.

Permanent refusals (the customer blocked the bot, the chat does not exist, Telegram rejects the message) are not
kept: a retry cannot fix them. A timeout is kept too, although Telegram may have taken the message: a rare
duplicate is better than a lost answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import InlineKeyboardMarkup, Message, MessageId, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.context import BotContext
from bot.rendering import OutgoingMessage, ReplyMarkup
from bot.services import BotServices
from crm import outbox
from crm.outbox import OutboxPolicy

logger = logging.getLogger(__name__)

# The keyboards the bot sends, by the name stored with a kept message (to rebuild the same object).
MARKUPS: dict[str, type[InlineKeyboardMarkup] | type[ReplyKeyboardMarkup] | type[ReplyKeyboardRemove]] = {
    "inline": InlineKeyboardMarkup,
    "reply": ReplyKeyboardMarkup,
    "remove": ReplyKeyboardRemove,
}


@dataclass(frozen=True)
class Kept:
    """A message Telegram did not take now: it waits in the outbox and goes out in the chat's order."""

    outbox_id: int


def permanent(exc: TelegramError) -> bool:
    """Whether a retry cannot help: anything but a network error, a 5xx or a 429 the rate limiter gave up on."""
    if isinstance(exc, RetryAfter):
        return False
    # BadRequest (chat not found, message refused) is a NetworkError subclass in PTB, but final.
    return not isinstance(exc, NetworkError) or isinstance(exc, BadRequest)


def markup_to_json(markup: ReplyMarkup | None) -> dict[str, Any] | None:
    """A keyboard as JSON for the outbox, with its kind."""
    if markup is None:
        return None
    kind = next(name for name, cls in MARKUPS.items() if isinstance(markup, cls))
    return {"kind": kind, "markup": markup.to_dict()}


def markup_from_json(data: dict[str, Any] | None) -> ReplyMarkup | None:
    """The keyboard stored with a kept message."""
    if not data:
        return None
    return MARKUPS[data["kind"]].de_json(data["markup"], None)


async def load_waiting_chats(svc: BotServices) -> None:
    """Read which chats have messages waiting, once at start-up (no database work on a customer's first message)."""
    if svc.outbox_chats is not None:
        return
    try:
        chats = await svc.db(outbox.pending_chats)
    except SQLAlchemyError as exc:
        logger.warning("the outbox could not be read at start-up (%s): read on the first send", type(exc).__name__)
        return
    if svc.outbox_chats is None:
        svc.outbox_chats = chats


async def holds(context: BotContext, chat_id: int) -> bool:
    """Whether the chat has messages waiting in the outbox (a new one must queue behind them)."""
    svc = context.services
    if svc.outbox_chats is None:
        try:
            chats = await svc.db(outbox.pending_chats)
        except SQLAlchemyError as exc:
            logger.warning("the outbox could not be read (%s); sending directly", type(exc).__name__)
            return False
        if svc.outbox_chats is None:
            svc.outbox_chats = chats
    return chat_id in svc.outbox_chats


async def keep(context: BotContext, chat_id: int, *, error: TelegramError | None, **fields: Any) -> Kept | None:
    """Store a message for the retry job (error None: it was not tried, it queues behind); None if that failed too."""
    svc = context.services
    policy = OutboxPolicy.from_settings(svc.settings)
    reason = f"{type(error).__name__}: {error}" if error is not None else ""
    async with svc.outbox_lock:
        try:
            outbox_id = await svc.db(
                lambda s: outbox.keep(s, chat_id=chat_id, error=reason, policy=policy, attempted=error is not None,
                                      **fields)
            )
        except SQLAlchemyError as exc:
            logger.error("a message to chat %s is lost: Telegram refused it and the outbox failed (%s)", chat_id,
                         type(exc).__name__)
            return None
        if svc.outbox_chats is not None:
            svc.outbox_chats.add(chat_id)
    return Kept(outbox_id)


async def send_or_keep(
    context: BotContext, chat_id: int, outgoing: OutgoingMessage, *, log_kind: str | None
) -> Message | Kept | None:
    """Send a message, or keep it in the outbox (behind the chat's waiting ones, or after a failure that may pass)."""
    fields: dict[str, Any] = {"text": outgoing.text, "reply_markup": markup_to_json(outgoing.keyboard),
                              "log_kind": log_kind}
    if await holds(context, chat_id):
        return await keep(context, chat_id, error=None, **fields)
    try:
        return await context.bot.send_message(chat_id, outgoing.text, reply_markup=outgoing.keyboard)
    except TelegramError as exc:
        if permanent(exc):
            logger.error("sending to chat %s failed for good: %s", chat_id, exc)
            return None
        logger.warning("sending to chat %s failed, kept for a retry: %s", chat_id, exc)
        return await keep(context, chat_id, error=exc, **fields)


async def copy_or_keep(
    context: BotContext, chat_id: int, from_chat_id: int, message_id: int, *, text: str | None, log_kind: str,
    notify_chat_id: int, escalation_id: int,
) -> MessageId | Kept:
    """Copy a message (an agent's relay) or keep it in the outbox; a permanent refusal is raised to the caller."""
    fields: dict[str, Any] = {
        "text": text, "copy_from_chat_id": from_chat_id, "copy_message_id": message_id, "log_kind": log_kind,
        "notify_chat_id": notify_chat_id, "escalation_id": escalation_id,
    }
    if await holds(context, chat_id):
        kept = await keep(context, chat_id, error=None, **fields)
    else:
        try:
            return await context.bot.copy_message(chat_id, from_chat_id, message_id)
        except TelegramError as exc:
            if permanent(exc):
                raise
            logger.warning("relaying to chat %s failed, kept for a retry: %s", chat_id, exc)
            kept = await keep(context, chat_id, error=exc, **fields)
    if kept is None:
        raise TelegramError("not delivered and not kept: the database is unreachable")
    return kept
