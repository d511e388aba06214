"""The handoff relay: while a human has a conversation, the bot carries messages instead of answering them.

- A customer whose chat has an open (queued) escalation: the message is stored on the escalation and the
  customer is told their place in the queue (at most once per queue_notice_seconds).
- A customer whose escalation is claimed: the message (text, photo, anything) is copied to the agent's
  private chat with the bot, under a header naming the conversation.
- A staff member with a current conversation writing in their private chat: the message is copied to the
  customer (no header: it reads as the company speaking).
Nothing here reaches Rasa. Everything is logged to the database before it is relayed.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.cases import Case, Route, case_of, content_of, find_route
from bot.context import BotContext
from bot.inbound import close
from bot.jobs import kick_handoff_jobs
from bot.outbox import Kept, copy_or_keep
from bot.speech import chat_language, refuse_command, say
from bot.staffspeech import copy_customer_message, tell_staff
from bot.texts import text
from core.clock import local
from crm import chatlog, escalations
from crm.chats import get_or_create_chat
from crm.escalations import Placement, QueueError, QueuePolicy, Reason
from crm.models import EscalationStatus, Staff

logger = logging.getLogger(__name__)


async def route_message(update: Update, context: BotContext) -> None:
    """Carry private messages of conversations a human has (or is about to have); others go on to the bot."""
    message = update.effective_message
    chat = update.effective_chat
    user = update.effective_user
    if message is None or chat is None or user is None or chat.type != "private":
        return
    inbound = context.inbound
    if inbound is not None:
        route = inbound.route  # decided in the inbound transaction
    else:
        route = await context.services.db(lambda s: find_route(s, chat.id, user.id))
    if route is None:
        return
    if route.from_agent:
        await relay_from_agent(context, route, message)
    else:
        await relay_from_customer(update, context, route.case, message)
    # The customer/agent message is dealt with: close its log entry and keep it away from Rasa.
    await close(context)
    raise ApplicationHandlerStop


async def relay_from_customer(update: Update, context: BotContext, case: Case, message: Message) -> None:
    """Store a customer's message on their escalation; pass it to the agent, or remind them of their place."""
    svc = context.services
    kind, body, file_id = content_of(message)
    logged = context.inbound.message_id if context.inbound is not None else None
    await svc.db(
        lambda s: escalations.record_customer_message(
            s, case.id, content_kind=kind, text=body, file_id=file_id, chat_id=message.chat_id,
            message_id=message.message_id, log_message_id=logged,
        )
    )
    if case.status == EscalationStatus.CLAIMED.value:
        await copy_customer_message(context, case, kind, body, message.chat_id, message.message_id)
        return
    language = await chat_language(context, message.chat_id, body, update)
    interval = svc.settings.queue_notice_seconds
    policy = QueuePolicy.from_settings(svc.settings)

    def notice(session: Session) -> Placement | None:
        if not escalations.take_notice_turn(session, case.id, interval):
            return None
        escalation = session.get(escalations.Escalation, case.id)
        return escalations.placement(session, escalation, policy) if escalation else None

    placement = await svc.db(notice)
    if placement is not None:
        await tell_placement(context, message.chat_id, language, placement, fresh=False)


async def relay_from_agent(context: BotContext, route: Route, message: Message) -> None:
    """Copy an agent's message (text, photo, ...) to their customer and log it (the first one meets the SLA)."""
    case, member = route.case, route.member
    assert member is not None
    kind, body, file_id = content_of(message)
    try:
        copied = await copy_or_keep(
            context, case.chat_id, message.chat_id, message.message_id, text=body, log_kind=f"agent_{kind}",
            notify_chat_id=message.chat_id, escalation_id=case.id,
        )
    except TelegramError as exc:
        # Refused for good (the customer blocked the bot, the chat is gone): the agent must know.
        logger.warning("relaying an agent %s to escalation %s failed: %s", kind, case.id, exc)
        await tell_staff(context, message.chat_id, "staff_relay_failed", id=case.id, reason=str(exc)[:200])
        return
    kept = isinstance(copied, Kept)

    def log(session: Session) -> None:
        staff = session.get(Staff, member.id)
        escalations.record_agent_message(
            session, case.id, staff, content_kind=kind, text=body, file_id=file_id, chat_id=message.chat_id,
            message_id=message.message_id,
        )
        if not kept:  # a kept relay is logged to the chat log when the outbox delivers it
            chatlog.record_outbound(session, chat_id=case.chat_id, text=body, kind=f"agent_{kind}")

    try:
        await context.services.db(log)
    except QueueError as exc:
        logger.warning("agent message for escalation %s not logged: %s", case.id, exc)
    if kept:
        # Telegram did not take it now (after the rate limiter's retries): the outbox retries it in order.
        await tell_staff(context, message.chat_id, "staff_relay_pending", id=case.id)


async def tell_placement(
    context: BotContext, chat_id: int, language: str, placement: Placement, *, fresh: bool
) -> None:
    """Tell a customer their place and expected wait (or when staff are back, outside staffed hours)."""
    if placement.staffed:
        key = "handoff_queued" if fresh else "handoff_still_queued"
        await say(context, chat_id, key, language, position=placement.position or 1,
                  wait_minutes=placement.wait_minutes)
    else:
        key = "handoff_after_hours" if fresh else "handoff_still_after_hours"
        await say(context, chat_id, key, language, opens_at=local(placement.opens_at).strftime("%H:%M"))


async def human_command(update: Update, context: BotContext) -> None:
    """/human: put the conversation in the human queue (or say where it stands if it already is)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or chat.type != "private":
        await refuse_command(update, context)
        return
    svc = context.services
    language = await chat_language(context, chat.id, None, update)
    policy = QueuePolicy.from_settings(svc.settings)

    def work(session: Session) -> tuple[Placement, Case]:
        get_or_create_chat(session, chat.id, kind=chat.type)
        placement = escalations.open_escalation(
            session, chat.id, Reason.REQUEST_HUMAN, policy=policy, language=language,
            telegram_user_id=user.id if user else None,
        )
        escalation = session.get(escalations.Escalation, placement.escalation_id)
        return placement, case_of(session, escalation)

    placement, case = await svc.db(work)
    if placement.status == EscalationStatus.CLAIMED:
        await say(context, chat.id, "handoff_with_agent", language, agent=case.holder_name)
        return
    await tell_placement(context, chat.id, language, placement, fresh=placement.created)
    kick_handoff_jobs(context)


async def rating_pressed(update: Update, context: BotContext) -> None:
    """A 1-5 rating button after a handoff: store it on the escalation (once) and thank the customer."""
    query = update.callback_query
    chat = update.effective_chat
    if chat is None:
        await query.answer()
        return
    try:
        _, raw_id, raw_rating = (query.data or "").split(":")
        case_id, rating = int(raw_id), int(raw_rating)
    except ValueError:
        await query.answer()
        return
    language = await chat_language(context, chat.id, None, update)
    stored = await context.services.db(lambda s: escalations.record_rating(s, case_id, chat.id, rating))
    if not stored:
        await query.answer(text("rating_done", language))
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError:
        pass  # leftover buttons are harmless: a second press is refused above
    await say(context, chat.id, "rating_thanks", language, rating=rating)
