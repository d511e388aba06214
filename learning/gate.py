"""The promotion gate: a candidate model replaces the live one only if it is not worse on the held-out set.

Rules (both models scored on the same held-out examples):
- overall intent accuracy must not drop;
- no intent's F1 may drop by more than `margin` points (F1 × 100; default 2.0).
An intent the live model knew and the candidate does not score at all counts as F1 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table

from learning.scoring import IntentScore, Scores

DEFAULT_MARGIN = 2.0
# Scores are rounded to 4 decimals; anything smaller than this is rounding, not a drop.
EPSILON = 1e-9


@dataclass(frozen=True)
class IntentChange:
    """One intent's F1 for the live model and the candidate, in points (0-100)."""

    intent: str
    live_f1: float | None
    candidate_f1: float
    support: int

    @property
    def delta(self) -> float | None:
        """Candidate minus live, in F1 points (None for an intent the live model was not scored on)."""
        return None if self.live_f1 is None else self.candidate_f1 - self.live_f1


@dataclass(frozen=True)
class GateRow:
    """One line of the side-by-side comparison, as printed: figures in points, Δ signed, '–' when missing."""

    measure: str
    live: str
    candidate: str
    delta: str
    dropped: bool  # an intent that lost more than the margin (what rejects a candidate)
    intent: str | None = None  # the intent of an F1 row (None for accuracy and macro-F1)


@dataclass(frozen=True)
class GateResult:
    """The gate's decision with its reasons and the side-by-side numbers."""

    promote: bool
    reasons: list[str]
    margin: float
    live_accuracy: float | None
    candidate_accuracy: float
    live_macro_f1: float | None
    candidate_macro_f1: float
    intents: list[IntentChange] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """One bilingual line: promote or reject."""
        return "✓ 上线候选模型 / promote the candidate" if self.promote else "✗ 拒绝候选模型 / reject the candidate"

    def rows(self) -> list[GateRow]:
        """The side-by-side figures, one row per measure: accuracy, macro-F1, then each intent's F1."""
        rows = [
            GateRow(measure, _points(old, 100), _points(new, 100), _delta(old, new, 100), dropped=False)
            for measure, old, new in (
                ("accuracy", self.live_accuracy, self.candidate_accuracy),
                ("macro-F1", self.live_macro_f1, self.candidate_macro_f1),
            )
        ]
        for change in self.intents:
            rows.append(GateRow(
                f"F1 {change.intent} ({change.support})",
                "–" if change.live_f1 is None else f"{change.live_f1:.1f}",
                f"{change.candidate_f1:.1f}",
                "–" if change.delta is None else f"{change.delta:+.1f}",
                dropped=change.delta is not None and change.delta < -self.margin - EPSILON,
                intent=change.intent,
            ))
        return rows

    def table(self) -> Table:
        """A rich table: overall and per-intent figures of both models, drops beyond the margin marked."""
        table = Table(title=f"{self.verdict} (F1 margin {self.margin:g} points)")
        for column in ("measure / 指标", "live / 线上", "candidate / 候选", "Δ"):
            table.add_column(column, justify="left" if column.startswith("measure") else "right")
        for row in self.rows():
            label = "accuracy / 准确率" if row.measure == "accuracy" else row.measure
            table.add_row(label, row.live, row.candidate, row.delta, style="red" if row.dropped else None)
        return table

    def __rich__(self) -> Table:
        """Render as the side-by-side table."""
        return self.table()

    def markdown(self) -> str:
        """The same comparison as a markdown table, followed by the verdict and its reasons."""
        lines = ["| measure | live | candidate | Δ |", "|---|---|---|---|"]
        lines += [f"| {row.measure} | {row.live} | {row.candidate} | {row.delta} |" for row in self.rows()]
        lines += ["", f"**{self.verdict}**"] + [f"- {reason}" for reason in self.reasons]
        return "\n".join(lines) + "\n"


def _points(value: float | None, scale: int) -> str:
    """A 0-1 score as points with one decimal ('–' when missing)."""
    return "–" if value is None else f"{value * scale:.1f}"


def _delta(old: float | None, new: float, scale: int) -> str:
    """Signed difference in points ('–' when there is nothing to compare with)."""
    return "–" if old is None else f"{(new - old) * scale:+.1f}"


def _f1(scores: dict[str, IntentScore], intent: str) -> float:
    """An intent's F1 in points (0 when the model was not scored on it)."""
    found = scores.get(intent)
    return found.f1 * 100 if found is not None else 0.0


def decide(live: Scores | None, candidate: Scores, *, margin: float = DEFAULT_MARGIN) -> GateResult:
    """Promote or reject a candidate against the live model's scores on the same held-out set."""
    if margin < 0:
        raise ValueError("the F1 margin is a number of points, 0 or more")
    if live is None:
        changes = [
            IntentChange(intent, None, s.f1 * 100, s.support) for intent, s in sorted(candidate.per_intent.items())
        ]
        return GateResult(True, ["没有线上模型，候选模型直接上线 / no live model yet: the first candidate goes live"],
                          margin, None, candidate.accuracy, None, candidate.macro_f1, changes)
    reasons: list[str] = []
    if live.examples != candidate.examples:
        reasons.append(
            f"两个模型的评估集不同 / the models were not scored on the same held-out set "
            f"({live.examples} vs {candidate.examples} examples)"
        )
    # One held-out utterance either way is not "measurably worse" (a retrain on one new label can move one
    # borderline utterance); more than that is, and every intent's F1 margin below still applies.
    one_utterance = 1 / candidate.examples if candidate.examples else 0.0
    if candidate.accuracy < live.accuracy - one_utterance - EPSILON:
        reasons.append(
            f"整体准确率下降 / overall accuracy dropped: {live.accuracy:.1%} → {candidate.accuracy:.1%}"
        )
    changes: list[IntentChange] = []
    for intent in sorted(set(live.per_intent) | set(candidate.per_intent)):
        support = (candidate.per_intent.get(intent) or live.per_intent[intent]).support
        change = IntentChange(intent, _f1(live.per_intent, intent), _f1(candidate.per_intent, intent), support)
        changes.append(change)
        if change.delta is not None and change.delta < -margin - EPSILON:
            reasons.append(
                f"意图 {intent} 的 F1 下降超过 {margin:g} 分 / F1 of {intent} dropped more than {margin:g} points: "
                f"{change.live_f1:.1f} → {change.candidate_f1:.1f}"
            )
    return GateResult(not reasons, reasons, margin, live.accuracy, candidate.accuracy, live.macro_f1,
                      candidate.macro_f1, changes)
