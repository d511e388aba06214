"""`parceldesk nlu parse`: utterances on stdin, one JSON object per line out, with the real model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from core.settings import PROJECT_ROOT
from nlu.toolchain import Engine


def test_parse_reads_stdin_and_writes_json_lines(engine_model: tuple[Engine, Path]) -> None:
    """Intent, confidence and the tracking number entity come back for each line, in order."""
    _, model = engine_model
    lines = ["where is my parcel XJ202611180042", "我的快递 xj 2026 1118 0042 到哪了", "", "你好"]
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "parceldesk"), "nlu", "parse", "--model", str(model)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == [lines[0], lines[1], lines[3]]
    assert [r["intent"] for r in records] == ["track_shipment", "track_shipment", "greet"]
    assert all(0.0 <= r["confidence"] <= 1.0 for r in records)
    assert records[0]["entities"] == [{"entity": "tracking_number", "value": "XJ202611180042", "start": 19, "end": 33}]
    assert records[1]["entities"][0]["value"].replace(" ", "").upper() == "XJ202611180042"
