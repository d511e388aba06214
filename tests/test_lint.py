"""House style is checked by ruff as part of the suite (config in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from core.settings import PROJECT_ROOT


def test_ruff_finds_nothing() -> None:
    """`ruff check` passes on the whole tree."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
