"""/report for managers and admins: the complaint report's chart and top numbers in Telegram (also the weekly summary).

The numbers come from crm.complaintanalysis and the chart from reports/complaints.py, exactly what
`parceldesk report complaints` prints and writes. The chart is drawn off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.rendering import OutgoingMessage, split_text
from bot.speech import send
from bot.staffspeech import private_only, staff_or_refuse, staff_text, tell_staff
from core.clock import utcnow
from crm.complaintanalysis import DIMENSIONS, ComplaintFact, ComplaintReport, build_report, complaint_facts
from crm.reportruns import REPORT_ROLES
from reports.complaints import DIMENSION_LABELS, chart_language, hours, percent, period, render_chart

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 30
MAX_DAYS = 3660
TOP_GROUPS = 5


async def report_command(update: Update, context: BotContext) -> None:
    """/report [category|city|station|courier|week] [days]: the complaint chart and top numbers (managers, admins)."""
    member = await staff_or_refuse(update, context)
    if member is None or not await private_only(update, context):
        return
    chat_id = update.effective_chat.id
    if member.role not in REPORT_ROLES:
        await tell_staff(context, chat_id, "report_managers_only")
        return
    by, days = "category", DEFAULT_DAYS
    for argument in context.args or []:
        word = argument.strip().lower()
        if word in DIMENSIONS:
            by = word
        elif word.isdigit() and 0 < int(word) <= MAX_DAYS:
            days = int(word)
        else:
            await tell_staff(context, chat_id, "report_usage")
            return
    now = utcnow()
    await send_report(context, [chat_id], since=now - timedelta(days=days), until=now, by=by)


async def send_report(
    context: BotContext, chat_ids: Sequence[int], *, since: datetime, until: datetime, by: str,
    header: str | None = None,
) -> None:
    """Send the complaint chart and the top numbers of a period to some staff chats."""
    svc = context.services
    language = svc.settings.staff_language
    now = utcnow()

    def read(session: Session) -> list[ComplaintFact]:
        return complaint_facts(session, since=since, until=until)

    facts = await svc.db(read)
    report = build_report(facts, by=by, language=language, since=since, until=until, now=now)
    drawn_in = chart_language(language)
    chart_report = report if drawn_in == language else build_report(
        facts, by=by, language=drawn_in, since=since, until=until, now=now
    )
    png = await asyncio.to_thread(render_chart, chart_report)
    body = summary_text(context, report)
    if header is not None:
        body = staff_text(context, header) + "\n" + body
    for chat_id in chat_ids:
        try:
            await context.bot.send_photo(chat_id, png, filename=f"complaints-{by}.png")
        except TelegramError as exc:
            logger.warning("complaint chart not delivered to %s: %s", chat_id, exc)
            continue
        for part in split_text(body):
            await send(context, chat_id, OutgoingMessage(part))


def summary_text(context: BotContext, report: ComplaintReport) -> str:
    """The top numbers: volume, share by reason, median time to resolve, overdue, satisfaction, the top groups."""
    language = report.language
    separator = "、" if language == "zh" else ", "
    reasons = separator.join(f"{name} {percent(share)}" for _category, name, _count, share in report.reasons) or "-"
    top = "\n".join(
        f"• {group.label}: {group.figures.complaints} ({percent(group.share)})"
        for group in report.groups[:TOP_GROUPS]
    ) or staff_text(context, "staff_none")
    since, until = period(report)
    total = report.total
    return staff_text(
        context, "report_summary", since=since, until=until, by=DIMENSION_LABELS[report.by][language],
        total=total.complaints, open=total.open, overdue=total.overdue, reasons=reasons,
        median=hours(total.median_hours), satisfaction=percent(total.satisfaction), answered=total.answered, top=top,
    )
