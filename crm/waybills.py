"""Waybill (tracking) numbers: the company's XJ numbers and international UPU S10 numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# XJ + 12 digits: the company's own format (XJ + yyyymmdd + 4-digit serial).
XJ_PATTERN = re.compile(r"^XJ\d{12}$")
# UPU S10: 2 service letters, 8 serial digits, 1 check digit, ISO country code.
S10_PATTERN = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

# Customers type numbers with spaces, hyphens or dots between groups ("xj 2026 1118 0042").
_SEP = r"[\s\-_.·]*"
_XJ_CANDIDATE = re.compile(rf"(?<![A-Za-z0-9])[Xx]{_SEP}[Jj](?:{_SEP}\d)+(?![0-9])")
_S10_CANDIDATE = re.compile(
    rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}(?:{_SEP}\d){{9}}{_SEP}[A-Za-z]{{2}}(?![A-Za-z0-9])"
)


class WaybillProblem(str, Enum):
    """Why a candidate number is not a valid waybill number."""

    WRONG_LENGTH = "wrong_length"
    BAD_CHECK_DIGIT = "bad_check_digit"


@dataclass(frozen=True)
class WaybillCandidate:
    """A number-like fragment found in a message, normalised, with its verdict."""

    raw: str
    normalized: str
    problem: WaybillProblem | None

    @property
    def valid(self) -> bool:
        """True when the candidate is a well-formed waybill number."""
        return self.problem is None


def normalize(raw: str) -> str:
    """Upper-case and strip separators: 'xj 2026-1118 0042' -> 'XJ202611180042'."""
    return re.sub(r"[\s\-_.·]", "", raw).upper()


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit for an 8-digit serial number."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("an S10 serial number has exactly 8 digits")
    remainder = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(remainder, remainder)


def is_valid_s10(number: str) -> bool:
    """True for a well-formed S10 number whose check digit is right."""
    number = normalize(number)
    return bool(S10_PATTERN.match(number)) and s10_check_digit(number[2:10]) == int(number[10])


def is_valid(number: str) -> bool:
    """True for a valid XJ or S10 number (separators and case tolerated)."""
    number = normalize(number)
    return bool(XJ_PATTERN.match(number)) or is_valid_s10(number)


def find_candidates(text: str) -> list[WaybillCandidate]:
    """Every waybill-like fragment in a message, in order, valid or not, without duplicates."""
    found: list[tuple[int, WaybillCandidate]] = []
    for match in _XJ_CANDIDATE.finditer(text):
        normalized = normalize(match.group())
        problem = None if XJ_PATTERN.match(normalized) else WaybillProblem.WRONG_LENGTH
        found.append((match.start(), WaybillCandidate(match.group().strip(), normalized, problem)))
    for match in _S10_CANDIDATE.finditer(text):
        normalized = normalize(match.group())
        if normalized.startswith("XJ"):
            continue
        if not S10_PATTERN.match(normalized):
            problem: WaybillProblem | None = WaybillProblem.WRONG_LENGTH
        elif not is_valid_s10(normalized):
            problem = WaybillProblem.BAD_CHECK_DIGIT
        else:
            problem = None
        found.append((match.start(), WaybillCandidate(match.group().strip(), normalized, problem)))
    seen: set[str] = set()
    result: list[WaybillCandidate] = []
    for _, candidate in sorted(found, key=lambda item: item[0]):
        if candidate.normalized not in seen:
            seen.add(candidate.normalized)
            result.append(candidate)
    return result


def candidate_spans(text: str) -> list[tuple[int, int]]:
    """Where waybill-like fragments are in a text (start, end), valid or not, in order (for masking around them)."""
    spans = [match.span() for pattern in (_XJ_CANDIDATE, _S10_CANDIDATE) for match in pattern.finditer(text)]
    return sorted(spans)


def make_s10(service: str, serial: int, country: str) -> str:
    """Build a valid S10 number, e.g. make_s10('EE', 12345678, 'CN') -> 'EE123456785CN'."""
    digits = f"{serial:08d}"
    return f"{service.upper()}{digits}{s10_check_digit(digits)}{country.upper()}"
