"""Staff-facing learning-loop handlers: /tag (an agent says what the customer meant), /review (admins label).

/tag works in the agent's private chat on the conversation they handle (or just resolved), like the other
agent commands. /review shows the next group of the review queue (learning/review.py) with buttons: confirm the
model's guess, a few likely intents, all intents, skip, stop. Buttons carry the group's handle (its oldest
message id) and the queue position, so nothing lives in bot memory: a press re-reads the queue.
Customer texts shown here are masked (learning/masking.py).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.cases import Member
from bot.context import BotContext
from bot.rendering import OutgoingMessage
from bot.speech import send
from bot.staffspeech import (
    intent_choices,
    private_only,
    staff_language,
    staff_or_refuse,
    staff_or_refuse_callback,
    staff_text,
    tell_staff,
    valid_intents,
)
from bot.texts import REVIEW_REASON_LABELS, label, text
from crm.models import Staff, StaffRole
from crm.staff import is_admin
from learning import review
from learning.review import Labeller, ReviewError, ReviewGroup, ReviewPolicy

logger = logging.getLogger(__name__)

TEXTS_SHOWN = 3
OTHER_INTENTS = 3
PREFIX = "rv"


# ---------------------------------------------------------------------------------------------- /tag


async def tag_command(update: Update, context: BotContext) -> None:
    """/tag <intent>: tag the customer's latest message of the agent's conversation with what they meant."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    chat_id = update.effective_chat.id
    intents = valid_intents()
    if not context.args:
        await tell_staff(context, chat_id, "staff_tag_usage", intents=intent_choices(staff_language(context)))
        return
    intent = context.args[0].strip()

    def work(session: Session) -> review.TagOutcome:
        staff = session.get(Staff, member.id)
        assert staff is not None
        return review.tag_latest_message(session, staff, intent, valid=intents)

    try:
        outcome = await context.services.db(work)
    except ReviewError as exc:
        key = str(exc)
        if key == "review_unknown_intent":
            await tell_staff(context, chat_id, "staff_tag_unknown_intent", intent=intent,
                             intents=intent_choices(staff_language(context)))
        else:
            await tell_staff(context, chat_id, key)
        return
    logger.info("staff %s tagged message %s", member.id, outcome.message_id)
    await tell_staff(context, chat_id, "staff_tag_saved", id=outcome.escalation_id, text=outcome.preview,
                     intent=outcome.intent)


# ---------------------------------------------------------------------------------------------- /review


async def refuse_non_admin(context: BotContext, chat_id: int) -> None:
    """Tell a staff member who is not an admin, in both languages, that labelling is for admins."""
    await send(context, chat_id, OutgoingMessage(text("review_admin_only", "zh")))


async def review_command(update: Update, context: BotContext) -> None:
    """/review: the next group of the review queue with label buttons (admins only, private chat)."""
    member = await staff_or_refuse(update, context)
    if member is None:
        return
    if member.role != StaffRole.ADMIN:
        await refuse_non_admin(context, update.effective_chat.id)
        return
    if not await private_only(update, context):
        return
    await show_group(context, update.effective_chat.id, 0)


def group_message(context: BotContext, group: ReviewGroup, index: int, total: int) -> str:
    """The text of one group: its counts, reasons, the most frequent (masked) texts and the guess."""
    language = context.services.settings.staff_language
    lines = [f"“{body}”" + (f" ×{count}" if count > 1 else "") for body, count in group.variants[:TEXTS_SHOWN]]
    if len(group.variants) > TEXTS_SHOWN:
        lines.append(f"… +{len(group.variants) - TEXTS_SHOWN}")
    confidence = group.guess_confidence
    return staff_text(
        context, "review_group", index=index + 1, total=total, count=group.count,
        reasons=", ".join(label(REVIEW_REASON_LABELS, r, language) for r in group.reasons) or "-",
        texts="\n".join(lines), guess=group.guess or "-", confidence="-" if confidence is None else f"{confidence:.2f}",
    )


def label_button(caption: str, group: ReviewGroup, position: int, intent: str) -> InlineKeyboardButton:
    """A button that labels the group (callback data stays under Telegram's 64 bytes)."""
    return InlineKeyboardButton(caption, callback_data=f"{PREFIX}:l:{group.ref}:{position}:{intent}")


