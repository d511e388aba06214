"""`parceldesk bench`: start the real system on free ports and measure start-up, memory and latency."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from core.db import open_database, transaction
from core.settings import Settings
from crm.schema import upgrade
from nlu.toolchain import ensure_engine, ensure_model
from parceldesk.processes import (
    Service,
    Supervisor,
    action_server_service,
    bot_service,
    rasa_service,
    sandbox_service,
)


@dataclass
class BenchResult:
    """Everything one benchmark run measured."""

    engine_ready_s: float = 0.0
    model_ready_s: float = 0.0
    start_s: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    parse_ms: dict[str, float] = field(default_factory=dict)
    round_trip_ms: dict[str, float] = field(default_factory=dict)
    samples: int = 0


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _group_rss_mb(service: Service) -> float:
    """Resident memory of a service's whole process group, in MB (Linux /proc)."""
    assert service.process is not None
    pgid = os.getpgid(service.process.pid)
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except (OSError, ProcessLookupError, ValueError):
            continue
    return round(total_kb / 1024, 1)


def _percentiles(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


async def _round_trips(sandbox_url: str, samples: int) -> list[float]:
    """Customer message → bot reply latency through the sandbox, the bot, Rasa, the action server and the DB."""
    from sandbox.client import SandboxClient

    timings: list[float] = []
    async with SandboxClient(sandbox_url) as client:
        for index in range(samples):
            user = 700_000_000 + index
            started = time.perf_counter()
            await client.send_text(user, "where is my parcel XJ202611180042")
            await client.wait_for_bot_messages(user, count=1, timeout=30)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def run_benchmark(base: Settings, console: Console, *, samples: int = 30) -> BenchResult:
    """Measure one fresh start of the system with the cached engine and model."""
    result = BenchResult(samples=samples)
    started = time.perf_counter()
    engine = ensure_engine(base)
    result.engine_ready_s = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with console.status("model (trains if the data changed)…"):
        model = ensure_model(base, engine)
    result.model_ready_s = round(time.perf_counter() - started, 1)

    workdir = Path(tempfile.mkdtemp(prefix="parceldesk-bench-"))
    settings = base.model_copy(
        update={
            "database_url": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "rasa_port": _free_port(),
            "action_port": _free_port(),
            "sandbox_port": _free_port(),
            "rasa_url": None,
            "telegram_bot_token": None,
            "telegram_api_url": None,
        }
    )
    from demo.company import generate_demo  # the bench needs the demo extra, as `parceldesk run` does

    database = open_database(settings)
    upgrade(database.engine)
    with transaction(database.sessions) as session:
        generate_demo(session, today=date.today())
    database.dispose()

    supervisor = Supervisor()
    services = [
        action_server_service(settings, workdir),
        rasa_service(settings, engine, model, workdir),
        sandbox_service(settings, workdir),
        bot_service(settings, workdir),
    ]
    try:
        for service in services:
            with console.status(f"starting {service.name}…"):
                begin = time.perf_counter()
                supervisor.start(service)
                result.start_s[service.name] = round(time.perf_counter() - begin, 1)
        with console.status("measuring /model/parse…"):
            parse = []
            with httpx.Client(base_url=settings.effective_rasa_url, timeout=10) as client:
                client.post("/model/parse", json={"text": "warm up"})
                for _ in range(samples):
                    begin = time.perf_counter()
                    client.post("/model/parse", json={"text": "我的快递XJ202611180042到哪了"}).raise_for_status()
                    parse.append((time.perf_counter() - begin) * 1000)
            result.parse_ms = _percentiles(parse)
        with console.status("measuring customer round trips through the sandbox…"):
            result.round_trip_ms = _percentiles(asyncio.run(_round_trips(settings.sandbox_url, samples)))
        for service in services:
            result.rss_mb[service.name] = _group_rss_mb(service)
    finally:
        supervisor.stop_all()
    return result


def report(result: BenchResult, console: Console, output: Path) -> None:
    """Print the results as a table and write them as JSON."""
    table = Table(title="ParcelDesk benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("engine environment ready (s)", str(result.engine_ready_s))
    table.add_row("model ready (s)", str(result.model_ready_s))
    for name, seconds in result.start_s.items():
        table.add_row(f"start {name} (s)", str(seconds))
    for name, mb in result.rss_mb.items():
        table.add_row(f"RSS {name} (MB)", str(mb))
    for name, value in result.parse_ms.items():
        table.add_row(f"/model/parse {name} (ms)", str(value))
    for name, value in result.round_trip_ms.items():
        table.add_row(f"message→reply {name} (ms)", str(value))
    console.print(table)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {output}")
