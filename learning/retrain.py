"""Retrain, gate, promote and roll back the intent model: the engine side of the learning loop.

A candidate is the full Rasa model trained on the current data (cached by content hash, so its version is its
file name, `parceldesk-<hash>`, the same name the bot logs with every message). It is scored on the held-out
set next to the live model; `learning.gate.decide` promotes it only when accuracy does not drop and no intent loses
more than the margin. Promotion switches the running Rasa server with `PUT /model` (conversations live in the
SQL tracker store, so none is dropped) before the registry says so: a failed switch changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from core.settings import PROJECT_ROOT, Settings
from core.tokens import rasa_token
from learning import registry
from learning.gate import DEFAULT_MARGIN, GateResult, decide
from learning.heldout import EVAL_DIR, heldout_examples, score_model
from nlu.toolchain import Engine, ensure_model, model_hash

Progress = Callable[[str], None]


class LearningError(RuntimeError):
    """Retraining, promotion or rollback could not go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class RetrainOutcome:
    """What one retrain did: the candidate, the gate's decision, and whether the running Rasa switched."""

    version: str
    model: Path
    gate: GateResult | None  # None when the candidate is the live model already (nothing to decide)
    promoted: bool
    switched: bool


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


def retrain(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    *,
    actor: str,
    margin: float = DEFAULT_MARGIN,
    root: Path = PROJECT_ROOT,
    eval_paths: Sequence[Path] = (EVAL_DIR,),
    promote: bool = True,
    progress: Progress | None = None,
) -> RetrainOutcome:
    """Train a candidate on root's data, score it and the live model on the held-out set, gate, promote or reject."""
    say = progress or (lambda _line: None)
    examples = heldout_examples(list(eval_paths))
    if not examples:
        raise LearningError(f"no held-out examples in {', '.join(map(str, eval_paths))}")
    say(f"training the candidate for content hash {model_hash(root)} (cached: a few minutes cold)")
    candidate = ensure_model(settings, engine, say, root=root)
    version = version_of(candidate)
    data_hash = model_hash(root)
    with sessions() as session:
        current = registry.live(session)
        live_version, live_path = (current.version, Path(current.model_path)) if current else (None, None)
    if live_version == version:
        say(f"{version} is already live: the data has not changed since it was promoted")
        return RetrainOutcome(version, candidate, None, promoted=False, switched=False)
    if live_path is not None and not live_path.exists():
        raise LearningError(
            f"the live model's file {live_path} is gone (cache cleared?); roll back with `parceldesk learn rollback` "
            "or retrain it from its data before gating a new candidate"
        )
    say(f"scoring {version} on {len(examples)} held-out utterances")
    candidate_scores = score_model(engine, candidate, examples)
    live_scores = None
    if live_path is not None:
        say(f"scoring the live model {live_version} on the same utterances")
        live_scores = score_model(engine, live_path, examples)
    gate = decide(live_scores, candidate_scores, margin=margin)
    with sessions() as session, session.begin():
        registry.register_candidate(
            session,
            version=version,
            model_path=str(candidate),
            data_hash=data_hash,
            metrics=candidate_scores.to_json(),
        )
    if not gate.promote or not promote:
        if not gate.promote:
            with sessions() as session, session.begin():
                registry.reject(session, version, reasons=gate.reasons, actor=actor)
        return RetrainOutcome(version, candidate, gate, promoted=False, switched=False)
    switched = switch_model(settings, candidate)
    with sessions() as session, session.begin():
        registry.promote(session, version, actor=actor)
    return RetrainOutcome(version, candidate, gate, promoted=True, switched=switched)


def promote_version(settings: Settings, sessions: sessionmaker[Session], version: str, *, actor: str) -> bool:
    """Make a candidate or retired model live by hand (after a gate run without --promote); True if Rasa switched."""
    with sessions() as session:
        path = Path(registry.get(session, version).model_path)
    if not path.exists():
        raise LearningError(f"model file {path} is gone; retrain it")
    switched = switch_model(settings, path)
    with sessions() as session, session.begin():
        registry.promote(session, version, actor=actor)
    return switched


def rollback(settings: Settings, sessions: sessionmaker[Session], *, actor: str) -> RollbackOutcome:
    """Bring back the previously live model, in the running Rasa first, then in the registry."""
    with sessions() as session:
        current = registry.live(session)
        target = registry.rollback_target(session)
        if current is None:
            raise LearningError("no model is live, so there is nothing to roll back")
        if target is None:
            raise LearningError(f"{current.version} is the only model ever promoted; nothing to roll back to")
        target_path, target_version = Path(target.model_path), target.version
    if not target_path.exists():
        raise LearningError(f"the previous model's file {target_path} is gone (cache cleared?); cannot roll back")
    switched = switch_model(settings, target_path)
    with sessions() as session, session.begin():
        done = registry.rollback(session, actor=actor)
        live_version = done.live.version
        replaced = done.replaced.version if done.replaced else ""
    if live_version != target_version:
        raise LearningError(f"registry rolled back to {live_version}, expected {target_version}")
    return RollbackOutcome(target_version, replaced, switched)
