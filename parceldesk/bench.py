"""`parceldesk bench`: start the real system on free ports and measure start-up, memory and latency.

The headline is one customer's latency through the whole pipeline (sandbox → bot → Rasa → action server →
reply) next to raw Rasa at one customer, and the difference: what the bot adds.

"Raw Rasa" is the bot's own channel (POST /webhooks/parceldesk/webhook, nlu/channel.py) called directly with
Rasa's API token, the very call the bot makes per message. Rasa's stock `rest` channel used to serve here, but it
has no authentication (anyone local could write as any customer), so it is no longer mounted (credentials.yml).
The JSON keeps the field names `rest_ms` / `rest_samples` for that raw series, so older results still compare.

`--load N --seconds S` (run_load) is the load benchmark: N simulated customers through the sandbox, each sending
its next message when the previous one was answered (closed loop), on a mix of tracking, FAQ, complaint and form
turns and small talk in both languages (customer_texts); in the same run raw Rasa `/model/parse` and raw Rasa
through the channel at the same concurrency; then, per `--rate R`, an open loop of R arrivals a second whatever
the answers, to find the rate at which p95 stays under 1 s. Each series reports msgs/s, p50/p95/p99, errors and
each process group's CPU seconds (/proc/<pid>/stat) and RSS.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
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
from nlu.toolchain import Engine, ensure_engine, ensure_model
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


@dataclass
class BenchSystem:
    """A system started for measuring: settings, database, supervisor, services and work directory."""

    settings: Settings
    database: Database
    supervisor: Supervisor
    services: list[Service]
    workdir: Path
    # Where the action server listens: settings.action_port, unless a proxy sits there (start_system's action_proxy).
    action_upstream_port: int = 0


def start_system(
    base: Settings, console: Console, engine: Engine, model: Path, *, prefix: str, start_s: dict[str, float],
    action_proxy: bool = False,
) -> BenchSystem:
    """Start action server, Rasa, sandbox and bot on free ports against a fresh demo database (times in start_s).

    action_proxy: Rasa and the bot call actions on settings.action_port, where the caller puts a proxy
    (parceldesk/stall.py); the action server itself listens on settings.action_upstream_port.
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
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
    upstream = settings.model_copy(update={"action_port": _free_port()}) if action_proxy else settings
    services = [
        action_server_service(upstream, workdir),
        rasa_service(settings, engine, model, workdir),
        sandbox_service(settings, workdir),
        bot_service(settings, workdir),
    ]
    try:
        for service in services:
            with console.status(f"starting {service.name}…"):
                begin = time.perf_counter()
                supervisor.start(service)
                start_s[service.name] = round(time.perf_counter() - begin, 1)
    except BaseException:
        supervisor.stop_all()
        database.dispose()
        raise
    return BenchSystem(settings, database, supervisor, services, workdir, upstream.action_port)


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

    system = start_system(base, console, engine, model, prefix="parceldesk-bench-", start_s=result.start_s)
    settings, database, supervisor, services, workdir = (
        system.settings, system.database, system.supervisor, system.services, system.workdir
    )
    try:
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


# ---------------------------------------------------------------------------------------------------------------
# Load: many customers at once (`parceldesk bench --load N --seconds S`, open loop with `--rate R`).
# ---------------------------------------------------------------------------------------------------------------

# Episodes of a simulated customer, in both languages, on texts the model understands (tests/e2e). Tracking uses
# demo waybills (demo/company.py). A customer's first complaint is about the courier's conduct: the complaint
# form needs no parcel for it and files it at once; later complaint episodes ask how it is going. A second
# complaint, or complaints of many customers about one demo parcel, would be repeats, hence serious: the
# conversation would pause for a person and the customer wait for an agent instead of the bot. Form turns that
# end by cancelling: a change of delivery for a parcel that is not the customer's makes the form ask for the
# number again, and the customer says no (tests/e2e/test_conversations.py).
TRACKING_TEXTS: tuple[str, ...] = (
    "where is my parcel XJ202611180042",
    "我的快递XJ202611170007到哪了",
    "帮我查一下XJ202611200005",
    "where is XJ202611170007",
)
FAQ_TEXTS: tuple[str, ...] = ("寄到北京要几天", "how much does shipping cost", "你们几点下班")
SMALL_TALK_TEXTS: tuple[str, ...] = ("你好", "hello", "谢谢", "thank you", "你是机器人吗")
COMPLAINT_FILED: tuple[str, ...] = ("the courier was very rude to me", "快递员态度很差，还骂人")
COMPLAINT_STATUS: tuple[str, ...] = ("what is the status of my complaint", "我的投诉处理得怎么样了")
FORM_OPENERS: tuple[str, ...] = (
    "I need to change the delivery address of XJ202611180042",
    "我要改一下XJ202611180042的收货地址",
)
FORM_CANCEL: tuple[str, ...] = ("no, forget it", "算了")
# Shares of the episodes: mostly tracking, as at a courier's help desk.
MIX_WEIGHTS: dict[str, float] = {
    "tracking": 0.42, "faq": 0.23, "small_talk": 0.15, "complaint": 0.12, "form_cancelled": 0.08,
}
# The open-loop target: the highest arrival rate whose p95 stays under this.
KNEE_P95_MS = 1000.0
# Telegram users of the load series; far from the one-customer and new-customer ids.
LOAD_USER_BASE = 720_000_000


