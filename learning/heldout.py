"""`parceldesk nlu evaluate`: our pipeline and the comparison pipelines, same training data, scored on each eval set.

The sets live in nlu/eval/ and are never trained on: the files directly in it are the clean held-out set (the
retraining gate uses it); its sub-folders are the sets written like real customers (noisy, loose wording,
off-topic), reported separately, with the off-topic false-accept rate per language.
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from core.settings import PROJECT_ROOT, Settings
from learning.scoring import (
    Prediction,
    Scores,
    confusion_table,
    false_accepts,
    markdown_table,
    per_intent_table,
    score,
    threshold_sweep,
    threshold_table,
)
from nlu.examples import Example, load_examples
from nlu.toolchain import Engine, ensure_engine, ensure_nlu_model, nlu_model_path, parse_texts

EVAL_DIR = PROJECT_ROOT / "nlu" / "eval"
# The sets, by name: the clean held-out set first (its detail tables go into the report).
SETS: dict[str, Path] = {
    "heldout": EVAL_DIR,
    "noisy": EVAL_DIR / "noisy",
    "loose": EVAL_DIR / "loose",
    "offtopic": EVAL_DIR / "offtopic",
}
OFF_TOPIC = "offtopic"
# The general complaint intent: labelled in the customer sets, trained once its data is merged. Scores are
# also given without its items, so the numbers compare across that merge.
GENERAL_COMPLAINT = "complain"
SWEEP_THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
PIPELINES = {
    "parceldesk": PROJECT_ROOT / "config.yml",
    # config.yml before issue 14 (USE only, Rasa's neural FAQ selector), on the same training data.
    "parceldesk-before": PROJECT_ROOT / "nlu" / "baselines" / "before_issue14.yml",
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


def select_sets(choices: list[str] | None) -> dict[str, Path]:
    """The named eval sets in the order given (all when None); ValueError names what is unknown."""
    if not choices:
        return dict(SETS)
    unknown = [c for c in choices if c not in SETS]
    if unknown:
        raise ValueError(f"unknown eval set(s) {', '.join(unknown)}: use {', '.join(SETS)}")
    return {c: SETS[c] for c in choices}


def heldout_examples(paths: list[Path]) -> list[Example]:
    """The examples of files or folders, whitespace-normalised like the parser sees them.

    A folder means its own *.yml files, not its sub-folders: nlu/eval/ is the clean held-out set, and the
    customer sets below it are scored on their own.
    """
    files = [f for p in paths for f in (sorted(p.glob("*.yml")) if p.is_dir() else [p])]
    return [replace(e, text=" ".join(e.text.split())) for e in load_examples(files)]


def set_examples(path: Path) -> list[Example]:
    """One eval set's examples: the clean set's own files, or everything in a customer set's folder."""
    if path == EVAL_DIR:
        return heldout_examples([path])
    return [replace(e, text=" ".join(e.text.split())) for e in load_examples([path])]


def score_records(examples: Sequence[Example], records: Sequence[dict[str, object]]) -> Scores:
    """Score parse records (with the fallback-threshold sweep)."""
    predictions = [Prediction.from_json(dict(r)) for r in records]
    scores = score(examples, predictions)
    scores.sweep = threshold_sweep(examples, predictions, SWEEP_THRESHOLDS)
    return scores


def score_model(engine: Engine, model: Path, examples: Sequence[Example]) -> Scores:
    """Parse the examples with a model and score them (with the fallback-threshold sweep)."""
    return score_records(examples, parse_texts(engine, model, [e.text for e in examples]))


@dataclass
class SetResult:
    """One pipeline on one set: all items, and without the general-complaint items."""

    scores: Scores
    without_complain: Scores | None = None
    # Off-topic set only: share of items answered with one of our intents, per language.
    false_accepts: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "scores": self.scores.to_json(),
            "without_complain": self.without_complain.to_json() if self.without_complain else None,
            "false_accepts": self.false_accepts,
        }


