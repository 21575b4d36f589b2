"""The quick benchmark runs and judges every target: ``benchmarks/run.py --quick`` as a subprocess.

A FAIL verdict of a target that does not depend on timing fails this test, not only a crash: the
rows in bytes, percent or connections (target 4: memory per subscription, idle CPU of quiet
subscriptions, how subscriptions spread over connections) gate it, see :func:`gating_failures`.
Speed targets (throughput and latency ratios, re-subscription time, the sender ceiling, decode
CPU per book) must be measured and judged, but their verdict does not fail the suite: speed is
measured, not asserted in tests, on a shared 2-core machine whose neighbours move every ratio
(the full run, ``run.py``, exits 1 on any FAIL and is where the speed targets are enforced).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Rows measured in these units do not depend on how fast this machine is at the moment.
_NOT_TIMING_UNITS = ("B", "%", "connections")


def gating_failures(rows: list[dict[str, Any]]) -> list[str]:
    """The rows of a run whose FAIL verdict fails this test: every row not measured in time."""
    return [
        f"{row['name']}: {row['value']} {row['unit']}"
        for row in rows
        if row["verdict"] == "FAIL" and row["unit"] in _NOT_TIMING_UNITS
    ]


def _row(name: str, unit: str, verdict: str) -> dict[str, Any]:
    return {"name": name, "value": 1.0, "unit": unit, "verdict": verdict}


def test_a_fail_verdict_of_a_target_not_in_time_fails_the_benchmark_test() -> None:
    rows = [
        _row("memory per subscription", "B", "FAIL"),
        _row("idle CPU", "%", "PASS"),
        _row("spread", "connections", "FAIL"),
        _row("typed every-frame", "msg/s", "FAIL"),  # speed: judged, reported, not gating
        _row("latency p50", "us", "FAIL"),
        _row("re-established after a drop", "s", "FAIL"),
        _row("CPU per book", "us", "info"),
    ]
    assert gating_failures(rows) == ["memory per subscription: 1.0 B", "spread: 1.0 connections"]
    assert gating_failures([r for r in rows if r["unit"] not in _NOT_TIMING_UNITS]) == []


def test_the_quick_benchmark_runs_and_reports_every_target(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--output", str(output)],
        cwd=tmp_path,  # run.py must not depend on the working directory
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert output.exists(), done.stderr[-3000:]  # a crash before any verdict
    document = json.loads(output.read_text())
    rows = document["rows"]
    failed = gating_failures(rows)
    assert not failed, f"targets missed: {failed}\n{done.stdout[-3000:]}"
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: a speed target missed
    assert document["passed"] is (done.returncode == 0)
    assert {row["target"] for row in rows} >= {"1", "2", "3", "4", "5"}
    judged = [row for row in rows if row["threshold"]]
    assert all(row["verdict"] in ("PASS", "FAIL") for row in judged)
    assert all(row["value"] > 0 for row in rows if row["unit"] == "msg/s")
    assert document["meta"]["quick"] is True
    for row in judged:  # the table names every judged measurement with its verdict
        assert row["name"] in done.stdout and row["verdict"] in done.stdout
