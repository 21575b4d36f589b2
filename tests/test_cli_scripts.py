"""The CLI as scripts use it: fail fast with the cause, say when a stream is quiet, print only
what the help promises on stdout, find an order's type for ``order cancel``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from alor_sync.cli.stream import default_portfolio
from alor_sync.emulator import Emulator
from alor_sync.wire import Opcode
from tests.test_cli_support import run_cli, urls

PORTFOLIO = ["--portfolio", "D39004"]
LIMIT = ["order", "limit", "buy", "SBER", "1", "--price", "200.50", *PORTFOLIO, "-y"]
STOP = ["order", "stop", "sell", "SBER", "1", "--condition", "less", "--trigger-price", "100"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(speed=0, seed=13) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.setenv("ALOR_REFRESH_TOKEN", emu.refresh_token)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more: connecting is refused


def test_an_unreachable_server_fails_fast_with_the_cause(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    ws_url = f"ws://127.0.0.1:{_closed_port()}/ws"
    argv = ["stream", "quotes", "SBER", "--ws-url", ws_url]
    argv += ["--cws-url", emu.cws_url, "--oauth-url", emu.oauth_url, "--quiet"]
    result = run_cli(capsys, argv)
    assert result.code == 1
    assert result.out == ""
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"alor-sync: error: cannot connect to {ws_url}: ")
    assert "refused" in line.lower()
    assert "reconnecting" not in result.err and "disconnected" not in result.err


def test_a_confirmed_quiet_stream_says_it_is_waiting(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    argv = ["stream", "trades", "D39004", "--skip-history", "--duration", "1.6", *urls(emu)]
    result = run_cli(capsys, argv)
    assert result.code == 0, result.err
    assert "alor-sync: subscribed, waiting for data" in result.err.splitlines()
    assert result.out == ""


def test_a_stream_with_data_never_says_it_is_waiting(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    result = run_cli(capsys, ["stream", "quotes", "SBER", "--duration", "1.6", *urls(emu)])
    assert result.code == 0, result.err
    assert result.out and "waiting for data" not in result.err


def test_derivatives_risks_default_to_the_derivatives_portfolio(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    result = run_cli(capsys, ["stream", "spectra-risks", "--count", "1", "--typed", *urls(emu)])
    assert result.code == 0, result.err
    assert json.loads(result.out)["portfolio"] == "7500PUQ"
    assert "using portfolio 7500PUQ" in result.err


@pytest.mark.parametrize(
    ("opcode", "portfolios", "expected"),
    [
        (Opcode.SPECTRA_RISKS, ("D1", "G1", "7500A"), "7500A"),
        (Opcode.SPECTRA_RISKS, ("D1",), None),
        (Opcode.POSITIONS, ("7500A", "D1"), "D1"),
        (Opcode.POSITIONS, ("7500A",), "7500A"),
        (Opcode.POSITIONS, (), None),
    ],
)
def test_default_portfolio_per_stream(
    opcode: Opcode, portfolios: tuple[str, ...], expected: str | None
) -> None:
    assert default_portfolio(opcode, portfolios) == expected


def test_order_prints_only_the_order_number_on_stdout(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    result = run_cli(capsys, [*LIMIT, *urls(emu)])
    assert result.code == 0, result.err
    number = result.out.strip()
    assert result.out == number + "\n" and number.isdigit()
    assert f"order {number} accepted" in result.err


def _place(capsys: pytest.CaptureFixture[str], emu: Emulator, argv: list[str]) -> str:
    placed = run_cli(capsys, [*argv, "--json", *urls(emu)])
    assert placed.code == 0, placed.err
    number: str = json.loads(placed.out)["order_number"]
    return number


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (LIMIT, "limit"),
        ([*STOP, *PORTFOLIO, "-y"], "stop"),
        ([*STOP, "--price", "99.5", *PORTFOLIO, "-y"], "stop-limit"),
    ],
)
def test_cancel_finds_the_type_of_the_order(
    capsys: pytest.CaptureFixture[str], emu: Emulator, argv: list[str], kind: str
) -> None:
    number = _place(capsys, emu, argv)
    result = run_cli(capsys, ["order", "cancel", number, *PORTFOLIO, "-y", *urls(emu)])
    assert result.code == 0, result.err
    assert f"cancel {kind} order {number}" in result.err
    assert result.out == number + "\n"


def test_cancel_of_an_unknown_order_says_which_type_to_give(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    result = run_cli(capsys, ["order", "cancel", "424242", *PORTFOLIO, "-y", *urls(emu)])
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("alor-sync: error: ") and "424242" in last
    assert "--type limit|market|stop|stop-limit" in last


def test_cancel_with_the_wrong_type_hints_at_the_lookup(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    number = _place(capsys, emu, [*STOP, *PORTFOLIO, "-y"])
    cancel = ["order", "cancel", number, *PORTFOLIO, "--type", "limit", "-y", *urls(emu)]
    result = run_cli(capsys, cancel)
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert "404" in last and "leave out --type" in last


NEW_LIMIT = ["order", "limit", "buy", "SBER"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*NEW_LIMIT, "{n}", "--price", "1", *PORTFOLIO], "quantity must be at least 1"),
        (
            [*NEW_LIMIT, "1", "--price", "1", "--iceberg-fixed", "{n}", *PORTFOLIO],
            "iceberg_fixed must be at least 1",
        ),
        (["stream", "order-book", "SBER", "--depth", "{n}"], "depth must be between 1 and 50"),
    ],
)
def test_minus_one_and_zero_get_the_same_bound(
    capsys: pytest.CaptureFixture[str], emu: Emulator, argv: list[str], message: str
) -> None:
    """One message per bound, the library's own: the CLI no longer says '>= 0' for -1."""
    for n in ("-1", "0"):
        result = run_cli(capsys, [arg.replace("{n}", n) for arg in argv] + urls(emu))
        assert result.code == 2
        assert result.err.strip() == f"alor-sync: error: {message}, got {n}"
