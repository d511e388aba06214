"""A customer waiting for a person: a way out of the queue, an answer to every message, and questions still answered.

- Leaving: the words (core.repair.leaves_queue: 不用了，取消转人工 / never mind the agent, decided here and never by the
  intent model) or the button on every queue notice close the escalation (crm.escalations.withdraw, "withdrawn" in
  its history), resume the Rasa conversation and tell the customer they are back with the bot; an agent who had
  already claimed it is told, and the staff-group card loses its Claim button.
- Never silent: every message of a waiting customer is answered: their place at most once per queue_notice_seconds,
  a short acknowledgement for the first message after a notice, and, for a burst, one catch-up notice when the
  interval ends (crm.escalations.acknowledgement; the timer is a job, and the handoff pass sweeps as a safety net).
- Questions that need nobody (FAQ, tracking by number) are still answered, followed by a reminder of the place. The
  message goes through the bot's Rasa channel marked "queued" (nlu/channel.py): one trip per message, which both
  understands it and, only when answerable, answers it on the paused conversation. Rasa's /model/parse would need a
  second trip for every question that is answerable, and the conversation's own channel keeps the tracker (language,
  tracking slots) and the chat log's understanding exactly as for any other message.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.cases import Case
from bot.context import BotContext
from bot.rasa import RasaUnavailable, Turn
from bot.rendering import OutgoingMessage, render
from bot.speech import chat_language, deliver, say, send
from bot.staffdesk import resume_rasa
from bot.staffspeech import staff_text, tell_staff
from bot.texts import text
from core.clock import local, utcnow
from core.repair import leaves_queue
from crm import chatlog, escalations
from crm.chats import reply_language, sender_id
from crm.escalations import Acknowledgement, Placement, QueuePolicy, Withdrawal
from crm.models import Escalation

logger = logging.getLogger(__name__)

LEAVE = "queue:leave"
CATCH_UP_JOB = "queue-catch-up"


def leave_keyboard(language: str) -> InlineKeyboardMarkup:
    """The button on every queue notice: leave the queue and go back to the bot."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(text("queue_leave_button", language), callback_data=LEAVE)]])


async def notify(context: BotContext, chat_id: int, key: str, language: str, /, **values: object) -> None:
    """Send a queue notice (one of the bot's texts) with the button to leave the queue."""
    await send(context, chat_id, OutgoingMessage(text(key, language, **values), leave_keyboard(language)))


async def tell_placement(
    context: BotContext, chat_id: int, language: str, placement: Placement, *, fresh: bool
) -> None:
    """Tell a customer their place and expected wait (or when staff are back, outside staffed hours)."""
    if placement.staffed:
        key = "handoff_queued" if fresh else "handoff_still_queued"
        await notify(context, chat_id, key, language, position=placement.position or 1,
                     wait_minutes=placement.wait_minutes)
    else:
        key = "handoff_after_hours" if fresh else "handoff_still_after_hours"
        await notify(context, chat_id, key, language, opens_at=local(placement.opens_at).strftime("%H:%M"))


# ---------------------------------------------------------------------------------------------- leaving


async def leave_pressed(update: Update, context: BotContext) -> None:
    """The "leave the queue" button of a queue notice."""
    query = update.callback_query
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        await query.answer()
        return
    language = await chat_language(context, chat.id, None, update)
    await query.answer()
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError:
        pass  # a leftover button is harmless: a second press is answered below
    if not await leave_queue(context, chat.id, language):
        await say(context, chat.id, "queue_not_waiting", language)


async def leave_queue(context: BotContext, chat_id: int, language: str) -> bool:
    """Withdraw the chat's escalation, give the conversation back to the bot, tell everyone; False if none."""
    svc = context.services
    withdrawal = await svc.db(lambda s: escalations.withdraw(s, chat_id))
    if withdrawal is None:
        return False
    logger.info("escalation %s withdrawn by the customer", withdrawal.escalation_id)
    # A failure is retried before the customer's next message (escalations.pending_resume).
    await resume_rasa(context, chat_id, withdrawal.escalation_id)
    await say(context, chat_id, "queue_left", language)
    await tell_desk(context, withdrawal)
    return True


async def tell_desk(context: BotContext, withdrawal: Withdrawal) -> None:
    """Tell the agent who had claimed the conversation, and take the Claim button off the staff-group card."""
    if withdrawal.holder_telegram_id is not None:
        await tell_staff(context, withdrawal.holder_telegram_id, "staff_customer_withdrew", id=withdrawal.escalation_id)
    if withdrawal.announce_chat_id is None or withdrawal.announce_message_id is None:
        return
    try:
        await context.bot.edit_message_text(
            staff_text(context, "staff_withdrawn_group", id=withdrawal.escalation_id),
            chat_id=withdrawal.announce_chat_id, message_id=withdrawal.announce_message_id,
        )
    except TelegramError as exc:
        logger.warning("could not edit announcement of escalation %s: %s", withdrawal.escalation_id, exc)


# ---------------------------------------------------------------------------------------------- waiting


