"""A customer's personal data in chat: /forget (or "删除我的数据" / "delete my data") with a confirmation button,
and the daily retention job. The work itself is privacy/'s; this module asks, confirms and answers.

After an erasure a one-off job deletes the chat's Rasa events once more (privacy.erasure.second_pass_delay after
it): a Rasa turn still running during the erasure writes the whole conversation back when it ends. The job lives
in the bot's memory: a restart within those seconds loses it (the retention job removes what is left once it is
older than the chat retention period).
"""

from __future__ import annotations

import asyncio
import logging
import re

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.rendering import OutgoingMessage
from bot.speech import chat_language, deliver, refuse_command, say, send
from bot.texts import text
from core.clock import utcnow
from privacy.erasure import (
    CUSTOMER_REQUEST,
    ErasureBlocked,
    ErasureReport,
    blocking_parcels,
    erase,
    erase_conversations_again,
    second_pass_delay,
    subject_for_chat,
)
from privacy.retention import RetentionReport, run_retention

logger = logging.getLogger(__name__)

JOB_NAME = "retention"
SECOND_PASS_JOB = "erasure-second-pass"
# The first retention run after a start: soon, but not while the bot is still catching up on updates.
RETENTION_FIRST_SECONDS = 60.0
# A confirmation button older than this asks again: an erasure is never triggered by a forgotten old message.
CONFIRM_SECONDS = 15 * 60
CALLBACK_PREFIX = "forget:"
ACTOR = "customer (chat)"
# The words that ask for erasure without the command (matched here, before Rasa, so no model change is needed).
FORGET_WORDS = re.compile(
    r"^\s*(?:请|我想|我要|请帮我|帮我|麻烦)?(?:删除|清除)我的(?:个人)?(?:数据|资料|信息)\s*[。！!]?\s*$"
    r"|^\s*(?:please\s+|i want to\s+|i'd like to\s+|i would like to\s+)?"
    r"(?:(?:delete|erase) my (?:personal )?(?:data|information)|forget me)\s*[.!]?\s*$",
    re.IGNORECASE,
)


def confirm_keyboard(language: str, issued_at: int) -> InlineKeyboardMarkup:
    """Yes (carrying when it was offered) and No."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("forget_yes", language), callback_data=f"{CALLBACK_PREFIX}yes:{issued_at}")],
            [InlineKeyboardButton(text("forget_no", language), callback_data=f"{CALLBACK_PREFIX}no")],
        ]
    )


async def forget_command(update: Update, context: BotContext) -> None:
    """Say what erasure removes and keeps, and ask for confirmation (or say which parcels must arrive first)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type != "private" or user is None:
        await refuse_command(update, context)
        return
    language = await chat_language(context, chat.id, None, update)
    blocking = await context.services.db(lambda s: blocking_parcels(s, subject_for_chat(s, chat.id, user.id)))
    if blocking:
        await say(context, chat.id, "forget_blocked", language, parcels=", ".join(blocking))
        return
    keyboard = confirm_keyboard(language, int(utcnow().timestamp()))
    await send(context, chat.id, OutgoingMessage(text("forget_prompt", language), keyboard))


def _fresh(data: str) -> bool:
    """Whether a Yes button was offered recently enough to act on."""
    try:
        issued_at = int(data.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return False
    return 0 <= utcnow().timestamp() - issued_at <= CONFIRM_SECONDS


async def forget_pressed(update: Update, context: BotContext) -> None:
    """Erase on a fresh Yes; No cancels; an old Yes asks to start again."""
    query = update.callback_query
    chat, user = update.effective_chat, update.effective_user
    await query.answer()
    if chat is None or chat.type != "private" or user is None:
        return
    language = await chat_language(context, chat.id, None, update)
    await _drop_buttons(update)
    data = query.data or ""
    if not data.startswith(f"{CALLBACK_PREFIX}yes:"):
        await say(context, chat.id, "forget_cancelled", language)
        return
    if not _fresh(data):
        await say(context, chat.id, "forget_expired", language)
        return

    def work(session: Session) -> ErasureReport:
        subject = subject_for_chat(session, chat.id, user.id)
        return erase(session, subject, requested_by=CUSTOMER_REQUEST, actor=ACTOR)

    try:
        report = await context.services.db(work)
    except ErasureBlocked as exc:
        await say(context, chat.id, "forget_blocked", language, parcels=", ".join(exc.parcels))
        return
    logger.info("erasure on request in chat (audit entry %s)", report.audit_id)
    schedule_second_pass(context, report.senders)
    await _delete_announcements(context, report)
    # Sent without logging it: the chat log of this chat starts empty again.
    await deliver(context, chat.id, OutgoingMessage(text("forget_done", language)))


def schedule_second_pass(context: BotContext, senders: list[str]) -> None:
    """Delete these Rasa conversations once more when a turn running during the erasure must have ended."""
    queue = context.job_queue
    if queue is None:
        logger.warning("no job queue: the second deletion of an erased Rasa conversation is not scheduled")
        return
    delay = second_pass_delay(context.services.settings.rasa_timeout_seconds)
    queue.run_once(erase_again, delay, data=list(senders), name=SECOND_PASS_JOB)


async def erase_again(context: BotContext) -> None:
    """The second pass of a chat erasure: the Rasa events a turn that was still running wrote back are deleted."""
    job = context.job
    senders = list(job.data) if job is not None and isinstance(job.data, list) else []
    if not senders:
        return
    outcome = await asyncio.to_thread(erase_conversations_again, context.services.sessions, senders)
    if outcome.found and outcome.events:
        logger.info("erasure second pass: %s Rasa events written back by a running turn deleted", outcome.events)


async def _drop_buttons(update: Update) -> None:
    """Take the Yes/No buttons off the question, so it cannot be answered twice (best effort)."""
    message = update.callback_query.message if update.callback_query else None
    if message is None:
        return
    try:
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        pass


async def _delete_announcements(context: BotContext, report: ErasureReport) -> None:
    """Delete the staff-group announcements of the erased escalations (they quote the customer)."""
    for chat_id, message_id in report.announcements:
        try:
            await context.bot.delete_message(chat_id, message_id)
        except TelegramError as exc:
            # Telegram refuses old messages in some chats: staff can delete them by hand.
            logger.warning("could not delete an announcement of an erased conversation: %s", exc)


async def retention_tick(context: BotContext) -> None:
    """Mask or delete what is past its retention period (restart-safe: all is decided from the data itself)."""
    svc = context.services

    def run() -> RetentionReport:
        return run_retention(svc.sessions, svc.settings)

    report = await asyncio.to_thread(run)
    if report.total:
        logger.info("retention: %s", ", ".join(f"{kind} {count}" for kind, count in report.counts.items() if count))
    if report.tracker is not None and report.tracker.found and report.tracker.events:
        logger.info("retention: %s Rasa conversation events deleted", report.tracker.events)
