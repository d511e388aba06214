"""The benchmark's pure parts: percentiles, the one-customer summary, the target verdict and the report; the load
benchmark's message mix, its closed and open loops (on a fake request), its summary, verdict and report."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from parceldesk.bench import (
    COMPLAINT_FILED,
    COMPLAINT_STATUS,
    FAQ_TEXTS,
    FORM_CANCEL,
    FORM_OPENERS,
    MIX_WEIGHTS,
    SMALL_TALK_TEXTS,
    TARGET_ADDED_P50_MS,
    TEXTS,
    TRACKING_TEXTS,
    BenchResult,
    LoadResult,
    LoadSeries,
    OneCustomer,
    _open_loop,
    _percentiles,
    closed_loop,
    customer_texts,
    knee,
    language_of,
    load_report,
    load_row,
    load_verdict,
    mix_summary,
    percentile,
    proc_cpu_seconds,
    report,
    summarize,
    throughput_ratio,
    verdict,
)

# The fields the JSON had before the one-customer comparison; scripts that read it must keep working.
OLD_FIELDS = {"engine_ready_s", "model_ready_s", "start_s", "rss_mb", "parse_ms", "round_trip_ms", "samples"}
NEW_FIELDS = {
    "texts",
    "warmup",
    "pipeline_ms",
    "pipeline_samples",
    "rest_ms",
    "rest_samples",
    "added_ms",
    "added_paired_p50_ms",
    "target_added_p50_ms",
    "target_met",
    "pipeline_intents",
}


def measured(pipeline: list[float], rest: list[float]) -> BenchResult:
    """A result summarised from the given one-customer series."""
    result = BenchResult(samples=len(pipeline), texts=list(TEXTS), warmup=len(TEXTS))
    summarize(result, OneCustomer(pipeline=pipeline, rest=rest, intents={"你好": "greet"}))
    return result


def test_percentile_is_the_median_at_one_half() -> None:
    """p50 is the middle value, or the mean of the two middle ones."""
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5


def test_percentile_interpolates_between_ranks() -> None:
    """p95 of 1..100 lies between the 95th and 96th values; the ends are min and max."""
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.95) == pytest.approx(95.05)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.95) == 7.0


def test_percentile_refuses_no_values_and_bad_fractions() -> None:
    """Nothing measured, or a fraction outside 0..1, is an error rather than a made-up number."""
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 95)


def test_percentiles_are_rounded_milliseconds() -> None:
    """The table and JSON show p50, p95 and max to a tenth of a millisecond."""
    assert _percentiles([10.04, 20.0, 30.06]) == {"p50": 20.0, "p95": 29.1, "max": 30.1}


def test_summary_reports_both_series_and_what_the_bot_adds() -> None:
    """Percentiles of each series, sample counts, the differences and the paired median."""
    pipeline = [60.0, 62.0, 64.0, 66.0, 100.0]
    rest = [50.0, 51.0, 52.0, 53.0, 54.0]
    result = measured(pipeline, rest)
    assert result.pipeline_ms == {"p50": 64.0, "p95": 93.2, "max": 100.0}
    assert result.rest_ms == {"p50": 52.0, "p95": 53.8, "max": 54.0}
    assert (result.pipeline_samples, result.rest_samples) == (5, 5)
    assert result.added_ms == {"p50": 12.0, "p95": 39.4}
    assert result.added_paired_p50_ms == 12.0  # pairs differ by 10, 11, 12, 13, 46
    assert result.pipeline_intents == {"你好": "greet"}


def test_target_is_met_only_below_the_limit() -> None:
    """The bot must add strictly less than the target at the median."""
    assert measured([69.9], [50.0]).target_met is True
    at_limit = measured([50.0 + TARGET_ADDED_P50_MS], [50.0])
    assert at_limit.target_met is False
    assert verdict(at_limit) == f"bot adds < {TARGET_ADDED_P50_MS:g} ms p50: NOT met ({TARGET_ADDED_P50_MS} ms)"
    assert verdict(measured([61.5], [50.0])) == "bot adds < 20 ms p50: met (11.5 ms)"


def test_nothing_measured_gives_no_verdict() -> None:
    """An empty series leaves the one-customer fields empty and says so instead of claiming the target."""
    result = measured([], [])
    assert result.target_met is None
    assert result.pipeline_ms == {} and result.added_paired_p50_ms is None
    assert verdict(result) == "bot adds < 20 ms p50: not measured"


def test_report_keeps_the_old_json_fields_and_adds_the_new(tmp_path: Path) -> None:
    """Start-up, RSS and the old latencies stay; the one-customer comparison is added beside them."""
    result = measured([70.0, 72.0], [55.0, 56.0])
    result.start_s = {"rasa": 24.8}
    result.rss_mb = {"bot": 85.3}
    result.parse_ms = {"p50": 10.0, "p95": 16.8, "max": 19.3}
    result.round_trip_ms = {"p50": 64.9, "p95": 72.8, "max": 73.5}
    output = tmp_path / "out" / "bench.json"
    console = Console(record=True, width=200, color_system=None)
    report(result, console, output)

    data = json.loads(output.read_text(encoding="utf-8"))
    assert OLD_FIELDS | NEW_FIELDS <= set(data)
    assert data["rss_mb"] == {"bot": 85.3} and data["samples"] == 2
    assert data["pipeline_ms"]["p50"] == 71.0 and data["rest_ms"]["p50"] == 55.5
    assert data["added_ms"]["p50"] == 15.5 and data["target_met"] is True
    assert data["texts"] == list(TEXTS)

    shown = console.export_text()
    assert "RSS bot (MB)" in shown and "start rasa (s)" in shown
    assert re.search(r"p50\s*│\s*71\.0\s*│\s*55\.5\s*│\s*15\.5", shown)
    assert re.search(r"samples\s*│\s*2\s*│\s*2", shown)
    assert "bot adds < 20 ms p50: met (15.5 ms)" in shown


def test_texts_ask_about_demo_parcels() -> None:
    """Every waybill the benchmark tracks exists in the demo company, so tracking answers take the real path."""
    from demo.company import SHOWCASE_NUMBERS

    numbers = {number for text in TEXTS for number in re.findall(r"XJ\d{12}", text)}
    assert numbers and numbers <= set(SHOWCASE_NUMBERS)


def test_load_texts_ask_about_demo_parcels() -> None:
    """The load mix names demo waybills only, so its tracking answers and complaint forms take the real path too."""
    from demo.company import SHOWCASE_NUMBERS

    named = TRACKING_TEXTS + FORM_OPENERS
    numbers = {number for text in named for number in re.findall(r"XJ\d{12}", text)}
    assert numbers and numbers <= set(SHOWCASE_NUMBERS)


def test_a_customer_stream_is_reproducible_per_seed() -> None:
    """The same seed gives the same customer (a rerun sends the same mix); other seeds give other customers."""
    first = list(itertools.islice(customer_texts(7), 50))
    assert first == list(itertools.islice(customer_texts(7), 50))
    assert first != list(itertools.islice(customer_texts(8), 50))


def test_the_mix_has_every_kind_and_both_languages_in_about_the_configured_shares() -> None:
    """Over many customers every kind of episode shows up near its weight, and both languages are well represented."""
    texts = [text for seed in range(200) for text in itertools.islice(customer_texts(seed), 30)]
    shares = mix_summary(texts)
    assert set(shares) == {"tracking", "faq", "small_talk", "complaint", "form_cancelled", "zh"}
    # A cancelled form takes two messages, every other episode one: message shares are close to the weights.
    assert shares["tracking"] == pytest.approx(0.39, abs=0.04)
    assert shares["faq"] == pytest.approx(0.21, abs=0.04)
    assert shares["small_talk"] == pytest.approx(0.14, abs=0.03)
    assert shares["complaint"] == pytest.approx(0.11, abs=0.03)
    assert shares["form_cancelled"] == pytest.approx(0.15, abs=0.03)
    assert 0.35 < shares["zh"] < 0.65
    assert sum(MIX_WEIGHTS.values()) == pytest.approx(1.0)


def test_each_customer_files_one_complaint_then_asks_about_it_and_opened_forms_are_cancelled() -> None:
    """One complaint per customer, later complaint episodes ask for its status (so no customer becomes a serious
    repeat complainant, paused for a person); each opened form is cancelled next turn, in its language."""
    for seed in range(200):
        texts = list(itertools.islice(customer_texts(seed), 60))
        filed = [index for index, text in enumerate(texts) if text in COMPLAINT_FILED]
        assert len(filed) <= 1
        for index, text in enumerate(texts):
            if text in COMPLAINT_STATUS:
                assert filed and filed[0] < index
            if text in FORM_OPENERS and index + 1 < len(texts):  # the 60th text may open a form
                assert texts[index + 1] in FORM_CANCEL
                assert language_of(texts[index + 1]) == language_of(text)
            if text in FORM_CANCEL:
                assert index > 0 and texts[index - 1] in FORM_OPENERS
    assert {language_of(text) for text in FAQ_TEXTS + SMALL_TALK_TEXTS} == {"zh", "en"}


def test_cpu_seconds_come_from_utime_and_stime_even_with_odd_process_names() -> None:
    """Fields 14 and 15 of /proc/<pid>/stat, counted after the last ')' (a name may hold spaces and parentheses)."""
    line = "4242 (rasa (worker) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 2000 300"
    assert proc_cpu_seconds(line, 100) == 3.0
    with open("/proc/self/stat", encoding="ascii") as stat:
        assert proc_cpu_seconds(stat.read(), 100) >= 0.0


def series(name: str, latencies: list[float], *, seconds: float = 10.0, rate: float | None = None,
           errors: int = 0) -> dict[str, object]:
    """The summary row of a made-up series."""
    made = LoadSeries(name=name, concurrency=20, rate=rate, seconds=seconds, latencies_ms=latencies,
                      texts=["你好"] * len(latencies))
    for _ in range(errors):
        made.error(TimeoutError())
    return load_row(made)


def test_a_load_row_has_throughput_percentiles_and_errors() -> None:
    """msgs/s counts answered requests only; p50/p95/p99 over them; errors by kind."""
    row = series("pipeline", [float(n) for n in range(1, 101)], seconds=20.0, errors=3)
    assert row["msgs_per_s"] == 5.0 and row["answered"] == 100
    assert (row["p50_ms"], row["p95_ms"], row["p99_ms"]) == (50.5, 95.0, 99.0)
    assert row["errors"] == 3 and row["error_kinds"] == {"TimeoutError": 3}
    assert row["mix"] == {"small_talk": 1.0, "zh": 1.0}
    empty = series("pipeline", [], errors=2)
    assert empty["msgs_per_s"] == 0.0 and empty["p95_ms"] is None


def test_throughput_ratio_compares_closed_loop_series_only() -> None:
    """Pipeline over raw channel, ignoring open-loop rows of the same name; missing or zero gives None."""
    rows = [
        series("raw Rasa channel", [100.0] * 200),
        series("pipeline", [120.0] * 180),
        series("pipeline", [50.0] * 10, rate=1.0),
    ]
    assert throughput_ratio(rows, "pipeline", "raw Rasa channel") == 0.9
    assert throughput_ratio(rows[1:], "pipeline", "raw Rasa channel") is None
    assert throughput_ratio([series("raw Rasa channel", []), rows[1]], "pipeline", "raw Rasa channel") is None


def test_the_knee_is_the_highest_rate_under_the_p95_limit_without_errors() -> None:
    """A faster rate with p95 over 1 s or with errors does not count; no good rate gives None."""
    rows = [
        series("pipeline", [100.0] * 10),  # closed loop: no rate
        series("open 2", [300.0] * 10, rate=2.0),
        series("open 4", [900.0] * 10, rate=4.0),
        series("open 6", [1000.0] * 10, rate=6.0),
        series("open 8", [200.0] * 10, rate=8.0, errors=1),
    ]
    assert knee(rows) == 4.0
    assert knee(rows[3:]) is None


async def test_the_closed_loop_keeps_one_request_per_customer_and_counts_failures() -> None:
    """Never more requests in flight than customers, each customer's texts in its own order, failures counted."""
    in_flight, peak = 0, 0
    seen: dict[int, list[str]] = {}

    async def one(index: int, text: str) -> float:
        """A fake request: 5 ms, every seventh fails."""
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        seen.setdefault(index, []).append(text)
        await asyncio.sleep(0.005)
        in_flight -= 1
        if len(seen[index]) % 7 == 0:
            raise TimeoutError
        return 5.0

    result = LoadSeries(name="fake", concurrency=3)
    await closed_loop(3, 0.3, one, result)
    assert peak == 3
    assert set(seen) == {0, 1, 2}
    for index, texts in seen.items():
        assert texts == list(itertools.islice(customer_texts(index), len(texts)))
    total = sum(len(texts) for texts in seen.values())
    assert result.errors == sum(len(texts) // 7 for texts in seen.values()) > 0
    assert len(result.latencies_ms) + result.errors == total
    assert 0.3 <= result.seconds < 1.0


async def test_the_open_loop_keeps_its_rate_when_answers_are_slow_and_never_doubles_up_a_customer() -> None:
    """Arrivals keep coming at the rate while answers take longer; a busy customer is not sent another text."""
    busy: set[int] = set()
    overlaps = 0

    async def one(index: int, text: str) -> float:
        """A fake request that takes 100 ms (longer than the 20 ms between arrivals)."""
        nonlocal overlaps
        overlaps += index in busy
        busy.add(index)
        await asyncio.sleep(0.1)
        busy.discard(index)
        return 100.0

    result = LoadSeries(name="fake open", rate=50.0)
    await _open_loop(50.0, 0.4, one, result)
    assert overlaps == 0
    assert 18 <= len(result.latencies_ms) <= 22  # 50/s for 0.4 s
    assert result.concurrency >= 5  # at least 100 ms / 20 ms customers were needed at once
    assert result.seconds == 0.4


def test_load_report_prints_the_tables_and_verdicts_and_writes_json(tmp_path: Path) -> None:
    """The tables show each series; the verdict names the ratio and the knee; the JSON holds every row."""
    result = LoadResult(concurrency=20, seconds=60.0, rates=[2.0], cores=2, load_average=[0.5, 0.4, 0.3])
    result.series = [
        series("raw Rasa channel", [100.0] * 200),
        series("pipeline", [120.0] * 190),
        series("pipeline open loop 2/s", [300.0] * 20, rate=2.0),
    ]
    result.series[1]["cpu_s"] = {"rasa": 50.5, "bot": 3.2}
    result.series[1]["rss_mb"] = {"rasa": 1700.0, "bot": 95.0}
    result.pipeline_vs_channel = throughput_ratio(result.series, "pipeline", "raw Rasa channel")
    result.knee_rate = knee(result.series)
    output = tmp_path / "load" / "load.json"
    console = Console(record=True, width=200, color_system=None)
    load_report(result, console, output)

    shown = console.export_text()
    assert re.search(r"pipeline\s*│\s*19\.0\s*│\s*120\.0", shown)
    assert "50.5 / 1700.0" in shown
    assert "pipeline / raw channel throughput ≥ 90%: met (95.0%)" in shown
    assert "highest rate with p95 < 1000 ms and no errors: 2 msgs/s" in shown
    data = json.loads(output.read_text(encoding="utf-8"))
    assert [row["series"] for row in data["series"]] == ["raw Rasa channel", "pipeline", "pipeline open loop 2/s"]
    assert data["pipeline_vs_channel"] == 0.95 and data["knee_rate"] == 2.0
    result.pipeline_vs_channel = 0.5
    assert load_verdict(result).startswith("pipeline / raw channel throughput ≥ 90%: NOT met (50.0%)")
