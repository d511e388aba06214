"""The model desk: admins finish the learning loop in the chat — /retrain, Promote / Keep current, /rollback.

Thin over learning/retrain.py, the same functions `parceldesk learn retrain|promote|rollback` call: one retrain at
a time (learning/runlock.py, shared with the command line), the same gate, registry and audit entries. A retrain
runs in a worker thread (training and scoring are `rasa` subprocesses), so the event loop keeps answering
customers; its stages are edited into one progress message, then the gate's side-by-side figures replace it, with
Promote / Keep current buttons when the gate passed. Buttons carry registry ids, nothing lives in bot memory:
a press re-checks the registry (a gate run against another live model than today's promotes nothing).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.cases import Member
from bot.context import BotContext
from bot.rendering import TELEGRAM_TEXT_LIMIT, OutgoingMessage
from bot.services import BotServices
from bot.speech import send
from bot.staffspeech import private_only, staff_or_refuse, staff_or_refuse_callback
from bot.texts import TEXTS, text
from core.clock import local, utcnow
from crm.models import ModelVersion, Staff, StaffRole
from crm.staff import is_admin
from learning import runlock
from learning.gate import GateResult
from learning.registry import RegistryError
from learning.retrain import (
    Actor,
    LearningError,
    Promoted,
    RetrainOutcome,
    RollbackOutcome,
    RollbackPlan,
    Stage,
    promote_candidate,
    retrain,
    rollback,
    rollback_plan,
)
from nlu.toolchain import EngineError, ensure_engine

logger = logging.getLogger(__name__)
T = TypeVar("T")

PREFIX = "md"
STAGES = (Stage.EXPORT, Stage.TRAIN, Stage.SCORE, Stage.GATE)
# A progress edit waits at most this long for Telegram before the retrain goes on without it.
EDIT_WAIT_SECONDS = 30.0


def desk_text(services: BotServices, key: str, /, **values: object) -> str:
    """A model-desk text in the staff language."""
    return text(key, services.settings.staff_language, **values)


def actor_of(member: Member) -> Actor:
    """The registry's and audit trail's name for a staff member acting in the chat."""
    return Actor(member.name, member.telegram_user_id)


def when(moment: datetime | None) -> str:
    """A time for staff, in the desk's time zone."""
    return local(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def refusal(services: BotServices, exc: Exception) -> str:
    """What to tell an admin about a refused or failed step: a translated refusal, or the technical reason."""
    if isinstance(exc, LearningError) and exc.key and f"model_refused_{exc.key}" in TEXTS:
        return desk_text(services, f"model_refused_{exc.key}", **exc.values)
    if isinstance(exc, runlock.RetrainBusy):
        return busy_text(services, exc.holder)
    reason = str(exc).strip() or type(exc).__name__
    # Engine errors end with the last lines of Rasa's output: the head says what failed, the log has the rest.
    return desk_text(services, "model_failed", reason=reason[:1500])


def busy_text(services: BotServices, holder: runlock.Holder | None) -> str:
    """A retrain is running: who started it and when."""
    return desk_text(services, "model_busy", actor=holder.actor if holder else "-",
                     started=when(holder.started_at) if holder else "-")


async def admin_or_refuse(update: Update, context: BotContext) -> Member | None:
    """The sender if an admin in a private chat; other staff are told (both languages), customers are not."""
    member = await staff_or_refuse(update, context)
    if member is None:
        return None
    if member.role != StaffRole.ADMIN:
        await send(context, update.effective_chat.id, OutgoingMessage(text("model_admin_only", "zh")))
        return None
    return member if await private_only(update, context) else None


async def edit(application: Application, chat_id: int, message_id: int, body: str,
               keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Edit the desk's message; a failed edit is logged, never fatal (the registry already holds the outcome)."""
    try:
        await application.bot.edit_message_text(body, chat_id=chat_id, message_id=message_id, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            logger.warning("could not edit model desk message %s: %s", message_id, exc)
    except TelegramError as exc:
        logger.warning("could not edit model desk message %s: %s", message_id, exc)


# ---------------------------------------------------------------------------------------------- /retrain


def progress_text(services: BotServices, holder: runlock.Holder, current: Stage | None) -> str:
    """The progress message: every stage, done ✓, running ⏳ or still to come ·."""
    reached = STAGES.index(current) if current is not None else -1
    lines = []
    for index, stage in enumerate(STAGES):
        mark = "✓" if index < reached else "⏳" if index == reached else "·"
        lines.append(f"{mark} {desk_text(services, f'model_stage_{stage.value}')}")
    return desk_text(services, "model_progress", actor=holder.actor, started=when(holder.started_at),
                     stages="\n".join(lines))


async def retrain_command(update: Update, context: BotContext) -> None:
    """/retrain: export the labels and train a candidate in the background (admins only, one at a time)."""
    member = await admin_or_refuse(update, context)
    if member is None:
        return
    svc = context.services
    chat_id = update.effective_chat.id
    lock = runlock.lock_path(svc.settings)
    try:
        await asyncio.to_thread(runlock.ensure_free, lock)
    except runlock.RetrainBusy as exc:
        await send(context, chat_id, OutgoingMessage(busy_text(svc, exc.holder)))
        return
    holder = runlock.Holder(member.name, utcnow(), os.getpid(), chat_id=chat_id)
    sent = await send(context, chat_id, OutgoingMessage(progress_text(svc, holder, None)))
    if sent is None:
        return
    holder = runlock.Holder(holder.actor, holder.started_at, holder.pid, chat_id, sent.message_id)
    logger.info("staff %s started a retrain", member.id)
    # Not awaited: the handler returns at once, the chat's next updates (and every other chat) go on meanwhile.
    # Not Application.create_task either: stopping the bot would wait minutes for the training to end.
    task = asyncio.get_running_loop().create_task(run_retrain(context.application, svc, actor_of(member), holder))
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)


async def run_retrain(application: Application, svc: BotServices, actor: Actor, holder: runlock.Holder) -> None:
    """Run the retrain in a worker thread, editing its stages into the progress message, then show the gate."""
    assert holder.chat_id is not None and holder.message_id is not None
    chat_id, message_id = holder.chat_id, holder.message_id
    loop = asyncio.get_running_loop()
    settings = svc.settings
    root = settings.learn_project_root

    def stage(reached: Stage) -> None:
        """Called in the worker thread: edit the progress message in the event loop, in order."""
        future = asyncio.run_coroutine_threadsafe(
            edit(application, chat_id, message_id, progress_text(svc, holder, reached)), loop
        )
        try:
            future.result(timeout=EDIT_WAIT_SECONDS)
        except TimeoutError:
            logger.warning("a retrain progress edit took longer than %ss", EDIT_WAIT_SECONDS)

    def work() -> RetrainOutcome:
        """The command line's retrain with export, gated but not promoted: the admin decides."""
        engine = ensure_engine(settings)
        return retrain(settings, engine, svc.sessions, actor=actor, root=root, eval_paths=(root / "nlu" / "eval",),
                       promote=False, export=True, stages=stage, holder=holder)

    try:
        outcome = await in_daemon_thread(work)
    except (LearningError, runlock.RetrainBusy, RegistryError, EngineError, OSError, ValueError) as exc:
        # Staff by Telegram id, never by name, in the logs.
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        logger.warning("retrain by %s stopped: %s", actor.telegram_user_id, first_line)
        await edit(application, chat_id, message_id, refusal(svc, exc))
        return
    except Exception as exc:
        # A background task has no error handler: say it here, or the progress message would wait forever.
        logger.exception("retrain by %s failed", actor.telegram_user_id)
        await edit(application, chat_id, message_id, refusal(svc, exc))
        return
    body, keyboard = outcome_message(svc, outcome)
    await edit(application, chat_id, message_id, body, keyboard)


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """Run blocking work in a thread of its own that does not keep a stopping bot alive (unlike asyncio.to_thread).

    A bot stopped mid-retrain exits; the lock dies with it and the next start marks the progress message.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        """Hand the thread's result to the event loop (unless the waiting task was cancelled)."""
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        """The thread: run the work, report back."""
        try:
            result = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, which decides
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="retrain", daemon=True).start()
    return await done


def gate_lines(svc: BotServices, gate: GateResult, limit: int) -> list[str]:
    """The gate's side-by-side figures (the numbers `parceldesk learn retrain` prints), one line per measure.

    Intents whose F1 did not move are summed up in one line when everything would not fit in a Telegram message.
    """
    rows = gate.rows()
    rendered = []
    for row in rows:
        measure = desk_text(svc, "model_gate_accuracy") if row.measure == "accuracy" else row.measure
        mark = "⚠️ " if row.dropped else ""
        rendered.append(f"{mark}{measure}: {row.live} → {row.candidate} ({row.delta})")
    if sum(len(line) + 1 for line in rendered) <= limit:
        return rendered
    moved = [row.intent is None or row.delta not in ("+0.0", "-0.0") for row in rows]
    kept = [line for line, keep in zip(rendered, moved, strict=True) if keep]
    unchanged = len(rendered) - len(kept)
    return [*kept, desk_text(svc, "model_gate_unchanged", count=unchanged)]


def outcome_message(svc: BotServices, outcome: RetrainOutcome) -> tuple[str, InlineKeyboardMarkup | None]:
    """The retrain's result: nothing to do, or the gate's figures with Promote / Keep current when it passed."""
    lines = []
    if outcome.exported is not None:
        plan = outcome.exported.plan
        lines.append(desk_text(svc, "model_exported", written=plan.written, conflicts=len(plan.conflicts)))
    gate = outcome.gate
    if gate is None:
        lines.append(desk_text(svc, "model_already_live", version=outcome.version))
        return "\n".join(lines), None
    lines.append(desk_text(svc, "model_gate_passed" if gate.promote else "model_gate_failed"))
    lines.append(desk_text(svc, "model_gate_header", candidate=outcome.version, live=outcome.live_version or "-",
                           margin=f"{gate.margin:g}"))
    reasons = [f"• {reason}" for reason in gate.reasons]
    room = TELEGRAM_TEXT_LIMIT - 200 - sum(len(line) + 1 for line in lines + reasons)
    body = "\n".join([*lines, "", *gate_lines(svc, gate, room), "", *reasons]).strip()
    if not gate.promote or outcome.candidate_id is None:
        return body, None
    promote = f"{PREFIX}:p:{outcome.candidate_id}:{outcome.live_id or 0}"
    keep = f"{PREFIX}:k:{outcome.candidate_id}:{outcome.live_id or 0}"
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(desk_text(svc, "model_promote_button"), callback_data=promote),
        InlineKeyboardButton(desk_text(svc, "model_keep_button"), callback_data=keep),
    ]])
    return body, keyboard


