"""The handoff relay: while a human has a conversation, the bot carries messages instead of answering them.

- A customer whose chat has an open (queued) escalation: the message is stored on the escalation, then
  bot/waiting.py answers it (leave the queue, a question the bot answers meanwhile, or an acknowledgement).
- A customer whose escalation is claimed: the message (text, photo, anything) is copied to the agent's
  private chat with the bot, under a header naming the conversation.
- A staff member with a current conversation writing in their private chat: the message is copied to the
  customer (no header: it reads as the company speaking).
Only a waiting customer's text reaches Rasa (bot/waiting.py). Everything is logged to the database before it is relayed.
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
from bot.waiting import queued_message, tell_placement
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
    """Store a customer's message on their escalation; pass it to the agent, or answer it while they wait."""
    svc = context.services
    kind, body, file_id = content_of(message)
    inbound = context.inbound
    logged = inbound.message_id if inbound is not None else None
    # With an agent on the chat nothing else will be recorded about this message: it is handled once stored, in
    # the same transaction (one transaction fewer per relayed message).
    live = case.status == EscalationStatus.CLAIMED.value

    def record(session: Session) -> None:
        escalations.record_customer_message(
            session, case.id, content_kind=kind, text=body, file_id=file_id, chat_id=message.chat_id,
            message_id=message.message_id, log_message_id=logged,
        )
        if live and logged is not None:
            chatlog.mark_handled(session, logged)

    await svc.db(record)
    if live and inbound is not None:
        inbound.closed = True
    if live:
        await copy_customer_message(context, case, kind, body, message.chat_id, message.message_id)
        return
    # Waiting: the way out, questions the bot can answer, and an acknowledgement for everything else.
    await queued_message(update, context, case, message)


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


async def human_command(update: Update, context: BotContext) -> None:
    """/human: put the conversation in the human queue (or say where it stands if it already is)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or chat.type != "private":
        await refuse_command(update, context)
        return
    svc = context.services
    language = await chat_language(context, chat.id, None, update)
    if svc.settings.staff_chat_id is None:
        # Nobody would ever see the escalation: no promise of an agent, how to reach the company instead.
        await say(context, chat.id, "handoff_unstaffed", language, phone=svc.settings.contact_phone,
                  email=svc.settings.contact_email)
        return
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
