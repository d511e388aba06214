"""The Rasa project itself: training data validates and the test stories pass with the real engine."""

from __future__ import annotations

from pathlib import Path

from core.settings import PROJECT_ROOT
from nlu.toolchain import Engine, EngineError


def run_rasa(engine: Engine, args: list[str], log: Path) -> str:
    """Run a rasa command and return its output (raising with the tail of it on failure)."""
    try:
        engine.run(args, log=log)
    except EngineError as exc:
        raise AssertionError(str(exc)) from exc
    return log.read_text(encoding="utf-8")


def test_rasa_data_validate(engine_model: tuple[Engine, Path], tmp_path: Path) -> None:
    """`rasa data validate` finds no errors (and no warnings) in domain, data and config."""
    engine, _ = engine_model
    output = run_rasa(
        engine,
        ["data", "validate", "--domain", "domain.yml", "--data", "nlu/data", "--config", "config.yml",
         "--fail-on-warnings"],
        tmp_path / "validate.log",
    )
    assert "error" not in output.lower().replace("errors", ""), output[-2000:]


def test_rasa_test_stories_pass(engine_model: tuple[Engine, Path], tmp_path: Path) -> None:
    """Every test story (both languages) is predicted correctly, NLU and dialogue."""
    engine, model = engine_model
    out = tmp_path / "results"
    run_rasa(
        engine,
        ["test", "core", "--model", str(model), "--stories", str(PROJECT_ROOT / "tests" / "stories"),
         "--out", str(out), "--fail-on-prediction-errors"],
        tmp_path / "test-core.log",
    )
    failed = out / "failed_test_stories.yml"
    assert not failed.exists() or "none of the test stories failed" in failed.read_text(encoding="utf-8").lower()
