"""The agent's conversation: claim, hand-over, profile, notes, transfer, resolve (and its tag buttons), queue.

Relay design: new escalations are announced in the staff group with a Claim button; the winner talks to
the customer through their PRIVATE chat with the bot (bot/relay.py), where the commands below act on the
agent's current conversation. Only registered, active staff get past `staff_or_refuse` (bot/staffspeech.py).
Roles are managed in bot/staffadmin.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.cases import Case, Member, case_of, member_of
from bot.context import BotContext
from bot.rasa import RasaUnavailable
from bot.rendering import OutgoingMessage, split_text
from bot.speech import say, send
from bot.staffspeech import (
    case_values,
    conversation_keyboard,
    copy_customer_message,
    customer_label,
    intent_choices,
    private_only,
    staff_language,
    staff_or_refuse,
    staff_or_refuse_callback,
    staff_text,
    tell_staff,
    valid_intents,
    with_display_name,
)
from bot.texts import INTENT_LABELS, label, text
from core.clock import local, utcnow
from crm import escalations
from crm.chats import sender_id
from crm.escalations import QueueError, QueuePolicy
from crm.models import EscalationEvent, Staff
from crm.profiles import CustomerProfile, ProfileRefused, view_profile

logger = logging.getLogger(__name__)

BACKLOG_ON_TRANSFER = 5
# Intent names are long ("faq/prohibited_items"): two to a row stay readable on a phone.
TAGS_PER_ROW = 2


def tag_keyboard(case_id: int, language: str) -> InlineKeyboardMarkup:
    """One button per valid intent, labelled for people, to tag what the customer really meant."""
    buttons = [
        InlineKeyboardButton(label(INTENT_LABELS, intent, language), callback_data=f"tag:{case_id}:{intent}")
        for intent in valid_intents()
    ]
    return InlineKeyboardMarkup([buttons[i : i + TAGS_PER_ROW] for i in range(0, len(buttons), TAGS_PER_ROW)])


async def current_case(context: BotContext, member: Member) -> Case | None:
    """The conversation the agent's private chat is relayed to, if any."""

    def find(session: Session) -> Case | None:
        staff = session.get(Staff, member.id)
        escalation = escalations.current_for_agent(session, staff) if staff else None
        return case_of(session, escalation) if escalation else None

    return await context.services.db(find)


# ---------------------------------------------------------------------------------------------- claiming


async def claim_pressed(update: Update, context: BotContext) -> None:
    """Claim a conversation from its announcement: exactly one agent wins; the others are told who has it."""
    query = update.callback_query
    user = update.effective_user
    svc = context.services
    try:
        case_id = int((query.data or "").split(":", 1)[1])
    except (IndexError, ValueError):
        await query.answer(staff_text(context, "staff_no_such_escalation"))
        return

    def work(session: Session) -> tuple[escalations.ClaimOutcome, Case | None, Member | None]:
        outcome = escalations.claim(session, case_id, user.id, policy=QueuePolicy.from_settings(svc.settings))
        case = case_of(session, outcome.escalation) if outcome.escalation else None
        return outcome, case, member_of(outcome.holder) if outcome.holder else None

    outcome, case, holder = await svc.db(work)
    if outcome.problem == "not_staff":
        await query.answer(staff_text(context, "staff_claim_not_staff"), show_alert=True)
        return
    if case is None:
        await query.answer(staff_text(context, "staff_no_such_escalation"))
        return
    if not outcome.won:
        key = "staff_claim_resolved" if outcome.problem == "resolved" else "staff_claim_taken"
        await query.answer(staff_text(context, key, id=case.id, agent=holder.name if holder else "-"), show_alert=True)
        return
    logger.info("escalation %s claimed by staff %s", case.id, holder.id if holder else "?")
    delivered = await hand_over(context, case, backlog_since=None)
    answer = "staff_claim_won" if delivered else "staff_no_private_chat"
    await query.answer(staff_text(context, answer, id=case.id), show_alert=not delivered)
    await mark_claimed_in_group(context, case, query.message.chat_id if query.message else None,
                                query.message.message_id if query.message else None)
    await say(context, case.chat_id, "handoff_agent_joined", case.language, agent=case.holder_name)


