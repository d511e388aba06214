"""Run a probe script inside the real engine environment (Rasa's Python 3.10) and read what it reports."""

from __future__ import annotations

import json
import subprocess

from core.settings import PROJECT_ROOT, load_settings
from nlu.toolchain import ensure_engine


def run_probe(script: str, *, timeout: int = 600) -> dict[str, object]:
    """The JSON object on the script's last output line; the engine is built once and cached by content hash."""
    engine = ensure_engine(load_settings())
    result = subprocess.run(
        [str(engine.python), "-c", script],
        capture_output=True,
        text=True,
        env=engine.env(),
        cwd=PROJECT_ROOT,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report