async def queued_message(update: Update, context: BotContext, case: Case, message: Message) -> None:
    """A waiting customer wrote (stored for the agent): leave, an answer and a reminder, or an acknowledgement."""
    chat_id = message.chat_id
    body = (message.text or message.caption or "").strip()
    language = await chat_language(context, chat_id, body or None, update)
    if body and leaves_queue(body):
        if await leave_queue(context, chat_id, language):
            return
    if message.text is not None and body:
        turn = await ask_rasa(update, context, chat_id, body, language)
        if turn is not None and turn.answered:
            await answer(context, chat_id, language, case.id, turn)
            return
    await acknowledge(context, chat_id, language, case.id)


async def ask_rasa(update: Update, context: BotContext, chat_id: int, body: str, language: str) -> Turn | None:
    """One trip to the channel, marked queued; how it was understood is logged (None when Rasa failed)."""
    user = update.effective_user
    metadata = {"chat_id": chat_id, "telegram_user_id": user.id if user else None,
                "brand": context.services.settings.brand_name(language)}
    try:
        turn = await context.services.rasa_client.converse(
            sender_id(chat_id), body, language=language, metadata=metadata, queued=True
        )
    except RasaUnavailable as exc:
        # The customer already waits for a person: the acknowledgement is the whole answer.
        logger.warning("chat %s is queued and Rasa failed: %s", chat_id, exc)
        return None
    if not turn.answered:
        await log_turn(context, chat_id, language, turn, [])
    return turn


async def answer(context: BotContext, chat_id: int, language: str, case_id: int, turn: Turn) -> None:
    """Send what the bot answered, then remind the customer of their place (which counts as a notice)."""
    sent: list[str | None] = []
    for outgoing in render(turn.replies):
        if await deliver(context, chat_id, outgoing) is not None:
            sent.append(outgoing.text)
    await log_turn(context, chat_id, language, turn, sent)
    policy = QueuePolicy.from_settings(context.services.settings)

    def remind(session: Session) -> Placement | None:
        # Interval 0: the reminder is always due, and the next notice counts from it.
        escalations.take_notice_turn(session, case_id, 0)
        escalation = session.get(Escalation, case_id)
        return escalations.placement(session, escalation, policy) if escalation is not None else None

    placement = await context.services.db(remind)
    if placement is None or placement.position is None:
        return  # claimed (or closed) meanwhile: no place to remind of
    if placement.staffed:
        await notify(context, chat_id, "queue_reminder", language, position=placement.position,
                     wait_minutes=placement.wait_minutes)
    else:
        await notify(context, chat_id, "queue_reminder_after_hours", language,
                     opens_at=local(placement.opens_at).strftime("%H:%M"))


async def log_turn(context: BotContext, chat_id: int, language: str, turn: Turn, sent: list[str | None]) -> None:
    """Log the replies and how the message was understood, for the learning loop (one transaction)."""
    inbound = context.inbound
    parse = turn.understanding
    if inbound is None or parse is None:
        return
    understanding = {
        "language": language, "intent": parse.intent, "confidence": parse.confidence, "entities": parse.entities,
        "model_version": parse.model_version, "fell_back": parse.fell_back,
    }
    await context.services.db(
        lambda s: chatlog.record_turn(s, inbound.message_id, chat_id=chat_id, replies=sent, understanding=understanding)
    )
    inbound.closed = True


async def acknowledge(context: BotContext, chat_id: int, language: str, case_id: int) -> None:
    """The place (at most once per interval), a short acknowledgement, or a catch-up notice scheduled."""
    svc = context.services
    interval = svc.settings.queue_notice_seconds
    policy = QueuePolicy.from_settings(svc.settings)

    def decide(session: Session) -> tuple[escalations.AckDecision, Placement | None]:
        decision = escalations.acknowledgement(session, case_id, interval)
        escalation = session.get(Escalation, case_id)
        notice = decision.kind is Acknowledgement.NOTICE and escalation is not None
        return decision, escalations.placement(session, escalation, policy) if notice else None

    decision, placement = await svc.db(decide)
    if placement is not None:
        await tell_placement(context, chat_id, language, placement, fresh=False)
    elif decision.kind is Acknowledgement.SHORT:
        await say(context, chat_id, "queue_ack", language)
    else:
        schedule_catch_up(context, case_id, decision.next_notice_at)


def schedule_catch_up(context: BotContext, case_id: int, at: datetime) -> None:
    """Run the catch-up when this escalation's interval ends (one timer per escalation; the handoff pass sweeps too)."""
    queue = context.job_queue
    name = f"{CATCH_UP_JOB}-{case_id}"
    if queue is None or queue.get_jobs_by_name(name):
        return
    queue.run_once(catch_up, max(0.5, (at - utcnow()).total_seconds() + 0.5), name=name)


async def catch_up(context: BotContext) -> None:
    """Tell customers whose burst of messages went unacknowledged their place, once their interval ended."""
    svc = context.services
    interval = svc.settings.queue_notice_seconds
    policy = QueuePolicy.from_settings(svc.settings)

    def due(session: Session) -> list[tuple[int, str, Placement]]:
        told = []
        for escalation in escalations.catch_up_due(session, interval):
            if escalations.take_notice_turn(session, escalation.id, interval):
                language = reply_language(session, escalation.chat_id, None, fallback=escalation.language)
                told.append((escalation.chat_id, language, escalations.placement(session, escalation, policy)))
        return told

    for chat_id, language, placement in await svc.db(due):
        await tell_placement(context, chat_id, language, placement, fresh=False)
