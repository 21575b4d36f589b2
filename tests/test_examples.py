"""Every script in ``examples/`` runs against the emulator and prints what it promises."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> (arguments, patterns that must each match some line of stdout)
RUNS: dict[str, tuple[list[str], list[str]]] = {
    "quotes.py": (["--duration", "2"], [r"^SBER +last [\d.]+ +bid", r"^GAZP +last "]),
    "order_book.py": (["--duration", "2"], [r"^book bid [\d.]+ x \d+ \| ask [\d.]+ x \d+"]),
    "bars_new_bar.py": (["--duration", "2"], [r"^closed \d\d:\d\d:00 UTC +O ", r"^still open"]),
    "portfolio_monitor.py": (
        ["--duration", "2"],
        [
            r"^portfolio D39004",
            r"^money +RUB",
            r"^position SBER",
            r"^summary +buying power",
            r"^risk +status",
        ],
    ),
    "threads_strategies.py": (
        ["--duration", "2"],
        [r"^\[spread\] +SBER spread", r"^\[momentum\] GAZP last", r"^all strategies stopped$"],
    ),
    "reconnect_demo.py": (
        ["--duration", "2"],
        [
            r"^emulator: dropping every connection",
            r"^connection lost \(",
            r"^reconnected: 2 subscriptions restored",
        ],
    ),
    "place_limit_order.py": ([], [r"^done: 3 commands sent, 3 replies, 0 errors"]),
    "history_pandas.py": (
        [],
        [
            r"^bars +\d{3,} minute candles of SBER",
            r"^trades +last \d+: mean price",
            r"^position RUB",
        ],
    ),
    "ten_lines.py": ([], [r"^quote SBER [\d.]+ [\d.]+", r"^book  OrderBookLevel\(price="]),
}
NEEDS_DISPLAY = {"tkinter_app.py": (["--duration", "2"], [r"^quote SBER", r"^window closed$"])}


def test_every_example_is_covered() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(RUNS) | set(NEEDS_DISPLAY)


def _run(script: str, arguments: list[str], patterns: list[str]) -> list[str]:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=EXAMPLES.parent,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stdout.splitlines()
    for pattern in patterns:
        assert any(re.search(pattern, line) for line in lines), (pattern, completed.stdout)
    return lines


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs(script: str) -> None:
    _run(script, *RUNS[script])


def test_reconnect_demo_keeps_printing_after_the_drop() -> None:
    lines = _run("reconnect_demo.py", *RUNS["reconnect_demo.py"])
    after = lines[lines.index("emulator: dropping every connection now") + 1 :]
    resumed = after[next(i for i, line in enumerate(after) if line.startswith("reconnected")) :]
    assert any(line.startswith("quote SBER") for line in resumed)
    assert any(line.startswith("book ") for line in resumed)


# ---------------------------------------------------------------------------- the Tk example


class _FakeRoot:
    """Stands in for ``tk.Tk``: records ``after`` calls so the test runs them by hand."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[int, Any]] = []

    def after(self, ms: int, func: Any) -> str:
        self.scheduled.append((ms, func))
        return f"after#{len(self.scheduled)}"


def _load_tkinter_app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location("tkinter_app", EXAMPLES / "tkinter_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tk_executor_runs_calls_in_order_on_the_polling_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a display the app cannot open a window; its marshalling is tested instead."""
    app = _load_tkinter_app(monkeypatch)
    root = _FakeRoot()
    executor = app.TkExecutor(root, interval_ms=7, batch=2)
    seen: list[tuple[str, int]] = []
    submitter = threading.Thread(
        target=lambda: [executor.submit(seen.append, ("x", n)) for n in range(3)]
    )
    submitter.start()
    submitter.join()
    assert seen == []  # nothing runs on the submitting thread
    executor.start()
    assert root.scheduled == [(7, executor.poll)]
    root.scheduled.pop()[1]()  # one Tk round: at most `batch` calls
    assert seen == [("x", 0), ("x", 1)]
    root.scheduled.pop()[1]()
    assert seen == [("x", 0), ("x", 1), ("x", 2)]
    executor.stop()
    root.scheduled.pop()[1]()
    assert root.scheduled == []  # stopped: no further rounds


def test_tk_app_runs_when_a_display_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("DISPLAY"):
        # No display here (no Xvfb either): the app's window cannot open, so check that it says
        # so in one line instead of a traceback; the executor is covered by the test above.
        completed = subprocess.run(
            [sys.executable, str(EXAMPLES / "tkinter_app.py"), "--duration", "1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 1
        assert completed.stderr.startswith("cannot open a window:")
        return
    _run("tkinter_app.py", *NEEDS_DISPLAY["tkinter_app.py"])
