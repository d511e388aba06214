"""Repeating jobs of the complaint desk: tell customers the outcome, remind and alert on due times, weekly summary.

Each pass reads everything from the database (outcome_queued_at / outcome_sent_at, due_reminded_at /
due_alerted_at, report_runs), so a restarted bot acts once on what it missed and repeats nothing; an outcome
resolved from the command line reaches the customer the same way.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import BotContext
from bot.reports import send_report
from bot.staffspeech import staff_text, tell_staff
from bot.texts import text
from core.clock import local, utcnow
from core.weekly import parse_weekly
from crm import chatlog, complaintdesk, reportruns
from crm.complaintdesk import DueAction, Outcome
from crm.labels import COMPLAINT_CATEGORY_LABELS, label
from crm.staff import supervisors

logger = logging.getLogger(__name__)

JOB_NAME = "complaints"
WEEKLY = "weekly_complaints"
ANSWER_PREFIX = "cf"


def kick_complaint_jobs(context: BotContext) -> None:
    """Run the complaint jobs now (tell a customer their outcome without waiting for the next interval)."""
    if context.job_queue is not None:
        context.job_queue.run_once(complaint_tick, 0)


async def complaint_tick(context: BotContext) -> None:
    """One pass: outcomes to tell, due reminders and alerts, the weekly summary (never two passes at once)."""
    async with context.services.complaint_lock:
        await tell_outcomes(context)
        await watch_due(context)
        await weekly_summary(context)


# ---------------------------------------------------------------------------------------------- outcomes


def answer_keyboard(complaint_id: int, language: str) -> InlineKeyboardMarkup:
    """"Is this resolved?" Yes / No (bot/complaintdesk.answer_pressed takes the press)."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(text("complaint_yes_button", language), callback_data=f"{ANSWER_PREFIX}:{complaint_id}:y"),
        InlineKeyboardButton(text("complaint_no_button", language), callback_data=f"{ANSWER_PREFIX}:{complaint_id}:n"),
    ]])


def outcome_text(outcome: Outcome) -> str:
    """What the customer is told, in their language: the result (and compensation), or why it was not upheld."""
    language = outcome.language
    category = label(COMPLAINT_CATEGORY_LABELS, outcome.category, language)
    if outcome.rejected:
        return text("complaint_outcome_rejected", language, code=outcome.code, category=category,
                    result=outcome.result)
    compensation = ""
    if outcome.compensation is not None:
        compensation = text("complaint_outcome_compensation", language, amount=f"{outcome.compensation:.2f}")
    return text("complaint_outcome_resolved", language, code=outcome.code, category=category, result=outcome.result,
                compensation=compensation)


async def tell_outcomes(context: BotContext) -> None:
    """Tell every customer whose ticket was resolved or rejected; a resolved one is asked whether it is resolved."""
    svc = context.services
    for outcome in await svc.db(lambda s: complaintdesk.outcomes_to_tell(s)):
        if outcome.chat_id is None:
            await svc.db(lambda s, o=outcome: complaintdesk.mark_outcome(s, o.complaint_id, delivered=False,
                                                                         detail="no Telegram chat"))
            continue
        body = outcome_text(outcome)
        keyboard = None if outcome.rejected else answer_keyboard(outcome.complaint_id, outcome.language)
        try:
            await context.bot.send_message(outcome.chat_id, body, reply_markup=keyboard)
        except (Forbidden, BadRequest) as exc:
            # The customer blocked the bot or the chat is gone: retrying cannot help; the card says so.
            logger.warning("outcome of complaint %s not deliverable: %s", outcome.code, exc)
            await svc.db(lambda s, o=outcome, e=exc: complaintdesk.mark_outcome(s, o.complaint_id, delivered=False,
                                                                                detail=str(e)[:200]))
            continue
        except TelegramError as exc:
            logger.warning("outcome of complaint %s not sent yet (will retry): %s", outcome.code, exc)
            continue

        def done(session: Session, o: Outcome = outcome, sent: str = body) -> None:
            chatlog.record_outbound(session, chat_id=o.chat_id, text=sent, kind="complaint_outcome")
            complaintdesk.mark_outcome(session, o.complaint_id, delivered=True)

        await svc.db(done)
        logger.info("outcome of complaint %s told to the customer", outcome.code)


# ---------------------------------------------------------------------------------------------- due times


async def tell_supervisors(context: BotContext, key: str, /, **values: object) -> int:
    """Send a staff text to every active supervisor and manager; how many got it."""
    people = await context.services.db(lambda s: [m.telegram_user_id for m in supervisors(s)])
    told = 0
    for telegram_user_id in people:
        if await tell_staff(context, telegram_user_id, key, **values):
            told += 1
        else:
            logger.warning("supervisor %s could not be told (%s)", telegram_user_id, key)
    return told


def due_values(context: BotContext, action: DueAction) -> dict[str, object]:
    """The values of the due texts."""
    language = context.services.settings.staff_language
    return {
        "code": action.code,
        "category": label(COMPLAINT_CATEGORY_LABELS, action.category, language),
        "serious": staff_text(context, "desk_serious") if action.serious else "",
        "due": local(action.due_at).strftime("%m-%d %H:%M"),
        "assignee": action.assignee_name or staff_text(context, "desk_unassigned"),
    }


async def watch_due(context: BotContext) -> None:
    """Remind the assignee before a ticket's due time; alert supervisors once it has passed."""
    svc = context.services
    now = utcnow()
    actions = await svc.db(
        lambda s: complaintdesk.due_actions(s, remind_minutes=svc.settings.complaint_remind_minutes, now=now)
    )
    group = svc.settings.staff_chat_id
    for action in actions:
        values = due_values(context, action)
        if action.kind == "remind":
            if action.assignee_telegram_id is not None:
                await tell_staff(context, action.assignee_telegram_id, "desk_due_reminder", **values)
            elif group is not None:
                await tell_staff(context, group, "desk_due_unassigned", **values)
        else:
            await tell_supervisors(context, "desk_due_alert", **values)
            if group is not None:
                await tell_staff(context, group, "desk_due_alert", **values)
        await svc.db(lambda s, a=action: complaintdesk.mark_due(s, a.complaint_id, a.kind, now=now))
        logger.info("complaint %s: due %s", action.code, action.kind)


# ---------------------------------------------------------------------------------------------- weekly summary


async def weekly_summary(context: BotContext) -> None:
    """Once a week (settings.weekly_report_at, opt out with weekly_report=false) send managers the summary."""
    svc = context.services
    settings = svc.settings
    if not settings.weekly_report:
        return
    now = utcnow()
    due = reportruns.weekly_due(parse_weekly(settings.weekly_report_at), now=now)
    if now - due.send_at > reportruns.CATCH_UP:
        return

    def claim(session: Session) -> list[int] | None:
        if reportruns.already_claimed(session, WEEKLY, due.period):
            return None
        if not reportruns.claim(session, WEEKLY, due.period, now=now):
            return None
        return [member.telegram_user_id for member in reportruns.report_recipients(session)]

    recipients = await svc.db(claim)
    if recipients is None:
        return
    if recipients:
        await send_report(context, recipients, since=due.since, until=due.until, by="category",
                          header="report_weekly_header")
    await svc.db(lambda s: reportruns.mark_sent(s, WEEKLY, due.period))
    logger.info("weekly complaint summary %s sent to %d managers", due.period, len(recipients))
