"""Service-centre staff: who may act as agent, supervisor, manager or admin (every change audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.models import Staff, StaffRole

# Roles that are told when a conversation misses its deadline twice.
SUPERVISING_ROLES = (StaffRole.SUPERVISOR, StaffRole.MANAGER)


def _actor_fields(actor: Staff | None) -> dict[str, object]:
    """Audit actor fields for a staff member (None = the command line)."""
    if actor is None:
        return {}
    return {"actor_telegram_user_id": actor.telegram_user_id, "actor": actor.name}


def register_staff(
    session: Session, telegram_user_id: int, name: str, role: StaffRole, *, actor: Staff | None = None
) -> Staff:
    """Add a staff member, or update the name and role of an existing one; audited as a role change."""
    member = session.scalars(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).one_or_none()
    before = None if member is None else (member.role.value if member.active else None)
    if member is None:
        member = Staff(telegram_user_id=telegram_user_id, name=name, role=role, active=True)
        session.add(member)
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
    """Take a staff member's rights away (kept for history; audited); False if unknown."""
    member = session.scalars(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).one_or_none()
    if member is None:
        return False
    before = member.role.value if member.active else None
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
