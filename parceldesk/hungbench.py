"""`parceldesk bench --load N --hung`: does one chat whose action hangs slow anybody else down?

The system starts as for `--load` (fresh demo database, free ports), with a stalling proxy (parceldesk/stall.py)
between Rasa and the action server, also for the baseline so both series take the same path. Two closed-loop
series of N customers with the same seeded message streams (new conversations each):

1. baseline: nobody is hung;
2. hung: at every moment one chat is hung. A hung customer asks for a parcel; the proxy never answers that chat's
   tracking action, so the chat's Rasa call hangs until the bot's Rasa timeout gives it the holding reply (and
   the human queue). Then the next hung customer starts, until the series ends.

Meanwhile, in both series, other customers send /help (the bot answers it without Rasa) one after another, and in
the hung series each hung customer also sends /help right after its hung question: that one waits behind it by
design (one chat's updates stay in order), so its latency is about what is left of the Rasa timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bot.rasa import CHANNEL_WEBHOOK
from bot.texts import TEXTS
from core.db import Database
from core.settings import Settings
from core.tokens import rasa_token
from crm.chats import sender_id
from nlu.toolchain import ensure_engine, ensure_model
from parceldesk.bench import (
    LOAD_USER_BASE,
    REPLY_TIMEOUT_S,
    LoadSeries,
    Meter,
    closed_loop,
    load_row,
    percentile,
    pipeline_turn,
    start_system,
    warmup_texts,
)
from parceldesk.stall import StallingProxy
from sandbox.client import SandboxClient

# The issue's targets: other customers' p95 unchanged within noise; /help (no Rasa) under 200 ms.
HELP_TARGET_MS = 200.0
# Users of each part, far from each other and from the load customers (LOAD_USER_BASE + index).
HUNG_SERIES_OFFSET = 50_000
HELP_USER_BASE = 730_000_000
HUNG_USER_BASE = 740_000_000
HELP_USERS = 8
HELP_PAUSE_S = 0.25
HUNG_TEXT = "where is my parcel XJ202611180042"
HELP_TEXTS = frozenset(TEXTS["help"].values())


@dataclass
class HungResult:
    """Everything one hung-chat run measured."""

    concurrency: int = 0
    seconds: float = 0.0
    cores: int = 0
    load_average: list[float] = field(default_factory=list)
    rasa_timeout_s: float = 0.0
    start_s: dict[str, float] = field(default_factory=dict)
    series: list[dict[str, object]] = field(default_factory=list)
    hung_chats: int = 0
    stalled_action_calls: int = 0
    p95_change: float | None = None
    help_target_ms: float = HELP_TARGET_MS


def _first_part(text: str) -> str:
    """The first Telegram message of a bot text (long texts are split)."""
    return text.split("\n\n")[0]


def _is_help(message: dict[str, object]) -> bool:
    """Whether a bot message is (the start of) the /help answer, in either language."""
    body = str(message.get("text") or "")
    return any(body.startswith(_first_part(help_text)) for help_text in HELP_TEXTS)


async def _help_turn(sandbox: SandboxClient, user: int) -> float:
    """/help from a user until the bot's help answer (ms)."""
    started = time.perf_counter()
    sent = await sandbox.send_text(user, "/help")
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while time.monotonic() < deadline:
        replies = await sandbox.bot_messages(user, after_message_id=sent["message_id"])
        if any(_is_help(reply) for reply in replies):
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no /help answer within {REPLY_TIMEOUT_S:.0f}s")


async def _help_probes(sandbox: SandboxClient, deadline: float, series: LoadSeries) -> None:
    """Other customers' /help, one after another (a short pause between), until the deadline."""
    users = itertools.cycle(range(HELP_USER_BASE, HELP_USER_BASE + HELP_USERS))
    while time.monotonic() < deadline:
        try:
            series.latencies_ms.append(await _help_turn(sandbox, next(users)))
        except Exception as exc:  # counted, the probes go on
            series.error(exc)
        await asyncio.sleep(HELP_PAUSE_S)


