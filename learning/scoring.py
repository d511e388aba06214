"""Scores of an intent model on a labelled set: accuracy, macro-F1, per intent and language, entities, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from crm.waybills import normalize
from nlu.examples import Example


@dataclass(frozen=True)
class Prediction:
    """What a model said about one text."""

    text: str
    intent: str | None
    confidence: float | None
    entities: tuple[tuple[str, str], ...]
    # The classifier's own top intent before the fallback threshold (None: same as intent).
    best_intent: str | None = None
    best_confidence: float | None = None
    runner_up_confidence: float | None = None

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Prediction:
        """From one line of `parceldesk nlu parse` output."""
        entities = tuple((str(e.get("entity")), str(e.get("value"))) for e in record.get("entities") or [])
        return cls(
            str(record["text"]),
            record.get("intent"),
            record.get("confidence"),
            entities,
            record.get("best_intent"),
            record.get("best_confidence"),
            record.get("runner_up_confidence"),
        )

    @property
    def top_intent(self) -> str | None:
        """What the classifier ranked first, fallback or not."""
        return self.best_intent or self.intent

    @property
    def top_confidence(self) -> float:
        """The confidence of top_intent (0 when unknown)."""
        value = self.best_confidence if self.best_intent else self.confidence
        return float(value or 0.0)


FALLBACK = "nlu_fallback"


@dataclass
class IntentScore:
    """Precision, recall and F1 of one intent."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Scores:
    """The scores of one model on one set (or one language of it)."""

    examples: int
    accuracy: float
    macro_f1: float
    errors: int
    per_intent: dict[str, IntentScore] = field(default_factory=dict)
    tracking_numbers: int = 0
    tracking_exact: float = 1.0
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    per_language: dict[str, Scores] = field(default_factory=dict)
    # Accuracy of the classifier's first choice, as if there were no fallback threshold.
    top1_accuracy: float = 0.0
    # Share of messages answered with nlu_fallback (the bot asks instead of guessing).
    fallback_rate: float = 0.0
    # Messages answered with a wrong intent: the errors a customer actually suffers.
    wrong_answers: int = 0
    # What other fallback thresholds would have done (filled by the benchmark, see threshold_sweep).
    sweep: list[ThresholdRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _f1(precision: float, recall: float) -> float:
    """Harmonic mean (0 when both are 0)."""
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _tracking_values(entities: Sequence[tuple[str, str]]) -> list[str]:
    """Normalised tracking numbers of an entity list, sorted (order in the text does not matter)."""
    return sorted(normalize(value) for name, value in entities if name == "tracking_number")


def score(examples: Sequence[Example], predictions: Sequence[Prediction], *, by_language: bool = True) -> Scores:
    """Compare predictions with gold labels, example by example (same order, same texts)."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(examples)} examples but {len(predictions)} predictions")
    for example, prediction in zip(examples, predictions, strict=True):
        if example.text != prediction.text:
            raise ValueError(f"prediction for {prediction.text!r} does not match example {example.text!r}")
    gold = [e.intent for e in examples]
    predicted = [p.intent or "<none>" for p in predictions]
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    labels = sorted(set(gold))
    per_intent: dict[str, IntentScore] = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per_intent[label] = IntentScore(
            round(precision, 4), round(recall, 4), round(_f1(precision, recall), 4), tp + fn
        )
    with_numbers = [(e, p) for e, p in zip(examples, predictions, strict=True) if _tracking_values(e.entities)]
    exact = sum(_tracking_values(e.entities) == _tracking_values(p.entities) for e, p in with_numbers)
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    top1 = sum(g == p.top_intent for g, p in zip(gold, predictions, strict=True))
    fallbacks = sum(p == FALLBACK for p in predicted)
    result = Scores(
        examples=len(examples),
        accuracy=round(correct / len(examples), 4) if examples else 0.0,
        macro_f1=round(sum(s.f1 for s in per_intent.values()) / len(per_intent), 4) if per_intent else 0.0,
        errors=len(examples) - correct,
        per_intent=per_intent,
        tracking_numbers=len(with_numbers),
        tracking_exact=round(exact / len(with_numbers), 4) if with_numbers else 1.0,
        confusions=[(g, p, n) for (g, p), n in confusions.most_common()],
        top1_accuracy=round(top1 / len(examples), 4) if examples else 0.0,
        fallback_rate=round(fallbacks / len(examples), 4) if examples else 0.0,
        wrong_answers=sum(g != p and p != FALLBACK for g, p in zip(gold, predicted, strict=True)),
    )
    if by_language:
        for language in ("zh", "en"):
            pairs = [(e, p) for e, p in zip(examples, predictions, strict=True) if e.language == language]
            if pairs:
                subset_examples, subset_predictions = zip(*pairs, strict=True)
                result.per_language[language] = score(subset_examples, subset_predictions, by_language=False)
    return result


def markdown_table(results: dict[str, Scores]) -> str:
    """A README-ready comparison of models (columns) by overall, language and entity figures."""
    names = list(results)
    header = "| measure | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    rows = [
        ("examples", lambda s: str(s.examples)),
        ("intent accuracy", lambda s: f"{s.accuracy:.1%}"),
        ("top-1 accuracy, no fallback", lambda s: f"{s.top1_accuracy:.1%}"),
        ("fell back (asked again)", lambda s: f"{s.fallback_rate:.1%}"),
        ("wrong answers", lambda s: str(s.wrong_answers)),
        ("macro-F1", lambda s: f"{s.macro_f1:.3f}"),
        ("errors", lambda s: str(s.errors)),
        ("accuracy zh", lambda s: f"{s.per_language['zh'].accuracy:.1%}" if "zh" in s.per_language else "–"),
        ("accuracy en", lambda s: f"{s.per_language['en'].accuracy:.1%}" if "en" in s.per_language else "–"),
        ("macro-F1 zh", lambda s: f"{s.per_language['zh'].macro_f1:.3f}" if "zh" in s.per_language else "–"),
        ("macro-F1 en", lambda s: f"{s.per_language['en'].macro_f1:.3f}" if "en" in s.per_language else "–"),
        ("tracking numbers exact", lambda s: f"{s.tracking_exact:.1%} of {s.tracking_numbers}"),
    ]
    body = "".join(f"| {label} | " + " | ".join(render(results[n]) for n in names) + " |\n" for label, render in rows)
    return header + body


def per_intent_table(scores: Scores) -> str:
    """Per-intent precision / recall / F1 / support as a markdown table."""
    lines = ["| intent | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for intent, s in sorted(scores.per_intent.items()):
        lines.append(f"| {intent} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.support} |")
    return "\n".join(lines) + "\n"


def confusion_table(scores: Scores, limit: int = 15) -> str:
    """The most frequent gold→predicted confusions as a markdown table."""
    lines = ["| gold | predicted | count |", "|---|---|---|"]
    lines += [f"| {g} | {p} | {n} |" for g, p, n in scores.confusions[:limit]]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ThresholdRow:
    """What a fallback threshold would do on a labelled set."""

    threshold: float
    answered: float  # share of messages the bot answers instead of asking again
    accuracy_answered: float  # accuracy among the answered ones
    wrong_answers: int
    correct: float  # share of all messages answered correctly


def threshold_sweep(
    examples: Sequence[Example], predictions: Sequence[Prediction], thresholds: Sequence[float]
) -> list[ThresholdRow]:
    """Answer when the classifier's top confidence reaches the threshold, fall back otherwise (ambiguity ignored)."""
    rows: list[ThresholdRow] = []
    for threshold in thresholds:
        answered = [(e, p) for e, p in zip(examples, predictions, strict=True) if p.top_confidence >= threshold]
        right = sum(e.intent == p.top_intent for e, p in answered)
        rows.append(
            ThresholdRow(
                threshold=threshold,
                answered=round(len(answered) / len(examples), 4) if examples else 0.0,
                accuracy_answered=round(right / len(answered), 4) if answered else 0.0,
                wrong_answers=len(answered) - right,
                correct=round(right / len(examples), 4) if examples else 0.0,
            )
        )
    return rows


def threshold_table(rows: Sequence[ThresholdRow]) -> str:
    """The sweep as a markdown table."""
    lines = [
        "| threshold | answered | accuracy of answered | wrong answers | answered correctly |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.threshold:.2f} | {r.answered:.1%} | {r.accuracy_answered:.1%} | {r.wrong_answers} | {r.correct:.1%} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


OUT_OF_SCOPE = "out_of_scope"


def false_accepts(examples: Sequence[Example], predictions: Sequence[Prediction]) -> dict[str, float]:
    """Per language, the share of off-topic messages answered with one of our intents (no out_of_scope, no fallback)."""
    rates: dict[str, float] = {}
    for language in ("zh", "en"):
        answers = [p.intent for e, p in zip(examples, predictions, strict=True) if e.language == language]
        if answers:
            accepted = sum(a not in (OUT_OF_SCOPE, FALLBACK, None) for a in answers)
            rates[language] = round(accepted / len(answers), 4)
    return rates
