"""The benchmark's pure parts: percentiles, the one-customer summary, the target verdict and the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from parceldesk.bench import (
    TARGET_ADDED_P50_MS,
    TEXTS,
    BenchResult,
    OneCustomer,
    _percentiles,
    percentile,
    report,
    summarize,
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