def episode(kind: str, rng: random.Random, *, first_complaint: bool) -> list[str]:
    """The texts of one episode of a kind (a complaint: filed if it is the customer's first, else a status query)."""
    language = rng.randrange(2)  # one language through an episode, as a customer writes
    if kind == "tracking":
        return [rng.choice(TRACKING_TEXTS)]
    if kind == "faq":
        return [rng.choice(FAQ_TEXTS)]
    if kind == "small_talk":
        return [rng.choice(SMALL_TALK_TEXTS)]
    if kind == "complaint":
        return [(COMPLAINT_FILED if first_complaint else COMPLAINT_STATUS)[language]]
    if kind == "form_cancelled":
        return [FORM_OPENERS[language], FORM_CANCEL[language]]
    raise ValueError(f"unknown episode kind {kind!r}")


def customer_texts(seed: int) -> Iterator[str]:
    """One simulated customer's endless messages: weighted episodes; one complaint filed, later ones asked about."""
    rng = random.Random(seed)
    kinds, weights = list(MIX_WEIGHTS), list(MIX_WEIGHTS.values())
    complained = False
    while True:
        kind = rng.choices(kinds, weights)[0]
        yield from episode(kind, rng, first_complaint=not complained)
        complained = complained or kind == "complaint"


def text_kind(text: str) -> str:
    """Which part of the mix a text belongs to (for the mix summary)."""
    for kind, texts in (
        ("tracking", TRACKING_TEXTS), ("faq", FAQ_TEXTS), ("small_talk", SMALL_TALK_TEXTS),
        ("complaint", COMPLAINT_FILED + COMPLAINT_STATUS), ("form_cancelled", FORM_OPENERS + FORM_CANCEL),
    ):
        if text in texts:
            return kind
    return "other"


def language_of(text: str) -> str:
    """'zh' when the text has a CJK character, else 'en' (what raw Rasa is told; the bot detects its own)."""
    return "zh" if any("\u4e00" <= char <= "\u9fff" for char in text) else "en"


def mix_summary(texts: Sequence[str]) -> dict[str, float]:
    """Share of each episode kind and of Chinese among the given texts, rounded to 0.01."""
    if not texts:
        return {}
    shares: dict[str, float] = {}
    for text in texts:
        kind = text_kind(text)
        shares[kind] = shares.get(kind, 0) + 1
    shares["zh"] = sum(language_of(text) == "zh" for text in texts)
    return {key: round(count / len(texts), 2) for key, count in sorted(shares.items())}


@dataclass
class LoadSeries:
    """One series under load: latencies of answered requests, errors, wall time and the processes' CPU."""

    name: str
    concurrency: int = 0
    rate: float | None = None  # open loop: arrivals per second; None for the closed loop
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)

    def error(self, exc: BaseException) -> None:
        """Count a failed request by its exception type."""
        self.errors += 1
        kind = type(exc).__name__
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def load_row(series: LoadSeries) -> dict[str, object]:
    """The summary of a series: msgs/s, p50/p95/p99 (ms), errors, CPU seconds and RSS per process."""
    count = len(series.latencies_ms)
    row: dict[str, object] = {
        "series": series.name,
        "concurrency": series.concurrency,
        "rate": series.rate,
        "seconds": round(series.seconds, 1),
        "answered": count,
        "errors": series.errors,
        "error_kinds": dict(series.error_kinds),
        "msgs_per_s": round(count / series.seconds, 2) if series.seconds > 0 else 0.0,
        "p50_ms": None, "p95_ms": None, "p99_ms": None,
        "cpu_s": dict(series.cpu_s),
        "rss_mb": dict(series.rss_mb),
        "mix": mix_summary(series.texts),
    }
    if count:
        row["p50_ms"] = round(percentile(series.latencies_ms, 0.50), 1)
        row["p95_ms"] = round(percentile(series.latencies_ms, 0.95), 1)
        row["p99_ms"] = round(percentile(series.latencies_ms, 0.99), 1)
    return row