async def _keep_one_chat_hung(
    sandbox: SandboxClient, proxy: StallingProxy, deadline: float, help_series: LoadSeries, hung: list[int],
    first_stall: asyncio.Event,
) -> None:
    """One hung chat at a time until the deadline: its tracking action never answers; its /help waits behind it."""
    users = itertools.count(HUNG_USER_BASE)
    while time.monotonic() < deadline:
        user = next(users)
        sender = sender_id(user)
        proxy.stalled_senders.add(sender)
        sent = await sandbox.send_text(user, HUNG_TEXT)
        while sender not in proxy.stalled_calls:  # Rasa is inside this chat's action call, which will not return
            # Under heavy load the bot's Rasa timeout may come before Rasa reaches the action: the chat got its
            # holding reply without hanging, so the next customer tries (and after the deadline nobody does).
            if time.monotonic() > deadline or await sandbox.bot_messages(user, after_message_id=sent["message_id"]):
                break
            await asyncio.sleep(0.05)
        else:
            hung.append(user)
            first_stall.set()
            try:
                help_series.latencies_ms.append(await _help_turn(sandbox, user))
            except Exception as exc:
                help_series.error(exc)


async def _hung_series(
    settings: Settings, database: Database, meter: Meter, proxy: StallingProxy, *, concurrency: int, seconds: float,
) -> tuple[list[LoadSeries], list[int]]:
    """Warm up, then the baseline and the hung series, each with its /help probes."""
    token = rasa_token(settings)
    async with (
        httpx.AsyncClient(base_url=settings.effective_rasa_url, params={"token": token},
                          timeout=REPLY_TIMEOUT_S) as rasa,
        SandboxClient(settings.sandbox_url, token=settings.sandbox_control_token.get_secret_value()) as sandbox,
    ):
        # Untimed, through the proxy like everything after it: every code path of Rasa and the actions loaded.
        warmup = f"bench-hung-warmup-{uuid.uuid4().hex[:8]}"
        for text in warmup_texts():
            await rasa.post(CHANNEL_WEBHOOK, json={"sender": warmup, "message": text, "metadata": {}})
        for user in range(HELP_USER_BASE, HELP_USER_BASE + HELP_USERS):
            await _help_turn(sandbox, user)  # each /help user's chat exists before it is measured

        def customers(offset: int) -> Callable[[int, str], Awaitable[float]]:
            """The load customers of a series (same seeded texts, new users)."""

            async def one(index: int, text: str) -> float:
                """One text of customer `index`."""
                return await pipeline_turn(sandbox, database, LOAD_USER_BASE + offset + index, text)

            return one

        baseline = LoadSeries("pipeline, no chat hung", concurrency=concurrency)
        help_baseline = LoadSeries("/help, other customers, no chat hung", concurrency=1)
        meter.start()
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            closed_loop(concurrency, seconds, customers(0), baseline),
            _help_probes(sandbox, deadline, help_baseline),
        )
        meter.stop(baseline)
        help_baseline.seconds = seconds

        loaded = LoadSeries("pipeline, one chat hung", concurrency=concurrency)
        help_others = LoadSeries("/help, other customers, one chat hung", concurrency=1)
        help_hung = LoadSeries("/help, the hung customer (after its hung question)", concurrency=1)
        hung: list[int] = []
        first_stall = asyncio.Event()
        deadline = time.monotonic() + seconds + settings.rasa_timeout_seconds
        hanging = asyncio.create_task(
            _keep_one_chat_hung(sandbox, proxy, deadline, help_hung, hung, first_stall)
        )
        await asyncio.wait_for(first_stall.wait(), REPLY_TIMEOUT_S)
        meter.start()
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            closed_loop(concurrency, seconds, customers(HUNG_SERIES_OFFSET), loaded),
            _help_probes(sandbox, deadline, help_others),
        )
        meter.stop(loaded)
        help_others.seconds = help_hung.seconds = seconds
        await hanging
        proxy.release.set()
    return [baseline, loaded, help_baseline, help_others, help_hung], hung