# ---------------------------------------------------------------------------------------------- /rollback


def rollback_offer(svc: BotServices, plan: RollbackPlan) -> tuple[str, InlineKeyboardMarkup]:
    """The two models side by side, with Roll back / Cancel buttons naming both (a stale press is refused)."""

    def accuracy(value: float | None) -> str:
        """Held-out accuracy in percent."""
        return "-" if value is None else f"{value:.1%}"

    body = desk_text(
        svc, "model_rollback_offer", live=plan.live.version, live_accuracy=accuracy(plan.live.accuracy),
        live_promoted=when(plan.live.promoted_at), live_by=plan.live.promoted_by or "-",
        target=plan.target.version, target_accuracy=accuracy(plan.target.accuracy),
        target_promoted=when(plan.target.promoted_at), target_by=plan.target.promoted_by or "-",
    )
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(desk_text(svc, "model_rollback_button"),
                             callback_data=f"{PREFIX}:r:{plan.live.id}:{plan.target.id}"),
        InlineKeyboardButton(desk_text(svc, "model_cancel_button"), callback_data=f"{PREFIX}:c:0:0"),
    ]])
    return body, keyboard


async def rollback_command(update: Update, context: BotContext) -> None:
    """/rollback: show the live and the previous model and ask to confirm (admins only)."""
    if await admin_or_refuse(update, context) is None:
        return
    svc = context.services
    try:
        plan = await asyncio.to_thread(rollback_plan, svc.sessions)
    except LearningError as exc:
        await send(context, update.effective_chat.id, OutgoingMessage(refusal(svc, exc)))
        return
    body, keyboard = rollback_offer(svc, plan)
    await send(context, update.effective_chat.id, OutgoingMessage(body, keyboard))


