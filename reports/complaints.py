"""The complaint report drawn: table rows, a CSV file and a PNG bar chart of a crm.complaintanalysis report.

The same drawing serves `parceldesk report complaints` and the bot's /report and weekly summary. The chart uses
matplotlib's Figure with the Agg canvas directly (no pyplot: no global figure state, safe off the event loop).
Chinese labels need a CJK font on the machine (e.g. Debian's fonts-noto-cjk); without one the chart is drawn in
English rather than with empty boxes (chart_language).
"""

from __future__ import annotations

import csv
import io
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from core.clock import local
from crm.complaintanalysis import ComplaintReport, Figures

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

logger = logging.getLogger(__name__)

# Families that carry simplified Chinese, most common first (Linux, then Windows and macOS names).
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei", "PingFang SC",
    "Heiti SC",
)
BARS = 12
CSV_COLUMNS = (
    "group", "complaints", "share", "open", "overdue", "resolved", "rejected", "median_hours_to_resolve",
    "answered", "satisfied", "satisfaction",
)
CHART_TEXTS = {
    "title": {"zh": "投诉分析 · 按{by} · {since} 至 {until} · 共 {total} 件",
              "en": "Complaints by {by} · {since} to {until} · {total} in all"},
    "axis": {"zh": "投诉数", "en": "complaints"},
    "empty": {"zh": "这段时间没有投诉", "en": "No complaints in this period"},
    "other": {"zh": "其他", "en": "other"},
}
DIMENSION_LABELS = {
    "category": {"zh": "原因", "en": "reason"},
    "city": {"zh": "城市", "en": "city"},
    "station": {"zh": "网点", "en": "station"},
    "courier": {"zh": "快递员", "en": "courier"},
    "week": {"zh": "周", "en": "week"},
}


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The first installed font family with Chinese glyphs, if any."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def chart_language(language: str) -> str:
    """The language the chart can be drawn in: Chinese only with a CJK font installed, else English."""
    if language == "zh" and cjk_family() is None:
        logger.warning("no CJK font installed (e.g. fonts-noto-cjk): the complaint chart is drawn in English")
        return "en"
    return language


def percent(value: float | None) -> str:
    """0.256 -> '25.6%'; None -> '-'."""
    return "-" if value is None else f"{value * 100:.1f}%"


def hours(value: float | None) -> str:
    """Median hours, one decimal; None -> '-'."""
    return "-" if value is None else f"{value:.1f}"


def period(report: ComplaintReport) -> tuple[str, str]:
    """The report's first and last day in company time."""
    # The period ends before `until`: a report up to Monday 00:00 covers the days through Sunday.
    last = max(report.since, report.until - timedelta(seconds=1))
    return local(report.since).strftime("%Y-%m-%d"), local(last).strftime("%Y-%m-%d")


def table_rows(report: ComplaintReport) -> list[list[str]]:
    """One row per group, as shown and written: the CSV_COLUMNS in order (labels in the report's language)."""
    return [_row(group.label, group.figures, group.share) for group in report.groups]


def _row(name: str, figures: Figures, share: float) -> list[str]:
    """A row of figures."""
    return [
        name, str(figures.complaints), percent(share), str(figures.open), str(figures.overdue),
        str(figures.resolved), str(figures.rejected), hours(figures.median_hours), str(figures.answered),
        str(figures.satisfied), percent(figures.satisfaction),
    ]


def total_row(report: ComplaintReport) -> list[str]:
    """The totals row."""
    return _row("total" if report.language == "en" else "合计", report.total, 1.0 if report.total.complaints else 0.0)


def write_csv(report: ComplaintReport, path: Path) -> Path:
    """Write the table (and the totals row) as CSV; UTF-8 with a BOM so spreadsheet programs read the Chinese."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(table_rows(report))
        writer.writerow(total_row(report))
    return path


@dataclass(frozen=True)
class Bar:
    """One bar of the chart."""

    label: str
    count: int


def bars(report: ComplaintReport, *, limit: int = BARS) -> list[Bar]:
    """The bars: every week in order, or the largest groups with the rest summed up as "other"."""
    shown = [Bar(group.label, group.figures.complaints) for group in report.groups]
    if report.by == "week" or len(shown) <= limit:
        return shown
    rest = sum(bar.count for bar in shown[limit - 1 :])
    return [*shown[: limit - 1], Bar(CHART_TEXTS["other"][report.language], rest)]


def render_chart(report: ComplaintReport) -> bytes:
    """The report as a PNG bar chart (horizontal bars for groups, columns for weeks)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    language = report.language
    font = _font(language)
    since, until = period(report)
    title = CHART_TEXTS["title"][language].format(
        by=DIMENSION_LABELS[report.by][language], since=since, until=until, total=report.total.complaints
    )
    shown = bars(report)
    height = 4.5 if report.by == "week" else max(3.5, 0.45 * len(shown) + 1.8)
    figure = Figure(figsize=(9, height), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if not shown:
        axes.text(0.5, 0.5, CHART_TEXTS["empty"][language], ha="center", va="center", fontproperties=font)
        axes.set_axis_off()
    elif report.by == "week":
        positions = range(len(shown))
        axes.bar(positions, [bar.count for bar in shown], color="#3b6ea5")
        axes.set_xticks(list(positions), [bar.label for bar in shown], rotation=45, ha="right", fontproperties=font)
        axes.set_ylabel(CHART_TEXTS["axis"][language], fontproperties=font)
        for x, bar in zip(positions, shown, strict=True):
            axes.annotate(str(bar.count), (x, bar.count), ha="center", va="bottom", fontsize=8)
    else:
        ordered = list(reversed(shown))  # largest on top
        positions = range(len(ordered))
        axes.barh(positions, [bar.count for bar in ordered], color="#3b6ea5")
        axes.set_yticks(list(positions), [bar.label for bar in ordered], fontproperties=font)
        axes.set_xlabel(CHART_TEXTS["axis"][language], fontproperties=font)
        total = report.total.complaints or 1
        for y, bar in zip(positions, ordered, strict=True):
            axes.annotate(f" {bar.count} ({bar.count / total:.0%})", (bar.count, y), va="center", fontsize=8)
        axes.margins(x=0.15)
    # Complaints come whole: no 2.5 on the count axis.
    (axes.yaxis if report.by == "week" else axes.xaxis).set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontproperties=font, fontsize=11)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Without a CJK font, Chinese data (city names, couriers) shows as boxes: chart_language logged that once.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.tight_layout()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_chart(report: ComplaintReport, path: Path) -> Path:
    """Write the PNG chart to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_chart(report))
    return path


def _font(language: str) -> FontProperties | None:
    """Font properties with Chinese glyphs for a Chinese chart (None: matplotlib's default font)."""
    from matplotlib.font_manager import FontProperties

    family = cjk_family() if language == "zh" else None
    return FontProperties(family=[family, "DejaVu Sans"]) if family else None