async def mark_claimed_in_group(
    context: BotContext, case: Case, pressed_chat: int | None, pressed_message: int | None
) -> None:
    """Edit the announcement(s) to say who has the conversation (and drop the Claim button)."""
    targets = {(pressed_chat, pressed_message), (case.announce_chat_id, case.announce_message_id)}
    body = staff_text(context, "staff_claimed_by", **case_values(context, case))
    for chat_id, message_id in targets:
        if chat_id is None or message_id is None:
            continue
        try:
            await context.bot.edit_message_text(body, chat_id=chat_id, message_id=message_id)
        except TelegramError as exc:
            logger.warning("could not edit announcement of escalation %s: %s", case.id, exc)


async def hand_over(context: BotContext, case: Case, *, backlog_since: datetime | None,
                    last: int | None = None) -> bool:
    """Brief the holding agent in their private chat: summary, notes, and what the customer wrote meanwhile."""
    agent = case.holder_telegram_id
    if agent is None:
        return False
    case = await with_display_name(context, case)  # claimed from /queue, it may never have been announced
    delivered = await tell_staff(
        context, agent, "staff_handover", conversation_keyboard(context, case.id), **case_values(context, case)
    )
    if not delivered:
        return False

    def history(session: Session) -> tuple[list[EscalationEvent], list[EscalationEvent]]:
        messages = escalations.customer_messages(session, case.id, since=backlog_since)
        return messages[-last:] if last else messages, escalations.notes(session, case.id)

    messages, notes = await context.services.db(history)
    if notes:
        lines = "\n".join(f"• {note.body}" for note in notes)
        await tell_staff(context, agent, "staff_notes_header", notes=lines)
    for event in messages:
        await copy_customer_message(context, case, event.content_kind or "text", event.body, event.source_chat_id,
                                    event.source_message_id)
    return True


# ---------------------------------------------------------------------------------------------- commands


