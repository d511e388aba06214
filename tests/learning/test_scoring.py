"""Scoring of intent predictions and reading of Rasa NLU YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from learning.scoring import Prediction, markdown_table, score, threshold_sweep, threshold_table
from nlu.examples import Example, load_examples, strip_annotations


def test_strip_annotations_both_syntaxes() -> None:
    """[value](entity) and [value]{"entity": ...} become plain text plus (entity, value) pairs."""
    text, entities = strip_annotations('查 [xj 2026 1118 0042](tracking_number) 和 [C-1042]{"entity": "complaint_id"}')
    assert text == "查 xj 2026 1118 0042 和 C-1042"
    assert entities == (("tracking_number", "xj 2026 1118 0042"), ("complaint_id", "C-1042"))


def test_load_examples_reads_intents_and_languages(tmp_path: Path) -> None:
    """Examples keep their intent (retrieval intents in full) and know their language."""
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: faq/shipping_fee\n'
        "  examples: |\n    - 寄到北京多少钱\n    - how much to ship 2kg\n"
        "- regex: tracking_number\n  examples: |\n    - XJ\\d{12}\n",
        encoding="utf-8",
    )
    examples = load_examples([tmp_path])
    assert [(e.intent, e.language) for e in examples] == [("faq/shipping_fee", "zh"), ("faq/shipping_fee", "en")]


def _ex(text: str, intent: str, numbers: tuple[str, ...] = ()) -> Example:
    """A gold example."""
    return Example(text, intent, tuple(("tracking_number", n) for n in numbers), "test")


def _pred(text: str, intent: str, numbers: tuple[str, ...] = ()) -> Prediction:
    """A prediction."""
    return Prediction(text, intent, 0.9, tuple(("tracking_number", n) for n in numbers))


def test_scores_accuracy_macro_f1_languages_entities_and_confusions() -> None:
    """Hand-checked figures on a small set."""
    gold = [
        _ex("hi", "greet"),
        _ex("你好", "greet"),
        _ex("where is XJ202611180042", "track_shipment", ("XJ202611180042",)),
        _ex("查 xj 2026 1118 0042", "track_shipment", ("xj 2026 1118 0042",)),
        _ex("bye", "goodbye"),
    ]
    predicted = [
        _pred("hi", "greet"),
        _pred("你好", "goodbye"),
        _pred("where is XJ202611180042", "track_shipment", ("XJ202611180042",)),
        _pred("查 xj 2026 1118 0042", "track_shipment", ()),
        _pred("bye", "goodbye"),
    ]
    result = score(gold, predicted)
    assert result.accuracy == 0.8 and result.errors == 1
    # greet: P=1 R=.5 F=.667; track: 1/1/1; goodbye: P=.5 R=1 F=.667 → macro .7778
    assert result.macro_f1 == pytest.approx(0.7778, abs=1e-4)
    assert result.per_intent["greet"].recall == 0.5
    assert result.tracking_numbers == 2 and result.tracking_exact == 0.5
    assert result.confusions == [("greet", "goodbye", 1)]
    assert result.per_language["zh"].accuracy == 0.5
    assert result.per_language["en"].accuracy == 1.0
    table = markdown_table({"ours": result, "stock": result})
    assert "| intent accuracy | 80.0% | 80.0% |" in table


def test_tracking_numbers_compare_normalised_and_unordered() -> None:
    """'xj 2026 1118 0042' extracted as 'XJ202611180042' is exact; order of several numbers does not matter."""
    gold = [_ex("a", "track_shipment", ("xj 2026 1118 0042", "EE123456785CN"))]
    predicted = [_pred("a", "track_shipment", ("EE123456785CN", "XJ202611180042"))]
    assert score(gold, predicted).tracking_exact == 1.0


def test_mismatched_predictions_are_refused() -> None:
    """Predictions must line up with the examples."""
    with pytest.raises(ValueError, match="does not match"):
        score([_ex("a", "greet")], [_pred("b", "greet")])
    with pytest.raises(ValueError, match="predictions"):
        score([_ex("a", "greet")], [])


def test_fallbacks_are_not_wrong_answers_and_top1_ignores_the_threshold() -> None:
    """A fallback counts as an error but not as a wrong answer; top-1 accuracy uses the classifier's own choice."""
    examples = [_ex("a", "greet"), _ex("b", "thank"), _ex("c", "deny")]
    predictions = [
        Prediction("a", "greet", 0.9, ()),
        Prediction("b", "nlu_fallback", 0.5, (), best_intent="thank", best_confidence=0.4),
        Prediction("c", "affirm", 0.8, (), best_intent="affirm", best_confidence=0.8),
    ]
    scores = score(examples, predictions)
    assert scores.accuracy == pytest.approx(1 / 3, abs=1e-4)
    assert scores.top1_accuracy == pytest.approx(2 / 3, abs=1e-4)
    assert scores.fallback_rate == pytest.approx(1 / 3, abs=1e-4)
    assert scores.wrong_answers == 1


def test_threshold_sweep_trades_answers_for_accuracy() -> None:
    """Raising the threshold answers fewer messages and drops the unsure wrong one."""
    examples = [_ex("a", "greet"), _ex("b", "thank"), _ex("c", "deny")]
    predictions = [
        Prediction("a", "greet", 0.95, ()),
        Prediction("b", "thank", 0.7, ()),
        Prediction("c", "affirm", 0.45, ()),
    ]
    low, high = threshold_sweep(examples, predictions, [0.0, 0.6])
    assert (low.answered, low.wrong_answers, low.correct) == (1.0, 1, pytest.approx(2 / 3, abs=1e-4))
    assert (high.answered, high.accuracy_answered, high.wrong_answers) == (pytest.approx(2 / 3, abs=1e-4), 1.0, 0)
    assert "| 0.60 | 66.7% | 100.0% | 0 | 66.7% |" in threshold_table([high])
