"""Parse utterances with a trained Rasa model: one text per stdin line in, one JSON object per line out.

Runs inside the engine environment: `<engine>/bin/python nlu/engine/parse.py MODEL.tar.gz`.
Each output object: {"text", "intent", "confidence", "entities": [{"entity", "value", "start", "end"}]};
retrieval intents are reported in full (e.g. "faq/shipping_fee").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Any


def full_intent(parsed: dict[str, Any]) -> tuple[str | None, float | None]:
    """The intent name, with the retrieval sub-intent when the ResponseSelector picked one."""
    intent = parsed.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    selector = (parsed.get("response_selector") or {}).get(name or "", {})
    key = (selector.get("response") or {}).get("intent_response_key")
    if key:
        name = key
    return name, confidence


async def main(model_path: str, out: Any) -> int:
    """Load the model once, then answer every stdin line."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        parsed = await agent.parse_message(text)
        name, confidence = full_intent(parsed)
        entities = [
            {"entity": e.get("entity"), "value": e.get("value"), "start": e.get("start"), "end": e.get("end")}
            for e in parsed.get("entities") or []
        ]
        record = {"text": text, "intent": name, "confidence": confidence, "entities": entities}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: parse.py MODEL.tar.gz < utterances.txt\n")
        sys.exit(2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    # Rasa and TensorFlow print to stdout; keep stdout for our JSON lines only.
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.exit(asyncio.run(main(sys.argv[1], results)))
