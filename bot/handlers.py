"""Customer-facing Telegram handlers: relay text to Rasa in one trip, answer politely otherwise."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.context import BotContext
from bot.jobs import kick_handoff_jobs
from bot.rasa import RasaUnavailable, Turn
from bot.rendering import OutgoingMessage, render
from bot.speech import answer, chat_language, client_language, deliver, refuse_command, say, send
from bot.texts import STAFF_COMMAND_DESCRIPTIONS, label, text
from bot.waiting import notify
from core.clock import local
from crm import chatlog, escalations
from crm.chats import fix_language, reply_language, sender_id
from crm.escalations import QueuePolicy, Reason
from crm.models import StaffRole
from crm.reportruns import REPORT_ROLES
from crm.staff import staff_member

logger = logging.getLogger(__name__)

# Who may use each staff command (None: every staff member), as the commands' handlers check it.
STAFF_COMMAND_ROLES: dict[str, tuple[StaffRole, ...] | None] = {
    "queue": None, "profile": None, "note": None, "transfer": None, "resolve": None, "tag": None,
    "complaints": None, "cancel": None, "report": REPORT_ROLES, "review": (StaffRole.ADMIN,),
    "staff": (StaffRole.ADMIN,), "retrain": (StaffRole.ADMIN,), "rollback": (StaffRole.ADMIN,),
}


async def start(update: Update, context: BotContext) -> None:
    """Greet a customer and say what the bot can do; staff get their own welcome with their commands."""
    chat_id = update.effective_chat.id
    user = update.effective_user
    member = await context.services.db(lambda s: staff_member(s, user.id)) if user is not None else None
    if member is not None:
        language = context.services.settings.staff_language
        commands = staff_commands(member.role, language)
        await say(context, chat_id, "staff_start", language, name=member.name, commands=commands)
        return
    await say(context, chat_id, "start", await chat_language(context, chat_id, None, update))


def staff_commands(role: StaffRole, language: str) -> str:
    """The staff commands a role may use, one per line with what each does."""
    names = [name for name, roles in STAFF_COMMAND_ROLES.items() if roles is None or role in roles]
    return "\n".join(f"/{name} {label(STAFF_COMMAND_DESCRIPTIONS, name, language)}" for name in names)


async def help_command(update: Update, context: BotContext) -> None:
    """Explain how to use the chat; staff also get their commands (admins the learning loop's too)."""
    chat_id = update.effective_chat.id
    await say(context, chat_id, "help", await chat_language(context, chat_id, None, update))
    user = update.effective_user
    if user is None or update.effective_chat.type != "private":
        return
    role = await context.services.db(lambda s: (found.role if (found := staff_member(s, user.id)) else None))
    if role is None:
        return
    language = context.services.settings.staff_language
    await say(context, chat_id, "staff_help", language)
    if role == StaffRole.ADMIN:
        await say(context, chat_id, "staff_help_admin", language)


# What `/language <choice>` accepts, lower-cased: the button choices and the words people type for them.
LANGUAGE_CHOICES: dict[str, str] = {
    "zh": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh",
    "en": "en", "english": "en", "英文": "en", "英语": "en",
    "auto": "auto", "自动": "auto",
}


def language_keyboard() -> InlineKeyboardMarkup:
    """The three /language buttons."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("中文", callback_data="lang:zh"),
                InlineKeyboardButton("English", callback_data="lang:en"),
            ],
            [InlineKeyboardButton("自动 / Auto", callback_data="lang:auto")],
        ]
    )


async def language_command(update: Update, context: BotContext) -> None:
    """/language zh|en|auto sets the reply language; without a choice it offers buttons."""
    chat_id = update.effective_chat.id
    language = await chat_language(context, chat_id, None, update)
    if not context.args:
        await send(context, chat_id, OutgoingMessage(text("language_prompt", language), language_keyboard()))
        return
    choice = LANGUAGE_CHOICES.get(" ".join(context.args).strip().lower())
    if choice is None:
        await send(context, chat_id, OutgoingMessage(text("language_usage", language), language_keyboard()))
        return
    await store_language(update, context, chat_id, choice)


async def language_chosen(update: Update, context: BotContext) -> None:
    """Store the language picked with the /language buttons."""
    query = update.callback_query
    await query.answer()
    choice = (query.data or "").removeprefix("lang:")
    await store_language(update, context, update.effective_chat.id, choice if choice in ("zh", "en") else "auto")


async def store_language(update: Update, context: BotContext, chat_id: int, choice: str) -> None:
    """Pin the chat's reply language (or let it follow the customer again) and confirm in that language."""
    fixed = choice if choice in ("zh", "en") else None
    fallback = client_language(update)

    def store(session: Session) -> str:
        fix_language(session, chat_id, fixed)
        return reply_language(session, chat_id, None, fallback=fallback)

    # The inbound decision's language predates this choice: answer in the one just stored. Rasa's language slot
    # follows on the next message, which carries the chat's reply language (bot/inbound.py, nlu/channel.py).
    language = await context.services.db(store)
    await say(context, chat_id, f"language_set_{fixed or 'auto'}", language)


async def customer_text(update: Update, context: BotContext) -> None:
    """Relay a customer's text to Rasa and send back what it answers."""
    message = update.effective_message
    chat_id = update.effective_chat.id
    body = (message.text or "").strip()
    language = await chat_language(context, chat_id, body, update)
    if await refused_text(context, chat_id, body, language):
        return
    await converse(update, context, chat_id, body, language)


async def refused_text(context: BotContext, chat_id: int, body: str, language: str) -> bool:
    """Answer an empty or over-long text (or caption) politely; True when it was refused."""
    if not body:
        await say(context, chat_id, "empty", language)
        return True
    limit = context.services.settings.max_message_chars
    if len(body) > limit:
        await say(context, chat_id, "too_long", language, limit=limit)
        return True
    return False


async def button_pressed(update: Update, context: BotContext) -> None:
    """Treat a pressed Rasa button as the customer sending its payload (not while a human has the chat)."""
    query = update.callback_query
    chat = update.effective_chat
    if chat is None or not query.data:
        await query.answer()
        return
    language = await chat_language(context, chat.id, None, update)
    inbound = context.inbound
    queued = inbound.queued if inbound is not None else await context.services.db(
        lambda s: escalations.active_for_chat(s, chat.id) is not None
    )
    if queued:
        await query.answer(text("button_expired", language))
        return
    await query.answer()
    await converse(update, context, chat.id, query.data, language)


async def queue_after_failure(update: Update, context: BotContext, chat_id: int, language: str) -> None:
    """Rasa or the action server failed: put the conversation in the human queue and tell the customer."""
    svc = context.services
    if svc.settings.staff_chat_id is None:
        # Nobody would see an escalation: no promise of a person, how to reach the company instead.
        await say(context, chat_id, "holding_unstaffed", language, phone=svc.settings.contact_phone,
                  email=svc.settings.contact_email)
        return
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
        await notify(context, chat_id, "holding_queued", language, position=placement.position or 1,
                     wait_minutes=placement.wait_minutes)
    else:
        await notify(context, chat_id, "holding_after_hours", language,
                     opens_at=local(placement.opens_at).strftime("%H:%M"))
    # No immediate announcement: while Rasa is down every customer who writes lands here, and the periodic
    # pass announces them together (one summary per interval) instead of flooding the staff group.


async def resume_if_pending(context: BotContext, chat_id: int) -> None:
    """Retry un-pausing Rasa for a conversation whose handoff ended while Rasa was unreachable."""
    svc = context.services
    inbound = context.inbound
    if inbound is not None:
        pending_id = inbound.pending_resume
    else:
        pending = await svc.db(lambda s: escalations.pending_resume(s, chat_id))
        pending_id = pending.id if pending is not None else None
    if pending_id is None:
        return
    try:
        await svc.rasa_client.resume(sender_id(chat_id))
    except RasaUnavailable as exc:
        logger.warning("resuming the Rasa conversation of escalation %s failed again: %s", pending_id, exc)
        return
    await svc.db(lambda s: escalations.mark_resumed(s, pending_id))
    if inbound is not None:
        inbound.pending_resume = None


async def converse(
    update: Update, context: BotContext, chat_id: int, body: str, language: str, *, photo_file_id: str | None = None,
    unasked: tuple[str, dict[str, object]] = ("photo_without_caption", {}),
) -> None:
    """One exchange with Rasa (one HTTP call); a holding reply whenever Rasa or the action server fails.

    `photo_file_id` is the photo the message came with (`body` is its caption, maybe empty): the channel gives it to
    the damage form when the form asks for one, also when the caption itself starts the complaint, in the same
    call. A photo nothing asked for and without a usable caption gets the bot's text `unasked` (key, fields).
    """
    svc = context.services
    # The typing indicator goes out while Rasa thinks, not before: it is one Telegram round trip off the path.
    typing = asyncio.create_task(show_typing(context, chat_id))
    user = update.effective_user
    # The brand rides with the language: Rasa's responses name the company from the bot's settings.
    metadata = {"chat_id": chat_id, "telegram_user_id": user.id if user else None,
                "brand": svc.settings.brand_name(language)}
    await resume_if_pending(context, chat_id)
    try:
        turn = await svc.rasa_client.converse(
            sender_id(chat_id), body, language=language, metadata=metadata, photo=photo_file_id
        )
    except RasaUnavailable as exc:
        await typing
        if photo_file_id is not None and not body:
            # Nothing to read: say what to do with the photo rather than queue a bare picture for a person.
            key, fields = unasked
            await answer(context, chat_id, key, language, **fields)
            return
        logger.warning("holding reply for chat %s: %s", chat_id, exc)
        await queue_after_failure(update, context, chat_id, language)
        return
    if turn.photo_unasked:
        await typing
        key, fields = unasked
        await answer(context, chat_id, key, language, **fields)
        return
    replies, paused = turn.replies, turn.paused
    await typing  # Telegram shows messages in the order they were sent: the indicator must not come last
    sent: list[str | None] = []
    for outgoing in render(replies):
        # A reply Telegram did not take is kept in the outbox and logged when it is delivered.
        if isinstance(await deliver(context, chat_id, outgoing, log_kind="text"), Message):
            sent.append(outgoing.text)
    # The caption's turn is the one the chat log keeps: it says how the customer's own words were understood.
    await record_turn(context, chat_id, language, turn, sent)
    # An action (a request for a person, a serious complaint) queued the conversation: announce it now.
    if paused:
        kick_handoff_jobs(context)


async def show_typing(context: BotContext, chat_id: int) -> None:
    """Show "typing…" in the chat; a missing indicator is harmless."""
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        pass


async def record_turn(context: BotContext, chat_id: int, language: str, turn: Turn, sent: list[str | None]) -> None:
    """Log the replies, how the message was understood and that it is handled, in one transaction."""
    inbound = context.inbound
    parse = turn.understanding
    if inbound is None:  # no inbound log entry (should not happen): still log what was sent
        await context.services.db(lambda s: [chatlog.record_outbound(s, chat_id=chat_id, text=t) for t in sent])
        return
    understanding = None
    if parse is not None:
        understanding = {
            "language": language,
            "intent": parse.intent,
            "confidence": parse.confidence,
            "entities": parse.entities,
            "model_version": parse.model_version,
            "fell_back": parse.fell_back,
        }
    try:
        await context.services.db(
            lambda s: chatlog.record_turn(
                s, inbound.message_id, chat_id=chat_id, replies=sent, understanding=understanding
            )
        )
    except SQLAlchemyError as exc:
        # The customer has the answer; only its record is missing. A holding reply now would contradict it.
        logger.error("chat %s was answered but the turn could not be logged: %s", chat_id, type(exc).__name__)
    inbound.closed = True


async def non_text(update: Update, context: BotContext) -> None:
    """A photo answers a form that asked for one, its caption is read like a text; other media get a hint."""
    chat = update.effective_chat
    if chat is None:
        return
    message = update.effective_message
    caption = ((message.caption if message else None) or "").strip()
    language = await chat_language(context, chat.id, caption or None, update)
    if message is None or not message.photo:
        await say(context, chat.id, "unsupported_media", language)
        return
    # The largest size is last; Rasa gets its file id as an entity of the damage complaint. Whether a form asks for
    # the photo is Rasa's to know: the channel decides in the same call (nlu/channel.py), so a photo costs one trip.
    file_id = message.photo[-1].file_id
    limit = context.services.settings.max_message_chars
    if len(caption) > limit:
        # An over-long caption is not read, but the photo may still answer a form's question.
        await converse(update, context, chat.id, "", language, photo_file_id=file_id,
                       unasked=("too_long", {"limit": limit}))
        return
    await converse(update, context, chat.id, caption, language, photo_file_id=file_id)


async def empty_text(update: Update, context: BotContext) -> None:
    """Answer an empty or blank message."""
    chat_id = update.effective_chat.id
    await say(context, chat_id, "empty", await chat_language(context, chat_id, None, update))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Politely refuse commands the bot does not know."""
    await refuse_command(update, context)


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer a button press that carries no usable data."""
    query = update.callback_query
    chat = update.effective_chat
    language = await chat_language(context, chat.id, None, update) if chat else "zh"
    await query.answer(text("button_expired", language))


async def on_error(update: object, context: BotContext) -> None:
    """Log an unexpected error and tell the customer politely instead of going silent."""
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        chat_id = update.effective_chat.id
        try:
            language = await chat_language(context, chat_id, None, update)
        except Exception:  # the database may be the thing that failed
            language = "zh"
        await say(context, chat_id, "holding", language)