# ---------------------------------------------------------------------------------------------- buttons


async def desk_pressed(update: Update, context: BotContext) -> None:
    """A model-desk button: Promote, Keep current, Roll back or Cancel (admins only, re-checked on every press)."""
    query = update.callback_query
    member = await staff_or_refuse_callback(update, context)
    if member is None:
        return
    svc = context.services
    if not await svc.db(lambda s: is_admin(s.get(Staff, member.id))):
        await query.answer(text("model_admin_only", "zh"), show_alert=True)
        return
    try:
        _, action, first, second = (query.data or "").split(":")
        first_id, second_id = int(first), int(second)
    except ValueError:
        await query.answer()
        return
    await query.answer()
    message = query.message
    if message is None:
        return
    chat_id, message_id = message.chat.id, message.message_id
    original = message.text or ""
    application = context.application
    if action == "k":
        # Nothing changes: the candidate stays registered, as after `parceldesk learn retrain --no-promote`.
        candidate, live = await svc.db(lambda s: (version_by_id(s, first_id), version_by_id(s, second_id)))
        kept = desk_text(svc, "model_kept", actor=member.name, live=live or "-", version=candidate or "-")
        await edit(application, chat_id, message_id, f"{original}\n\n{kept}")
        logger.info("staff %s kept the current model", member.id)
        return
    if action == "c":
        await edit(application, chat_id, message_id, f"{original}\n\n" + desk_text(svc, "model_rollback_cancelled"))
        return
    if action not in ("p", "r"):
        return
    # Buttons go first, so a second press cannot start a second switch while this one loads the model.
    await edit(application, chat_id, message_id, f"{original}\n\n" + desk_text(svc, "model_switching"))
    actor = actor_of(member)
    try:
        if action == "p":
            promoted = await asyncio.to_thread(
                promote_candidate, svc.settings, svc.sessions, first_id, gated_against=second_id or None,
                actor=actor,
            )
            result = promoted_text(svc, member, promoted)
        else:
            rolled = await asyncio.to_thread(rollback, svc.settings, svc.sessions, actor=actor,
                                             expect=(first_id, second_id))
            result = rolled_back_text(svc, member, rolled)
    except (LearningError, RegistryError, OSError) as exc:
        logger.warning("model desk %s by staff %s refused: %s", action, member.id, exc)
        result = refusal(svc, exc)
    else:
        logger.info("staff %s %s the model", member.id, "promoted" if action == "p" else "rolled back")
    await edit(application, chat_id, message_id, f"{original}\n\n{result}")


