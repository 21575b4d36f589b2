"""Targets of issues 7 and 14 judged from the measurements, the printed table and the JSON file.

Rules of this module:

* A target is a ratio against a baseline measured in the same run; with several rounds the
  ratio is the median of the per-round ratios (each round measures baseline and candidate back
  to back, so a noisy neighbour hits both).
* Every row says what it counts; rows without a threshold are reported, never judged.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = ["Row", "median_ratio", "percentile", "render", "write_json"]


@attrs.frozen
class Row:
    """One line of the table: a measured value, what it is compared with, and the verdict."""

    target: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    threshold: str = ""
    passed: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "info"
        return "PASS" if self.passed else "FAIL"


def median_ratio(values: Sequence[float], baselines: Sequence[float]) -> float:
    """Median of the per-round ratios ``values[i] / baselines[i]``."""
    return statistics.median(v / b for v, b in zip(values, baselines, strict=True) if b > 0)


def percentile(samples: Sequence[int], fraction: float) -> int:
    """The ``fraction`` quantile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    if not ordered:
        return 0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def _number(value: float, unit: str) -> str:
    if unit in ("msg/s", "B"):
        return f"{value:,.0f} {unit}"
    if unit == "us":
        return f"{value:,.0f} us"
    if unit == "us/msg":
        return f"{value:.1f} us/msg"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:g} {unit}".strip()


def _baseline_cell(row: Row) -> str:
    if row.baseline is None:
        return ""
    return f"{row.baseline_name} {_number(row.baseline, row.unit)}"


def render(rows: Sequence[Row]) -> str:
    """The table as fixed-width text (also valid Markdown)."""
    header = ("target", "measurement", "value", "baseline", "ratio", "threshold", "result")
    lines = [
        (
            row.target,
            row.name + (f" ({row.note})" if row.note else ""),
            _number(row.value, row.unit),
            _baseline_cell(row),
            "" if row.ratio is None else f"{row.ratio:.2f}x",
            row.threshold,
            row.verdict,
        )
        for row in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def write_json(path: Path, rows: Sequence[Row], raw: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "rows": [attrs.asdict(row) | {"verdict": row.verdict} for row in rows],
        "passed": all(row.passed is not False for row in rows),
        **raw,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