def throughput_ratio(rows: Sequence[dict[str, object]], numerator: str, denominator: str) -> float | None:
    """msgs/s of one closed-loop series over another's (e.g. pipeline / raw channel), or None if either is missing."""
    by_name = {row["series"]: row for row in rows if row.get("rate") is None}
    if numerator not in by_name or denominator not in by_name:
        return None
    below = float(by_name[denominator]["msgs_per_s"])  # type: ignore[arg-type]
    return round(float(by_name[numerator]["msgs_per_s"]) / below, 3) if below > 0 else None  # type: ignore[arg-type]


def knee(rows: Sequence[dict[str, object]], *, limit_ms: float = KNEE_P95_MS) -> float | None:
    """The highest open-loop rate whose p95 stayed under the limit with no errors, or None if none did."""
    good = [
        float(row["rate"])  # type: ignore[arg-type]
        for row in rows
        if row.get("rate") is not None and row.get("p95_ms") is not None
        and float(row["p95_ms"]) < limit_ms and row.get("errors") == 0  # type: ignore[arg-type]
    ]
    return max(good) if good else None


@dataclass
class LoadResult:
    """Everything one load run measured."""

    concurrency: int = 0
    seconds: float = 0.0
    rates: list[float] = field(default_factory=list)
    load_average: list[float] = field(default_factory=list)
    cores: int = 0
    start_s: dict[str, float] = field(default_factory=dict)
    series: list[dict[str, object]] = field(default_factory=list)
    pipeline_vs_channel: float | None = None
    target_ratio: float = 0.9
    knee_rate: float | None = None
    knee_p95_ms: float = KNEE_P95_MS


def _group_pids(pid: int) -> list[int]:
    """The pids of a process's whole process group (Linux /proc)."""
    pgid = os.getpgid(pid)
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    members.append(int(entry.name))
            except (OSError, ProcessLookupError):
                continue
    return members


def proc_cpu_seconds(stat_line: str, ticks_per_second: int) -> float:
    """User + system CPU seconds from a /proc/<pid>/stat line (fields 14 and 15; the name may hold spaces)."""
    fields = stat_line.rsplit(")", 1)[1].split()
    # fields[0] is the state, field 3 of the file; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def _cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds used so far by the given processes (those that exited count no more)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            total += proc_cpu_seconds(Path(f"/proc/{pid}/stat").read_text(), ticks)
        except (OSError, IndexError, ValueError):
            continue
    return total


class Meter:
    """CPU seconds and RSS of the services and of this process over one series."""

    def __init__(self, services: Sequence[Service]) -> None:
        """Remember the services; call start() before and stop(series) after the series."""
        self.services = list(services)
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        """CPU seconds so far per service group and for the bench process itself."""
        totals = {
            s.name: _cpu_seconds(_group_pids(s.process.pid)) for s in self.services if s.process is not None
        }
        totals["bench"] = _cpu_seconds([os.getpid()])
        return totals

    def start(self) -> None:
        """Take the CPU reading before a series."""
        self.before = self._now()

    def stop(self, series: LoadSeries) -> None:
        """Store the CPU used during the series and the RSS at its end."""
        after = self._now()
        series.cpu_s = {name: round(after[name] - self.before.get(name, 0.0), 1) for name in after}
        series.rss_mb = {s.name: _group_rss_mb(s) for s in self.services if s.process is not None}


async def closed_loop(
    concurrency: int, seconds: float, one: Callable[[int, str], Awaitable[float]], series: LoadSeries
) -> None:
    """N workers, each sending its customer's next text when the previous answer arrived, for the given time."""
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        """One customer: its own seeded message stream, one request in flight."""
        for text in customer_texts(index):
            if time.monotonic() >= deadline:
                return
            try:
                series.latencies_ms.append(await one(index, text))
                series.texts.append(text)
            except Exception as exc:  # a failed request is counted, the customer goes on
                series.error(exc)

    started = time.monotonic()
    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    series.seconds = time.monotonic() - started


