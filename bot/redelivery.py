"""The outbox job: kept messages go out again with back-off, oldest first per chat, until delivered or given up.

Restart-safe: everything it needs is in the outbox table, so a new bot process simply carries on. When a message
ends without delivery (given up after the configured time, or refused for good on a retry), it stays in the
table marked as such (the retention job deletes it with the chat log); an agent whose relay it was is told, and
the staff group gets one line per pass for customer messages that were given up.
"""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot.context import BotContext
from bot.outbox import markup_from_json, permanent
from bot.staffspeech import staff_text, tell_staff
from crm import outbox
from crm.models import OutboxState
from crm.outbox import Ended, OutboxPolicy, Pending

logger = logging.getLogger(__name__)

JOB_NAME = "outbox"


async def outbox_tick(context: BotContext) -> None:
    """One pass over the outbox: give up what is too old, then send each due chat's messages in order."""
    svc = context.services
    policy = OutboxPolicy.from_settings(svc.settings)
    if svc.outbox_chats is not None and not svc.outbox_chats:
        # Only this process writes the outbox and it knows every waiting chat: nothing waits, no database work.
        return
    async with svc.outbox_pass_lock:
        if svc.outbox_chats is None:
            svc.outbox_chats = await svc.db(outbox.pending_chats)
        ended = await svc.db(lambda s: outbox.give_up_expired(s, policy))
        for chat_id in {end.chat_id for end in ended}:
            await settle(context, chat_id)
        for chat_id in await svc.db(outbox.due_chats):
            ended += await drain(context, chat_id, policy)
        await report_ended(context, ended, policy)


async def send_kept(context: BotContext, message: Pending) -> None:
    """Send one kept message as it was meant: a text with its keyboard, or a copy of an agent's message."""
    if message.copy_from_chat_id is not None and message.copy_message_id is not None:
        await context.bot.copy_message(message.chat_id, message.copy_from_chat_id, message.copy_message_id)
        return
    await context.bot.send_message(
        message.chat_id, message.text or "…", reply_markup=markup_from_json(message.reply_markup),
        parse_mode=message.parse_mode,
    )


async def drain(context: BotContext, chat_id: int, policy: OutboxPolicy) -> list[Ended]:
    """Send a chat's kept messages oldest first; stop at one that fails again (the rest stay behind it)."""
    svc = context.services
    ended: list[Ended] = []
    while True:
        for message in await svc.db(lambda s: outbox.queue_of(s, chat_id)):
            try:
                await send_kept(context, message)
            except TelegramError as exc:
                final = permanent(exc)
                reason = f"{type(exc).__name__}: {exc}"
                end = await svc.db(
                    lambda s, m=message, r=reason, f=final: outbox.failed_again(s, m.id, r, policy, permanent=f)
                )
                logger.warning("outbox message %s to chat %s failed again (attempt %s): %s", message.id, chat_id,
                               message.attempts + 1, exc)
                if end is None:
                    return ended  # waits for its back-off; the chat's later messages stay behind it
                ended.append(end)
                continue
            await svc.db(lambda s, m=message: outbox.delivered(s, m.id))
            logger.info("outbox message %s delivered to chat %s after %s failed attempts", message.id, chat_id,
                        message.attempts)
            if message.notify_chat_id is not None:
                await tell_staff(context, message.notify_chat_id, "staff_relay_delivered", id=message.escalation_id)
        if await settle(context, chat_id):
            return ended
        # A message was queued behind while these went out: carry on with it.


async def settle(context: BotContext, chat_id: int) -> bool:
    """Forget the chat as waiting once its outbox is empty (under the lock new messages queue behind with)."""
    svc = context.services
    async with svc.outbox_lock:
        if await svc.db(lambda s: outbox.has_pending(s, chat_id)):
            return False
        if svc.outbox_chats is not None:
            svc.outbox_chats.discard(chat_id)
        return True


async def report_ended(context: BotContext, ended: list[Ended], policy: OutboxPolicy) -> None:
    """Tell agents about their relays that were not delivered; one staff-group line for customer messages given up."""
    customers: list[Ended] = []
    for end in ended:
        logger.warning("outbox message %s to chat %s %s", end.id, end.chat_id,
                       "given up" if end.state is OutboxState.GAVE_UP else "refused for good")
        if end.notify_chat_id is not None:
            await tell_staff(context, end.notify_chat_id, "staff_relay_gave_up", id=end.escalation_id)
        else:
            customers.append(end)
    group = context.services.settings.staff_chat_id
    if not customers or group is None:
        return
    body = staff_text(
        context, "staff_outbox_gave_up", count=len(customers),
        minutes=int(policy.give_up_after.total_seconds() // 60),
        chats=", ".join(sorted({str(end.chat_id) for end in customers})),
    )
    try:
        await context.bot.send_message(group, body[:4096])
    except TelegramError as exc:
        logger.error("telling the staff group about %s undelivered messages failed: %s", len(customers), exc)
