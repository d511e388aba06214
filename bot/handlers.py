"""Customer-facing Telegram handlers: log every update, relay text to Rasa, answer politely otherwise."""

from __future__ import annotations

import json
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.language import detect_language
from bot.rasa import RasaUnavailable
from bot.rendering import OutgoingMessage, render, split_text
from bot.services import services
from bot.texts import text
from core.clock import local
from crm import chatlog, escalations
from crm.chats import fix_language, get_or_create_chat, reply_language
from crm.escalations import QueuePolicy, Reason

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


def sender_id(chat_id: int) -> str:
    """The Rasa conversation id of a Telegram chat."""
    return f"tg-{chat_id}"


async def log_inbound(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Persist every inbound update before acting on it; stop here if it was already handled."""
    svc = services(context)
    chat = update.effective_chat
    user = update.effective_user
    message = update.effective_message
    body = (
        update.callback_query.data if update.callback_query else (message.text or message.caption) if message else None
    )
    record = await svc.db(
        lambda s: chatlog.record_inbound(
            s,
            bot_id=context.bot.id,
            update_id=update.update_id,
            chat_id=chat.id if chat else None,
            telegram_user_id=user.id if user else None,
            kind=update_kind(update),
            text=body,
        )
    )
    if not record.needs_handling:
        logger.info("update %s was already handled; ignoring the redelivery", update.update_id)
        raise ApplicationHandlerStop
    svc.inbound_rows[update.update_id] = record.message_id


async def mark_handled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Close the log entry of an update once every handler has run."""
    svc = services(context)
    row = svc.inbound_rows.pop(update.update_id, None)
    if row is not None:
        await svc.db(lambda s: chatlog.mark_handled(s, row))


def client_language(update: object) -> str | None:
    """The language of the customer's Telegram app, as a last resort for choosing ours."""
    user = update.effective_user if isinstance(update, Update) else None
    code = (user.language_code or "") if user else ""
    return "zh" if code.startswith("zh") else "en" if code else None


async def chat_language(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, sample: str | None, update: object = None
) -> str:
    """The language to answer this chat in, learning from the latest text."""
    detected = detect_language(sample) if sample else None
    fallback = client_language(update)
    return await services(context).db(lambda s: reply_language(s, chat_id, detected, fallback=fallback))


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, outgoing: OutgoingMessage) -> Message | None:
    """Send one message and log it; a Telegram failure is logged, never raised to the customer flow."""
    try:
        sent = await context.bot.send_message(chat_id, outgoing.text, reply_markup=outgoing.keyboard)
    except TelegramError as exc:
        logger.error("sending to chat %s failed: %s", chat_id, exc)
        return None
    await services(context).db(lambda s: chatlog.record_outbound(s, chat_id=chat_id, text=outgoing.text))
    return sent


async def say(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, key: str, language: str, /, **values: object
) -> None:
    """Send one of the bot's own texts."""
    for part in split_text(text(key, language, **values)):
        await send(context, chat_id, OutgoingMessage(part))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet a customer and say what the bot can do."""
    chat_id = update.effective_chat.id
    await say(context, chat_id, "start", await chat_language(context, chat_id, None, update))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to use the chat."""
    chat_id = update.effective_chat.id
    await say(context, chat_id, "help", await chat_language(context, chat_id, None, update))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer a choice of reply language."""
    chat_id = update.effective_chat.id
    language = await chat_language(context, chat_id, None, update)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("中文", callback_data="lang:zh"),
                InlineKeyboardButton("English", callback_data="lang:en"),
            ],
            [InlineKeyboardButton("自动 / Auto", callback_data="lang:auto")],
        ]
    )
    await send(context, chat_id, OutgoingMessage(text("language_prompt", language), keyboard))


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the language picked with the /language buttons."""
    query = update.callback_query
    await query.answer()
    choice = (query.data or "").removeprefix("lang:")
    chat_id = update.effective_chat.id
    fixed = choice if choice in ("zh", "en") else None
    await services(context).db(lambda s: fix_language(s, chat_id, fixed))
    language = await chat_language(context, chat_id, None, update)
    await say(context, chat_id, f"language_set_{choice if fixed else 'auto'}", language)


async def customer_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay a customer's text to Rasa and send back what it answers."""
    message = update.effective_message
    chat_id = update.effective_chat.id
    body = (message.text or "").strip()
    language = await chat_language(context, chat_id, body, update)
    if not body:
        await say(context, chat_id, "empty", language)
        return
    limit = services(context).settings.max_message_chars
    if len(body) > limit:
        await say(context, chat_id, "too_long", language, limit=limit)
        return
    await converse(update, context, chat_id, body, language)


