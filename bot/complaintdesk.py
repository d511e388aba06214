"""The complaint desk in Telegram: /complaints for staff, the ticket card and its buttons, the customer's answer.

Staff work in their private chat with the bot: /complaints lists open tickets by urgency (filters as buttons or
arguments), a ticket's card shows the parcel's timeline, the customer's tier and history, photos and the log, with
Take, Note, Message customer, Resolve and Reject. Note, Message, Resolve (result, then an optional compensation
amount) and Reject (reason) wait for the staff member's next message: that state is a crm.deskinput row, so it
survives a restart. The customer is told the outcome by the complaint job (bot/complaintjobs.py) and answers with
Yes / No; No reopens the ticket, alerts its handler and takes the customer's next message as their words.
Every rule is in crm/complaintdesk.py; this module only translates.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.cases import Member, content_of, member_of
from bot.complaintjobs import kick_complaint_jobs, tell_supervisors
from bot.context import BotContext
from bot.inbound import close
from bot.rendering import OutgoingMessage, split_text
from bot.speech import chat_language, say, send
from bot.staffspeech import private_only, staff_or_refuse, staff_or_refuse_callback, staff_text, tell_staff
from bot.texts import COMPLAINT_EVENT_LABELS, LANGUAGE_NAMES, text
from bot.texts import label as text_label
from core.clock import local, utcnow
from crm import chatlog, complaintdesk, deskinput
from crm.complaintdesk import ACTIVE, MESSAGE_LIMIT, DeskError, DeskFilter, Ticket, TicketLine, TicketRefused
from crm.complaints import normalize_code
from crm.labels import COMPLAINT_CATEGORY_LABELS, COMPLAINT_STATUS_LABELS, EVENT_LABELS, STATUS_LABELS, label
from crm.models import ComplaintCategory, Staff
from crm.staff import staff_member

logger = logging.getLogger(__name__)

PREFIX = "cd"
CATEGORIES_PER_ROW = 3


def staff_language(context: BotContext) -> str:
    """The language of staff texts in this deployment."""
    return context.services.settings.staff_language


def category_label(context: BotContext, category: ComplaintCategory) -> str:
    """A complaint category as staff read it."""
    return label(COMPLAINT_CATEGORY_LABELS, category, staff_language(context))


def when(moment: datetime | None) -> str:
    """A moment in company time, short (or '-')."""
    return local(moment).strftime("%m-%d %H:%M") if moment else "-"


def due_label(context: BotContext, due_at: datetime | None, now: datetime) -> str:
    """'overdue 3 h' or 'due in 8 h' (whole hours, rounded up), or '-' without a due time."""
    if due_at is None:
        return "-"
    hours = math.ceil(abs((due_at - now).total_seconds()) / 3600)
    return staff_text(context, "desk_overdue" if due_at <= now else "desk_due_in", hours=hours)


def filter_label(context: BotContext, desk_filter: DeskFilter) -> str:
    """How a filter is named to staff."""
    if desk_filter.category is not None:
        return category_label(context, desk_filter.category)
    return staff_text(context, f"desk_filter_{desk_filter.key}")


# ---------------------------------------------------------------------------------------------- the list


async def complaints_command(update: Update, context: BotContext) -> None:
    """/complaints [mine|unassigned|<category>|C-1042]: open tickets by urgency, or one ticket's card (staff only)."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    chat_id = update.effective_chat.id
    argument = " ".join(context.args or []).strip()
    code = normalize_code(argument) if argument else None
    if code is not None:
        found = await context.services.db(lambda s: complaintdesk.find_ticket(s, code))
        if found is None:
            await tell_staff(context, chat_id, "complaint_unknown")
            return
        await show_card(context, chat_id, member, found.id)
        return
    desk_filter = DeskFilter.parse(argument)
    if desk_filter is None:
        await tell_staff(context, chat_id, "desk_usage")
        return
    await show_list(context, chat_id, member, desk_filter)


