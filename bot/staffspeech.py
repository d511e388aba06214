"""How the bot speaks to staff: staff texts, keyboards, relayed customer messages, the intents staff use, access.

Shared by every staff-facing module (bot/staffdesk.py, bot/staffadmin.py, bot/review.py, bot/jobs.py,
bot/relay.py); it imports none of them, so they never import each other in a circle.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.cases import Case, Member, member_of
from bot.context import BotContext
from bot.rendering import OutgoingMessage, split_text
from bot.speech import client_language, refuse_command, send
from bot.texts import INTENT_LABELS, LANGUAGE_NAMES, REASON_LABELS, label, text
from core.clock import as_utc
from core.settings import PROJECT_ROOT
from crm import chatlog
from crm.escalations import remember_display_name
from crm.staff import staff_member
from nlu.intents import cached_labelling_intents

logger = logging.getLogger(__name__)


def staff_text(context: BotContext, key: str, /, **values: object) -> str:
    """A text for staff, in the staff language of this deployment."""
    return text(key, context.services.settings.staff_language, **values)


def valid_intents() -> tuple[str, ...]:
    """The intents staff may tag or label with: domain.yml's, faq by its sub-intents (read once per process)."""
    # One list for /resolve, the tag buttons, /tag and /review: a conversation's tag becomes a guess in the
    # review queue (learning/review.py), so it must be a label the model can be trained on.
    return cached_labelling_intents(PROJECT_ROOT)


def staff_language(context: BotContext) -> str:
    """The language of the bot's texts to staff (one per deployment)."""
    return context.services.settings.staff_language


def intent_choices(language: str) -> str:
    """The intents staff may type, one per line with what each means."""
    return "\n" + "\n".join(f"{name} · {label(INTENT_LABELS, name, language)}" for name in valid_intents())


def customer_label(case: Case, language: str = "zh") -> str:
    """How staff see the customer: the customer record's name, else the Telegram display name, else the chat."""
    if case.linked and case.customer_name:
        return case.customer_name
    if case.customer_name:
        return text("staff_customer_unlinked", language, name=case.customer_name, chat=case.chat_id)
    return f"Telegram {case.chat_id}"


async def with_display_name(context: BotContext, case: Case) -> Case:
    """The case with the customer's Telegram display name when no customer record names them (kept for later cards)."""
    if case.customer_name or case.linked:
        return case
    try:
        chat = await context.bot.get_chat(case.chat_id)
    except TelegramError as exc:
        logger.warning("the display name of escalation %s's chat is unknown: %s", case.id, exc)
        return case
    name = " ".join(part for part in (chat.first_name, chat.last_name) if part) or (
        f"@{chat.username}" if chat.username else ""
    )
    if not name:
        return case
    await context.services.db(lambda s: remember_display_name(s, case.id, name))
    return replace(case, customer_name=name)


def staff_time(context: BotContext, moment: datetime) -> str:
    """A moment as staff read it: date, time and the zone of the staffed hours (staff may work elsewhere)."""
    zone = context.services.settings.staffed_timezone
    return f"{as_utc(moment).astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


def case_values(context: BotContext, case: Case) -> dict[str, object]:
    """The values the staff texts about one conversation use."""
    language = context.services.settings.staff_language
    return {
        "id": case.id,
        "reason": label(REASON_LABELS, case.reason, language),
        "customer": customer_label(case, language),
        "tier": case.tier or "-",
        "language": label(LANGUAGE_NAMES, case.language, language),
        "priority": case.priority,
        "due": staff_time(context, case.due_at) if case.due_at else "-",
        "summary": case.summary,
        "agent": case.holder_name or "-",
    }


def claim_keyboard(context: BotContext, case_id: int) -> InlineKeyboardMarkup:
    """The Claim button of an announcement."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(staff_text(context, "staff_claim_button"), callback_data=f"claim:{case_id}")]]
    )


def conversation_keyboard(context: BotContext, case_id: int) -> InlineKeyboardMarkup:
    """Resolve and Profile buttons for the agent's private chat."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(staff_text(context, "staff_resolve_button"), callback_data=f"resolve:{case_id}"),
                InlineKeyboardButton(staff_text(context, "staff_profile_button"), callback_data=f"profile:{case_id}"),
            ]
        ]
    )


async def tell_staff(
    context: BotContext, chat_id: int, key: str, keyboard: InlineKeyboardMarkup | None = None, /,
    **values: object,
) -> bool:
    """Send a staff text (split if long); False when Telegram refused (e.g. no private chat yet)."""
    parts = split_text(staff_text(context, key, **values))
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if await send(context, chat_id, OutgoingMessage(part, keyboard if last else None)) is None:
            return False
    return True


async def staff_or_refuse(update: Update, context: BotContext) -> Member | None:
    """The sender as an active staff member; anyone else gets the polite unknown-command reply."""
    user = update.effective_user
    found = await context.services.db(lambda s: staff_member(s, user.id)) if user else None
    if found is None:
        await refuse_command(update, context)
        return None
    return member_of(found)


async def staff_or_refuse_callback(update: Update, context: BotContext) -> Member | None:
    """The presser as staff; anyone else gets the expired-button answer (staff buttons mean nothing to them)."""
    user = update.effective_user
    found = await context.services.db(lambda s: staff_member(s, user.id)) if user else None
    if found is None:
        await update.callback_query.answer(text("button_expired", client_language(update) or "zh"))
        return None
    return member_of(found)


async def private_only(update: Update, context: BotContext) -> bool:
    """True in a private chat; in a group, explains why the command is private and returns False."""
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        return True
    if chat is not None:
        await tell_staff(context, chat.id, "staff_private_only")
    return False


async def copy_customer_message(
    context: BotContext, case: Case, kind: str, body: str | None, source_chat_id: int | None,
    source_message_id: int | None,
) -> None:
    """Put one customer message in the agent's private chat, under a header naming the conversation."""
    agent = case.holder_telegram_id
    if agent is None:
        return
    language = context.services.settings.staff_language
    header = staff_text(context, "staff_customer_header", id=case.id, customer=customer_label(case, language))
    if kind == "text" or source_chat_id is None or source_message_id is None:
        for part in split_text(f"{header}\n{body or ''}"):
            await send(context, agent, OutgoingMessage(part))
        return
    try:
        if kind == "photo":
            caption = f"{header}\n{body}" if body else header
            await context.bot.copy_message(agent, source_chat_id, source_message_id, caption=caption[:1024])
        else:
            # Stickers and voice notes take no caption: the header goes first.
            await send(context, agent, OutgoingMessage(header))
            await context.bot.copy_message(agent, source_chat_id, source_message_id)
    except TelegramError as exc:
        logger.warning("copying a customer %s of escalation %s to the agent failed: %s", kind, case.id, exc)
        return
    await context.services.db(
        lambda s: chatlog.record_outbound(s, chat_id=agent, text=body, kind=f"relay_{kind}")
    )