async def _open_loop(
    rate: float, seconds: float, one: Callable[[int, str], Awaitable[float]], series: LoadSeries
) -> None:
    """Arrivals at a fixed rate; each goes to an idle customer (a new one if all are busy), whatever the answers."""
    idle: list[tuple[int, Iterator[str]]] = []
    customers = itertools.count()
    tasks: set[asyncio.Task[None]] = set()

    async def arrival() -> None:
        """One message of an idle customer; the customer is idle again once answered."""
        index, texts = idle.pop() if idle else (next(customers), None)
        stream = texts or customer_texts(index)
        text = next(stream)
        try:
            series.latencies_ms.append(await one(index, text))
            series.texts.append(text)
        except Exception as exc:
            series.error(exc)
        idle.append((index, stream))

    started = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            task = asyncio.create_task(arrival())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.sleep(max(0.0, sent / rate - (time.monotonic() - started)))
    await asyncio.gather(*tasks)
    series.seconds = seconds  # the offered rate's window; late answers still count, their latency shows it
    series.concurrency = next(customers)  # open loop: how many customers the arrivals needed at most at once


async def pipeline_turn(sandbox: SandboxClient, database: Database, user: int, text: str) -> float:
    """One customer text through the sandbox to the first reply (ms); the next text waits until the turn is logged."""
    started = time.perf_counter()
    sent = await sandbox.send_text(user, text)
    await sandbox.wait_for_bot_messages(user, count=1, after_message_id=sent["message_id"], timeout=REPLY_TIMEOUT_S)
    elapsed = (time.perf_counter() - started) * 1000
    await _wait_handled(database, sent["update_id"])
    return elapsed


async def _load_series(
    settings: Settings, database: Database, meter: Meter, *, concurrency: int, seconds: float,
    rates: Sequence[float], run_id: str,
) -> list[LoadSeries]:
    """Raw /model/parse, raw Rasa through the channel and the whole pipeline at the same concurrency, then open loop."""
    from sandbox.client import SandboxClient

    token = rasa_token(settings)
    limits = httpx.Limits(max_connections=max(concurrency, 100), max_keepalive_connections=max(concurrency, 100))
    async with (
        httpx.AsyncClient(
            base_url=settings.effective_rasa_url, params={"token": token}, timeout=REPLY_TIMEOUT_S, limits=limits
        ) as rasa,
        SandboxClient(settings.sandbox_url, token=settings.sandbox_control_token.get_secret_value()) as sandbox,
    ):

        async def parse(index: int, text: str) -> float:
            """One /model/parse (ms)."""
            started = time.perf_counter()
            response = await rasa.post("/model/parse", json={"text": text})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            return elapsed

        async def channel(index: int, text: str) -> float:
            """One text to Rasa's channel as the bot sends it (ms); no messages counts as an error."""
            started = time.perf_counter()
            response = await rasa.post(
                CHANNEL_WEBHOOK,
                json={"sender": f"bench-load-{run_id}-{index}", "message": text,
                      "metadata": {"language": language_of(text)}},
            )
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if not response.json().get("messages"):
                raise RuntimeError("raw Rasa answered nothing")
            return elapsed

        def pipeline(offset: int) -> Callable[[int, str], Awaitable[float]]:
            """Customer messages through the sandbox to the first reply (ms); users numbered from the offset."""

            async def one(index: int, text: str) -> float:
                """One text of customer `index`."""
                return await pipeline_turn(sandbox, database, LOAD_USER_BASE + offset + index, text)

            return one

        done: list[LoadSeries] = []
        plans: list[tuple[str, Callable[[int, str], Awaitable[float]], float | None]] = [
            ("rasa /model/parse", parse, None),
            ("raw Rasa channel", channel, None),
            ("pipeline", pipeline(0), None),
        ]
        plans += [(f"pipeline open loop {rate:g}/s", pipeline(100_000 * (n + 1)), rate) for n, rate in enumerate(rates)]
        for name, one, rate in plans:
            series = LoadSeries(name=name, concurrency=concurrency, rate=rate)
            meter.start()
            if rate is None:
                await closed_loop(concurrency, seconds, one, series)
            else:
                await _open_loop(rate, seconds, one, series)
            meter.stop(series)
            done.append(series)
    return done


