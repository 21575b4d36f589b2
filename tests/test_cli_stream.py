"""``alor-sync stream``: every kind against an emulator, JSON lines, stops, rejections."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator

import pytest

from alor_sync.cli import build_parser, main
from alor_sync.cli.console import Console
from alor_sync.cli.stream import KINDS, _Printer, build_params
from alor_sync.emulator import Emulator
from alor_sync.protocol.specs import SPECS
from tests.test_cli_support import run_cli, urls

# kind -> (key, extra flags); each must deliver at least one message from this emulator
STREAMS: dict[str, tuple[str, list[str]]] = {
    "order-book": ("SBER", ["--depth", "3"]),
    "bars": ("SBER", ["--tf", "60", "--from", "10m"]),
    "quotes": ("GAZP", []),
    "all-trades": ("SBER", ["--depth", "5"]),
    "instruments": ("SBER", []),
    "positions": ("D39004", []),
    "summaries": ("D39004", []),
    "risks": ("D39004", []),
    "spectra-risks": ("7500PUQ", []),
    "trades": ("D39004", []),
    "orders": ("D39004", ["--order-statuses", "filled,working"]),
    "stop-orders": ("D39004", []),
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """An emulator whose account has a filled market order and a working stop order."""
    with Emulator(speed=20, seed=5) as emulator:
        with emulator.venue() as hub:
            instrument = {"symbol": "SBER", "exchange": "MOEX"}
            user = {"portfolio": "D39004"}
            common = {"quantity": 1, "instrument": instrument, "user": user}
            reply = hub.account.execute("create:market", {"guid": "m", "side": "buy", **common})
            assert reply.http_code == 200, reply
            stop = {"guid": "s", "side": "sell", "condition": "Less", "triggerPrice": 1}
            reply = hub.account.execute("create:stop", {**stop, **common})
            assert reply.http_code == 200, reply
        yield emulator


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.setenv("ALOR_REFRESH_TOKEN", emu.refresh_token)


def test_every_kind_has_a_test() -> None:
    assert set(STREAMS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(STREAMS))
@pytest.mark.parametrize("typed", [False, True], ids=["raw", "typed"])
def test_stream_prints_json_lines(
    capsys: pytest.CaptureFixture[str], emu: Emulator, kind: str, typed: bool
) -> None:
    key, extra = STREAMS[kind]
    argv = ["stream", kind, key, *extra, "--count", "1", "--duration", "20", *urls(emu)]
    result = run_cli(capsys, argv + (["--typed"] if typed else []))
    assert result.code == 0, result.err
    assert len(result.lines) == 1, result.out
    message = json.loads(result.lines[0])
    assert isinstance(message, dict) and message


def test_typed_order_book_has_rows(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    argv = ["stream", "order-book", "SBER", "--depth", "2", "--typed", "--count", "3", *urls(emu)]
    result = run_cli(capsys, argv)
    assert result.code == 0, result.err
    assert len(result.lines) == 3
    book = json.loads(result.lines[0])
    assert len(book["bids"]) == 2 and set(book["bids"][0]) == {"price", "volume"}
    assert book["bids"][0]["price"] < book["asks"][0]["price"]


def test_raw_quote_is_the_wire_payload(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    result = run_cli(capsys, ["stream", "quotes", "SBER", "--count", "1", "-q", *urls(emu)])
    assert result.code == 0
    quote = json.loads(result.out)
    assert quote["symbol"] == "SBER" and "ask_vol" in quote  # Simple-format wire names
    assert result.err == ""  # --quiet: no progress


def test_slim_format(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    argv = ["stream", "quotes", "SBER", "--format", "slim", "--count", "1", *urls(emu)]
    result = run_cli(capsys, argv)
    assert result.code == 0, result.err
    assert json.loads(result.out)["sym"] == "SBER"


def test_default_portfolio_comes_from_the_token(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    result = run_cli(capsys, ["stream", "summaries", "--count", "1", *urls(emu)])
    assert result.code == 0, result.err
    assert "using portfolio D39004" in result.err


def test_portfolio_flag_is_the_key(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    argv = ["stream", "risks", "--portfolio", "D39004", "--typed", "--count", "1", *urls(emu)]
    result = run_cli(capsys, argv)
    assert result.code == 0, result.err
    assert json.loads(result.out)["portfolio"] == "D39004"


def test_duration_stops_a_quiet_stream(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    argv = ["stream", "trades", "D39004", "--skip-history", "--duration", "0.5", *urls(emu)]
    result = run_cli(capsys, argv)
    assert result.code == 0, result.err
    assert result.lines == []


def test_rejected_subscription_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    result = run_cli(capsys, ["stream", "quotes", "NOSUCH", "--duration", "20", *urls(emu)])
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if "error" in line or "warning" in line]
    assert errors == [
        line for line in errors if line.startswith("alor-sync: error: the server rejected")
    ]
    assert len(errors) == 1 and "400" in errors[0]


def test_emulator_flag_needs_no_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALOR_REFRESH_TOKEN")
    result = run_cli(capsys, ["stream", "instruments", "SBER", "--emulator", "--count", "1"])
    assert result.code == 0, result.err
    assert json.loads(result.out)["symbol"] == "SBER"


def test_reconnect_progress_on_stderr(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    """A network drop shows 'reconnecting (attempt N, next in X s)' and the stream goes on."""
    codes: list[int] = []
    argv = ["stream", "quotes", "SBER", "--duration", "3", *urls(emu)]
    runner = threading.Thread(target=lambda: codes.append(main(argv)), name="test-cli-main")
    capsys.readouterr()
    runner.start()
    try:
        assert emu.wait_for_connections(1, path="/ws", timeout=10)
        emu.faults.drop_connections(path="/ws")
    finally:
        runner.join(30)
    captured = capsys.readouterr()
    assert codes == [0], captured.err
    assert "reconnecting (attempt 1, next in" in captured.err
    assert captured.err.count("connected to ") >= 2  # the first connect and the reconnect


class _GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_reader_going_away_stops_quietly() -> None:
    console = Console(_GoneReader(), io.StringIO())
    printer = _Printer(console, typed=False, count=None)
    printer({"a": 1})
    assert printer.done.is_set()
    printer({"a": 2})  # later frames are ignored, nothing raises


def test_count_stops_after_n_lines() -> None:
    out = io.StringIO()
    printer = _Printer(Console(out, io.StringIO()), typed=False, count=2)
    for n in range(5):
        printer({"n": n})
    assert out.getvalue().splitlines() == ['{"n":0}', '{"n":1}']
    assert printer.done.is_set()


def _params(*argv: str) -> dict[str, object]:
    args = build_parser().parse_args(["stream", *argv])
    return build_params(KINDS[args.kind], args)


def test_every_spec_parameter_is_a_flag_read_by_its_type() -> None:
    bars = _params("bars", "SBER", "--tf", "d", "--from", "100", "--no-split-adjust",
                   "--skip-history", "--board", "TQBR", "--frequency", "50")  # fmt: skip
    assert bars == {
        "exchange": "MOEX", "format": "Simple", "tf": "D", "from_time": 100,
        "split_adjust": False, "skip_history": True, "instrument_group": "TQBR", "frequency": 50,
    }  # fmt: skip
    orders = _params("orders", "D1", "--order-statuses", "working, filled", "--format", "Slim")
    assert orders == {"exchange": "MOEX", "format": "Slim", "order_statuses": ["working", "filled"]}
    trades = _params("all-trades", "SBER", "--depth", "7", "--include-virtual-trades")
    assert (trades["depth"], trades["include_virtual_trades"]) == (7, True)
    for kind, spec in ((name, SPECS[k.opcode]) for name, k in KINDS.items()):
        assert kind == spec.name.replace("_", "-") and KINDS[kind].summary == spec.summary
