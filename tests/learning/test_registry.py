"""The model registry: candidate -> live / rejected, one live model at a time, rollback one step at a time."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.models import ModelStatus, ModelVersion
from learning import registry
from learning.registry import RegistryError


def candidate(session: Session, name: str) -> str:
    """Register a candidate with a unique version; returns the version."""
    version = f"{name}-{uuid.uuid4().hex[:8]}"
    registry.register_candidate(session, version=version, model_path=f"/models/{version}.tar.gz", data_hash="ab" * 32)
    return version


@pytest.fixture(autouse=True)
def no_live_model(session: Session) -> None:
    """Each test starts without a live model (rows of other tests are rolled back anyway)."""
    session.execute(update(ModelVersion).values(status=ModelStatus.RETIRED, live_slot=None, rolled_back_at=None))


def test_promote_retires_the_previous_live_model(session: Session) -> None:
    """Promotion makes the candidate live and retires the model it replaces, recording who and when."""
    first, second = candidate(session, "v1"), candidate(session, "v2")
    registry.record_metrics(session, first, {"accuracy": 0.8})
    promoted = registry.promote(session, first, actor="Ada")
    assert promoted.replaced is None and promoted.live.promoted_by == "Ada" and promoted.live.promoted_at
    again = registry.promote(session, second, actor="Ada")
    assert again.replaced is not None and again.replaced.version == first
    assert registry.get(session, first).status == ModelStatus.RETIRED
    assert registry.live(session).version == second
    assert registry.get(session, first).metrics == {"accuracy": 0.8}
    with pytest.raises(RegistryError, match="already live"):
        registry.promote(session, second)


def test_rejected_candidates_never_go_live(session: Session) -> None:
    """The gate's rejection is final for that model and keeps the reasons; only candidates can be rejected."""
    live = candidate(session, "live")
    registry.promote(session, live)
    bad = candidate(session, "bad")
    rejected = registry.reject(session, bad, reasons=["F1 of track_shipment dropped more than 2 points"])
    assert rejected.status == ModelStatus.REJECTED and "track_shipment" in (rejected.notes or "")
    with pytest.raises(RegistryError, match="rejected"):
        registry.promote(session, bad)
    with pytest.raises(RegistryError, match="only a candidate"):
        registry.reject(session, live, reasons=[])
    with pytest.raises(RegistryError, match="already rejected"):
        registry.register_candidate(session, version=bad, model_path="x", data_hash="y")
    assert registry.live(session).version == live


def test_rollback_goes_back_one_step_each_time(session: Session) -> None:
    """v1 -> v2 -> v3, then rollback twice: v2, then v1; a rolled-back model is not a rollback target."""
    versions = [candidate(session, f"v{n}") for n in (1, 2, 3)]
    for version in versions:
        registry.promote(session, version)
    back = registry.rollback(session, actor="Ada")
    assert (back.live.version, back.replaced.version) == (versions[1], versions[2])
    assert "rolled back by Ada" in (registry.get(session, versions[2]).notes or "")
    assert registry.rollback(session).live.version == versions[0]
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback(session)
    # A deliberate re-promotion of a rolled-back model makes it a normal citizen again.
    registry.promote(session, versions[2])
    assert registry.rollback(session).live.version == versions[0]


def test_rollback_without_a_live_model(session: Session) -> None:
    """Nothing live: a clear error."""
    with pytest.raises(RegistryError, match="no model is live"):
        registry.rollback(session)


def test_the_database_allows_one_live_model(session: Session) -> None:
    """Two rows claiming the live slot: the unique constraint refuses the second."""
    first, second = candidate(session, "a"), candidate(session, "b")
    registry.promote(session, first)
    with pytest.raises(IntegrityError), session.begin_nested():
        registry.get(session, second).live_slot = 1
        session.flush()


def test_training_data_hash_follows_content_and_names(tmp_path: Path) -> None:
    """Same files, same hash; a changed example or a renamed file changes it."""
    data = tmp_path / "nlu"
    data.mkdir()
    (data / "a.yml").write_text("- hi\n", encoding="utf-8")
    (data / "b.yml").write_text("- bye\n", encoding="utf-8")
    files = sorted(data.glob("*.yml"))
    first = registry.training_data_hash(files, root=tmp_path)
    assert first == registry.training_data_hash(reversed(files), root=tmp_path)
    (data / "b.yml").write_text("- bye bye\n", encoding="utf-8")
    assert registry.training_data_hash(files, root=tmp_path) != first
    (data / "b.yml").rename(data / "c.yml")
    assert registry.training_data_hash(sorted(data.glob("*.yml")), root=tmp_path) != first