def warmup_texts() -> tuple[str, ...]:
    """Texts of every kind, sent untimed before a load run (no complaint is filed: customers' first stay first)."""
    return TRACKING_TEXTS + FAQ_TEXTS + SMALL_TALK_TEXTS + COMPLAINT_STATUS + FORM_OPENERS + FORM_CANCEL


def run_load(
    base: Settings, console: Console, *, concurrency: int, seconds: float, rates: Sequence[float] = ()
) -> LoadResult:
    """Start the system on free ports; run the closed-loop series at N customers, then each open-loop rate."""
    result = LoadResult(concurrency=concurrency, seconds=seconds, rates=list(rates), cores=os.cpu_count() or 0)
    engine = ensure_engine(base)
    with console.status("model (trains if the data changed)…"):
        model = ensure_model(base, engine)
    system = start_system(base, console, engine, model, prefix="parceldesk-load-", start_s=result.start_s)
    settings, database, supervisor, services, workdir = (
        system.settings, system.database, system.supervisor, system.services, system.workdir
    )
    try:
        result.load_average = [round(value, 2) for value in os.getloadavg()]
        # Warm-up, untimed: texts of every kind through Rasa's channel load its code paths (actions, forms, FAQ). No
        # complaint is filed: it would make the customers' first complaints repeats.
        with httpx.Client(base_url=settings.effective_rasa_url, params={"token": rasa_token(settings)},
                          timeout=REPLY_TIMEOUT_S) as client:
            for text in warmup_texts():
                client.post(CHANNEL_WEBHOOK, json={"sender": "bench-warmup", "message": text, "metadata": {}})
        with console.status(f"{concurrency} customers × {seconds:g} s: parse, raw channel, pipeline; open loop…"):
            done = asyncio.run(
                _load_series(
                    settings, database, Meter(services), concurrency=concurrency, seconds=seconds, rates=rates,
                    run_id=uuid.uuid4().hex[:8],
                )
            )
        result.series = [load_row(series) for series in done]
        result.pipeline_vs_channel = throughput_ratio(result.series, "pipeline", "raw Rasa channel")
        result.knee_rate = knee(result.series)
    finally:
        supervisor.stop_all()
        database.dispose()
    console.print(f"logs and database: {workdir}")
    return result


def load_tables(result: LoadResult) -> tuple[Table, Table]:
    """The load results: throughput and latency per series, then CPU seconds and RSS per process and series."""
    speed = Table(title=f"Load: {result.concurrency} customers (closed loop), {result.seconds:g} s per series, "
                        f"{result.cores} cores, load average at start {result.load_average}")
    for column in ("series", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "answered", "errors"):
        speed.add_column(column, justify="left" if column == "series" else "right")
    names = sorted({name for row in result.series for name in row["cpu_s"]})  # type: ignore[attr-defined]
    cost = Table(title="CPU seconds during each series / RSS MB at its end")
    cost.add_column("series")
    for name in names:
        cost.add_column(name, justify="right")
    for row in result.series:
        speed.add_row(
            str(row["series"]), str(row["msgs_per_s"]), str(row["p50_ms"]), str(row["p95_ms"]), str(row["p99_ms"]),
            str(row["answered"]), str(row["errors"]),
        )
        cpu, rss = row["cpu_s"], row["rss_mb"]
        cost.add_row(
            str(row["series"]),
            *(f"{cpu.get(name, '–')} / {rss.get(name, '–')}" for name in names),  # type: ignore[attr-defined]
        )
    return speed, cost


def load_verdict(result: LoadResult) -> str:
    """The target lines: pipeline/raw-channel throughput (≥ 90%) and the open-loop knee."""
    if result.pipeline_vs_channel is None:
        ratio = "pipeline / raw channel throughput: not measured"
    else:
        state = "met" if result.pipeline_vs_channel >= result.target_ratio else "NOT met"
        ratio = (f"pipeline / raw channel throughput ≥ {result.target_ratio:.0%}: {state} "
                 f"({result.pipeline_vs_channel:.1%})")
    if not result.rates:
        return ratio
    rate = "none of the rates" if result.knee_rate is None else f"{result.knee_rate:g} msgs/s"
    return f"{ratio}\nopen loop: highest rate with p95 < {result.knee_p95_ms:g} ms and no errors: {rate}"


def load_report(result: LoadResult, console: Console, output: Path) -> None:
    """Print the load table and verdict and write the result as JSON."""
    for table in load_tables(result):
        console.print(table)
    console.print(load_verdict(result))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"written to {output}")
