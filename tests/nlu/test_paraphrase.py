"""Seeded paraphrases for training-data augmentation (nlu/components/paraphrase.py): reproducible and harmless."""

from __future__ import annotations

import re

from nlu.components.paraphrase import SOCIAL_INTENTS, paraphrase

CJK = re.compile(r"[\u4e00-\u9fff]")
EXAMPLES = [
    ("我的快递到哪了", "track_shipment"),
    ("寄到北京要几天", "faq/delivery_time"),
    ("我要转人工", "request_human"),
    ("where is my parcel", "track_shipment"),
    ("how much does it cost to send a 2kg box to shanghai", "faq/shipping_fee"),
    ("the courier was rude to me", "complain_courier"),
    ("今天天气怎么样", "out_of_scope"),
]


def test_same_text_intent_and_seed_give_the_same_paraphrase() -> None:
    """The paraphrase is a function of (text, intent, seed) only: a retraining sees the same copies."""
    first = [paraphrase(text, intent, 14) for text, intent in EXAMPLES]
    assert first == [paraphrase(text, intent, 14) for text, intent in EXAMPLES]
    assert first != [paraphrase(text, intent, 15) for text, intent in EXAMPLES]
    assert all(variant != text for variant, (text, _) in zip(first, EXAMPLES, strict=True))


def test_paraphrases_keep_the_language_and_the_request() -> None:
    """A Chinese example stays Chinese and an English one English; the framed text still holds the request."""
    for text, intent in EXAMPLES:
        for seed in range(30):
            variant = paraphrase(text, intent, seed)
            assert bool(CJK.search(variant)) == bool(CJK.search(text)), variant
            assert len(variant) >= len(text) - 4, variant
    # Synonym swaps say the same thing in other words: 快递 may become 包裹, 件 or 货, never a courier or a fee.
    variants = {paraphrase("我的快递到哪了", "track_shipment", seed) for seed in range(60)}
    assert any("包裹" in v or "件" in v or "货" in v for v in variants)
    assert not any("员" in v or "费" in v for v in variants)
    assert {paraphrase("快递员态度很差", "complain_courier", seed) for seed in range(30)} != {"快递员态度很差"}


def test_social_turns_and_bare_punctuation_are_left_alone() -> None:
    """Greetings, thanks, yes/no and the repair words are never framed ("你好 谢谢" would be two intents)."""
    for intent in SOCIAL_INTENTS:
        assert paraphrase("好的", intent, 14) == "好的"
        assert paraphrase("no thanks", intent, 14) == "no thanks"
    assert paraphrase("。。。", "out_of_scope", 14) == "。。。"


def test_tracking_phrasings_are_swapped_only_for_tracking_intents() -> None:
    """'到哪了' becomes '在哪' only where it asks for a parcel; a service-area question keeps its words."""
    tracking = {paraphrase("我的快递到哪了", "track_shipment", seed) for seed in range(60)}
    assert any("到哪了" not in v for v in tracking)
    area = {paraphrase("where is your nearest branch", "faq/service_area", seed) for seed in range(60)}
    assert all("where is" in v.lower() or "where's" in v.lower() or "wheres" in v.lower() for v in area)
