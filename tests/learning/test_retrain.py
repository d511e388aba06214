"""learning.retrain without a running Rasa: promotion and rollback move the registry (audited), refusals say why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_sessionmaker, transaction
from core.settings import Settings
from crm import audit
from crm.models import AuditEntry, ModelStatus, ModelVersion
from learning import registry as model_registry
from learning.retrain import (
    Actor,
    LearningError,
    promote_candidate,
    promote_version,
    rollback,
    rollback_plan,
    serving_model,
    switch_model,
    version_of,
)
from tests.databases import TestDatabase
from tests.e2e.harness import free_port


@pytest.fixture()
def sessions(database: TestDatabase) -> Iterator[sessionmaker[Session]]:
    """A sessionmaker on an empty registry (the tests commit, so they clean up)."""
    factory = make_sessionmaker(database.engine)
    with transaction(factory) as session:
        session.execute(delete(ModelVersion))
    yield factory
    with transaction(factory) as session:
        session.execute(delete(ModelVersion))


@pytest.fixture()
def no_rasa(tmp_path: Path) -> Settings:
    """Settings whose Rasa URL has nobody listening."""
    return Settings(rasa_port=free_port(), cache_dir=tmp_path / "cache")


def register(sessions: sessionmaker[Session], path: Path) -> str:
    """A candidate for a model file that exists."""
    path.write_bytes(b"model")
    with transaction(sessions) as session:
        model_registry.register_candidate(session, version=version_of(path), model_path=str(path), data_hash="d" * 64)
    return version_of(path)


def test_version_is_the_model_file_name() -> None:
    """The registry version is what the bot logs: the file name without .tar.gz."""
    assert version_of(Path("/cache/models/parceldesk-0123456789abcdef.tar.gz")) == "parceldesk-0123456789abcdef"


def test_without_rasa_promotion_and_rollback_only_move_the_registry(
    sessions: sessionmaker[Session], no_rasa: Settings, tmp_path: Path
) -> None:
    """No server to switch: the registry still changes, and the command can say Rasa was not running."""
    assert serving_model(no_rasa) is None and switch_model(no_rasa, tmp_path / "x.tar.gz") is False
    first = register(sessions, tmp_path / "parceldesk-aaaa.tar.gz")
    second = register(sessions, tmp_path / "parceldesk-bbbb.tar.gz")
    assert promote_version(no_rasa, sessions, first, actor="t") is False
    assert promote_version(no_rasa, sessions, second, actor="t") is False
    outcome = rollback(no_rasa, sessions, actor="t")
    assert (outcome.live, outcome.replaced, outcome.switched) == (first, second, False)
    with sessions() as session:
        assert model_registry.live(session).version == first
        assert model_registry.get(session, second).status == ModelStatus.RETIRED


def test_rollback_refusals_name_the_reason(sessions: sessionmaker[Session], no_rasa: Settings, tmp_path: Path) -> None:
    """Nothing live, nothing to go back to, or the previous model's file deleted: refused, registry unchanged."""
    with pytest.raises(LearningError, match="no model is live"):
        rollback(no_rasa, sessions, actor="t")
    first = register(sessions, tmp_path / "parceldesk-aaaa.tar.gz")
    promote_version(no_rasa, sessions, first, actor="t")
    with pytest.raises(LearningError, match="only model ever promoted"):
        rollback(no_rasa, sessions, actor="t")
    second = register(sessions, tmp_path / "parceldesk-bbbb.tar.gz")
    promote_version(no_rasa, sessions, second, actor="t")
    (tmp_path / "parceldesk-aaaa.tar.gz").unlink()
    with pytest.raises(LearningError, match="is gone"):
        rollback(no_rasa, sessions, actor="t")
    with sessions() as session:
        assert model_registry.live(session).version == second


def test_promoting_a_model_whose_file_is_gone_is_refused(
    sessions: sessionmaker[Session], no_rasa: Settings, tmp_path: Path
) -> None:
    """A registered model whose file was deleted cannot go live."""
    version = register(sessions, tmp_path / "parceldesk-cccc.tar.gz")
    (tmp_path / "parceldesk-cccc.tar.gz").unlink()
    with pytest.raises(LearningError, match="is gone"):
        promote_version(no_rasa, sessions, version, actor="t")
    with sessions() as session:
        assert model_registry.live(session) is None


def model_id(sessions: sessionmaker[Session], version: str) -> int:
    """A version's registry id (what the chat's buttons carry)."""
    with sessions() as session:
        return model_registry.get(session, version).id


def model_audit(sessions: sessionmaker[Session]) -> list[tuple[str, str, int | None, str]]:
    """The model-change audit entries, oldest first: (version, change, Telegram id, actor)."""
    with sessions() as session:
        found = audit.entries(session, action=audit.MODEL_CHANGE, subject_kind="model")
        return [(e.subject_id, (e.details or {})["change"], e.actor_telegram_user_id, e.actor) for e in reversed(found)]