def run_hung(base: Settings, console: Console, *, concurrency: int, seconds: float) -> HungResult:
    """Start the system with the stalling proxy; the baseline and the hung series at N customers."""
    result = HungResult(concurrency=concurrency, seconds=seconds, cores=os.cpu_count() or 0,
                        rasa_timeout_s=base.rasa_timeout_seconds)
    engine = ensure_engine(base)
    with console.status("model (trains if the data changed)…"):
        model = ensure_model(base, engine)
    system = start_system(base, console, engine, model, prefix="parceldesk-hung-", start_s=result.start_s,
                          action_proxy=True)
    settings = system.settings

    async def measure() -> tuple[list[LoadSeries], list[int], int]:
        """Run the proxy and the series in one event loop."""
        proxy = StallingProxy(upstream=f"http://127.0.0.1:{system.action_upstream_port}", stalled_senders=set())
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", settings.action_port)
        try:
            done, hung = await _hung_series(settings, system.database, Meter(system.services), proxy,
                                            concurrency=concurrency, seconds=seconds)
        finally:
            proxy.release.set()
            server.close()
        return done, hung, len(proxy.stalled_calls)

    try:
        result.load_average = [round(value, 2) for value in os.getloadavg()]
        with console.status(f"{concurrency} customers × {seconds:g} s, without and with one chat hung…"):
            done, hung, stalled = asyncio.run(measure())
        result.series = [load_row(series) for series in done]
        result.hung_chats, result.stalled_action_calls = len(hung), stalled
        before, after = done[0].latencies_ms, done[1].latencies_ms
        if before and after:
            result.p95_change = round(percentile(after, 0.95) / percentile(before, 0.95) - 1, 3)
    finally:
        system.supervisor.stop_all()
        system.database.dispose()
    console.print(f"logs and database: {system.workdir}")
    return result


def hung_table(result: HungResult) -> Table:
    """Latency per series: the customers' turns and the /help probes."""
    table = Table(title=f"One chat hung: {result.concurrency} customers (closed loop), {result.seconds:g} s per "
                        f"series, {result.cores} cores, Rasa timeout {result.rasa_timeout_s:g} s")
    for column in ("series", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "answered", "errors"):
        table.add_column(column, justify="left" if column == "series" else "right")
    for row in result.series:
        table.add_row(str(row["series"]), str(row["msgs_per_s"]), str(row["p50_ms"]), str(row["p95_ms"]),
                      str(row["p99_ms"]), str(row["answered"]), str(row["errors"]))
    return table


def hung_verdict(result: HungResult) -> str:
    """The target lines: other customers' p95 with and without a hung chat, /help under 200 ms."""
    rows = {str(row["series"]): row for row in result.series}
    change = "not measured" if result.p95_change is None else f"{result.p95_change:+.1%}"
    others = rows.get("/help, other customers, one chat hung", {})
    p95 = others.get("p95_ms")
    state = "not measured" if p95 is None else ("met" if float(p95) < result.help_target_ms else "NOT met")
    measured = "" if p95 is None else f" ({p95} ms)"
    return (f"other customers' p95 with one chat hung vs without: {change} "
            f"({result.hung_chats} chats hung in turn, {result.stalled_action_calls} action calls stalled)\n"
            f"/help of other customers while a chat is hung, p95 < {result.help_target_ms:g} ms: {state}{measured}\n"
            "/help of the hung customer waits behind its hung question (one chat's updates stay in order): "
            "about what is left of the Rasa timeout")


def hung_report(result: HungResult, console: Console, output: Path) -> None:
    """Print the table and verdict and write the result as JSON."""
    console.print(hung_table(result))
    console.print(hung_verdict(result))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"written to {output}")
