"""Service-centre staff: who may act as agent, supervisor, manager or admin (every change audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm import audit
from crm.models import Staff, StaffRole

# Roles that are told when a conversation misses its deadline twice.
SUPERVISING_ROLES = (StaffRole.SUPERVISOR, StaffRole.MANAGER)


class StaffError(Exception):
    """A role change that must not happen; `key` names the reason for the caller's texts."""

    def __init__(self, key: str) -> None:
        """Keep the key (staff_last_admin)."""
        super().__init__(key)
        self.key = key


def _leave_admin_role(session: Session, member: Staff, **changes: Any) -> None:
    """Apply changes that take an active admin's rights away, only while another active admin remains.

    Two admins removing each other at once must not leave none. On PostgreSQL the admin rows are locked first
    (SELECT … FOR UPDATE), so the second transaction waits and then sees the first one's change. SQLite ignores
    FOR UPDATE, so the write itself is one conditional UPDATE (SQLite runs one writer at a time): it changes
    the row only if the count of other active admins, taken by that same statement, is above zero.
    Raises StaffError("staff_last_admin") when nobody else would remain.
    """
    session.scalars(
        select(Staff.id).where(Staff.active.is_(True), Staff.role == StaffRole.ADMIN).with_for_update()
    ).all()
    others = (
        select(func.count(Staff.id))
        .where(Staff.active.is_(True), Staff.role == StaffRole.ADMIN, Staff.id != member.id)
        .scalar_subquery()
    )
    result = session.execute(
        update(Staff).where(Staff.id == member.id, others > 0).values(**changes),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaffError("staff_last_admin")
    session.refresh(member)


def _actor_fields(actor: Staff | None) -> dict[str, object]:
    """Audit actor fields for a staff member (None = the command line)."""
    if actor is None:
        return {}
    return {"actor_telegram_user_id": actor.telegram_user_id, "actor": actor.name}


def register_staff(
    session: Session, telegram_user_id: int, name: str, role: StaffRole, *, actor: Staff | None = None
) -> Staff:
    """Add a staff member, or update the name and role of an existing one; audited as a role change.

    Raises StaffError("staff_last_admin") instead of demoting the last active admin.
    """
    member = session.scalars(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).one_or_none()
    before = None if member is None else (member.role.value if member.active else None)
    if member is None:
        member = Staff(telegram_user_id=telegram_user_id, name=name, role=role, active=True)
        session.add(member)
    elif is_admin(member) and role != StaffRole.ADMIN:
        _leave_admin_role(session, member, name=name, role=role)
    else:
        member.name, member.role, member.active = name, role, True
    session.flush()
    audit.record(
        session,
        action=audit.ROLE_CHANGE,
        subject_kind="staff",
        subject_id=telegram_user_id,
        details={"from": before, "to": role.value, "name": name},
        **_actor_fields(actor),  # type: ignore[arg-type]
    )
    return member


def deactivate_staff(session: Session, telegram_user_id: int, *, actor: Staff | None = None) -> bool:
    """Take a staff member's rights away (kept for history; audited); False if unknown.

    Raises StaffError("staff_last_admin") for the last active admin: nobody could manage roles any more.
    """
    member = session.scalars(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).one_or_none()
    if member is None:
        return False
    before = member.role.value if member.active else None
    if is_admin(member):
        _leave_admin_role(session, member, active=False, current_escalation_id=None)
    else:
        member.active = False
        member.current_escalation_id = None
    audit.record(
        session,
        action=audit.ROLE_CHANGE,
        subject_kind="staff",
        subject_id=telegram_user_id,
        details={"from": before, "to": None, "name": member.name},
        **_actor_fields(actor),  # type: ignore[arg-type]
    )
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


def supervisors(session: Session) -> list[Staff]:
    """Active supervisors and managers (who hear about missed deadlines)."""
    return list(
        session.scalars(
            select(Staff).where(Staff.active.is_(True), Staff.role.in_(SUPERVISING_ROLES)).order_by(Staff.id)
        )
    )


def is_admin(member: Staff | None) -> bool:
    """Whether this staff member may change roles."""
    return member is not None and member.active and member.role == StaffRole.ADMIN
