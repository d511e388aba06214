"""Service-centre staff: who may act as agent, supervisor, manager or admin."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Staff, StaffRole


def register_staff(session: Session, telegram_user_id: int, name: str, role: StaffRole) -> Staff:
    """Add a staff member, or update the name and role of an existing one."""
    member = session.scalars(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).one_or_none()
    if member is None:
        member = Staff(telegram_user_id=telegram_user_id, name=name, role=role, active=True)
        session.add(member)
    else:
        member.name, member.role, member.active = name, role, True
    session.flush()
    return member


def deactivate_staff(session: Session, telegram_user_id: int) -> bool:
    """Take a staff member's rights away (kept for history); False if unknown."""
    member = session.scalars(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).one_or_none()
    if member is None:
        return False
    member.active = False
    return True


def list_staff(session: Session, *, include_inactive: bool = False) -> list[Staff]:
    """Staff ordered by role and name."""
    statement = select(Staff).order_by(Staff.role, Staff.name)
    if not include_inactive:
        statement = statement.where(Staff.active.is_(True))
    return list(session.scalars(statement))


def staff_member(session: Session, telegram_user_id: int) -> Staff | None:
    """The active staff member with this Telegram user id, if any."""
    return session.scalars(
        select(Staff).where(Staff.telegram_user_id == telegram_user_id, Staff.active.is_(True))
    ).one_or_none()
