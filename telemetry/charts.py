"""Geometry of the dashboard's charts, drawn as inline SVG by the template (no JavaScript, no CDN).

Only numbers and labels leave this module; the template renders them with Django's autoescaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from sync.models import RunStatus

WIDTH = 420
HEIGHT = 120
GAP = 2
COLOURS = {RunStatus.SUCCEEDED: "#2e7d32", RunStatus.FAILED: "#c62828", RunStatus.CANCELLED: "#9e9e9e"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    median_y: float | None  # the p50 line of successful runs
    max_label: str


def run_durations(runs: Sequence[dict[str, Any]], *, slots: int = 20) -> BarChart:
    """One bar per run (oldest left), its height the duration, its colour the status."""
    durations = [r["duration_ms"] or 0 for r in runs]
    top = max(durations, default=0) or 1
    slot = WIDTH / max(slots, len(runs), 1)
    bars = []
    for index, run in enumerate(runs):
        height = (run["duration_ms"] or 0) / top * (HEIGHT - 10)
        label = f"run {run['id']}: {run['status']} {(run['duration_ms'] or 0) / 1000:.1f}s"
        if run["error_code"]:
            label += f" {run['error_code']}"
        bars.append(
            Bar(
                x=round(index * slot + GAP / 2, 1),
                y=round(HEIGHT - height, 1),
                width=round(slot - GAP, 1),
                height=round(height, 1),
                colour=COLOURS.get(run["status"], "#616161"),
                title=label,
            )
        )
    succeeded = [r["duration_ms"] for r in runs if r["status"] == RunStatus.SUCCEEDED and r["duration_ms"]]
    median_y = round(HEIGHT - median(succeeded) / top * (HEIGHT - 10), 1) if succeeded else None
    return BarChart(width=WIDTH, height=HEIGHT, bars=bars, median_y=median_y, max_label=f"{top / 1000:.1f}s")


def counts_by_label(counts: dict[str, int], *, colour: str = "#c62828") -> BarChart:
    """Horizontal bars, one per label (e.g. failures by error code), longest first."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    top = max(counts.values(), default=0) or 1
    row = 18
    label_width = 170
    bars = [
        Bar(
            x=label_width,
            y=index * row,
            width=round(value / top * (WIDTH - label_width - 40), 1),
            height=row - 4,
            colour=colour,
            title=f"{label}: {value}",
        )
        for index, (label, value) in enumerate(items)
    ]
    return BarChart(
        width=WIDTH, height=max(row * len(items), row), bars=bars, median_y=None, max_label=str(top)
    )