async def show_list(context: BotContext, chat_id: int, member: Member, desk_filter: DeskFilter) -> None:
    """Send the open tickets matching a filter, most urgent first, one button each, with the filter buttons."""
    now = utcnow()

    def read(session: Session) -> tuple[list[TicketLine], int]:
        return complaintdesk.open_tickets(session, desk_filter, member=session.get(Staff, member.id))

    lines, total = await context.services.db(read)
    name = filter_label(context, desk_filter)
    if lines:
        body = staff_text(context, "desk_list_header", filter=name, total=total, shown=len(lines))
    else:
        body = staff_text(context, "desk_list_empty", filter=name)
    rows = [[InlineKeyboardButton(ticket_button(context, line, now), callback_data=f"{PREFIX}:c:{line.id}")]
            for line in lines]
    await send(context, chat_id, OutgoingMessage(body, InlineKeyboardMarkup(rows + filter_rows(context))))


def ticket_button(context: BotContext, line: TicketLine, now: datetime) -> str:
    """One ticket as a button: urgency mark, code, category, due, handler."""
    mark = "🔴" if line.overdue(now) else "🟠" if line.serious else "⚪"
    serious = staff_text(context, "desk_serious") if line.serious else ""
    assignee = line.assignee_name or staff_text(context, "desk_unassigned")
    return (f"{mark} {line.code} · {category_label(context, line.category)}{serious} · "
            f"{due_label(context, line.due_at, now)} · {assignee}")


def filter_rows(context: BotContext) -> list[list[InlineKeyboardButton]]:
    """Filter buttons: all, mine, unassigned, then one per category."""
    rows = [[InlineKeyboardButton(staff_text(context, f"desk_filter_{key}"), callback_data=f"{PREFIX}:l:{key}")
             for key in ("all", "mine", "unassigned")]]
    categories = [InlineKeyboardButton(category_label(context, c), callback_data=f"{PREFIX}:l:{c.value}")
                  for c in ComplaintCategory]
    rows += [categories[i : i + CATEGORIES_PER_ROW] for i in range(0, len(categories), CATEGORIES_PER_ROW)]
    return rows


# ---------------------------------------------------------------------------------------------- the card


async def show_card(context: BotContext, chat_id: int, member: Member, complaint_id: int) -> None:
    """Send a ticket's photos and its card with the action buttons; an agent gets only their own tickets and open
    unassigned ones (the view, and a refusal, are audited)."""

    def read(session: Session) -> Ticket | TicketRefused:
        staff = session.get(Staff, member.id)
        if staff is None:  # never None here: the desk checked the member; None would mean the command line's rights
            raise DeskError("complaint_unknown")
        return complaintdesk.view_ticket(session, complaint_id, staff)

    try:
        card = await context.services.db(read)
    except DeskError as exc:
        await tell_staff(context, chat_id, exc.key)
        return
    if isinstance(card, TicketRefused):
        logger.info("complaint card %s refused to staff %s", card.code, member.id)
        await tell_staff(context, chat_id, card.key, code=card.code)
        return
    for file_id in card.photos:
        try:
            await context.bot.send_photo(chat_id, file_id, caption=card.code)
        except TelegramError as exc:
            logger.warning("photo of complaint %s could not be shown: %s", card.code, exc)
    parts = split_text(render_card(context, card, utcnow()))
    for part in parts[:-1]:
        await send(context, chat_id, OutgoingMessage(part))
    await send(context, chat_id, OutgoingMessage(parts[-1], card_keyboard(context, card)))


