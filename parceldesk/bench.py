"""`parceldesk bench`: start the real system on free ports and measure start-up, memory and latency.

The headline is one customer's latency through the whole pipeline (sandbox → bot → Rasa → action server →
reply) next to raw Rasa at one customer, and the difference: what the bot adds.

"Raw Rasa" is the bot's own channel (POST /webhooks/parceldesk/webhook, nlu/channel.py) called directly with
Rasa's API token, the very call the bot makes per message. Rasa's stock `rest` channel used to serve here, but it
has no authentication (anyone local could write as any customer), so it is no longer mounted (credentials.yml).
The JSON keeps the field names `rest_ms` / `rest_samples` for that raw series, so older results still compare.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bot.rasa import CHANNEL_WEBHOOK
from core.db import Database, open_database, transaction
from core.settings import Settings
from core.tokens import rasa_token
from crm.models import ChatMessage
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

if TYPE_CHECKING:
    from sandbox.client import SandboxClient

# What customers really type, cycled in this order by both one-customer series: a greeting, tracking questions
# in both languages with demo waybills (demo/company.py), FAQ questions. None of them opens a form or asks for
# a person, so every message gets a bot answer and the conversation never pauses.
TEXTS: tuple[str, ...] = (
    "你好",
    "where is my parcel XJ202611180042",
    "我的快递XJ202611170007到哪了",
    "寄到北京要几天",
    "how much does shipping cost",
    "帮我查一下XJ202611200005",
    "你们几点下班",
)
# The target: the bot (Telegram side, database, its Rasa channel) adds under 20 ms at the median.
TARGET_ADDED_P50_MS = 20.0
# Telegram user of the one-customer pipeline series; far from the new-customer series' ids.
PIPELINE_USER = 710_000_001
REPLY_TIMEOUT_S = 30.0


@dataclass
class BenchResult:
    """Everything one benchmark run measured."""

    engine_ready_s: float = 0.0
    model_ready_s: float = 0.0
    start_s: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    parse_ms: dict[str, float] = field(default_factory=dict)
    # The first message of a new customer each time (includes Rasa's session start).
    round_trip_ms: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    # One customer, many messages: the pipeline and raw Rasa (its channel), interleaved, on the same texts.
    texts: list[str] = field(default_factory=list)
    warmup: int = 0
    pipeline_ms: dict[str, float] = field(default_factory=dict)
    pipeline_samples: int = 0
    rest_ms: dict[str, float] = field(default_factory=dict)
    rest_samples: int = 0
    added_ms: dict[str, float] = field(default_factory=dict)
    added_paired_p50_ms: float | None = None
    target_added_p50_ms: float = TARGET_ADDED_P50_MS
    target_met: bool | None = None
    pipeline_intents: dict[str, str | None] = field(default_factory=dict)


@dataclass
class OneCustomer:
    """The raw timings of both one-customer series, index i of each on the same text."""

    pipeline: list[float] = field(default_factory=list)
    rest: list[float] = field(default_factory=list)
    intents: dict[str, str | None] = field(default_factory=dict)


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


def percentile(values: Sequence[float], fraction: float) -> float:
    """The fraction-quantile (0..1) with linear interpolation between ranks; the median at 0.5."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction {fraction} is not within 0..1")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    return {
        "p50": round(percentile(values, 0.50), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
    }


def summarize(result: BenchResult, series: OneCustomer) -> None:
    """Fill the one-customer fields: both series' percentiles, what the bot adds and the target verdict."""
    if not series.pipeline or not series.rest:
        return
    result.pipeline_ms = _percentiles(series.pipeline)
    result.pipeline_samples = len(series.pipeline)
    result.rest_ms = _percentiles(series.rest)
    result.rest_samples = len(series.rest)
    result.added_ms = {
        "p50": round(result.pipeline_ms["p50"] - result.rest_ms["p50"], 1),
        "p95": round(result.pipeline_ms["p95"] - result.rest_ms["p95"], 1),
    }
    # Each pair ran back to back on the same text, so their difference cancels most machine noise.
    paired = [pipeline - rest for pipeline, rest in zip(series.pipeline, series.rest, strict=True)]
    result.added_paired_p50_ms = round(statistics.median(paired), 1)
    result.target_met = result.added_ms["p50"] < result.target_added_p50_ms
    result.pipeline_intents = dict(series.intents)


def verdict(result: BenchResult) -> str:
    """The target line, e.g. 'bot adds < 20 ms p50: met (12.3 ms)'."""
    goal = f"bot adds < {result.target_added_p50_ms:g} ms p50"
    if result.target_met is None:
        return f"{goal}: not measured"
    state = "met" if result.target_met else "NOT met"
    return f"{goal}: {state} ({result.added_ms['p50']} ms)"


async def _wait_handled(database: Database, update_id: int) -> str | None:
    """Wait until the bot has finished an update (all replies sent, turn logged); return the logged intent.

    The first reply stops the clock, but later replies and the turn's database write still follow; the next
    message must not overlap them, nor may a late reply be taken for the next message's answer.
    """
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while time.monotonic() < deadline:
        with database.sessions() as session:
            row = session.execute(
                select(ChatMessage.handled, ChatMessage.intent).where(ChatMessage.update_id == update_id)
            ).first()
        if row is not None and row.handled:
            return row.intent
        await asyncio.sleep(0.002)
    raise TimeoutError(f"the bot did not finish update {update_id} within {REPLY_TIMEOUT_S:.0f}s")


async def _pipeline_message(sandbox: SandboxClient, database: Database, text: str) -> tuple[float, str | None]:
    """One customer text through the sandbox until the bot's first reply (ms), and how the bot logged it."""
    started = time.perf_counter()
    sent = await sandbox.send_text(PIPELINE_USER, text)
    await sandbox.wait_for_bot_messages(
        PIPELINE_USER, count=1, after_message_id=sent["message_id"], timeout=REPLY_TIMEOUT_S
    )
    elapsed = (time.perf_counter() - started) * 1000
    intent = await _wait_handled(database, sent["update_id"])
    return elapsed, intent


async def _rest_message(rasa: httpx.AsyncClient, sender: str, text: str) -> float:
    """The same text straight to Rasa's channel, as the bot sends it, until its answer (ms); fails on no answer."""
    started = time.perf_counter()
    response = await rasa.post(CHANNEL_WEBHOOK, json={"sender": sender, "message": text, "metadata": {}})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    if not response.json().get("messages"):
        # No messages means an action failed: such a fast non-answer would flatter raw Rasa.
        raise RuntimeError(f"raw Rasa answered nothing to {text!r}")
    return elapsed


async def _one_customer(
    sandbox: tuple[str, str], rasa: tuple[str, str], database: Database, *, samples: int, warmup: int,
    texts: Sequence[str]
) -> OneCustomer:
    """Both one-customer series, interleaved: each pair runs the same text, the order alternating per pair."""
    from sandbox.client import SandboxClient

    series = OneCustomer()
    # A fresh Rasa conversation per series and per run; the pipeline's is tg-<PIPELINE_USER> in a fresh DB.
    sender = f"bench-rest-{uuid.uuid4().hex[:12]}"
    (sandbox_url, sandbox_token), (rasa_url, token) = sandbox, rasa
    async with (
        SandboxClient(sandbox_url, token=sandbox_token) as sandbox_client,
        httpx.AsyncClient(base_url=rasa_url, params={"token": token}, timeout=REPLY_TIMEOUT_S) as rasa_client,
    ):
        # Untimed: the first message starts Rasa's session; the rest load every code path (actions, FAQ).
        for index in range(warmup):
            text = texts[index % len(texts)]
            await _pipeline_message(sandbox_client, database, text)
            await _rest_message(rasa_client, sender, text)
        for index in range(samples):
            text = texts[index % len(texts)]
            # Alternating who goes first spreads slow moments (other work on the machine) over both series.
            if index % 2 == 0:
                elapsed, intent = await _pipeline_message(sandbox_client, database, text)
                series.rest.append(await _rest_message(rasa_client, sender, text))
            else:
                series.rest.append(await _rest_message(rasa_client, sender, text))
                elapsed, intent = await _pipeline_message(sandbox_client, database, text)
            series.pipeline.append(elapsed)
            series.intents[text] = intent
    return series


async def _round_trips(sandbox_url: str, token: str, samples: int) -> list[float]:
    """Customer message → bot reply latency through the sandbox, the bot, Rasa, the action server and the DB."""
    from sandbox.client import SandboxClient

    timings: list[float] = []
    async with SandboxClient(sandbox_url, token=token) as client:
        for index in range(samples):
            user = 700_000_000 + index
            started = time.perf_counter()
            await client.send_text(user, "where is my parcel XJ202611180042")
            await client.wait_for_bot_messages(user, count=1, timeout=30)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def run_benchmark(base: Settings, console: Console, *, samples: int = 30, warmup: int | None = None) -> BenchResult:
    """Measure one fresh start of the system with the cached engine and model (warm-up: each text once)."""
    warmup = len(TEXTS) if warmup is None else warmup
    result = BenchResult(samples=samples, texts=list(TEXTS), warmup=warmup)
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
            "database_url": SecretStr(f"sqlite:///{workdir / 'bench.sqlite3'}"),  # model_copy does not validate
            "rasa_port": _free_port(),
            "action_port": _free_port(),
            "sandbox_port": _free_port(),
            "rasa_url": None,
            "telegram_bot_token": None,
            "sandbox": True,  # the bench always measures against its own sandbox, never Telegram
            "telegram_api_url": None,
        }
    )
    from demo.company import generate_demo  # the bench needs the demo extra, as `parceldesk run` does

    database = open_database(settings)
    upgrade(database.engine)
    with transaction(database.sessions) as session:
        generate_demo(session, today=date.today())

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
            api = {"token": rasa_token(settings)}
            with httpx.Client(base_url=settings.effective_rasa_url, params=api, timeout=10) as client:
                client.post("/model/parse", json={"text": "warm up"})
                for _ in range(samples):
                    begin = time.perf_counter()
                    client.post("/model/parse", json={"text": "我的快递XJ202611180042到哪了"}).raise_for_status()
                    parse.append((time.perf_counter() - begin) * 1000)
            result.parse_ms = _percentiles(parse)
        sandbox_token = settings.sandbox_control_token.get_secret_value()
        with console.status("measuring one customer: the pipeline and raw Rasa, interleaved…"):
            series = asyncio.run(
                _one_customer(
                    (settings.sandbox_url, sandbox_token),
                    (settings.effective_rasa_url, rasa_token(settings)),
                    database,
                    samples=samples,
                    warmup=warmup,
                    texts=TEXTS,
                )
            )
            summarize(result, series)
        with console.status("measuring first messages of new customers through the sandbox…"):
            result.round_trip_ms = _percentiles(
                asyncio.run(_round_trips(settings.sandbox_url, sandbox_token, samples))
            )
        for service in services:
            result.rss_mb[service.name] = _group_rss_mb(service)
    finally:
        supervisor.stop_all()
        database.dispose()
    console.print(f"logs and database: {workdir}")
    return result