async def button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Treat a pressed Rasa button as the customer sending its payload (not while a human has the chat)."""
    query = update.callback_query
    chat = update.effective_chat
    if chat is None or not query.data:
        await query.answer()
        return
    language = await chat_language(context, chat.id, None, update)
    if await services(context).db(lambda s: escalations.active_for_chat(s, chat.id) is not None):
        await query.answer(text("button_expired", language))
        return
    await query.answer()
    await converse(update, context, chat.id, query.data, language)


def kick_handoff_jobs(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run the handoff jobs now (announce a new escalation without waiting for the next interval)."""
    # Imported here: bot.jobs imports this module.
    from bot.jobs import handoff_tick

    if context.job_queue is not None:
        context.job_queue.run_once(handoff_tick, 0)


async def queue_after_failure(
    update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, language: str
) -> None:
    """Rasa or the action server failed: put the conversation in the human queue and tell the customer."""
    svc = services(context)
    user = update.effective_user
    try:
        placement = await svc.db(
            lambda s: escalations.open_escalation(
                s, chat_id, Reason.BOT_FAILURE, policy=QueuePolicy.from_settings(svc.settings), language=language,
                telegram_user_id=user.id if user else None,
            )
        )
    except Exception:  # the database may be down too: the plain holding reply still goes out
        logger.exception("could not open an escalation for chat %s after a failure", chat_id)
        await say(context, chat_id, "holding", language)
        return
    if placement.staffed:
        await say(context, chat_id, "holding_queued", language, position=placement.position or 1,
                  wait_minutes=placement.wait_minutes)
    else:
        await say(context, chat_id, "holding_after_hours", language,
                  opens_at=local(placement.opens_at).strftime("%H:%M"))
    kick_handoff_jobs(context)


async def resume_if_pending(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """Retry un-pausing Rasa for a conversation whose handoff ended while Rasa was unreachable."""
    svc = services(context)
    pending = await svc.db(lambda s: escalations.pending_resume(s, chat_id))
    if pending is None:
        return
    try:
        await svc.rasa_client.resume(sender_id(chat_id))
    except RasaUnavailable as exc:
        logger.warning("resuming the Rasa conversation of escalation %s failed again: %s", pending.id, exc)
        return
    await svc.db(lambda s: escalations.mark_resumed(s, pending.id))


async def converse(update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, body: str, language: str) -> None:
    """One exchange with Rasa; a holding reply whenever Rasa or the action server fails."""
    svc = services(context)
    await svc.db(lambda s: get_or_create_chat(s, chat_id, kind=update.effective_chat.type))
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        pass  # a missing typing indicator is harmless
    user = update.effective_user
    metadata = {"chat_id": chat_id, "telegram_user_id": user.id if user else None}
    await resume_if_pending(context, chat_id)
    try:
        replies = await svc.rasa_client.converse(sender_id(chat_id), body, language=language, metadata=metadata)
    except RasaUnavailable as exc:
        logger.warning("holding reply for chat %s: %s", chat_id, exc)
        await queue_after_failure(update, context, chat_id, language)
        return
    for outgoing in render(replies):
        await send(context, chat_id, outgoing)
    # action_request_human may just have queued the conversation: announce it now, not at the next interval.
    if await svc.db(lambda s: escalations.active_for_chat(s, chat_id) is not None):
        kick_handoff_jobs(context)
    parse = await svc.rasa_client.latest_parse(sender_id(chat_id))
    row = svc.inbound_rows.get(update.update_id)
    if parse is not None and row is not None:
        version = await svc.rasa_client.model_version()
        await svc.db(
            lambda s: chatlog.record_understanding(
                s,
                row,
                language=language,
                intent=parse.intent,
                confidence=parse.confidence,
                entities=parse.entities,
                model_version=version,
                fell_back=parse.fell_back,
            )
        )


PHOTO_SLOT = "complaint_photo"


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pass a photo to a complaint form that asked for one; answer other media with a useful hint."""
    chat = update.effective_chat
    if chat is None:
        return
    message = update.effective_message
    language = await chat_language(context, chat.id, message.caption if message else None, update)
    if message is not None and message.photo:
        svc = services(context)
        if await svc.rasa_client.requested_slot(sender_id(chat.id)) == PHOTO_SLOT:
            # The largest size is last; Rasa gets its file id as an entity of the damage complaint.
            file_id = message.photo[-1].file_id
            payload = "/complain_damage" + json.dumps({"photo_file_id": file_id})
            await converse(update, context, chat.id, payload, language)
            return
    await say(context, chat.id, "unsupported_media", language)


async def empty_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an empty or blank message."""
    chat_id = update.effective_chat.id
    await say(context, chat_id, "empty", await chat_language(context, chat_id, None, update))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Politely refuse commands the bot does not know."""
    chat_id = update.effective_chat.id
    await say(context, chat_id, "unknown_command", await chat_language(context, chat_id, None, update))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press that carries no usable data."""
    query = update.callback_query
    chat = update.effective_chat
    language = await chat_language(context, chat.id, None, update) if chat else "zh"
    await query.answer(text("button_expired", language))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log an unexpected error and tell the customer politely instead of going silent."""
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        chat_id = update.effective_chat.id
        try:
            language = await chat_language(context, chat_id, None, update)
        except Exception:  # the database may be the thing that failed
            language = "zh"
        await say(context, chat_id, "holding", language)
