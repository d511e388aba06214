"""Parse latency of a trained model: every eval text parsed alone, as the bot sends them, p50/p95/max per message.

Run in the engine environment from the project root (one OpenMP thread and passive waiting, as served):

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=. <engine>/bin/python nlu/experiments/parse_latency.py MODEL.tar.gz

Reports wall time and the process's CPU time per message: on a busy machine the wall time includes waiting for a
core, the CPU time does not (on an idle core the two agree). It also prints each eval set's accuracy (fallback
counts as an error; FAQ items must get the right answer too; off-topic: share answered as one of ours), so two
models can be compared on the same run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlu.examples import Example, load_examples  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    """The value at the given share of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(model: str, texts: list[str]) -> tuple[list[float], list[float], list[str]]:
    """Wall and CPU milliseconds of agent.parse_message for each text (after a few warm-up parses), and the answer."""
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for text in texts[:5]:
        await agent.parse_message(text)
    wall: list[float] = []
    cpu: list[float] = []
    answers: list[str] = []
    for text in texts:
        w0, c0 = time.perf_counter(), time.process_time()
        result = await agent.parse_message(text)
        cpu.append(1000 * (time.process_time() - c0))
        wall.append(1000 * (time.perf_counter() - w0))
        intent = str((result.get("intent") or {}).get("name"))
        if intent == "faq":
            selected = (result.get("response_selector") or {}).get("faq", {}).get("response", {})
            intent = str(selected.get("intent_response_key") or intent)
        answers.append(intent)
    return wall, cpu, answers


def accuracy(examples: list[Example], answers: list[str]) -> str:
    """Per eval set: accuracy, or for the off-topic set the share answered as one of our intents."""
    by_set: dict[str, list[bool]] = {}
    for example, answer in zip(examples, answers, strict=True):
        name = Path(example.source).parent.name
        name = name if name in ("noisy", "loose", "offtopic") else "clean"
        if name == "offtopic":
            by_set.setdefault("off-topic accepted", []).append(answer not in ("out_of_scope", "nlu_fallback"))
        else:
            by_set.setdefault(name, []).append(answer == example.intent)
    return ", ".join(f"{k} {100 * sum(v) / len(v):.1f}% of {len(v)}" for k, v in by_set.items())


def main() -> None:
    """Parse the eval sets' texts one by one and print the latency summary."""
    model = sys.argv[1]
    examples = load_examples([ROOT / "nlu" / "eval"])
    wall, cpu, answers = asyncio.run(measure(model, [e.text for e in examples]))
    print(accuracy(examples, answers))
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text("\n".join(answers) + "\n", encoding="utf-8")
    for name, values in (("wall", wall), ("cpu", cpu)):
        print(
            f"{name}: n={len(values)} p50={percentile(values, 0.5):.1f} ms p95={percentile(values, 0.95):.1f} ms "
            f"max={max(values):.1f} ms"
        )


if __name__ == "__main__":
    main()
