"""The audit trail: every customer profile view and every staff role change, with who did it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from crm.models import AuditEntry

PROFILE_VIEW = "profile_view"
# A staff member asked for a profile they may not see (an agent not holding the conversation): refused, recorded.
PROFILE_DENIED = "profile_denied"
ROLE_CHANGE = "role_change"
# Complaint tickets: a staff member (or the command line) opened a ticket card, or took, assigned, resolved or
# rejected one (crm/complaintdesk.py).
COMPLAINT_VIEW = "complaint_view"
COMPLAINT_CHANGE = "complaint_change"
# The intent model: a candidate promoted or rejected by the gate, or the live model rolled back (learning/retrain.py).
MODEL_CHANGE = "model_change"
CLI_ACTOR = "command line"


def record(
    session: Session,
    *,
    action: str,
    subject_kind: str,
    subject_id: object,
    actor_telegram_user_id: int | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry (in the caller's transaction, so it exists exactly when the action did)."""
    entry = AuditEntry(
        actor_telegram_user_id=actor_telegram_user_id,
        actor=actor or (str(actor_telegram_user_id) if actor_telegram_user_id is not None else CLI_ACTOR),
        action=action,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        details=details,
        created_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    action: str | None = None,
    subject_kind: str | None = None,
    actor_telegram_user_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The latest audit entries, newest first; optionally only one staff member's, or only about one customer."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if subject_kind is not None:
        statement = statement.where(AuditEntry.subject_kind == subject_kind)
    if actor_telegram_user_id is not None:
        statement = statement.where(AuditEntry.actor_telegram_user_id == actor_telegram_user_id)
    if customer_id is not None:
        statement = statement.where(AuditEntry.subject_kind == "customer", AuditEntry.subject_id == str(customer_id))
    return list(session.scalars(statement))
