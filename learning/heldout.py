"""`parceldesk nlu evaluate`: our pipeline and Rasa's stock pipeline, same training data, scored on held-out data."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from core.settings import PROJECT_ROOT, Settings
from learning.scoring import (
    Prediction,
    Scores,
    confusion_table,
    markdown_table,
    per_intent_table,
    score,
    threshold_sweep,
    threshold_table,
)
from nlu.examples import Example, load_examples
from nlu.toolchain import Engine, ensure_engine, ensure_nlu_model, parse_texts

EVAL_DIR = PROJECT_ROOT / "nlu" / "eval"
SWEEP_THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
PIPELINES = {
    "parceldesk": PROJECT_ROOT / "config.yml",
    "parceldesk-sparse": PROJECT_ROOT / "nlu" / "baselines" / "sparse_config.yml",
    "rasa-stock": PROJECT_ROOT / "nlu" / "baselines" / "stock_config.yml",
}


def select_pipelines(choices: list[str]) -> dict[str, Path]:
    """Known pipeline names or project config files, in the order given; ValueError names what is unknown."""
    selected: dict[str, Path] = {}
    for choice in choices:
        if choice in PIPELINES:
            selected[choice] = PIPELINES[choice]
            continue
        path = (PROJECT_ROOT / choice).resolve()
        if not path.is_file() or PROJECT_ROOT not in path.parents:
            known = ", ".join(PIPELINES)
            raise ValueError(f"unknown pipeline {choice!r}: use one of {known} or a config file inside the project")
        selected[path.stem] = path
    return selected


def score_model(engine: Engine, model: Path, examples: Sequence[Example]) -> Scores:
    """Parse the examples with a model and score them (with the fallback-threshold sweep)."""
    records = parse_texts(engine, model, [e.text for e in examples])
    predictions = [Prediction.from_json(r) for r in records]
    scores = score(examples, predictions)
    scores.sweep = threshold_sweep(examples, predictions, SWEEP_THRESHOLDS)
    return scores


def heldout_examples(paths: list[Path]) -> list[Example]:
    """The held-out examples, whitespace-normalised like the parser sees them."""
    return [replace(e, text=" ".join(e.text.split())) for e in load_examples(paths)]


def evaluate(
    settings: Settings, console: Console, *, eval_paths: list[Path], pipelines: dict[str, Path]
) -> dict[str, Scores]:
    """Train (or reuse) each pipeline's NLU model, parse the held-out set, and score it."""
    examples = heldout_examples(eval_paths)
    if not examples:
        raise ValueError(f"no examples found in {', '.join(map(str, eval_paths))}")
    engine = ensure_engine(settings)
    results: dict[str, Scores] = {}
    for name, config in pipelines.items():
        started = time.monotonic()
        with console.status(f"{name}: training on nlu/data (cached by content hash)…") as status:
            model = ensure_nlu_model(
                settings, engine, config, progress=lambda line, label=name: status.update(f"{label}: {line[:90]}")
            )
        with console.status(f"{name}: parsing {len(examples)} held-out utterances…"):
            results[name] = score_model(engine, model, examples)
        console.print(f"[green]✓[/] {name}: accuracy {results[name].accuracy:.1%} ({time.monotonic() - started:.0f}s)")
    return results


def write_report(results: dict[str, Scores], examples: int, output: Path) -> str:
    """Write JSON and markdown results next to each other; return the markdown."""
    output.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    first = next(iter(results.values()))
    markdown = (
        f"# Intent model on the held-out set\n\n{examples} utterances from `nlu/eval/` (never trained on), "
        f"measured {stamp} with `parceldesk nlu evaluate`. `nlu_fallback` counts as an error.\n\n"
        + markdown_table(results)
        + f"\n## Per intent ({next(iter(results))})\n\n"
        + per_intent_table(first)
        + f"\n## Most frequent confusions ({next(iter(results))})\n\n"
        + confusion_table(first)
        + f"\n## Fallback threshold ({next(iter(results))})\n\n"
        + "What each confidence threshold would do (the top confidence only; the ambiguity rule is ignored).\n\n"
        + threshold_table(first.sweep)
    )
    output.with_suffix(".md").write_text(markdown, encoding="utf-8")
    output.with_suffix(".json").write_text(
        json.dumps(
            {"measured_at": stamp, "results": {k: v.to_json() for k, v in results.items()}},
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return markdown
