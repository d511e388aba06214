"""The held-out evaluation set: big enough, well-formed, and never trained on."""

from __future__ import annotations

import re
from collections import Counter

from core.settings import PROJECT_ROOT
from crm.waybills import is_valid
from nlu.examples import load_examples

EVAL = PROJECT_ROOT / "nlu" / "eval"
# The clean held-out set is the files directly in nlu/eval/; the folders beside them are the sets written like
# real customers (noisy, loose wording, off-topic), scored separately by `parceldesk nlu evaluate`.
CLEAN = sorted(EVAL.glob("*.yml"))
CUSTOMER_SETS = ("noisy", "loose", "offtopic")
TRAINING = PROJECT_ROOT / "nlu" / "data"
CONTRACT = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "track_shipment", "list_shipments",
    "change_delivery", "schedule_pickup", "complain_delay", "complain_damage", "complain_loss",
    "complain_wrong_delivery", "complain_courier", "complain_billing", "complaint_status", "give_feedback",
    "request_human", "out_of_scope", "faq/delivery_time", "faq/shipping_fee", "faq/service_area",
    "faq/prohibited_items", "faq/business_hours", "faq/insurance",
}  # fmt: skip
# The general complaint ("I want to complain"): the customer sets label it; its training data is added separately.
GENERAL_COMPLAINT = "complain"


def _key(text: str) -> str:
    """A text with case, spaces and punctuation ignored (to spot near-identical examples)."""
    return re.sub(r"[\s\W_]+", "", text.lower())


def test_every_intent_has_twenty_examples_per_language() -> None:
    """At least 20 held-out utterances per intent per language, for every intent of the contract."""
    counts = Counter((e.intent, e.language) for e in load_examples(CLEAN))
    missing = {
        f"{intent}/{language}": counts[(intent, language)]
        for intent in CONTRACT
        for language in ("zh", "en")
        if counts[(intent, language)] < 20
    }
    assert missing == {}
    assert {intent for intent, _ in counts} <= CONTRACT


def test_examples_are_unique_and_numbers_valid() -> None:
    """No near-duplicates; every annotated tracking number is a valid XJ or S10 number."""
    examples = load_examples([EVAL])
    keys = Counter(_key(e.text) for e in examples)
    assert [k for k, n in keys.items() if n > 1] == []
    bad = [v for e in examples for name, v in e.entities if name == "tracking_number" and not is_valid(v)]
    assert bad == []
    assert sum(1 for e in examples for name, _ in e.entities if name == "tracking_number") >= 50


def test_never_trained_on() -> None:
    """No held-out utterance (ignoring case, spaces, punctuation) appears in the training data."""
    training = {_key(e.text) for e in load_examples([TRAINING])}
    leaked = [e.text for e in load_examples([EVAL]) if _key(e.text) in training]
    assert leaked == []


def test_customer_sets_are_labelled_with_contract_intents() -> None:
    """Each customer-like set exists, is big enough in both languages, and uses only contract intents."""
    for name in CUSTOMER_SETS:
        examples = load_examples([EVAL / name])
        languages = Counter(e.language for e in examples)
        assert min(languages["zh"], languages["en"]) >= 50, name
        assert {e.intent for e in examples} <= CONTRACT | {GENERAL_COMPLAINT}, name
    assert {e.intent for e in load_examples([EVAL / "offtopic"])} == {"out_of_scope"}
