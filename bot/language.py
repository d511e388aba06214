"""Which language a customer wrote in."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_WAYBILL_LIKE = re.compile(r"\b[A-Za-z]{2}[\d\s\-]{8,}[A-Za-z]{0,2}\b")


def detect_language(text: str) -> str | None:
    """'zh' if the text has Chinese characters, 'en' if it has English words, None if it has neither."""
    if _CJK.search(text):
        return "zh"
    # A bare waybill number ("XJ202611180042", "EE123456785CN") says nothing about the language.
    if _LATIN_WORD.search(_WAYBILL_LIKE.sub(" ", text)):
        return "en"
    return None
