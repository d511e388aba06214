"""The inbound log: every update is stored, and decided about, in one transaction before any handler acts.

The decision (duplicate? reply language? queued for a human? a Rasa hand-back to retry?) travels on the
update's BotContext, so the handler groups after this one need no database trip of their own.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.cases import find_route
from bot.context import BotContext, Inbound
from bot.language import detect_language
from bot.rendering import OutgoingMessage
from bot.speech import client_language, deliver, update_kind
from bot.texts import text
from crm import chatlog, deskinput, escalations
from crm.chats import get_or_create_chat, reply_language
from crm.models import EscalationStatus

logger = logging.getLogger(__name__)


def language_sample(update: Update) -> str | None:
    """The text the reply language is learnt from: a message's text or caption (not commands or buttons)."""
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        return None if message.text.startswith("/") else message.text
    return message.caption


def decide(session: Session, update: Update, bot_id: int) -> Inbound | None:
    """Log the update and decide how to treat it; None when it was already handled (a redelivery)."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if update.callback_query:
        body = update.callback_query.data
    else:
        body = (message.text or message.caption) if message else None
    record = chatlog.record_inbound(
        session,
        bot_id=bot_id,
        update_id=update.update_id,
        chat_id=chat.id if chat else None,
        telegram_user_id=user.id if user else None,
        kind=update_kind(update),
        text=body,
    )
    if not record.needs_handling:
        return None
    inbound = Inbound(record.message_id)
    if chat is None or chat.type != "private":
        return inbound  # group chats are staff's: no customer language, queue or Rasa conversation
    get_or_create_chat(session, chat.id, kind=chat.type)
    if user is not None and update.message is not None:
        inbound.route = find_route(session, chat.id, user.id)
    # What an agent writes, and what a customer writes to the agent who has the chat, is relayed as is:
    # it does not change the language the bot answers that customer in.
    relayed = inbound.route is not None and (
        inbound.route.from_agent or inbound.route.case.status == EscalationStatus.CLAIMED.value
    )
    sample = None if relayed else language_sample(update)
    inbound.language = reply_language(
        session, chat.id, detect_language(sample) if sample else None, fallback=client_language(update)
    )
    inbound.queued = escalations.active_for_chat(session, chat.id) is not None
    pending = escalations.pending_resume(session, chat.id)
    inbound.pending_resume = pending.id if pending is not None else None
    if update.message is not None:
        awaited = deskinput.pending(session, chat.id)
        inbound.awaiting = awaited.kind if awaited is not None else None
    return inbound


async def log_inbound(update: Update, context: BotContext) -> None:
    """Persist every inbound update and decide about it before acting; stop here if it was already handled."""
    spool = context.services.spool
    replaying = spool is not None and update.update_id in spool.replaying
    if spool is not None and not replaying and spool.holds(update):
        # Its chat has older updates waiting: it must not overtake them. While they are being handled (the
        # database is back) this one follows in a moment; otherwise the customer hears that it was kept.
        if not spool.replaying_chat(update):
            await hold(update, context)
        spool.put(update)
        raise ApplicationHandlerStop
    try:
        inbound = await context.services.db(lambda s: decide(s, update, context.bot.id))
    except SQLAlchemyError as exc:
        if spool is None:
            raise
        logger.warning("database unavailable (%s); update %s kept in the spool", type(exc).__name__, update.update_id)
        spool.put(update)
        if replaying:
            spool.release(update.update_id)
        else:
            await hold(update, context)
        raise ApplicationHandlerStop from exc
    if spool is not None:
        spool.done(update.update_id)
    if inbound is None:
        logger.info("update %s was already handled; ignoring the redelivery", update.update_id)
        raise ApplicationHandlerStop
    context.inbound = inbound


async def hold(update: Update, context: BotContext) -> None:
    """One reply to a customer whose message was spooled: it is kept and will be answered (no database needed)."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    sample = language_sample(update)
    language = (detect_language(sample) if sample else None) or client_language(update) or "zh"
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text("holding_stored", language)[:200])
        except TelegramError:
            pass
        return
    await deliver(context, chat.id, OutgoingMessage(text("holding_stored", language)))


async def replay_spool(context: BotContext) -> None:
    """Handle spooled updates again, oldest first, once the database answers (a repeating job)."""
    spool = context.services.spool
    if spool is None or not len(spool):
        return
    try:
        await context.services.db(lambda s: s.execute(select(1)))
    except SQLAlchemyError:
        return  # still down: try again at the next pass
    for update_id, data in spool.waiting():
        spool.replaying.add(update_id)
        # Through the update queue, so the per-chat order and the worker limit apply as to any update.
        await context.application.update_queue.put(Update.de_json(data, context.bot))
    logger.info("database back: %s spooled updates sent for handling", len(spool.replaying))


async def close(context: BotContext) -> None:
    """Mark the update's log entry handled, unless the outcome transaction already did."""
    inbound = context.inbound
    if inbound is None or inbound.closed:
        return
    await context.services.db(lambda s: chatlog.mark_handled(s, inbound.message_id))
    inbound.closed = True


async def mark_handled(update: Update, context: BotContext) -> None:
    """Close the log entry of an update once every handler has run."""
    await close(context)
