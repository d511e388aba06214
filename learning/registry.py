"""The model registry: every trained intent model, its training-data hash, its scores, and which one is live.

Life of a model: `register_candidate` (after training) -> `record_metrics` (after the held-out evaluation)
-> `promote` (the gate passed; the previous live model is retired) or `reject` (the gate failed).
`rollback` takes the live model out of service and brings back the one it replaced. At most one model is
live, guaranteed by the database (a unique `live_slot`), so two promotions racing cannot both win.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from crm.models import ModelStatus, ModelVersion

CLI_ACTOR = "command line"


class RegistryError(Exception):
    """A registry transition that is not allowed (the message says why, for the command line)."""


@dataclass(frozen=True)
class Promotion:
    """The result of promote or rollback: the model now live and the one it replaced (if any)."""

    live: ModelVersion
    replaced: ModelVersion | None


def training_data_hash(files: Iterable[Path], *, root: Path) -> str:
    """A SHA-256 over the given files' paths (relative to root) and contents, in path order."""
    digest = hashlib.sha256()
    for path in sorted(Path(f) for f in files):
        digest.update(path.resolve().relative_to(root.resolve()).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def get(session: Session, version: str) -> ModelVersion:
    """A model by version, or RegistryError."""
    found = session.scalars(select(ModelVersion).where(ModelVersion.version == version)).one_or_none()
    if found is None:
        raise RegistryError(f"no model version {version!r} in the registry")
    return found


def live(session: Session) -> ModelVersion | None:
    """The live model, if any."""
    return session.scalars(select(ModelVersion).where(ModelVersion.status == ModelStatus.LIVE)).one_or_none()


def history(session: Session, *, limit: int = 50) -> list[ModelVersion]:
    """Models newest first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit)))


def register_candidate(
    session: Session, *, version: str, model_path: str, data_hash: str, metrics: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ModelVersion:
    """Record a freshly trained model as a candidate (registering the same candidate again updates it)."""
    existing = session.scalars(select(ModelVersion).where(ModelVersion.version == version)).one_or_none()
    if existing is not None:
        if existing.status != ModelStatus.CANDIDATE:
            raise RegistryError(f"model {version} is already {existing.status.value}")
        existing.model_path, existing.data_hash = model_path, data_hash
        if metrics is not None:
            existing.metrics = metrics
        return existing
    model = ModelVersion(
        version=version, model_path=model_path, data_hash=data_hash, metrics=metrics,
        status=ModelStatus.CANDIDATE, created_at=now or utcnow(),
    )
    session.add(model)
    session.flush()
    return model


def record_metrics(session: Session, version: str, metrics: dict[str, Any]) -> ModelVersion:
    """Store a model's evaluation (e.g. learning.scoring.Scores.to_json()); allowed in any state."""
    model = get(session, version)
    model.metrics = metrics
    return model


def reject(session: Session, version: str, *, reasons: Iterable[str], actor: str = CLI_ACTOR,
           now: datetime | None = None) -> ModelVersion:
    """The gate said no: a candidate becomes rejected, with the reasons kept."""
    model = get(session, version)
    if model.status != ModelStatus.CANDIDATE:
        raise RegistryError(f"only a candidate can be rejected; {version} is {model.status.value}")
    model.status = ModelStatus.REJECTED
    stamp = (now or utcnow()).isoformat(timespec="seconds")
    model.notes = "\n".join([f"rejected by {actor} at {stamp}", *reasons])
    return model


def _take_live_slot(session: Session, model: ModelVersion) -> None:
    """Make a model the live one (the unique live_slot turns a racing second promotion into an error)."""
    model.status = ModelStatus.LIVE
    model.live_slot = 1
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise RegistryError("another model was made live at the same time; try again") from exc


def _retire(session: Session, model: ModelVersion, now: datetime) -> None:
    """Take a live model out of service (kept as a rollback target)."""
    model.status = ModelStatus.RETIRED
    model.live_slot = None
    model.retired_at = now
    session.flush()


def promote(session: Session, version: str, *, actor: str = CLI_ACTOR, now: datetime | None = None) -> Promotion:
    """Make a candidate (or a retired model, deliberately) live; the live one is retired."""
    now = now or utcnow()
    model = get(session, version)
    if model.status == ModelStatus.LIVE:
        raise RegistryError(f"model {version} is already live")
    if model.status == ModelStatus.REJECTED:
        raise RegistryError(f"model {version} was rejected; train a new candidate")
    current = live(session)
    if current is not None:
        _retire(session, current, now)
    model.promoted_at = now
    model.promoted_by = actor
    model.retired_at = None
    model.rolled_back_at = None
    _take_live_slot(session, model)
    return Promotion(model, current)


def rollback_target(session: Session) -> ModelVersion | None:
    """The model a rollback would bring back: the most recently promoted retired one not rolled back itself."""
    return session.scalars(
        select(ModelVersion)
        .where(
            ModelVersion.status == ModelStatus.RETIRED,
            ModelVersion.rolled_back_at.is_(None),
            ModelVersion.promoted_at.is_not(None),
        )
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
        .limit(1)
    ).one_or_none()


def rollback(session: Session, *, actor: str = CLI_ACTOR, now: datetime | None = None) -> Promotion:
    """Take the live model out of service and bring back the previous one (repeatable, one step each time)."""
    now = now or utcnow()
    current = live(session)
    if current is None:
        raise RegistryError("no model is live, so there is nothing to roll back")
    target = rollback_target(session)
    if target is None:
        raise RegistryError(f"model {current.version} is the only one ever promoted; nothing to roll back to")
    _retire(session, current, now)
    current.rolled_back_at = now
    stamp = now.isoformat(timespec="seconds")
    current.notes = "\n".join(filter(None, [current.notes, f"rolled back by {actor} at {stamp}"]))
    target.promoted_at = now
    target.promoted_by = actor
    target.retired_at = None
    _take_live_slot(session, target)
    return Promotion(target, current)