async def queue_command(update: Update, context: BotContext) -> None:
    """/queue: the waiting list by priority with waiting times, and who handles what (staff only)."""
    member = await staff_or_refuse(update, context)
    if member is None:
        return
    now = utcnow()

    def read(session: Session) -> tuple[list[tuple[int, Case, int, int]], list[Case]]:
        waiting = [
            (entry.position, case_of(session, entry.escalation), entry.waiting_minutes, entry.score)
            for entry in escalations.waiting_queue(session, now=now)
        ]
        return waiting, [case_of(session, e) for e in escalations.claimed_list(session)]

    waiting, claimed = await context.services.db(read)
    language = context.services.settings.staff_language
    header = text("staff_queue_header", language, count=len(waiting)) if waiting else None
    lines = [header or text("staff_queue_empty", language)]
    for position, case, minutes, score in waiting:
        values = case_values(context, case)
        lines.append(
            text("staff_queue_line", language, position=position, id=case.id, score=score, minutes=minutes,
                 reason=values["reason"], lang=values["language"])
        )
    if claimed:
        lines.append(text("staff_queue_claimed_header", language, count=len(claimed)))
        for case in claimed:
            minutes = int((now - case.claimed_at).total_seconds() // 60) if case.claimed_at else 0
            line = text("staff_queue_claimed_line", language, id=case.id, agent=case.holder_name, minutes=minutes)
            lines.append(line)
    for part in split_text("\n".join(lines)):
        await send(context, update.effective_chat.id, OutgoingMessage(part))


async def profile_command(update: Update, context: BotContext) -> None:
    """/profile [id]: the customer's profile, recent shipments and complaints (staff only, private, audited)."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    case_id: int | None = None
    if context.args:
        try:
            case_id = int(context.args[0].lstrip("#"))
        except ValueError:
            case_id = None
    if case_id is None:
        case = await current_case(context, member)
        if case is None:
            await tell_staff(context, update.effective_chat.id, "staff_no_conversation")
            return
        case_id = case.id
    await show_profile(context, update.effective_chat.id, case_id, member)


async def show_profile(context: BotContext, chat_id: int, case_id: int, member: Member) -> None:
    """Render a customer profile into a staff member's chat, or the refusal (the service audits both)."""

    def read(session: Session) -> str:
        staff = session.get(Staff, member.id)
        profile = view_profile(session, case_id, staff)
        if isinstance(profile, ProfileRefused):
            # Agents see only conversations they hold; the attempt is on record (crm/profiles.py).
            return staff_text(context, profile.key, id=profile.escalation_id)
        return render_profile(context, profile)

    try:
        body = await context.services.db(read)
    except QueueError as exc:
        await tell_staff(context, chat_id, str(exc))
        return
    for part in split_text(body):
        await send(context, chat_id, OutgoingMessage(part))


def render_profile(context: BotContext, profile: CustomerProfile) -> str:
    """The profile text (runs inside the session: it reads the profile's rows)."""
    language = context.services.settings.staff_language
    if profile.customer is None or profile.segment is None:
        return text("staff_profile_unknown", language, id=profile.escalation_id, past=profile.past_escalations)
    customer = profile.customer
    who = "\n".join(
        part
        for part in (
            f"{customer.name} · {customer.code} · {customer.kind.value}",
            f"☎ {customer.phone}" + (f" · ✉ {customer.email}" if customer.email else ""),
            f"{customer.city} · {customer.address}",
        )
        if part
    )
    none = text("staff_none", language)
    shipments = "\n".join(
        f"• {s.tracking_number} · {s.status.value} · {local(s.shipped_at).strftime('%Y-%m-%d')} · ¥{s.fee}"
        for s in profile.shipments
    ) or none
    complaints = "\n".join(
        f"• {c.code} · {c.category.value} · {c.status.value}" + (" · serious" if c.serious else "")
        for c in profile.complaints
    ) or none
    segment = profile.segment
    return text(
        "staff_profile", language, id=profile.escalation_id, customer=who, tier=segment.tier, r=segment.recency,
        f=segment.frequency, m=segment.monetary, count=segment.shipments, spent=segment.spent,
        past=profile.past_escalations, shipments=shipments, complaints=complaints,
    )


async def note_command(update: Update, context: BotContext) -> None:
    """/note <text>: an internal note on the current conversation (staff only, never shown to the customer)."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    chat_id = update.effective_chat.id
    body = " ".join(context.args or []).strip()
    if not body:
        await tell_staff(context, chat_id, "staff_note_usage")
        return
    case = await current_case(context, member)
    if case is None:
        await tell_staff(context, chat_id, "staff_no_conversation")
        return

    def work(session: Session) -> None:
        escalations.add_note(session, case.id, session.get(Staff, member.id), body)

    await context.services.db(work)
    await tell_staff(context, chat_id, "staff_note_saved", id=case.id)


async def transfer_command(update: Update, context: BotContext) -> None:
    """/transfer <telegram id>: hand the current conversation to another staff member (staff only)."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    chat_id = update.effective_chat.id
    try:
        target = int((context.args or [""])[0])
    except ValueError:
        await tell_staff(context, chat_id, "staff_transfer_usage")
        return
    case = await current_case(context, member)
    if case is None:
        await tell_staff(context, chat_id, "staff_no_conversation")
        return
    svc = context.services

    def work(session: Session) -> Case:
        escalation, _ = escalations.transfer(
            session, case.id, session.get(Staff, member.id), target, policy=QueuePolicy.from_settings(svc.settings)
        )
        return case_of(session, escalation)

    try:
        moved = await svc.db(work)
    except QueueError as exc:
        await tell_staff(context, chat_id, str(exc))
        return
    await tell_staff(context, chat_id, "staff_transferred", id=moved.id, agent=moved.holder_name)
    await hand_over(context, moved, backlog_since=None, last=BACKLOG_ON_TRANSFER)
    await say(context, moved.chat_id, "handoff_transferred", moved.language, agent=moved.holder_name)
    await mark_claimed_in_group(context, moved, None, None)


async def resolve_command(update: Update, context: BotContext) -> None:
    """/resolve [intent]: close the current conversation, give it back to the bot, ask for a rating."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    chat_id = update.effective_chat.id
    intent = (context.args or [None])[0]
    intents = valid_intents()
    if intent is not None and intent not in intents:
        await tell_staff(context, chat_id, "staff_unknown_intent", intents=intent_choices(staff_language(context)))
        return
    case = await current_case(context, member)
    if case is None:
        await tell_staff(context, chat_id, "staff_no_conversation")
        return
    await finish(context, chat_id, case.id, member, intent)


async def pressed_case(update: Update, context: BotContext) -> tuple[Member, int] | None:
    """The staff member and escalation id of a "<action>:<id>" button, or None (non-staff are refused)."""
    query = update.callback_query
    member = await staff_or_refuse_callback(update, context)
    if member is None:
        return None
    await query.answer()
    try:
        return member, int((query.data or "").split(":", 1)[1])
    except (IndexError, ValueError):
        return None


async def resolve_pressed(update: Update, context: BotContext) -> None:
    """The Resolve button in the agent's private chat."""
    pressed = await pressed_case(update, context)
    if pressed is not None:
        await finish(context, update.effective_chat.id, pressed[1], pressed[0], None)


async def profile_pressed(update: Update, context: BotContext) -> None:
    """The Profile button in the agent's private chat."""
    pressed = await pressed_case(update, context)
    if pressed is not None:
        await show_profile(context, update.effective_chat.id, pressed[1], pressed[0])


async def tag_pressed(update: Update, context: BotContext) -> None:
    """An intent tag button after resolving: store what the customer really meant."""
    query = update.callback_query
    member = await staff_or_refuse_callback(update, context)
    if member is None:
        return
    try:
        _, raw_id, intent = (query.data or "").split(":", 2)
        case_id = int(raw_id)
    except ValueError:
        await query.answer()
        return

    def work(session: Session) -> None:
        escalations.tag_intent(session, case_id, session.get(Staff, member.id), intent, valid=valid_intents())

    try:
        await context.services.db(work)
    except QueueError as exc:
        if str(exc) == "staff_unknown_intent":
            # A button older than the domain's intents; an alert holds 200 characters, too few for the list.
            await query.answer()
            choices = intent_choices(staff_language(context))
            await tell_staff(context, update.effective_chat.id, str(exc), intents=choices)
        else:
            await query.answer(staff_text(context, str(exc)), show_alert=True)
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError:
        pass  # the buttons staying is harmless
    await tell_staff(context, update.effective_chat.id, "staff_tagged", id=case_id, intent=intent)


async def finish(context: BotContext, agent_chat: int, case_id: int, member: Member,
                 intent: str | None) -> None:
    """Resolve: close the escalation, resume Rasa for the conversation, ask the customer for a rating."""
    svc = context.services

    def work(session: Session) -> tuple[Case, Case | None]:
        staff = session.get(Staff, member.id)
        escalation = escalations.resolve(session, case_id, staff, intent=intent, valid=valid_intents())
        following = escalations.current_for_agent(session, staff)
        return case_of(session, escalation), case_of(session, following) if following else None

    try:
        case, following = await svc.db(work)
    except QueueError as exc:
        await tell_staff(context, agent_chat, str(exc))
        return
    logger.info("escalation %s resolved by staff %s", case.id, member.id)
    await resume_rasa(context, case.chat_id, case.id)
    await ask_rating(context, case)
    if intent:
        await tell_staff(context, agent_chat, "staff_resolved_tagged", id=case.id, intent=intent)
    else:
        await tell_staff(context, agent_chat, "staff_resolved",
                         tag_keyboard(case.id, context.services.settings.staff_language), id=case.id)
    if following is not None:
        await tell_staff(context, agent_chat, "staff_next_conversation", id=following.id,
                         customer=customer_label(following, context.services.settings.staff_language))
    if case.announce_chat_id and case.announce_message_id:
        try:
            await context.bot.edit_message_text(
                staff_text(context, "staff_resolved_group", id=case.id, agent=member.name),
                chat_id=case.announce_chat_id, message_id=case.announce_message_id,
            )
        except TelegramError as exc:
            logger.warning("could not edit announcement of escalation %s: %s", case.id, exc)


async def resume_rasa(context: BotContext, chat_id: int, case_id: int) -> bool:
    """Un-pause the Rasa conversation; on failure the bot retries before the customer's next message."""
    svc = context.services
    try:
        await svc.rasa_client.resume(sender_id(chat_id))
    except RasaUnavailable as exc:
        logger.warning("resuming the Rasa conversation of escalation %s failed (will retry): %s", case_id, exc)
        return False
    await svc.db(lambda s: escalations.mark_resumed(s, case_id))
    return True


async def ask_rating(context: BotContext, case: Case) -> None:
    """Ask the customer to rate the human help, 1-5, with buttons."""
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{'⭐' * n}", callback_data=f"rate:{case.id}:{n}") for n in range(1, 6)]]
    )
    # Five stars do not fit one row on small phones; two rows keep every button readable.
    keyboard = InlineKeyboardMarkup([list(keyboard.inline_keyboard[0][:3]), list(keyboard.inline_keyboard[0][3:])])
    prompt = text("handoff_resolved_rate", case.language)
    if await send(context, case.chat_id, OutgoingMessage(prompt, keyboard)) is not None:
        await context.services.db(lambda s: escalations.mark_rating_requested(s, case.id))
