"""Repeating jobs of the human queue: announce new escalations, enforce deadlines.

They read everything from the database on every run, so a restarted bot picks up exactly where it was:
unannounced escalations get announced, deadlines that passed while it was down are acted on once.
"""

from __future__ import annotations

import logging

import httpx
from sqlalchemy.orm import Session
from telegram.error import TelegramError

from bot.cases import Case, case_of
from bot.context import BotContext
from bot.speech import say
from bot.staffspeech import case_values, claim_keyboard, staff_text, tell_staff, with_display_name
from bot.waiting import catch_up
from core.clock import utcnow
from core.settings import Settings
from crm import escalations
from crm.escalations import QueuePolicy, Reason
from crm.staff import supervisors

logger = logging.getLogger(__name__)

JOB_NAME = "handoff"
# From this many new bot-failure escalations in one pass, staff get one summary instead of one post each.
FAILURE_SUMMARY_THRESHOLD = 2


def kick_handoff_jobs(context: BotContext) -> None:
    """Run the handoff jobs now (announce a new escalation without waiting for the next interval)."""
    if context.job_queue is not None:
        context.job_queue.run_once(handoff_tick, 0)


async def handoff_tick(context: BotContext) -> None:
    """One pass: announce what is new, then remind and escalate what is late (never two passes at once)."""
    svc = context.services
    async with svc.handoff_lock:
        await release_recovered(context)
        await announce_new(context)
        await enforce_deadlines(context)
        # A safety net for the catch-up timers of waiting customers (lost when the bot restarts).
        await catch_up(context)


async def actions_available(settings: Settings) -> bool:
    """True when the action server answers its health check (Rasa alone answering is not enough)."""
    health = settings.action_server_url.removesuffix("/webhook") + "/health"
    try:
        async with httpx.AsyncClient(timeout=settings.rasa_timeout_seconds) as client:
            return (await client.get(health)).status_code == 200
    except httpx.HTTPError:
        return False


async def release_recovered(context: BotContext) -> None:
    """Give unclaimed bot-failure conversations back to the bot once Rasa answers again, and tell the customers."""
    svc = context.services
    cases = await svc.db(lambda s: [case_of(s, e) for e in escalations.releasable_failures(s)])
    if not cases or svc.rasa is None or not await svc.rasa.available() or not await actions_available(svc.settings):
        return
    for case in cases:
        released = await svc.db(lambda s, case=case: escalations.release_to_bot(s, case.id) is not None)
        if not released:
            continue  # an agent claimed it meanwhile: the person stays
        logger.info("escalation %s released to the bot: Rasa answers again", case.id)
        await say(context, case.chat_id, "bot_back", case.language)


async def announce_new(context: BotContext) -> None:
    """Post each unannounced escalation to the staff group with a Claim button."""
    svc = context.services
    group = svc.settings.staff_chat_id
    if group is None:
        return
    cases = await svc.db(lambda s: [case_of(s, e) for e in escalations.unannounced(s)])
    failures = [case for case in cases if case.reason == Reason.BOT_FAILURE.value]
    if len(failures) >= FAILURE_SUMMARY_THRESHOLD:
        # Rasa is down and every customer who writes is queued: one summary per pass, not one post each.
        await announce_failures(context, group, failures)
        cases = [case for case in cases if case.reason != Reason.BOT_FAILURE.value]
    for case in cases:
        case = await with_display_name(context, case)
        message_id = await post_with_claim(context, group, "staff_announce", case)
        if message_id is None:
            continue  # retried on the next pass
        await svc.db(lambda s, case=case, message_id=message_id: escalations.mark_announced(s, case.id, group,
                                                                                             message_id))
        logger.info("escalation %s announced", case.id)


async def announce_failures(context: BotContext, group: int, cases: list[Case]) -> None:
    """Announce many bot-failure escalations in one staff-group message (claim them with /queue)."""
    svc = context.services
    ids = ", ".join(f"#{case.id}" for case in cases)
    body = staff_text(context, "staff_announce_failures", count=len(cases), ids=ids)
    try:
        sent = await context.bot.send_message(group, body[:4096])
    except TelegramError as exc:
        logger.error("announcing %s bot-failure escalations failed: %s", len(cases), exc)
        return  # retried on the next pass

    def mark(session: Session) -> None:
        for case in cases:
            escalations.mark_announced(session, case.id, group, sent.message_id)

    await svc.db(mark)
    logger.info("%s bot-failure escalations announced in one summary", len(cases))


async def post_with_claim(context: BotContext, group: int, key: str, case: Case,
                          **extra: object) -> int | None:
    """Send an announcement with the Claim button; its message id, or None if Telegram refused."""
    body = staff_text(context, key, **{**case_values(context, case), **extra})
    try:
        sent = await context.bot.send_message(group, body[:4096], reply_markup=claim_keyboard(context, case.id))
    except TelegramError as exc:
        logger.error("announcing escalation %s in the staff group failed: %s", case.id, exc)
        return None
    return sent.message_id


async def enforce_deadlines(context: BotContext) -> None:
    """Re-announce unclaimed escalations past their deadline, remind silent agents, then alert supervisors."""
    svc = context.services
    policy = QueuePolicy.from_settings(svc.settings)
    now = utcnow()

    def due(session: Session) -> list[tuple[str, Case]]:
        return [(action.kind, case_of(session, action.escalation)) for action in escalations.sla_due(
            session, policy, now=now)]

    for kind, case in await svc.db(due):
        await act(context, kind, case)
        await svc.db(lambda s, case=case, kind=kind: escalations.mark_sla_done(s, case.id, kind))
        logger.info("escalation %s: %s", case.id, kind)


def minutes_since(case: Case, kind: str) -> int:
    """How long the customer has been waiting for what the deadline is about."""
    start = case.claimed_at if kind.endswith("reply") and case.claimed_at else case.created_at
    return max(0, int((utcnow() - start).total_seconds() // 60))


async def act(context: BotContext, kind: str, case: Case) -> None:
    """Carry out one SLA action (a failed send is logged; the action is not repeated forever)."""
    svc = context.services
    group = svc.settings.staff_chat_id
    minutes = minutes_since(case, kind)
    if kind == "remind_claim":
        if group is not None:
            message_id = await post_with_claim(context, group, "staff_reannounce", case, minutes=minutes)
            if message_id is not None:
                await svc.db(lambda s: escalations.mark_announced(s, case.id, group, message_id))
        return
    if kind == "remind_reply":
        if case.holder_telegram_id is not None:
            await tell_staff(context, case.holder_telegram_id, "staff_remind_agent", id=case.id, minutes=minutes)
        return
    key = "staff_alert_claim" if kind == "alert_claim" else "staff_alert_reply"
    values = {**case_values(context, case), "minutes": minutes}
    people = await svc.db(lambda s: [(m.telegram_user_id, m.name) for m in supervisors(s)])
    for telegram_user_id, _name in people:
        if not await tell_staff(context, telegram_user_id, key, **values):
            logger.warning("supervisor %s could not be told about escalation %s", telegram_user_id, case.id)
    if group is not None:
        names = ", ".join(name for _id, name in people) or "-"
        body = staff_text(context, key, **values) + "\n" + staff_text(context, "staff_alert_group_suffix", names=names)
        keyboard = claim_keyboard(context, case.id) if kind == "alert_claim" else None
        try:
            await context.bot.send_message(group, body[:4096], reply_markup=keyboard)
        except TelegramError as exc:
            logger.error("alerting the staff group about escalation %s failed: %s", case.id, exc)
