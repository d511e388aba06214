"""Proactive care in Telegram: the job that sends due notices, /notify on|off, "Notify me" and unsubscribe buttons.

The outbox is the `notices` table (crm/notices.py), written by whoever stored the event. The job reads it on every
pass, so a restarted bot sends what is due and nothing twice. Notices go through the same bot (and so the same
rate limiter) as replies.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.speech import chat_language, say
from bot.texts import text
from core.clock import utcnow
from core.hours import parse_quiet_hours
from crm import chatlog, notices
from crm.models import NoticeAudience, ShipmentStatus
from crm.notices import NOTIFY_PREFIX, UNNOTIFY_PREFIX, NoticeDraft, SubscribeResult

logger = logging.getLogger(__name__)

JOB_NAME = "notices"
# Telegram takes about 30 messages a second from one bot; a pass sends at most this many and the next pass
# (a few seconds later) goes on, leaving room for the replies customers are waiting for.
NOTICES_PER_PASS = 20
ON_WORDS = frozenset({"on", "开", "开启", "打开"})
OFF_WORDS = frozenset({"off", "关", "关闭"})


def notice_text(draft: NoticeDraft) -> str:
    """The notice in the chat's language: the status (as public tracking shows it), and why it came."""
    parts = [text(f"notice_{draft.status.value}", draft.language, **draft.values)]
    if draft.audience is NoticeAudience.OWNER:
        parts.append(text("notice_owner_line", draft.language, **draft.values))
        parts.append(text("notice_why_owner", draft.language))
    else:
        parts.append(text("notice_why_subscriber", draft.language))
    return "\n".join(parts)


def notice_keyboard(draft: NoticeDraft) -> InlineKeyboardMarkup:
    """Unsubscribe on every notice; a delay also offers a complaint and a person (both answered by Rasa)."""
    language = draft.language
    rows: list[list[InlineKeyboardButton]] = []
    if draft.status is ShipmentStatus.DELAYED:
        # Rasa payloads: the complaint form starts with the parcel already known.
        complain = "/complain_delay" + json.dumps({"tracking_number": draft.tracking_number}, separators=(",", ":"))
        rows.append(
            [
                InlineKeyboardButton(text("notice_button_complain", language), callback_data=complain),
                InlineKeyboardButton(text("notice_button_human", language), callback_data="/request_human"),
            ]
        )
    elif draft.status is ShipmentStatus.EXCEPTION:
        rows.append([InlineKeyboardButton(text("notice_button_human", language), callback_data="/request_human")])
    rows.append(
        [
            InlineKeyboardButton(
                text("notice_button_stop", language), callback_data=f"{UNNOTIFY_PREFIX}{draft.tracking_number}"
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


async def notice_tick(context: BotContext) -> None:
    """One pass over the outbox: send what is due, postpone what the quiet hours hold back.

    PTB's JobQueue never runs two passes of this job at once (APScheduler's max_instances is 1).
    """
    svc = context.services
    quiet = parse_quiet_hours(svc.settings.quiet_hours, svc.settings.staffed_timezone)
    now = utcnow()
    recovered = await svc.db(lambda s: notices.recover_interrupted(s, now=now))
    if recovered:
        logger.warning("%d notice(s) were being sent when the bot stopped; marked failed, not resent", recovered)
    due = await svc.db(lambda s: notices.due_ids(s, now=now, limit=NOTICES_PER_PASS))
    for notice_id in due:
        draft = await svc.db(lambda s, notice_id=notice_id: notices.claim(s, notice_id, now=utcnow(), quiet=quiet))
        if draft is not None:
            await send_notice(context, draft)


async def send_notice(context: BotContext, draft: NoticeDraft) -> None:
    """Send one claimed notice and log it (sent with its message, or failed with Telegram's reason)."""
    svc = context.services
    body = notice_text(draft)
    try:
        sent = await context.bot.send_message(draft.chat_id, body[:4096], reply_markup=notice_keyboard(draft))
    except TelegramError as exc:
        logger.warning("notice %s to chat %s failed: %s", draft.id, draft.chat_id, exc)
        error = f"{type(exc).__name__}: {exc}"
        await svc.db(lambda s: notices.mark_failed(s, draft.id, error))
        return

    def record(session: Session) -> None:
        notices.mark_sent(session, draft.id, message_id=sent.message_id, now=utcnow())
        chatlog.record_outbound(session, chat_id=draft.chat_id, text=body)

    await svc.db(record)
    logger.info("notice %s (%s, %s) sent", draft.id, draft.status.value, draft.audience.value)


async def notify_command(update: Update, context: BotContext) -> None:
    """/notify on|off: all proactive notices for this chat; without an argument, say which it is."""
    chat_id = update.effective_chat.id
    language = await chat_language(context, chat_id, None, update)
    choice = (context.args[0].strip().lower() if context.args else "")
    svc = context.services
    if choice in ON_WORDS or choice in OFF_WORDS:
        enabled = choice in ON_WORDS
        await svc.db(lambda s: notices.set_notices(s, chat_id, enabled, now=utcnow()))
        await say(context, chat_id, "notify_on" if enabled else "notify_off", language)
        return
    enabled = await svc.db(lambda s: notices.notices_enabled(s, chat_id))
    await say(context, chat_id, "notify_status_on" if enabled else "notify_status_off", language)


async def notify_pressed(update: Update, context: BotContext) -> None:
    """"Notify me" under a tracking reply: follow this parcel (the bot handles it; Rasa never sees the press)."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    number = (query.data or "").removeprefix(NOTIFY_PREFIX)
    language = await chat_language(context, chat_id, None, update)
    await query.answer()

    def follow(session: Session) -> tuple[SubscribeResult, bool]:
        return notices.subscribe(session, chat_id, number, now=utcnow()), notices.notices_enabled(session, chat_id)

    result, enabled = await context.services.db(follow)
    key = {
        SubscribeResult.SUBSCRIBED: "notify_subscribed",
        SubscribeResult.UNKNOWN: "notify_unknown",
        SubscribeResult.FINAL: "notify_final",
    }[result]
    await say(context, chat_id, key, language, tracking_number=number)
    if result is SubscribeResult.SUBSCRIBED and not enabled:
        await say(context, chat_id, "notify_subscribed_but_off", language)


async def unnotify_pressed(update: Update, context: BotContext) -> None:
    """The button on every notice: no more notices about this parcel to this chat."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    number = (query.data or "").removeprefix(UNNOTIFY_PREFIX)
    language = await chat_language(context, chat_id, None, update)
    await query.answer()
    known = await context.services.db(lambda s: notices.unsubscribe(s, chat_id, number, now=utcnow()))
    await say(context, chat_id, "notify_unsubscribed" if known else "notify_unknown", language, tracking_number=number)