def group_keyboard(context: BotContext, group: ReviewGroup, position: int,
                   *, everything: bool = False) -> InlineKeyboardMarkup:
    """Confirm the guess, a few likely intents (or all of them), then skip / all intents / stop."""
    intents = valid_intents()
    rows: list[list[InlineKeyboardButton]] = []
    if everything:
        buttons = [label_button(name, group, position, name) for name in intents]
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    else:
        likely = group.likely_intents(intents, limit=1 + OTHER_INTENTS)
        if group.guess in intents:
            rows.append([label_button(f"✓ {group.guess}", group, position, group.guess)])
            likely = [name for name in likely if name != group.guess]
        others = [label_button(name, group, position, name) for name in likely[:OTHER_INTENTS]]
        if others:
            rows.append(others)
    controls = [InlineKeyboardButton(staff_text(context, "review_skip_button"),
                                     callback_data=f"{PREFIX}:s:{group.ref}:{position + 1}")]
    if not everything:
        controls.append(InlineKeyboardButton(staff_text(context, "review_all_button"),
                                             callback_data=f"{PREFIX}:a:{group.ref}:{position}"))
    controls.append(InlineKeyboardButton(staff_text(context, "review_stop_button"), callback_data=f"{PREFIX}:q:0:0"))
    rows.append(controls)
    return InlineKeyboardMarkup(rows)


async def show_group(context: BotContext, chat_id: int, position: int) -> None:
    """Send the group at a queue position (or say the queue is done)."""
    svc = context.services
    policy = ReviewPolicy.from_settings(svc.settings)
    groups = await svc.db(lambda s: review.review_queue(s, policy))
    if position >= len(groups):
        await tell_staff(context, chat_id, "review_empty")
        return
    group = groups[position]
    body = group_message(context, group, position, len(groups))
    await send(context, chat_id, OutgoingMessage(body, group_keyboard(context, group, position)))


async def review_pressed(update: Update, context: BotContext) -> None:
    """A /review button: label the group, show all intents, skip to the next group, or stop (admins only)."""
    query = update.callback_query
    member = await staff_or_refuse_callback(update, context)
    if member is None:
        return
    chat_id = update.effective_chat.id
    if member.role != StaffRole.ADMIN:
        await query.answer(text("review_admin_only", "zh"), show_alert=True)
        return
    try:
        _, action, raw_ref, raw_position, *rest = (query.data or "").split(":", 4)
        ref, position = int(raw_ref), int(raw_position)
    except ValueError:
        await query.answer()
        return
    if action == "l" and rest:
        await label_pressed(update, context, member, ref, position, rest[0])
        return
    await query.answer()
    if action == "a":
        await show_all_intents(update, context, ref, position)
        return
    await drop_keyboard(update)
    if action == "s":
        await show_group(context, chat_id, position)
    elif action == "q":
        await tell_staff(context, chat_id, "review_stopped")


async def show_all_intents(update: Update, context: BotContext, ref: int, position: int) -> None:
    """Replace a group's buttons by one button per valid intent."""
    svc = context.services
    policy = ReviewPolicy.from_settings(svc.settings)
    group = await svc.db(lambda s: review.find_group(s, policy, ref))
    if group is None:
        await drop_keyboard(update)
        await tell_staff(context, update.effective_chat.id, "review_gone")
        await show_group(context, update.effective_chat.id, position)
        return
    try:
        await update.callback_query.edit_message_reply_markup(group_keyboard(context, group, position, everything=True))
    except TelegramError as exc:
        logger.warning("could not show all intents on a review message: %s", exc)


async def label_pressed(update: Update, context: BotContext, member: Member, ref: int, position: int,
                        intent: str) -> None:
    """Label the group the button belongs to (as it is now), then show the next one."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    svc = context.services
    policy = ReviewPolicy.from_settings(svc.settings)
    intents = valid_intents()

    def work(session: Session) -> review.LabelOutcome | None:
        staff = session.get(Staff, member.id)
        if not is_admin(staff):  # the role may have changed since the buttons were sent
            raise ReviewError("review_admin_only")
        group = review.find_group(session, policy, ref)
        if group is None:
            return None
        return review.label_group(session, group, intent, labeller=Labeller(member.name, member.telegram_user_id),
                                  valid=intents)

    try:
        outcome = await svc.db(work)
    except ReviewError as exc:
        await query.answer(text(str(exc), "zh") if str(exc) == "review_admin_only" else staff_text(context, str(exc)),
                           show_alert=True)
        return
    await query.answer()
    await drop_keyboard(update)
    if outcome is None:
        await tell_staff(context, chat_id, "review_gone")
    else:
        logger.info("staff %s labelled %s messages", member.id, outcome.labelled)
        await tell_staff(context, chat_id, "review_labelled", count=outcome.labelled, intent=outcome.intent)
    # The labelled group left the queue: the next one now holds the same position.
    await show_group(context, chat_id, position)


async def drop_keyboard(update: Update) -> None:
    """Remove the buttons of the pressed message (a second press would act on a stale group)."""
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except TelegramError:
        pass  # leftover buttons are harmless: a press re-reads the queue