def version_by_id(session: Session, model_id: int) -> str | None:
    """A registry id's version (None for 0 or an unknown id)."""
    model = session.get(ModelVersion, model_id) if model_id else None
    return model.version if model else None


def where(svc: BotServices, switched: bool) -> str:
    """Whether the running Rasa serves the model now."""
    return desk_text(svc, "model_switched" if switched else "model_not_switched")


def promoted_text(svc: BotServices, member: Member, promoted: Promoted) -> str:
    """The Promote button's result."""
    return desk_text(svc, "model_promoted", actor=member.name, version=promoted.version,
                     replaced=promoted.replaced or "-", where=where(svc, promoted.switched))


def rolled_back_text(svc: BotServices, member: Member, outcome: RollbackOutcome) -> str:
    """The Roll back button's result."""
    return desk_text(svc, "model_rolled_back", actor=member.name, live=outcome.live, replaced=outcome.replaced,
                     where=where(svc, outcome.switched))


# ---------------------------------------------------------------------------------------------- after a restart


async def report_interrupted(application: Application) -> None:
    """At start: a retrain whose bot died mid-run left its record in the free lock; tell its progress message."""
    svc: BotServices = application.bot_data["services"]
    holder = await asyncio.to_thread(runlock.take_interrupted, runlock.lock_path(svc.settings))
    if holder is None or holder.chat_id is None or holder.message_id is None:
        return
    logger.info("a retrain started at %s was interrupted; told chat %s", holder.started_at.isoformat(), holder.chat_id)
    await edit(application, holder.chat_id, holder.message_id,
               progress_text(svc, holder, None) + "\n\n" + desk_text(svc, "model_interrupted"))
