"""The quick benchmark runs and meets every target: ``benchmarks/run.py --quick`` as a subprocess.

A FAIL verdict fails this test, not only a crash: ``run.py`` exits 1 when a judged target is
missed, and the rows say which. The quick plan takes medians over three short rounds so that a
noisy neighbour on the machine has to hit all three to move a verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    failed = [f"{row['name']}: {row['ratio']}" for row in rows if row["verdict"] == "FAIL"]
    assert not failed, f"targets missed: {failed}\n{done.stdout[-3000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    assert document["passed"] is True
    assert {row["target"] for row in rows} >= {"1", "2", "3", "4", "5"}
    judged = [row for row in rows if row["threshold"]]
    assert all(row["verdict"] in ("PASS", "FAIL") for row in judged)
    assert all(row["value"] > 0 for row in rows if row["unit"] == "msg/s")
    assert document["meta"]["quick"] is True
    for row in judged:  # the table names every judged measurement with its verdict
        assert row["name"] in done.stdout and row["verdict"] in done.stdout
