"""The package type-checks under mypy --strict and passes ruff: checked in CI, not by memory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_mypy_strict_on_the_package() -> None:
    result = _run(sys.executable, "-m", "mypy")  # configuration: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    result = _run(ruff, "check", "alor_sync", "tests", "examples", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr
