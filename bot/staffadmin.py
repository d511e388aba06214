"""The admins' /staff command: list the staff, give someone a role, remove someone (every change audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session
from telegram import Update

from bot.context import BotContext
from bot.rendering import OutgoingMessage
from bot.speech import send
from bot.staffspeech import staff_or_refuse, staff_text, tell_staff
from crm.escalations import QueueError
from crm.models import Staff, StaffRole
from crm.staff import StaffError, deactivate_staff, is_admin, list_staff, register_staff, staff_member

T = TypeVar("T")


async def admin_change(context: BotContext, chat_id: int, work: Callable[[Session], T]) -> T | None:
    """Run one role change in a transaction; a refusal (not an admin, the last admin…) is told to the admin."""
    try:
        return await context.services.db(work)
    except QueueError as exc:
        await tell_staff(context, chat_id, str(exc))
    except StaffError as exc:
        await tell_staff(context, chat_id, exc.key)
    return None


async def staff_command(update: Update, context: BotContext) -> None:
    """/staff list | add <id> <role> [name] | remove <id>: manage roles (admins only; every change audited)."""
    member = await staff_or_refuse(update, context)
    if member is None:
        return
    chat_id = update.effective_chat.id
    if member.role != StaffRole.ADMIN:
        await tell_staff(context, chat_id, "staff_admin_only")
        return
    args = context.args or []
    verb = args[0].lower() if args else ""
    svc = context.services
    if verb == "list":
        rows = await svc.db(lambda s: [(m.telegram_user_id, m.name, m.role.value) for m in list_staff(s)])
        lines = [staff_text(context, "staff_list_header")] + [f"• {uid} · {name} · {role}" for uid, name, role in rows]
        await send(context, chat_id, OutgoingMessage("\n".join(lines)))
        return
    try:
        target = int(args[1])
    except (IndexError, ValueError):
        await tell_staff(context, chat_id, "staff_admin_usage")
        return
    if verb == "add":
        try:
            role = StaffRole(args[2].lower())
        except (IndexError, ValueError):
            await tell_staff(context, chat_id, "staff_admin_usage")
            return
        name = " ".join(args[3:]).strip()

        def add(session: Session) -> str:
            # Re-read (and lock) the actor in this transaction: they may have lost the role since the command began.
            actor = session.get(Staff, member.id, with_for_update=True)
            if not is_admin(actor):
                raise QueueError("staff_admin_only")
            existing = staff_member(session, target)
            chosen = name or (existing.name if existing else str(target))
            return register_staff(session, target, chosen, role, actor=actor).name

        saved = await admin_change(context, chat_id, add)
        if saved is None:
            return
        await tell_staff(context, chat_id, "staff_role_set", name=saved, user=target, role=role.value)
        return
    if verb == "remove":

        def remove(session: Session) -> bool:
            # The same in-transaction re-check as add: a demoted admin's command must not go through.
            actor = session.get(Staff, member.id, with_for_update=True)
            if not is_admin(actor):
                raise QueueError("staff_admin_only")
            return deactivate_staff(session, target, actor=actor)

        removed = await admin_change(context, chat_id, remove)
        if removed is None:
            return
        await tell_staff(context, chat_id, "staff_removed" if removed else "staff_unknown_member", user=target)
        return
    await tell_staff(context, chat_id, "staff_admin_usage")