def render_card(context: BotContext, card: Ticket, now: datetime) -> str:
    """The ticket card's text in the staff language."""
    language = staff_language(context)
    none = staff_text(context, "staff_none")
    if card.customer_name is not None:
        customer = staff_text(context, "desk_card_customer", name=card.customer_name, code=card.customer_code,
                              city=card.customer_city or "-", tier=card.tier or "-", shipments=card.shipments_last_year)
    else:
        customer = staff_text(context, "desk_card_unknown_customer")
    past = ", ".join(
        f"{p.code} {category_label(context, p.category)} ({label(COMPLAINT_STATUS_LABELS, p.status, language)})"
        for p in card.past
    ) or none
    if card.tracking_number:
        parcel = f"{card.tracking_number} · {label(STATUS_LABELS, card.shipment_status, language)}"
    else:
        parcel = staff_text(context, "desk_card_no_parcel")
    timeline = "\n".join(
        f"• {when(scan.occurred_at)} {label(EVENT_LABELS, scan.kind, language)} · "
        f"{scan.place_zh if language == 'zh' else scan.place_en}" + (f" · {scan.courier}" if scan.courier else "")
        for scan in card.timeline
    )
    history = "\n".join(
        f"• {when(entry.created_at)} {text_label(COMPLAINT_EVENT_LABELS, entry.kind.value, language)}"
        + (f" · {entry.staff_name}" if entry.staff_name else "")
        + (f": {entry.body}" if entry.body else "")
        + (f" (¥{entry.amount})" if entry.amount is not None else "")
        for entry in card.history
    ) or none
    outcome = ""
    if card.resolution and card.status not in ACTIVE:
        answer = ""
        if card.satisfied is True:
            answer = staff_text(context, "desk_card_satisfied")
        elif card.satisfied is False:
            answer = staff_text(context, "desk_card_unsatisfied")
        compensation = staff_text(context, "desk_card_compensation", amount=card.compensation) if (
            card.compensation is not None) else ""
        outcome = staff_text(context, "desk_card_outcome", result=card.resolution, compensation=compensation,
                             answer=answer)
    overdue = f" ({due_label(context, card.due_at, now)})" if card.status in ACTIVE and card.due_at else ""
    status = label(COMPLAINT_STATUS_LABELS, card.status, language)
    return staff_text(
        context, "desk_card", code=card.code, category=category_label(context, card.category),
        serious=staff_text(context, "desk_serious") if card.serious else "", status=status,
        created=when(card.created_at), due=when(card.due_at), overdue=overdue,
        assignee=card.assignee_name or staff_text(context, "desk_unassigned"),
        reopened=staff_text(context, "desk_card_reopened", count=card.reopened_count) if card.reopened_count else "",
        customer=customer, past=past, description=card.description, outcome=outcome, parcel=parcel,
        timeline=timeline, history=history,
    )


