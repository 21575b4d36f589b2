"""The README's code runs: its Python snippets are executed against the emulator."""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from alor_sync.emulator import Emulator
from tests.client_helpers import running

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _block_containing(marker: str) -> str:
    blocks = [b for b in _python_blocks() if marker in b]
    assert len(blocks) == 1, f"expected one README block with {marker!r}"
    return blocks[0]


def test_readme_starts_with_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", text, re.S)[:2]
    assert "alor-sync demo" in commands[0]
    assert "pytest" in commands[1]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci, ".ci/run must run the README's test command verbatim"


def test_quick_start_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt="": "")  # "press Enter" at once
    namespace: dict[str, Any] = {}
    exec(compile(_block_containing("with Emulator() as emu"), "README", "exec"), namespace)
    assert namespace["book"].state.value == "closed"  # it was active, then the with closed it


def test_quick_start_prints_whole_lines_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both callbacks print at once on two workers: every line must still be one whole line.

    The print given to the snippet is as slow as a busy terminal: it writes each piece
    separately and lets other threads run in between, where an unguarded print interleaves.
    """
    enough = threading.Event()
    printed: list[int] = []

    def slow_print(*parts: Any) -> None:
        for part in parts:
            sys.stdout.write(str(part))
            time.sleep(0.001)  # a thread switch mid-line, as a slow terminal causes
        sys.stdout.write("\n")
        printed.append(1)
        if len(printed) >= 40:
            enough.set()

    def enter_once_enough_printed(prompt: str = "") -> str:
        enough.wait(10)
        return ""

    monkeypatch.setattr("builtins.input", enter_once_enough_printed)
    namespace: dict[str, Any] = {"print": slow_print}
    exec(compile(_block_containing("with Emulator() as emu"), "README", "exec"), namespace)
    lines = capsys.readouterr().out.splitlines()
    shown = [line for line in lines if line.startswith(("quote ", "book "))]
    assert len(shown) >= 40
    whole = re.compile(r"quote SBER [\d.]+ [\d.]+|book OrderBookLevel\(.*\)")
    assert [line for line in shown if not whole.fullmatch(line)] == []


def test_one_shot_snippet_runs_against_the_emulator() -> None:
    with Emulator(speed=0) as emu, running(emu) as client:
        namespace: dict[str, Any] = {"client": client}
        exec(compile(_block_containing("client.get_bars"), "README", "exec"), namespace)
        assert len(namespace["frame"]) > 50 and namespace["frame"]["close"].dtype == "float64"
        assert {p.symbol for p in namespace["positions"]} >= {"RUB"}


def test_order_commands_snippet_runs_against_the_emulator() -> None:
    with Emulator(speed=0) as emu, running(emu) as client:
        namespace: dict[str, Any] = {"client": client}
        exec(compile(_block_containing("client.commands"), "README", "exec"), namespace)
        assert namespace["moved"].order_number != namespace["placed"].order_number
