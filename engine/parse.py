"""Parse utterances with a trained Rasa model: one text per stdin line in, one JSON object per line out.

Runs inside the engine environment: `<engine>/bin/python engine/parse.py MODEL.tar.gz`.
Each output object: {"text", "intent", "confidence", "entities": [{"entity", "value", "start", "end"}], "parse_ms", …};
retrieval intents are reported in full (e.g. "faq/shipping_fee").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any


def with_retrieval_key(parsed: dict[str, Any], name: str | None) -> str | None:
    """The intent name, with the retrieval sub-intent when the ResponseSelector picked one."""
    selector = (parsed.get("response_selector") or {}).get(name or "", {})
    key = (selector.get("response") or {}).get("intent_response_key")
    return key or name


def full_intent(parsed: dict[str, Any]) -> tuple[str | None, float | None]:
    """The predicted intent (nlu_fallback when the FallbackClassifier fired) and its confidence."""
    intent = parsed.get("intent") or {}
    return with_retrieval_key(parsed, intent.get("name")), intent.get("confidence")


def best_intent(parsed: dict[str, Any]) -> tuple[str | None, float | None, float | None]:
    """The classifier's own top intent and confidence, and the runner-up's, ignoring nlu_fallback.

    The fallback threshold is a choice made after the classifier; keeping its raw ranking lets the
    evaluation measure accuracy without a fallback and sweep thresholds without retraining.
    """
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if not ranking:
        name, confidence = full_intent(parsed)
        return name, confidence, None
    second = ranking[1].get("confidence") if len(ranking) > 1 else None
    return with_retrieval_key(parsed, ranking[0].get("name")), ranking[0].get("confidence"), second


async def main(model_path: str, out: Any) -> int:
    """Load the model once, then answer every stdin line."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        # Wall time of one parse, for the latency figures of `parceldesk nlu evaluate`.
        parse_ms = round((time.perf_counter() - started) * 1000, 2)
        name, confidence = full_intent(parsed)
        entities = [
            {"entity": e.get("entity"), "value": e.get("value"), "start": e.get("start"), "end": e.get("end")}
            for e in parsed.get("entities") or []
        ]
        best, best_confidence, runner_up = best_intent(parsed)
        record = {
            "text": text,
            "intent": name,
            "confidence": confidence,
            "entities": entities,
            "best_intent": best,
            "best_confidence": best_confidence,
            "runner_up_confidence": runner_up,
            "parse_ms": parse_ms,
        }
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
