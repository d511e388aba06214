"""Language detection for replies."""

from __future__ import annotations

import pytest

from bot.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我的快递XJ202611180042到哪了", "zh"),
        ("where is my parcel XJ202611180042", "en"),
        ("我的parcel到哪了", "zh"),
        ("hi", "en"),
        ("XJ202611180042", None),
        ("EE123456785CN", None),
        ("12345 !!", None),
        ("", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    """Chinese characters win; a bare number says nothing."""
    assert detect_language(text) == language