@dataclass
class PipelineResult:
    """One pipeline: its scores per set and what it costs."""

    sets: dict[str, SetResult]
    training_seconds: float | None
    model_bytes: int
    parse_ms_p50: float
    parse_ms_p95: float

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "sets": {k: v.to_json() for k, v in self.sets.items()},
            "training_seconds": self.training_seconds,
            "model_bytes": self.model_bytes,
            "parse_ms_p50": self.parse_ms_p50,
            "parse_ms_p95": self.parse_ms_p95,
        }


def _percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else 0.0


def _training_seconds(model: Path) -> float | None:
    """Seconds the model took to train, from the note written next to it (None if it was trained elsewhere)."""
    note = model.with_name(model.name + ".train.json")
    return json.loads(note.read_text())["seconds"] if note.exists() else None


def _model_bytes(model: Path) -> int:
    """Size of the trained model, unpacked (the archive is compressed)."""
    with tarfile.open(model) as archive:
        return sum(member.size for member in archive.getmembers())


def score_set(examples: list[Example], records: list[dict[str, object]], name: str) -> SetResult:
    """One set's result: scores, scores without general complaints, off-topic false accepts."""
    result = SetResult(score_records(examples, records))
    pairs = [(e, r) for e, r in zip(examples, records, strict=True) if e.intent != GENERAL_COMPLAINT]
    if len(pairs) < len(examples):
        kept, kept_records = zip(*pairs, strict=True)
        result.without_complain = score_records(kept, kept_records)
    if name == OFF_TOPIC:
        predictions = [Prediction.from_json(dict(r)) for r in records]
        result.false_accepts = false_accepts(examples, predictions)
    return result


def evaluate(
    settings: Settings, console: Console, *, sets: dict[str, Path], pipelines: dict[str, Path]
) -> dict[str, PipelineResult]:
    """Train (or reuse) each pipeline's NLU model, parse every set once, and score each set."""
    examples = {name: set_examples(path) for name, path in sets.items()}
    empty = [name for name, found in examples.items() if not found]
    if empty:
        raise ValueError(f"no examples found in the eval set(s) {', '.join(empty)}")
    engine = ensure_engine(settings)
    results: dict[str, PipelineResult] = {}
    for name, config in pipelines.items():
        started = time.monotonic()
        cached = nlu_model_path(settings, config).exists()
        with console.status(f"{name}: training on nlu/data (cached by content hash)…") as status:
            model = ensure_nlu_model(
                settings, engine, config, progress=lambda line, label=name: status.update(f"{label}: {line[:90]}")
            )
        if not cached:
            seconds = round(time.monotonic() - started, 1)
            model.with_name(model.name + ".train.json").write_text(json.dumps({"seconds": seconds}) + "\n")
        texts = [e.text for found in examples.values() for e in found]
        with console.status(f"{name}: parsing {len(texts)} utterances of {len(sets)} sets…"):
            records = parse_texts(engine, model, texts)
        latencies = [float(r.get("parse_ms") or 0.0) for r in records]  # type: ignore[arg-type]
        per_set: dict[str, SetResult] = {}
        offset = 0
        for set_name, found in examples.items():
            per_set[set_name] = score_set(found, records[offset : offset + len(found)], set_name)
            offset += len(found)
        results[name] = PipelineResult(
            per_set,
            _training_seconds(model),
            _model_bytes(model),
            _percentile(latencies, 0.5),
            _percentile(latencies, 0.95),
        )
        summary = ", ".join(f"{k} {v.scores.accuracy:.1%}" for k, v in per_set.items())
        console.print(f"[green]✓[/] {name}: {summary} ({time.monotonic() - started:.0f}s)")
    return results


