"""Helpers shared by the CLI tests (no tests in this module): run ``main`` in-process, point it
at an emulator."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from alor_sync.cli import main
from alor_sync.emulator import Emulator


@attrs.frozen
class Run:
    """What one ``alor-sync`` invocation returned and printed."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]


def run_cli(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> Run:
    """``main(argv)`` with stdout/stderr captured (stdout is not a terminal here)."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def urls(emu: Emulator) -> list[str]:
    """The endpoint flags for ``emu``."""
    return ["--ws-url", emu.ws_url, "--cws-url", emu.cws_url, "--oauth-url", emu.oauth_url]