@pytest.fixture()
def no_audit(database: TestDatabase) -> Iterator[None]:
    """No model audit entries before and after the test (they commit)."""
    clear = delete(AuditEntry).where(AuditEntry.action == audit.MODEL_CHANGE)
    with transaction(make_sessionmaker(database.engine)) as session:
        session.execute(clear)
    yield
    with transaction(make_sessionmaker(database.engine)) as session:
        session.execute(clear)


@pytest.mark.usefixtures("no_audit")
def test_a_gated_candidate_goes_live_only_against_the_model_it_was_gated_against(
    sessions: sessionmaker[Session], no_rasa: Settings, tmp_path: Path
) -> None:
    """Promote goes live only for a candidate gated against today's live model (audited with the admin's id)."""
    ada = Actor("Ada", 4242)
    first = register(sessions, tmp_path / "parceldesk-aaaa.tar.gz")
    done = promote_candidate(no_rasa, sessions, model_id(sessions, first), gated_against=None, actor=ada)
    assert (done.version, done.replaced, done.switched) == (first, None, False)
    with pytest.raises(LearningError) as again:
        promote_candidate(no_rasa, sessions, model_id(sessions, first), gated_against=None, actor=ada)
    assert again.value.key == "not_candidate"

    second = register(sessions, tmp_path / "parceldesk-bbbb.tar.gz")
    with pytest.raises(LearningError) as stale:  # gated when nothing was live; now `first` is
        promote_candidate(no_rasa, sessions, model_id(sessions, second), gated_against=None, actor=ada)
    assert (stale.value.key, stale.value.values["live"]) == ("live_changed", first)
    third = register(sessions, tmp_path / "parceldesk-cccc.tar.gz")
    with transaction(sessions) as session:
        model_registry.reject(session, third, reasons=["worse"], actor="Ada")
    with pytest.raises(LearningError) as rejected:
        promote_candidate(no_rasa, sessions, model_id(sessions, third), gated_against=model_id(sessions, first),
                          actor=ada)
    assert rejected.value.key == "rejected"

    done = promote_candidate(no_rasa, sessions, model_id(sessions, second), gated_against=model_id(sessions, first),
                             actor=ada)
    assert (done.version, done.replaced) == (second, first)
    with sessions() as session:
        assert model_registry.live(session).version == second
        assert model_registry.get(session, second).promoted_by == "Ada"
    assert model_audit(sessions) == [(first, "promoted", 4242, "Ada"), (second, "promoted", 4242, "Ada")]


@pytest.mark.usefixtures("no_audit")
def test_a_confirmed_rollback_is_refused_when_the_models_changed_meanwhile(
    sessions: sessionmaker[Session], no_rasa: Settings, tmp_path: Path
) -> None:
    """The chat's Roll back names the two models it showed: if either changed since, nothing happens."""
    with pytest.raises(LearningError) as nothing:
        rollback_plan(sessions)
    assert nothing.value.key == "nothing_live"
    first = register(sessions, tmp_path / "parceldesk-aaaa.tar.gz")
    promote_version(no_rasa, sessions, first, actor="command line (tester)")
    with pytest.raises(LearningError) as alone:
        rollback_plan(sessions)
    assert (alone.value.key, alone.value.values) == ("no_previous", {"version": first})
    second = register(sessions, tmp_path / "parceldesk-bbbb.tar.gz")
    promote_version(no_rasa, sessions, second, actor="command line (tester)")
    plan = rollback_plan(sessions)
    assert (plan.live.version, plan.target.version) == (second, first)
    assert plan.live.promoted_by == "command line (tester)"

    third = register(sessions, tmp_path / "parceldesk-cccc.tar.gz")
    promote_version(no_rasa, sessions, third, actor="command line (tester)")  # someone promoted meanwhile
    with pytest.raises(LearningError) as changed:
        rollback(no_rasa, sessions, actor=Actor("Ada", 4242), expect=(plan.live.id, plan.target.id))
    assert (changed.value.key, changed.value.values["live"]) == ("rollback_changed", third)
    fresh = rollback_plan(sessions)
    outcome = rollback(no_rasa, sessions, actor=Actor("Ada", 4242), expect=(fresh.live.id, fresh.target.id))
    assert (outcome.live, outcome.replaced) == (second, third)
    assert model_audit(sessions) == [
        (first, "promoted", None, "command line (tester)"),
        (second, "promoted", None, "command line (tester)"),
        (third, "promoted", None, "command line (tester)"),
        (second, "rolled_back", 4242, "Ada"),
    ]
