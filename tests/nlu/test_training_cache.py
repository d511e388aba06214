"""engine/train.py: Rasa's training cache keyed by each node's fingerprint key, in the real engine environment.

A small NLU pipeline is trained three times into one Rasa cache: on data A, on data B (one example's intent
changed), and on A again. B must be trained from its own data, never from A's cached outputs; the third training
restores A's components from the cache instead of training them again.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, load_settings
from nlu.toolchain import Engine, ensure_engine

CONFIG = textwrap.dedent(
    """
    recipe: default.v1
    language: en
    assistant_id: cache-test
    pipeline:
      - name: WhitespaceTokenizer
      - name: CountVectorsFeaturizer
        analyzer: char_wb
        min_ngram: 1
        max_ngram: 3
      - name: LogisticRegressionClassifier
    policies: []
    """
)
DOMAIN = 'version: "3.1"\nintents:\n  - greet\n  - goodbye\n'


def nlu_data(bye_label: str) -> str:
    """Training data in which the text 'see you soon' carries bye_label."""
    greet = ["hello", "hi there", "good morning", "hey", "hello again", "howdy"]
    goodbye = ["bye", "goodbye", "see you later", "farewell", "bye bye", "ciao"]
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in (("greet", greet), ("goodbye", goodbye)):
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in texts]
        if intent == bye_label:
            lines.append("    - see you soon")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The real engine environment."""
    return ensure_engine(load_settings())


def train(engine: Engine, project: Path, name: str, cache: Path) -> str:
    """Train the project's NLU through engine/train.py into one Rasa cache; return the training log."""
    env = {**engine.env(), "RASA_CACHE_DIRECTORY": str(cache)}
    result = subprocess.run(
        [str(engine.python), str(PROJECT_ROOT / "engine" / "train.py"), "train", "nlu", "--config", "config.yml",
         "--domain", "domain.yml", "--nlu", "nlu.yml", "--out", "models", "--fixed-model-name", name],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def parse(engine: Engine, model: Path, text: str) -> str:
    """The intent a model gives text."""
    result = subprocess.run(
        [str(engine.python), str(PROJECT_ROOT / "engine" / "parse.py"), str(model)],
        input=text + "\n", capture_output=True, text=True, env=engine.env(), cwd=PROJECT_ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return str(json.loads(result.stdout.splitlines()[0])["best_intent"])


def test_changed_data_retrains_and_unchanged_data_reuses_the_cache(engine: Engine, tmp_path: Path) -> None:
    """Data B is trained from B (not A's cached outputs); A again is restored from the cache."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.yml").write_text(CONFIG)
    (project / "domain.yml").write_text(DOMAIN)
    cache = tmp_path / "rasa-cache"

    (project / "nlu.yml").write_text(nlu_data("greet"))
    first = train(engine, project, "a", cache)
    assert "Starting to train component 'LogisticRegressionClassifier'" in first
    (project / "nlu.yml").write_text(nlu_data("goodbye"))
    second = train(engine, project, "b", cache)
    assert "Starting to train component 'LogisticRegressionClassifier'" in second
    (project / "nlu.yml").write_text(nlu_data("greet"))
    third = train(engine, project, "a2", cache)
    assert "Starting to train component 'LogisticRegressionClassifier'" not in third
    assert "Restored component 'LogisticRegressionClassifier' from cache" in third

    assert parse(engine, project / "models" / "a.tar.gz", "see you soon") == "greet"
    assert parse(engine, project / "models" / "b.tar.gz", "see you soon") == "goodbye"
    assert parse(engine, project / "models" / "a2.tar.gz", "see you soon") == "greet"