def _cell(result: SetResult) -> str:
    """accuracy (without general complaints) / wrong / fallbacks, or false accepts for the off-topic set."""
    s = result.scores
    if result.false_accepts:
        accepts = " ".join(f"{lang} {share:.1%}" for lang, share in result.false_accepts.items())
        return f"FA {accepts} ({s.wrong_answers} wrong, {s.fallback_rate:.0%} fb)"
    text = f"{s.accuracy:.1%}"
    if result.without_complain:
        text += f" ({result.without_complain.accuracy:.1%})"
    return text + f" · {s.wrong_answers} wrong · {s.fallback_rate:.0%} fb"


def summary_table(results: dict[str, PipelineResult]) -> str:
    """Pipelines (rows) × sets (columns), plus training time, model size and parse latency."""
    sets = list(next(iter(results.values())).sets)
    header = "| pipeline | " + " | ".join(sets) + " | training | model | parse p50 / p95 |\n"
    header += "|---|" + "---|" * (len(sets) + 3) + "\n"
    rows = []
    for name, result in results.items():
        training = f"{result.training_seconds / 60:.1f} min" if result.training_seconds is not None else "–"
        cells = " | ".join(_cell(result.sets[s]) for s in sets)
        rows.append(
            f"| {name} | {cells} | {training} | {result.model_bytes / 1e6:.0f} MB | "
            f"{result.parse_ms_p50:.0f} / {result.parse_ms_p95:.0f} ms |\n"
        )
    return header + "".join(rows)


def language_table(results: dict[str, PipelineResult]) -> str:
    """Accuracy per language on each set (without general complaints), false accepts on the off-topic set."""
    sets = list(next(iter(results.values())).sets)
    columns = [f"{s} {lang}" for s in sets for lang in ("zh", "en")]
    header = "| pipeline | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns) + "\n"
    rows = []
    for name, result in results.items():
        cells = []
        for set_name in sets:
            outcome = result.sets[set_name]
            scores = outcome.without_complain or outcome.scores
            for lang in ("zh", "en"):
                if outcome.false_accepts:
                    cells.append(f"FA {outcome.false_accepts.get(lang, 0.0):.1%}")
                else:
                    part = scores.per_language.get(lang)
                    cells.append(f"{part.accuracy:.1%}" if part else "–")
        rows.append(f"| {name} | " + " | ".join(cells) + " |\n")
    return header + "".join(rows)


def write_report(results: dict[str, PipelineResult], sets: dict[str, Path], output: Path) -> str:
    """Write JSON and markdown results next to each other; return the markdown."""
    output.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    first_name = next(iter(results))
    first = results[first_name]
    counts = ", ".join(f"{name} {first.sets[name].scores.examples}" for name in sets)
    markdown = (
        f"# Intent model on the eval sets\n\nUtterances from `nlu/eval/` (never trained on): {counts}; measured "
        f"{stamp} with `parceldesk nlu evaluate`. `nlu_fallback` counts as an error. Each cell: accuracy "
        f"(in brackets: without the general-complaint items, labelled `{GENERAL_COMPLAINT}`) · wrong answers · "
        "share that fell back; off-topic: share answered with one of our intents (false accepts) per language.\n\n"
        + summary_table(results)
        + "\n## Per language\n\n"
        + language_table(results)
    )
    for set_name in sets:
        outcome = first.sets[set_name]
        if outcome.false_accepts:
            continue
        markdown += f"\n## {set_name} ({first_name})\n\n" + markdown_table(
            {name: result.sets[set_name].scores for name, result in results.items()}
        )
        markdown += f"\n### Most frequent confusions ({first_name})\n\n" + confusion_table(outcome.scores)
    heldout = first.sets.get("heldout")
    if heldout:
        markdown += (
            f"\n## Per intent, held-out set ({first_name})\n\n"
            + per_intent_table(heldout.scores)
            + f"\n## Fallback threshold, held-out set ({first_name})\n\n"
            + "What each confidence threshold would do (the top confidence only; the ambiguity rule is ignored).\n\n"
            + threshold_table(heldout.scores.sweep)
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
