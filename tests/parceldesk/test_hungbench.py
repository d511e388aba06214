"""`parceldesk bench --load N --hung` without Rasa: the stalling proxy (parceldesk/stall.py) in front of a real HTTP
server, the /help probe against the real bot and sandbox while Rasa never answers, and the table, verdict and JSON.
No timings are asserted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.texts import TEXTS
from crm.chats import sender_id
from parceldesk.bench import LoadSeries, load_row
from parceldesk.hungbench import (
    HELP_TARGET_MS,
    HungResult,
    _help_probes,
    _help_turn,
    _is_help,
    hung_report,
    hung_verdict,
)
from parceldesk.stall import StallingProxy
from tests.databases import create_database
from tests.sandbox.sandbox_harness import serving

# ---------------------------------------------------------------------------------------------- the stalling proxy


@contextlib.asynccontextmanager
async def action_server(received: list[dict[str, Any]]) -> AsyncIterator[str]:
    """A stand-in for the action server on a free port: /webhook echoes the call, /health answers; yields its URL."""

    async def webhook(request: Request) -> Response:
        body = await request.json()
        received.append({"body": body, "token": request.headers.get("x-token")})
        return JSONResponse({"events": [], "responses": [{"text": f"hi {body['sender_id']}"}]})

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/health", health)])
    async with serving(app) as url:
        yield url


def call(sender: str) -> dict[str, Any]:
    """An action call as Rasa sends it (the sender at the top level)."""
    return {"next_action": "action_track_parcel", "sender_id": sender, "tracker": {"sender_id": sender}}


async def test_the_proxy_forwards_other_senders_and_never_answers_a_stalled_one() -> None:
    """Calls are forwarded unchanged (body, headers, status) on one keep-alive connection; a stalled sender's call
    hangs while other senders' calls go through, and ends without an answer once released."""
    received: list[dict[str, Any]] = []
    async with action_server(received) as upstream:
        proxy = StallingProxy(upstream=upstream, stalled_senders={sender_id(9)})
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            async with httpx.AsyncClient(base_url=url, timeout=10) as rasa, \
                    httpx.AsyncClient(base_url=url, timeout=10) as hung_rasa:
                first = await rasa.post("/webhook", json=call(sender_id(1)), headers={"X-Token": "secret"})
                second = await rasa.post("/webhook", json=call(sender_id(2)))
                assert (first.status_code, first.json()["responses"]) == (200, [{"text": "hi tg-1"}])
                assert second.json()["responses"] == [{"text": "hi tg-2"}]
                assert (await rasa.get("/health")).text == "ok"
                assert (await rasa.post("/nowhere", json=call(sender_id(3)))).status_code == 404

                stalled = asyncio.create_task(hung_rasa.post("/webhook", json=call(sender_id(9))))
                async with asyncio.timeout(10):
                    while sender_id(9) not in proxy.stalled_calls:
                        await asyncio.sleep(0.01)
                during = await rasa.post("/webhook", json=call(sender_id(4)))  # others are not held up
                assert during.json()["responses"] == [{"text": "hi tg-4"}] and not stalled.done()
                proxy.release.set()
                with pytest.raises(httpx.RemoteProtocolError):
                    await stalled  # closed without an answer
        finally:
            proxy.release.set()
            server.close()
            await server.wait_closed()
    assert proxy.stalled_calls == [sender_id(9)]
    assert proxy.forwarded == [sender_id(1), sender_id(2), "", sender_id(3), sender_id(4)]
    assert [r["body"]["sender_id"] for r in received] == [sender_id(1), sender_id(2), sender_id(4)]
    assert received[0]["body"] == call(sender_id(1)) and received[0]["token"] == "secret"


# ---------------------------------------------------------------------------------------------- the /help probe


