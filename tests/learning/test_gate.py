"""The promotion gate: accuracy must not drop, no intent may lose more than the margin of F1 points."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from learning.gate import decide
from learning.scoring import IntentScore, Scores


def scores(accuracy: float, f1: dict[str, float], examples: int = 100) -> Scores:
    """Scores with the given accuracy and per-intent F1 (support 10 each)."""
    per_intent = {name: IntentScore(value, value, value, 10) for name, value in f1.items()}
    macro = sum(f1.values()) / len(f1)
    return Scores(examples, accuracy, round(macro, 4), round(examples * (1 - accuracy)), per_intent)


LIVE = scores(0.85, {"track_shipment": 0.90, "complain_loss": 0.80, "faq/shipping_fee": 0.70})


def test_better_or_equal_candidate_is_promoted() -> None:
    """Equal accuracy and small F1 moves within the margin pass."""
    result = decide(LIVE, scores(0.85, {"track_shipment": 0.885, "complain_loss": 0.82, "faq/shipping_fee": 0.70}))
    assert result.promote and result.reasons == []
    assert [round(c.delta or 0, 1) for c in result.intents] == [2.0, 0.0, -1.5]


def test_accuracy_drop_rejects() -> None:
    """A drop of overall accuracy by more than one held-out utterance rejects, whatever the intents do."""
    result = decide(LIVE, scores(0.839, {"track_shipment": 0.95, "complain_loss": 0.9, "faq/shipping_fee": 0.8}))
    assert not result.promote and len(result.reasons) == 1 and "accuracy" in result.reasons[0]


def test_one_utterance_either_way_is_not_worse() -> None:
    """85 of 100 right, then 84: one borderline utterance moved, which is within noise; two are not."""
    intents = {"track_shipment": 0.95, "complain_loss": 0.9, "faq/shipping_fee": 0.8}
    assert decide(LIVE, scores(0.84, intents)).promote
    assert not decide(LIVE, scores(0.83, intents)).promote


def test_an_intent_losing_more_than_the_margin_rejects() -> None:
    """Better overall, but one intent drops 2.5 points: rejected at the default margin, accepted at 3."""
    candidate = scores(0.90, {"track_shipment": 0.99, "complain_loss": 0.775, "faq/shipping_fee": 0.75})
    result = decide(LIVE, candidate)
    assert not result.promote and ["complain_loss" in r for r in result.reasons] == [True]
    assert decide(LIVE, candidate, margin=3.0).promote


def test_an_intent_the_candidate_lost_counts_as_zero() -> None:
    """An intent missing from the candidate's scores is a 100 % drop."""
    result = decide(LIVE, scores(0.90, {"track_shipment": 0.95, "complain_loss": 0.85}))
    assert not result.promote and any("faq/shipping_fee" in r for r in result.reasons)


def test_different_held_out_sets_reject() -> None:
    """Scores from different sets cannot be compared."""
    result = decide(LIVE, scores(0.90, {"track_shipment": 0.95, "complain_loss": 0.85, "faq/shipping_fee": 0.8}, 99))
    assert not result.promote and "same held-out set" in result.reasons[0]


def test_first_model_goes_live_and_bad_margin_is_refused() -> None:
    """Without a live model the candidate is promoted; a negative margin is a programming error."""
    assert decide(None, LIVE).promote
    with pytest.raises(ValueError):
        decide(LIVE, LIVE, margin=-1)


def test_side_by_side_table_and_markdown() -> None:
    """Both renderings show both models, the deltas and the verdict."""
    result = decide(LIVE, scores(0.90, {"track_shipment": 0.99, "complain_loss": 0.70, "faq/shipping_fee": 0.75}))
    markdown = result.markdown()
    assert "| accuracy | 85.0 | 90.0 | +5.0 |" in markdown
    assert "| F1 complain_loss (10) | 80.0 | 70.0 | -10.0 |" in markdown
    assert "reject" in markdown
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(result)
    rendered = out.getvalue()
    assert "complain_loss" in rendered and "-10.0" in rendered and "85.0" in rendered
