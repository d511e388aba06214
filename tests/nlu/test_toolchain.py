"""Model caching by content hash: trained once into a scratch folder, then reused (engine faked at its CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, Settings
from nlu.toolchain import Engine, EngineError, ensure_model, ensure_nlu_model, model_hash


class RecordingEngine(Engine):
    """Stands in for `rasa train` (engine/train.py): records the call and writes the model file Rasa would write."""

    def train(
        self, args: list[str], *, progress: object = None, log: Path | None = None, cwd: Path | None = None
    ) -> None:
        """Write <out>/<fixed-model-name>.tar.gz unless told to fail silently."""
        self.calls.append(args)
        if self.write:
            out = Path(args[args.index("--out") + 1])
            (out / f"{args[args.index('--fixed-model-name') + 1]}.tar.gz").write_bytes(b"model")


def make_engine(tmp_path: Path, *, write: bool = True) -> RecordingEngine:
    """A fake engine with a private cache."""
    engine = RecordingEngine(tmp_path / "engine", Settings(cache_dir=tmp_path / "cache"))
    object.__setattr__(engine, "calls", [])
    object.__setattr__(engine, "write", write)
    return engine


def test_full_model_is_trained_once_then_reused(tmp_path: Path) -> None:
    """The first call trains into the cache under the content hash; the second reuses it; force retrains."""
    engine = make_engine(tmp_path)
    first = ensure_model(engine.settings, engine)
    assert first.name == f"parceldesk-{model_hash()}.tar.gz" and first.read_bytes() == b"model"
    assert ensure_model(engine.settings, engine) == first
    assert len(engine.calls) == 1 and engine.calls[0][:2] == ["train", "--config"]
    ensure_model(engine.settings, engine, force=True)
    assert len(engine.calls) == 2
    assert not any(p.name.startswith("training-") for p in first.parent.iterdir())


def test_nlu_model_per_config(tmp_path: Path) -> None:
    """NLU-only models are keyed by their pipeline config too."""
    engine = make_engine(tmp_path)
    ours = ensure_nlu_model(engine.settings, engine, PROJECT_ROOT / "config.yml")
    stock = ensure_nlu_model(engine.settings, engine, PROJECT_ROOT / "nlu" / "baselines" / "stock_config.yml")
    assert ours != stock and ours.exists() and stock.exists()
    assert [call[:2] for call in engine.calls] == [["train", "nlu"], ["train", "nlu"]]


def test_training_that_writes_no_model_is_an_error(tmp_path: Path) -> None:
    """Rasa exiting 0 without a model file is reported, not cached."""
    engine = make_engine(tmp_path, write=False)
    with pytest.raises(EngineError, match="wrote no model"):
        ensure_model(engine.settings, engine)