def _cell(values: dict[str, float], key: str) -> str:
    """One table cell: the value or a dash when it was not measured."""
    return str(values[key]) if key in values else "–"


def report(result: BenchResult, console: Console, output: Path) -> None:
    """Print the results as tables and write them as JSON."""
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
        table.add_row(f"new customer's first message→reply {name} (ms)", str(value))
    console.print(table)

    latency = Table(title=f"One customer, {len(result.texts)} texts cycled, {result.warmup} warm-up messages (ms)")
    latency.add_column("")
    latency.add_column("pipeline (sandbox → bot → Rasa → reply)", justify="right")
    latency.add_column("raw Rasa (channel)", justify="right")
    latency.add_column("bot adds", justify="right")
    for key in ("p50", "p95", "max"):
        latency.add_row(key, _cell(result.pipeline_ms, key), _cell(result.rest_ms, key), _cell(result.added_ms, key))
    paired = "–" if result.added_paired_p50_ms is None else str(result.added_paired_p50_ms)
    latency.add_row("median of paired differences", "", "", paired)
    latency.add_row("samples", str(result.pipeline_samples), str(result.rest_samples), "")
    console.print(latency)
    colour = {True: "green", False: "red", None: "yellow"}[result.target_met]
    console.print(f"[{colour}]{verdict(result)}[/]")
    if result.pipeline_intents:
        understood = ", ".join(f"{text!r} → {intent}" for text, intent in result.pipeline_intents.items())
        console.print(f"how the bot logged the texts: {understood}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"written to {output}")