def card_keyboard(context: BotContext, card: Ticket) -> InlineKeyboardMarkup:
    """Take (while nobody has it), Note, Message customer, Resolve and Reject (while open), back to the list."""

    def button(key: str, verb: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(staff_text(context, key), callback_data=f"{PREFIX}:{verb}:{card.id}")

    first = [button("desk_note_button", "n")]
    if card.status in ACTIVE and card.assignee_id is None:
        first.insert(0, button("desk_take_button", "t"))
    rows = [first]
    second = [button("desk_message_button", "m")] if card.chat_id is not None else []
    if card.status in ACTIVE:
        second += [button("desk_resolve_button", "r"), button("desk_reject_button", "j")]
    if second:
        rows.append(second)
    rows.append([InlineKeyboardButton(staff_text(context, "desk_list_button"), callback_data=f"{PREFIX}:l:all")])
    return InlineKeyboardMarkup(rows)


def prompt_keyboard(context: BotContext, complaint_id: int, *, no_amount: bool = False) -> InlineKeyboardMarkup:
    """Cancel (and No compensation, while the amount is asked) under a prompt."""
    row = [InlineKeyboardButton(staff_text(context, "desk_cancel_button"), callback_data=f"{PREFIX}:x:{complaint_id}")]
    if no_amount:
        row.insert(0, InlineKeyboardButton(staff_text(context, "desk_no_amount_button"),
                                           callback_data=f"{PREFIX}:a:{complaint_id}"))
    return InlineKeyboardMarkup([row])


# ---------------------------------------------------------------------------------------------- buttons


async def desk_pressed(update: Update, context: BotContext) -> None:
    """A complaint-desk button: list filter, card, Take, Note, Message, Resolve, Reject, No compensation, Cancel."""
    query = update.callback_query
    member = await staff_or_refuse_callback(update, context)
    if member is None:
        return
    chat_id = update.effective_chat.id
    try:
        _, verb, argument = (query.data or "").split(":", 2)
    except ValueError:
        await query.answer()
        return
    if verb == "l":
        await query.answer()
        await show_list(context, chat_id, member, DeskFilter.parse(argument) or DeskFilter())
        return
    try:
        complaint_id = int(argument)
    except ValueError:
        await query.answer()
        return
    if verb == "t":
        await take_pressed(update, context, member, complaint_id)
        return
    await query.answer()
    if verb == "c":
        await show_card(context, chat_id, member, complaint_id)
    elif verb in PROMPTS:
        await ask(context, chat_id, member, complaint_id, verb)
    elif verb == "a":
        await finish_resolve(context, chat_id, member, complaint_id, None)
    elif verb == "x":
        cleared = await context.services.db(lambda s: deskinput.clear(s, chat_id))
        await tell_staff(context, chat_id, "desk_cancelled" if cleared else "desk_nothing_to_cancel")


async def take_pressed(update: Update, context: BotContext, member: Member, complaint_id: int) -> None:
    """Take: exactly one of two staff pressing at once wins; the other is told who has it."""
    query = update.callback_query
    outcome = await context.services.db(lambda s: complaintdesk.take(s, complaint_id, member.telegram_user_id))
    if outcome.won:
        await query.answer(staff_text(context, "desk_take_won", code=outcome.code))
        logger.info("complaint %s taken by staff %s", outcome.code, member.id)
        await show_card(context, update.effective_chat.id, member, complaint_id)
        return
    if outcome.problem == "taken":
        key = "desk_take_taken"
    elif outcome.problem == "closed":
        key = "desk_take_closed"
    else:
        key = "complaint_unknown"
    await query.answer(staff_text(context, key, code=outcome.code or "-", agent=outcome.holder_name or "-"),
                       show_alert=True)


# verb -> (what the next message is, the prompt)
PROMPTS = {
    "n": (deskinput.NOTE, "desk_prompt_note"),
    "m": (deskinput.MESSAGE, "desk_prompt_message"),
    "r": (deskinput.RESOLVE, "desk_prompt_resolve"),
    "j": (deskinput.REJECT, "desk_prompt_reject"),
}


async def ask(context: BotContext, chat_id: int, member: Member, complaint_id: int, verb: str) -> None:
    """Check the staff member may do it now, then wait for their next message (a row, not bot memory)."""
    kind, prompt = PROMPTS[verb]

    def prepare(session: Session) -> tuple[str, str]:
        staff = session.get(Staff, member.id)
        language = ""
        if kind == deskinput.NOTE:
            complaint = complaintdesk.find_ticket(session, complaint_id)
            if complaint is None:
                raise DeskError("complaint_unknown")
        elif kind == deskinput.MESSAGE:
            reach = complaintdesk.outreach(session, complaint_id, staff)
            complaint, language = complaintdesk.find_ticket(session, complaint_id), reach.language
        else:
            complaint = complaintdesk.held(session, complaint_id, staff)
            if complaint.status not in ACTIVE:
                raise DeskError("complaint_not_open")
        assert complaint is not None
        deskinput.expect(session, chat_id, kind, complaint_id, staff_id=member.id)
        return complaint.code, language

    try:
        code, language = await context.services.db(prepare)
    except DeskError as exc:
        await tell_staff(context, chat_id, exc.key)
        return
    await tell_staff(
        context, chat_id, prompt, prompt_keyboard(context, complaint_id), code=code, limit=MESSAGE_LIMIT,
        language=text_label(LANGUAGE_NAMES, language, staff_language(context)),
    )


# ---------------------------------------------------------------------------------------------- answers to prompts


async def desk_input(update: Update, context: BotContext) -> None:
    """A private message the desk waits for: a staff member's note, message, result, amount or reason, or a
    customer's words after "not resolved". Anything else goes on to the relay and the bot."""
    message = update.effective_message
    chat = update.effective_chat
    user = update.effective_user
    if message is None or chat is None or user is None or chat.type != "private":
        return
    inbound = context.inbound
    if inbound is not None:
        awaiting = inbound.awaiting
    else:
        awaiting = await context.services.db(
            lambda s: (row.kind if (row := deskinput.pending(s, chat.id)) is not None else None)
        )
    if awaiting is None:
        return
    if awaiting == deskinput.REOPEN_WORDS:
        handled = await customer_words(update, context, message)
    else:
        handled = await staff_answer(context, chat.id, user.id, message)
    if handled:
        # Dealt with here: close the log entry and keep it from the relay and from Rasa.
        await close(context)
        raise ApplicationHandlerStop


async def staff_answer(context: BotContext, chat_id: int, user_id: int, message: Message) -> bool:
    """Carry out the step a staff member's message answers; False when nothing (valid) was awaited."""
    svc = context.services

    def load(session: Session) -> tuple[str, int, str | None, Member] | None:
        staff = staff_member(session, user_id)
        row = deskinput.pending(session, chat_id)
        if row is None or staff is None or row.staff_id != staff.id:
            deskinput.clear(session, chat_id)
            return None
        return row.kind, row.complaint_id, row.draft, member_of(staff)

    loaded = await svc.db(load)
    if loaded is None:
        return False
    kind, complaint_id, draft, member = loaded
    body = (message.text or "").strip()
    if not body:
        await tell_staff(context, chat_id, "desk_text_only", prompt_keyboard(context, complaint_id))
        return True
    try:
        if kind == deskinput.NOTE:
            await save_note(context, chat_id, member, complaint_id, body)
        elif kind == deskinput.MESSAGE:
            await message_customer(context, chat_id, member, complaint_id, body)
        elif kind == deskinput.RESOLVE:
            await svc.db(lambda s: deskinput.expect(s, chat_id, deskinput.RESOLVE_AMOUNT, complaint_id,
                                                    staff_id=member.id, draft=body))
            await tell_staff(context, chat_id, "desk_prompt_amount",
                             prompt_keyboard(context, complaint_id, no_amount=True))
        elif kind == deskinput.RESOLVE_AMOUNT:
            amount = complaintdesk.parse_amount(body)
            if amount is None:
                await tell_staff(context, chat_id, "desk_bad_amount",
                                 prompt_keyboard(context, complaint_id, no_amount=True))
            else:
                await finish_resolve(context, chat_id, member, complaint_id, amount, draft=draft)
        elif kind == deskinput.REJECT:
            await finish_reject(context, chat_id, member, complaint_id, body)
    except DeskError as exc:
        await svc.db(lambda s: deskinput.clear(s, chat_id))
        await tell_staff(context, chat_id, exc.key)
    return True


async def save_note(context: BotContext, chat_id: int, member: Member, complaint_id: int, body: str) -> None:
    """Store an internal note and stop waiting."""

    def work(session: Session) -> str:
        complaint = complaintdesk.add_note(session, complaint_id, session.get(Staff, member.id), body)
        deskinput.clear(session, chat_id)
        return complaint.code

    code = await context.services.db(work)
    await tell_staff(context, chat_id, "desk_note_saved", code=code)


async def message_customer(context: BotContext, chat_id: int, member: Member, complaint_id: int, body: str) -> None:
    """Relay a short message to the ticket's customer under a header in their language; log it on the ticket."""
    svc = context.services
    if len(body) > MESSAGE_LIMIT:
        await tell_staff(context, chat_id, "desk_too_long", prompt_keyboard(context, complaint_id),
                         limit=MESSAGE_LIMIT)
        return
    reach = await svc.db(lambda s: complaintdesk.outreach(s, complaint_id, s.get(Staff, member.id)))
    outgoing = text("complaint_staff_message", reach.language, code=reach.code, text=body)
    try:
        await context.bot.send_message(reach.chat_id, outgoing)
    except TelegramError as exc:
        logger.warning("message about complaint %s not delivered: %s", reach.code, exc)
        await svc.db(lambda s: deskinput.clear(s, chat_id))
        await tell_staff(context, chat_id, "desk_message_failed", code=reach.code)
        return

    def log(session: Session) -> None:
        complaintdesk.record_message(session, complaint_id, session.get(Staff, member.id), body)
        chatlog.record_outbound(session, chat_id=reach.chat_id, text=outgoing, kind="complaint_message")
        deskinput.clear(session, chat_id)

    await svc.db(log)
    await tell_staff(context, chat_id, "desk_message_sent", code=reach.code)


async def finish_resolve(context: BotContext, chat_id: int, member: Member, complaint_id: int,
                         amount: Decimal | None, *, draft: str | None = None) -> None:
    """Resolve with the result typed before (and the amount); the job tells the customer and asks them."""

    def work(session: Session) -> str:
        row = deskinput.pending(session, chat_id)
        result = draft if draft is not None else (row.draft if row is not None and row.complaint_id == complaint_id
                                                  else None)
        if result is None:
            raise DeskError("complaint_text_empty")
        complaint = complaintdesk.resolve(session, complaint_id, session.get(Staff, member.id), result,
                                          compensation=amount)
        deskinput.clear(session, chat_id)
        return complaint.code

    try:
        code = await context.services.db(work)
    except DeskError as exc:
        await tell_staff(context, chat_id, exc.key)
        return
    logger.info("complaint %s resolved by staff %s", code, member.id)
    kick_complaint_jobs(context)
    await tell_staff(context, chat_id, "desk_resolved", code=code)


async def finish_reject(context: BotContext, chat_id: int, member: Member, complaint_id: int, reason: str) -> None:
    """Reject with a reason; the job tells the customer."""

    def work(session: Session) -> str:
        complaint = complaintdesk.reject(session, complaint_id, session.get(Staff, member.id), reason)
        deskinput.clear(session, chat_id)
        return complaint.code

    code = await context.services.db(work)
    logger.info("complaint %s rejected by staff %s", code, member.id)
    kick_complaint_jobs(context)
    await tell_staff(context, chat_id, "desk_rejected", code=code)


async def cancel_command(update: Update, context: BotContext) -> None:
    """/cancel: stop waiting for the answer to a desk prompt (staff only)."""
    member = await staff_or_refuse(update, context)
    if member is None:
        return
    chat_id = update.effective_chat.id
    cleared = await context.services.db(lambda s: deskinput.clear(s, chat_id))
    await tell_staff(context, chat_id, "desk_cancelled" if cleared else "desk_nothing_to_cancel")


# ---------------------------------------------------------------------------------------------- the customer


async def answer_pressed(update: Update, context: BotContext) -> None:
    """The customer's Yes / No under an outcome: Yes closes the ticket; No reopens it and alerts its handler."""
    query = update.callback_query
    chat = update.effective_chat
    try:
        _, raw_id, choice = (query.data or "").split(":")
        complaint_id = int(raw_id)
    except ValueError:
        await query.answer()
        return
    if chat is None:
        await query.answer()
        return
    language = await chat_language(context, chat.id, None, update)
    satisfied = choice == "y"
    answer = await context.services.db(lambda s: complaintdesk.answer_outcome(s, complaint_id, chat.id, satisfied))
    if not answer.counted:
        await query.answer(text("complaint_answer_done", language))
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError:
        pass  # leftover buttons are harmless: a second press is not counted
    if satisfied:
        await say(context, chat.id, "complaint_confirmed", language, code=answer.code)
        return
    due = local(answer.due_at).strftime("%Y-%m-%d %H:%M") if answer.due_at else "-"
    await say(context, chat.id, "complaint_reopened", language, code=answer.code, due=due)
    logger.info("complaint %s reopened by its customer", answer.code)
    if answer.assignee_telegram_id is not None:
        await tell_staff(context, answer.assignee_telegram_id, "desk_reopened_alert", code=answer.code, due=due)
    else:
        await tell_supervisors(context, "desk_reopened_alert", code=answer.code, due=due)


async def customer_words(update: Update, context: BotContext, message: Message) -> bool:
    """The customer's next message after "not resolved": attach it to the ticket and pass it to the handler."""
    chat_id = message.chat_id
    kind, body, file_id = content_of(message)
    words = await context.services.db(
        lambda s: complaintdesk.attach_words(s, chat_id, content_kind=kind, text=body, file_id=file_id)
    )
    if words is None:
        return False
    language = await chat_language(context, chat_id, body, update)
    if words.assignee_telegram_id is not None:
        await tell_staff(context, words.assignee_telegram_id, "desk_customer_words", code=words.code, text=body or "")
        if kind != "text":
            try:
                await context.bot.copy_message(words.assignee_telegram_id, chat_id, message.message_id)
            except TelegramError as exc:
                logger.warning("the customer's %s for complaint %s was not copied: %s", kind, words.code, exc)
    else:
        await tell_supervisors(context, "desk_customer_words", code=words.code, text=body or "")
    await say(context, chat_id, "complaint_words_received", language, code=words.code)
    return True