@pytest.mark.parametrize("language", ["zh", "en"])
def test_help_is_recognised_in_either_language(language: str) -> None:
    """The whole /help text or its first part is /help; anything else is not."""
    whole = TEXTS["help"][language]
    assert _is_help({"text": whole}) and _is_help({"text": whole.split("\n\n")[0]})
    assert not _is_help({"text": TEXTS["help"]["en" if language == "zh" else "zh"][:10] + "…?"})
    assert not _is_help({"text": "where is my parcel"}) and not _is_help({})


async def test_help_probes_are_answered_while_rasa_never_answers(tmp_path: Path) -> None:
    """Against the real bot and sandbox with a Rasa that never answers: /help is answered (the bot needs no Rasa
    for it), a probe series counts answers and no errors."""
    from tests.bot.test_waiting import running_bot

    for database in create_database("sqlite", tmp_path):
        data = tmp_path / "data"
        data.mkdir()
        async with running_bot(database, data) as bot:
            assert await _help_turn(bot.sandbox, 61_000_001) > 0
            series = LoadSeries("/help, other customers", concurrency=1)
            await _help_probes(bot.sandbox, time.monotonic() + 1.5, series)
            assert series.latencies_ms and series.errors == 0, series.error_kinds


# ---------------------------------------------------------------------------------------------- verdict and report


def hung_result(help_p95_ms: float | None, p95_change: float | None) -> HungResult:
    """A finished run: both pipeline series and the /help probes of others with (or without) answers."""
    others = LoadSeries("/help, other customers, one chat hung", concurrency=1, seconds=10.0)
    if help_p95_ms is not None:
        others.latencies_ms = [help_p95_ms] * 20
    series = [LoadSeries("pipeline, no chat hung", concurrency=4, seconds=10.0, latencies_ms=[300.0, 400.0]),
              LoadSeries("pipeline, one chat hung", concurrency=4, seconds=10.0, latencies_ms=[310.0, 420.0]),
              others]
    return HungResult(concurrency=4, seconds=10.0, cores=2, rasa_timeout_s=5.0,
                      series=[load_row(one) for one in series], hung_chats=3, stalled_action_calls=3,
                      p95_change=p95_change)


@pytest.mark.parametrize(
    ("help_p95_ms", "p95_change", "expected"),
    [
        (HELP_TARGET_MS / 2, 0.05, ["vs without: +5.0% (3 chats hung in turn, 3 action calls stalled)",
                                    f"p95 < {HELP_TARGET_MS:g} ms: met ({HELP_TARGET_MS / 2:.1f} ms)\n"]),
        (HELP_TARGET_MS * 2, -0.02, ["vs without: -2.0%", f"NOT met ({HELP_TARGET_MS * 2:.1f} ms)\n"]),
        (None, None, ["vs without: not measured", "ms: not measured\n"]),
    ],
)
def test_the_verdict_says_whether_the_targets_were_met(help_p95_ms: float | None, p95_change: float | None,
                                                       expected: list[str]) -> None:
    """Other customers' p95 change, and /help under the target: met, not met, or not measured."""
    verdict = hung_verdict(hung_result(help_p95_ms, p95_change))
    for part in expected:
        assert part in verdict, verdict
    assert "waits behind its hung question" in verdict


def test_the_report_prints_the_table_and_writes_the_json(tmp_path: Path) -> None:
    """Every series in the table; the JSON holds the whole result and reads back."""
    console = Console(record=True, width=200, color_system=None)
    output = tmp_path / "bench" / "hung.json"
    result = hung_result(120.0, 0.01)
    hung_report(result, console, output)
    printed = console.export_text()
    for row in result.series:
        assert str(row["series"]) in printed
    assert "4 customers (closed loop), 10 s per series, 2 cores, Rasa timeout 5 s" in printed
    written = json.loads(output.read_text(encoding="utf-8"))
    assert (written["hung_chats"], written["p95_change"], written["help_target_ms"]) == (3, 0.01, HELP_TARGET_MS)
    assert [row["series"] for row in written["series"]] == [row["series"] for row in result.series]
