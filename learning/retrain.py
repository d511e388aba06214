"""Retrain, gate, promote and roll back the intent model: the engine side of the learning loop.

A candidate is the full Rasa model trained on the current data (cached by content hash, so its version is its
file name, `parceldesk-<hash>`, the same name the bot logs with every message). It is scored on the held-out
set next to the live model; `learning.gate.decide` promotes it only when accuracy does not drop and no intent loses
more than the margin. Promotion switches the running Rasa server with `PUT /model` (conversations live in the
SQL tracker store, so none is dropped) before the registry says so: a failed switch changes nothing.

The command line (`parceldesk learn …`) and the bot (/retrain, /rollback) both call these functions: one lock
(learning/runlock.py) keeps retrains to one at a time, and every promotion, rejection and rollback is written to
the registry and to the audit trail with who did it.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import transaction
from core.settings import PROJECT_ROOT, Settings
from core.tokens import rasa_token
from crm import audit
from crm.models import ModelStatus, ModelVersion
from learning import registry, runlock
from learning.export import ExportOutcome, export_labels
from learning.gate import DEFAULT_MARGIN, GateResult, decide
from learning.heldout import EVAL_DIR, heldout_examples, score_model
from nlu.toolchain import Engine, ensure_model, model_hash

Progress = Callable[[str], None]


class Stage(str, enum.Enum):
    """The steps of a retrain, announced in order (the bot edits them into one progress message)."""

    EXPORT = "export"
    TRAIN = "train"
    SCORE = "score"
    GATE = "gate"


StageReport = Callable[[Stage], None]


class LearningError(RuntimeError):
    """Retraining, promotion or rollback could not go ahead; the message says why and what to do.

    `key` names the refusal for front ends that speak other languages (the bot's texts); None for technical
    failures, whose message is shown as it is.
    """

    def __init__(self, message: str, *, key: str | None = None, **values: object) -> None:
        """The message for the command line, the key and values for translations."""
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Actor:
    """Who asks: a name for the registry and the audit trail, and their Telegram id when they asked in the chat."""

    name: str
    telegram_user_id: int | None = None


@dataclass(frozen=True)
class RetrainOutcome:
    """What one retrain did: the candidate, the gate's decision, and whether the running Rasa switched."""

    version: str
    model: Path
    gate: GateResult | None  # None when the candidate is the live model already (nothing to decide)
    promoted: bool
    switched: bool
    # Registry ids of the candidate and of the live model it was gated against (None: not registered / none live).
    candidate_id: int | None = None
    live_id: int | None = None
    live_version: str | None = None
    exported: ExportOutcome | None = None  # what was exported first (None when the run did not export)


@dataclass(frozen=True)
class ModelSummary:
    """A registry entry as people see it: version, held-out accuracy, when and by whom it went live."""

    id: int
    version: str
    accuracy: float | None
    promoted_at: datetime | None
    promoted_by: str | None

    @classmethod
    def of(cls, model: ModelVersion) -> ModelSummary:
        """Summarise a registry row."""
        accuracy = (model.metrics or {}).get("accuracy")
        return cls(model.id, model.version, accuracy if isinstance(accuracy, float) else None, model.promoted_at,
                   model.promoted_by)


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do: take `live` out of service and bring back `target`."""

    live: ModelSummary
    target: ModelSummary
    target_path: Path


@dataclass(frozen=True)
class RollbackOutcome:
    """The model now live after a rollback, the one taken out, and whether the running Rasa switched."""

    live: str
    replaced: str
    switched: bool


def version_of(model: Path) -> str:
    """A model's registry version: its file name without .tar.gz (parceldesk-<content hash>)."""
    return model.name.removesuffix(".tar.gz")


def _auth(settings: Settings) -> dict[str, str]:
    """Rasa's API token as its query parameter (`rasa run --auth-token`: 401 without it)."""
    return {"token": rasa_token(settings)}


def serving_model(settings: Settings) -> Path | None:
    """The file name of the model the running Rasa server has loaded, or None when no Rasa answers."""
    try:
        response = httpx.get(f"{settings.effective_rasa_url}/status", params=_auth(settings), timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code == 401:
        # A running Rasa with another token: say so, rather than promote in the registry without switching.
        raise LearningError(
            "Rasa refused the API token (401): it runs with another PARCELDESK_RASA_TOKEN or cache dir than "
            "this command"
        )
    if response.status_code != 200:
        return None
    model_file = response.json().get("model_file")
    return Path(model_file) if model_file else None


def switch_model(settings: Settings, model: Path) -> bool:
    """Load a model into the running Rasa server (PUT /model); False when no Rasa is running."""
    if serving_model(settings) is None:
        return False
    try:
        # Loading a model takes a while (TensorFlow graphs); the server keeps answering with the old one meanwhile.
        response = httpx.put(
            f"{settings.effective_rasa_url}/model",
            json={"model_file": str(model)},
            params=_auth(settings),
            timeout=httpx.Timeout(600),
        )
    except httpx.HTTPError as exc:
        raise LearningError(f"Rasa did not take model {model.name}: {exc}") from exc
    if response.status_code != 204:
        raise LearningError(f"Rasa refused model {model.name} ({response.status_code}): {response.text[:500]}")
    serving = serving_model(settings)
    # Rasa's /status reports the model's file name only, not its folder.
    if serving is None or serving.name != model.name:
        raise LearningError(f"Rasa answered 204 but serves {serving}, not {model.name}")
    return True


def live_model(sessions: sessionmaker[Session]) -> Path | None:
    """The registry's live model file, if one is live and its file still exists."""
    with sessions() as session:
        current = registry.live(session)
        if current is None:
            return None
        path = Path(current.model_path)
    return path if path.exists() else None


def _audit(session: Session, actor: Actor, version: str, change: str, **details: object) -> None:
    """One audit entry for a change of the live model (in the registry change's own transaction)."""
    audit.record(
        session, action=audit.MODEL_CHANGE, subject_kind="model", subject_id=version,
        actor_telegram_user_id=actor.telegram_user_id, actor=actor.name, details={"change": change, **details},
    )


def retrain(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    *,
    actor: str | Actor,
    margin: float = DEFAULT_MARGIN,
    root: Path = PROJECT_ROOT,
    eval_paths: Sequence[Path] = (EVAL_DIR,),
    promote: bool = True,
    export: bool = False,
    progress: Progress | None = None,
    stages: StageReport | None = None,
    holder: runlock.Holder | None = None,
) -> RetrainOutcome:
    """Train a candidate on root's data, score it and the live model on the held-out set, gate, promote or reject.

    One at a time (runlock.RetrainBusy otherwise). With export, the labelled messages are written into root's
    nlu/data/learned first, as `parceldesk learn export` does.
    """
    who = actor if isinstance(actor, Actor) else Actor(actor)
    holder = holder or runlock.Holder(who.name, utcnow(), os.getpid())
    with runlock.exclusive(runlock.lock_path(settings), holder):
        return _retrain(settings, engine, sessions, actor=who, margin=margin, root=root, eval_paths=eval_paths,
                        promote=promote, export=export, progress=progress or (lambda _line: None),
                        stages=stages or (lambda _stage: None))


def _retrain(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    margin: float,
    root: Path,
    eval_paths: Sequence[Path],
    promote: bool,
    export: bool,
    progress: Progress,
    stages: StageReport,
) -> RetrainOutcome:
    """The retrain itself, under the lock."""
    say = progress
    examples = heldout_examples(list(eval_paths))
    if not examples:
        raise LearningError(f"no held-out examples in {', '.join(map(str, eval_paths))}", key="no_heldout")
    exported = None
    if export:
        stages(Stage.EXPORT)
        with sessions() as session:
            exported = export_labels(session, root)
        say(f"exported {exported.plan.written} labelled examples ({len(exported.plan.conflicts)} conflicts left out)")
    stages(Stage.TRAIN)
    say(f"training the candidate for content hash {model_hash(root)} (cached: a few minutes cold)")
    candidate = ensure_model(settings, engine, say, root=root)
    version = version_of(candidate)
    data_hash = model_hash(root)
    with sessions() as session:
        current = registry.live(session)
        live_id, live_version, live_path = (
            (current.id, current.version, Path(current.model_path)) if current else (None, None, None)
        )
    if live_version == version:
        say(f"{version} is already live: the data has not changed since it was promoted")
        return RetrainOutcome(version, candidate, None, promoted=False, switched=False, live_id=live_id,
                              live_version=live_version, exported=exported)
    if live_path is not None and not live_path.exists():
        raise LearningError(
            f"the live model's file {live_path} is gone (cache cleared?); roll back with `parceldesk learn rollback` "
            "or retrain it from its data before gating a new candidate",
            key="live_file_gone", version=live_version,
        )
    stages(Stage.SCORE)
    say(f"scoring {version} on {len(examples)} held-out utterances")
    candidate_scores = score_model(engine, candidate, examples)
    live_scores = None
    if live_path is not None:
        say(f"scoring the live model {live_version} on the same utterances")
        live_scores = score_model(engine, live_path, examples)
    stages(Stage.GATE)
    gate = decide(live_scores, candidate_scores, margin=margin)
    with transaction(sessions) as session:
        registered = registry.register_candidate(
            session,
            version=version,
            model_path=str(candidate),
            data_hash=data_hash,
            metrics=candidate_scores.to_json(),
        )
        candidate_id = registered.id
        if not gate.promote:
            registry.reject(session, version, reasons=gate.reasons, actor=actor.name)
            _audit(session, actor, version, "rejected", against=live_version, reasons=gate.reasons)
    outcome = RetrainOutcome(version, candidate, gate, promoted=False, switched=False, candidate_id=candidate_id,
                             live_id=live_id, live_version=live_version, exported=exported)
    if not gate.promote or not promote:
        return outcome
    switched = _make_live(settings, sessions, version, candidate, actor, change="promoted", gate="passed")
    return RetrainOutcome(version, candidate, gate, promoted=True, switched=switched, candidate_id=candidate_id,
                          live_id=live_id, live_version=live_version, exported=exported)


def _make_live(
    settings: Settings, sessions: sessionmaker[Session], version: str, path: Path, actor: Actor, *, change: str,
    **details: object,
) -> bool:
    """Switch the running Rasa to a model, then make it live in the registry (audited); True if Rasa switched."""
    switched = switch_model(settings, path)
    with transaction(sessions) as session:
        done = registry.promote(session, version, actor=actor.name)
        _audit(session, actor, version, change, replaced=done.replaced.version if done.replaced else None,
               rasa_switched=switched, **details)
    return switched


def promote_version(
    settings: Settings, sessions: sessionmaker[Session], version: str, *, actor: str | Actor
) -> bool:
    """Make a candidate or retired model live by hand (after a gate run without --promote); True if Rasa switched."""
    who = actor if isinstance(actor, Actor) else Actor(actor)
    with sessions() as session:
        path = Path(registry.get(session, version).model_path)
    if not path.exists():
        raise LearningError(f"model file {path} is gone; retrain it", key="model_file_gone", version=version)
    return _make_live(settings, sessions, version, path, who, change="promoted", gate="by hand")


@dataclass(frozen=True)
class Promoted:
    """A gated candidate made live: its version, the model it replaced, and whether the running Rasa switched."""

    version: str
    replaced: str | None
    switched: bool


def promote_candidate(
    settings: Settings, sessions: sessionmaker[Session], candidate_id: int, *, gated_against: int | None,
    actor: Actor,
) -> Promoted:
    """Make a candidate live whose gate passed against the model that is live now (the chat's Promote button).

    A rejected candidate never goes live (the registry refuses it); a gate run against another live model than
    today's says nothing about this one, so that is refused too: retrain to gate again.
    """
    with sessions() as session:
        model = session.get(ModelVersion, candidate_id)
        if model is None:
            raise LearningError(f"no model with id {candidate_id} in the registry", key="unknown_model")
        current = registry.live(session)
        version, path, status = model.version, Path(model.model_path), model.status
        current_id, current_version = (current.id, current.version) if current else (None, None)
    if status == ModelStatus.REJECTED:
        raise LearningError(f"model {version} was rejected by the gate; train a new candidate", key="rejected",
                            version=version)
    if status != ModelStatus.CANDIDATE:
        raise LearningError(f"model {version} is {status.value} now, no longer a candidate", key="not_candidate",
                            version=version, status=status.value)
    if current_id != gated_against:
        raise LearningError(
            f"the live model changed since the gate ran (now {current_version or 'none'}); retrain to gate again",
            key="live_changed", version=version, live=current_version or "-",
        )
    if not path.exists():
        raise LearningError(f"model file {path} is gone; retrain it", key="model_file_gone", version=version)
    switched = _make_live(settings, sessions, version, path, actor, change="promoted", gate="passed")
    return Promoted(version, current_version, switched)


def rollback_plan(sessions: sessionmaker[Session]) -> RollbackPlan:
    """The live model and the one a rollback would bring back, or LearningError saying why there is none."""
    with sessions() as session:
        current = registry.live(session)
        target = registry.rollback_target(session)
        if current is None:
            raise LearningError("no model is live, so there is nothing to roll back", key="nothing_live")
        if target is None:
            raise LearningError(f"{current.version} is the only model ever promoted; nothing to roll back to",
                                key="no_previous", version=current.version)
        return RollbackPlan(ModelSummary.of(current), ModelSummary.of(target), Path(target.model_path))


def rollback(
    settings: Settings, sessions: sessionmaker[Session], *, actor: str | Actor,
    expect: tuple[int, int] | None = None,
) -> RollbackOutcome:
    """Bring back the previously live model, in the running Rasa first, then in the registry.

    expect = (live id, target id) as shown to the person confirming: refused if either changed meanwhile.
    """
    who = actor if isinstance(actor, Actor) else Actor(actor)
    plan = rollback_plan(sessions)
    if expect is not None and expect != (plan.live.id, plan.target.id):
        raise LearningError(
            f"the models changed since the rollback was offered (live now {plan.live.version}); look again",
            key="rollback_changed", live=plan.live.version,
        )
    if not plan.target_path.exists():
        raise LearningError(
            f"the previous model's file {plan.target_path} is gone (cache cleared?); cannot roll back",
            key="model_file_gone", version=plan.target.version,
        )
    switched = switch_model(settings, plan.target_path)
    with transaction(sessions) as session:
        done = registry.rollback(session, actor=who.name)
        live_version = done.live.version
        replaced = done.replaced.version if done.replaced else ""
        _audit(session, who, live_version, "rolled_back", replaced=replaced, rasa_switched=switched)
    if live_version != plan.target.version:
        raise LearningError(f"registry rolled back to {live_version}, expected {plan.target.version}")
    return RollbackOutcome(plan.target.version, replaced, switched)
