"""Parse latency of a trained model: every eval text parsed alone, as the bot sends them, p50/p95/max per message.

Run in the engine environment from the project root (one OpenMP thread and passive waiting, as served):

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=. <engine>/bin/python nlu/experiments/parse_latency.py MODEL.tar.gz

Reports wall time and the process's CPU time per message: on a busy machine the wall time includes waiting for a
core, the CPU time does not (on an idle core the two agree).
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

from nlu.examples import load_examples  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    """The value at the given share of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(model: str, texts: list[str]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of agent.parse_message for each text (after a few warm-up parses)."""
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for text in texts[:5]:
        await agent.parse_message(text)
    wall: list[float] = []
    cpu: list[float] = []
    for text in texts:
        w0, c0 = time.perf_counter(), time.process_time()
        await agent.parse_message(text)
        cpu.append(1000 * (time.process_time() - c0))
        wall.append(1000 * (time.perf_counter() - w0))
    return wall, cpu


def main() -> None:
    """Parse the eval sets' texts one by one and print the latency summary."""
    model = sys.argv[1]
    texts = [e.text for e in load_examples([ROOT / "nlu" / "eval"])]
    wall, cpu = asyncio.run(measure(model, texts))
    for name, values in (("wall", wall), ("cpu", cpu)):
        print(
            f"{name}: n={len(values)} p50={percentile(values, 0.5):.1f} ms p95={percentile(values, 0.95):.1f} ms "
            f"max={max(values):.1f} ms"
        )


if __name__ == "__main__":
    main()
