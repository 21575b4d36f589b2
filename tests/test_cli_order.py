"""``alor-sync order``: preview, confirmation, the result, and refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from alor_sync.emulator import Emulator
from tests.test_cli_support import run_cli, urls

LIMIT = ["order", "limit", "buy", "SBER", "1", "--price", "200.50", "--portfolio", "D39004"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(speed=0, seed=11) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.setenv("ALOR_REFRESH_TOKEN", emu.refresh_token)


def _answer(monkeypatch: pytest.MonkeyPatch, answer: str | None) -> list[int]:
    """Make ``input()`` answer (None: stdin closed); returns a list counting the questions."""
    asked: list[int] = []

    def fake_input() -> str:
        asked.append(1)
        if answer is None:
            raise EOFError
        return answer

    monkeypatch.setattr("builtins.input", fake_input)
    return asked


def _cws_connections(emu: Emulator) -> int:
    return emu.statistics().connections_total


def test_declined_order_is_not_sent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    asked = _answer(monkeypatch, "n")
    before = _cws_connections(emu)
    result = run_cli(capsys, [*LIMIT, *urls(emu)])
    assert asked == [1]
    assert result.code == 1
    assert "BUY 1 lot(s) of SBER on MOEX, limit 200.50, portfolio D39004" in result.err
    assert '"opcode":"create:limit"' in result.err and '"price":200.5' in result.err
    assert "Send this order? [y/N]" in result.err
    assert result.err.strip().endswith("alor-sync: error: not sent: the order was not confirmed")
    assert result.out == ""
    assert _cws_connections(emu) == before  # nothing even connected


def test_closed_stdin_means_no(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    _answer(monkeypatch, None)
    result = run_cli(capsys, [*LIMIT, *urls(emu)])
    assert result.code == 1
    assert "pass --yes" in result.err


def test_confirmed_order_prints_its_number(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    _answer(monkeypatch, "y")
    result = run_cli(capsys, [*LIMIT, *urls(emu)])
    assert result.code == 0, result.err
    assert result.out.strip().isdigit() and "accepted" in result.err


def test_yes_skips_the_question_and_json_is_parseable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    asked = _answer(monkeypatch, "n")
    result = run_cli(capsys, [*LIMIT, "--yes", "--json", *urls(emu)])
    assert asked == []
    assert result.code == 0, result.err
    reply = json.loads(result.out)
    assert reply["order_number"] and reply["request_guid"]


def test_place_then_cancel(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    placed = run_cli(capsys, [*LIMIT, "-y", "--json", *urls(emu)])
    number = json.loads(placed.out)["order_number"]
    cancel = ["order", "cancel", number, "--portfolio", "D39004", "-y", *urls(emu)]
    result = run_cli(capsys, cancel)
    assert result.code == 0, result.err
    assert f"cancel limit order {number}" in result.err


def test_market_and_stop_limit_orders(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    market = ["order", "market", "buy", "SBER", "1", "--portfolio", "D39004", "-y"]
    assert run_cli(capsys, [*market, *urls(emu)]).code == 0
    stop = ["order", "stop", "sell", "SBER", "1", "--condition", "less", "--trigger-price", "100"]
    stop += ["--price", "99.5", "--portfolio", "D39004", "-y", "--stop-end", "2099-01-01"]
    result = run_cli(capsys, [*stop, *urls(emu)])
    assert result.code == 0, result.err
    assert '"opcode":"create:stopLimit"' in result.err
    assert '"stopEndUnixTime":4070908800' in result.err


def test_server_refusal_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    cancel = ["order", "cancel", "424242", "--portfolio", "D39004", "--type", "limit", "-y"]
    result = run_cli(capsys, [*cancel, *urls(emu)])
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("alor-sync: error: the server refused it: 404")


def test_impossible_price_is_refused_before_anything(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    asked = _answer(monkeypatch, "y")
    argv = [*LIMIT[:5], "--price", "1.1234567890123456789", *LIMIT[7:], *urls(emu)]
    result = run_cli(capsys, argv)
    assert result.code == 2
    assert asked == []
    assert "significant digits" in result.err
