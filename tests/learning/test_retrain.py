"""learning.retrain without a running Rasa: promotion and rollback still move the registry, refusals say why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_sessionmaker, transaction
from core.settings import Settings
from crm.models import ModelStatus, ModelVersion
from learning import registry as model_registry
from learning.retrain import LearningError, promote_version, rollback, serving_model, switch_model, version_of
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
