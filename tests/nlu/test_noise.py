"""Seeded typing noise for training-data augmentation (nlu/components/noise.py): reproducible and realistic."""

from __future__ import annotations

import re

from nlu.components.noise import HOMOPHONES, noisy_variant

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_same_text_and_seed_give_the_same_variant() -> None:
    """The variant is a function of (text, seed) only: a retraining on the same data sees the same copies."""
    texts = ["我的快递到哪了", "where is my package please", "I want to change my delivery address, thanks!"]
    assert [noisy_variant(t, 14) for t in texts] == [noisy_variant(t, 14) for t in texts]
    assert any(noisy_variant(t, 14) != noisy_variant(t, 15) for t in texts)


def test_chinese_noise_swaps_homophones_and_keeps_length() -> None:
    """Chinese variants swap characters for pinyin homophones (the length changes only by dropped punctuation)."""
    text = "我要投诉你们的快递员态度太差"
    variants = {noisy_variant(text, seed) for seed in range(20)}
    assert text not in variants
    for variant in variants:
        assert len(variant) == len(text)
        changed = [(a, b) for a, b in zip(text, variant, strict=True) if a != b]
        assert 1 <= len(changed) <= 2
        assert all(b in HOMOPHONES[a] for a, b in changed)


def test_english_noise_misspells_without_changing_language() -> None:
    """English variants stay Latin text, differ from the original, and keep most of its letters."""
    text = "Could you tell me where my parcel is at the moment?"
    for seed in range(20):
        variant = noisy_variant(text, seed)
        assert variant != text
        assert not CJK.search(variant)
        assert abs(len(variant) - len(text)) <= 4
