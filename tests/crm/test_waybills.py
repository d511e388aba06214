"""Waybill number parsing: company XJ numbers, UPU S10 check digits, tolerant extraction."""

from __future__ import annotations

import pytest

from crm.waybills import (
    WaybillProblem,
    find_candidates,
    is_valid,
    is_valid_s10,
    make_s10,
    normalize,
    s10_check_digit,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is my parcel XJ202611180042", ["XJ202611180042"]),
        ("我的快递XJ202611180042到哪了", ["XJ202611180042"]),
        ("xj 2026 1118 0042 到哪了", ["XJ202611180042"]),
        ("XJ-2026-1118-0042?", ["XJ202611180042"]),
        ("ee 12345678 5 cn and RR473124829GB", ["EE123456785CN", "RR473124829GB"]),
        ("XJ202611180042, XJ202611170007 and XJ202611180042 again", ["XJ202611180042", "XJ202611170007"]),
    ],
)
def test_finds_valid_numbers_in_free_text(text: str, expected: list[str]) -> None:
    """Numbers are found with case, spaces and hyphens tolerated, duplicates dropped, order kept."""
    found = find_candidates(text)
    assert [c.normalized for c in found] == expected
    assert all(c.valid for c in found)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("XJ2026111800", WaybillProblem.WRONG_LENGTH),
        ("my number is xj 2026 1118 00421 ok", WaybillProblem.WRONG_LENGTH),
        ("EE123456784CN", WaybillProblem.BAD_CHECK_DIGIT),
    ],
)
def test_reports_malformed_numbers(text: str, problem: WaybillProblem) -> None:
    """A number-like fragment that is not valid is reported with the reason."""
    (candidate,) = find_candidates(text)
    assert not candidate.valid
    assert candidate.problem is problem


@pytest.mark.parametrize("text", ["hello", "call me at 13800138000 ok", "order 12345", "HELLO123456789WORLD", ""])
def test_ignores_text_without_numbers(text: str) -> None:
    """Phone numbers and words are not mistaken for waybills."""
    assert find_candidates(text) == []


def test_s10_check_digit_matches_upu_examples() -> None:
    """The S10 check digit follows the UPU weights 8 6 4 2 3 5 9 7 with the 10→0 and 11→5 rules."""
    assert s10_check_digit("12345678") == 5
    assert s10_check_digit("47312482") == 9
    assert is_valid_s10("RR473124829GB")
    assert not is_valid_s10("RR473124828GB")
    for serial in range(0, 10_000_000, 99_991):
        number = make_s10("EE", serial, "CN")
        assert is_valid(number), number


def test_check_digit_rejects_bad_input() -> None:
    """A serial of the wrong length is a programming error, reported clearly."""
    with pytest.raises(ValueError, match="8 digits"):
        s10_check_digit("123")


def test_normalize_and_validate() -> None:
    """Normalisation upper-cases and strips separators."""
    assert normalize(" xj-2026 1118.0042 ") == "XJ202611180042"
    assert is_valid("xj 2026 1118 0042")
    assert not is_valid("XJ20261118004")
    assert not is_valid("AB12345678CN")
