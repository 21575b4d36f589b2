"""The live market view: ``demo``/``book`` end to end, and the terminal package's parts."""

from __future__ import annotations

import io
import re
import signal
import threading
from datetime import UTC, datetime

import pytest

from alor_sync.cli.console import Console
from alor_sync.cli.jsonout import json_line
from alor_sync.cli.parsing import unix_time
from alor_sync.cli.terminal import LiveView, MarketState, Screen, ViewOptions
from alor_sync.cli.terminal.render import chart_cells, paint, render_line, render_screen
from alor_sync.events import ConnectionChange
from alor_sync.models import AllTrade, Bar, BookSide, OrderBook, Quote, Side
from tests.test_cli_support import run_cli

BOOK_LINE = re.compile(r"MOEX:SBER \| bid [\d.]+ x \d+ \| ask [\d.]+ x \d+ \| depth 10/10")


def test_demo_without_a_terminal_prints_book_lines(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, ["demo", "--duration", "1"])
    assert result.code == 0, result.err
    assert len(result.lines) >= 2  # one line per second, and the final state
    assert all(BOOK_LINE.search(line) for line in result.lines), result.out
    assert "\x1b[" not in result.out  # no cursor control when stdout is not a terminal


def test_book_with_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, ["book", "SBER", "--emulator", "--duration", "0.5", "--depth", "3"])
    assert result.code == 0, result.err
    assert "MOEX:SBER | bid " in result.out and "depth 3/3" in result.out


def test_book_of_unknown_symbol_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, ["book", "NOSUCH", "--emulator", "--duration", "5"])
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if "error" in line]
    assert len(errors) == 1 and "rejected" in errors[0]


# ---------------------------------------------------------------------------- state and render


def _book(bid: float = 100.0, ask: float = 100.5, levels: int = 10) -> OrderBook:
    bids = BookSide(
        tuple(bid - i for i in range(levels)), tuple(10 * (i + 1) for i in range(levels))
    )
    asks = BookSide(
        tuple(ask + i for i in range(levels)), tuple(5 * (i + 1) for i in range(levels))
    )
    return OrderBook(bids=bids, asks=asks, timestamp_ms=1_700_000_000_000)


def _state() -> MarketState:
    state = MarketState("SBER", "MOEX")
    state.on_book(_book())
    state.on_quote(
        Quote(symbol="SBER", last_price=100.25, bid=100.0, ask=100.5, change_percent=1.5)
    )
    for n in range(3):
        state.on_trade(
            AllTrade(id=n, price=100.0 + n, quantity=n + 1, side=Side.BUY, timestamp_ms=n * 1000)
        )
    for minute in range(30):
        close = 100.0 + (minute % 7)
        state.on_bar(Bar(60 * minute, close, close + 1, close - 1, close, 10))
    return state


def test_state_keeps_the_newest_trade_first_and_keys_bars_by_time() -> None:
    state = _state()
    state.on_trade(AllTrade(id=3, price=1.0, quantity=1))
    state.on_bar(Bar(60 * 29, 1.0, 2.0, 0.5, 1.5, 99))  # the open candle, updated
    snap = state.snapshot()
    assert [t.id for t in snap.trades] == [3, 2, 1, 0]
    assert len(snap.bars) == 30 and snap.bars[-1].close == 1.5
    assert snap.books == 1 and state.wait_for_book(0)


@pytest.mark.parametrize(("width", "height"), [(120, 40), (100, 30), (80, 24), (60, 16), (45, 9)])
def test_frames_fit_the_terminal(width: int, height: int) -> None:
    lines = render_screen(_state().snapshot(), width, height, chart_label="1 min")
    assert 0 < len(lines) <= height
    texts = [paint(line, width, color=False) for line in lines]
    assert all(len(text) <= width for text in texts)
    joined = "\n".join(texts)
    assert "ORDER BOOK" in joined and "100.00" in joined and "spread" in joined
    if width >= 76:
        assert "LAST TRADES" in joined
    if height >= 22:
        assert "PRICE 1 min" in joined


def test_tiny_terminal_gets_the_summary() -> None:
    lines = render_screen(_state().snapshot(), 30, 5)
    assert len(lines) == 5
    assert [paint(line, 30, False) for line in lines][1] == "MOEX:SBER"


def test_waiting_frames_say_so() -> None:
    snap = MarketState("GAZP", "MOEX").snapshot()
    joined = "\n".join(paint(line, 100, False) for line in render_screen(snap, 100, 30))
    assert "waiting for the first order book" in joined
    assert "waiting for the order book" in render_line(snap)


def test_colour_only_when_asked() -> None:
    line = render_screen(_state().snapshot(), 100, 30)[5]
    assert "\x1b[" in paint(line, 100, color=True)
    assert "\x1b[" not in paint(line, 100, color=False)


def test_chart_cells() -> None:
    assert chart_cells([1.0, 2.0, 3.0], rows=1) == ["▁▅█"]
    assert chart_cells([5.0, 5.0], rows=2) == ["  ", "██"]
    assert chart_cells([], rows=3) == []


# ---------------------------------------------------------------------------- screen and loop


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_screen_redraws_in_place_and_restores() -> None:
    out = _Terminal()
    options = ViewOptions(duration=0.3, refresh_interval=0.05)
    interrupted = LiveView(_state(), Screen(out), options).run()
    text = out.getvalue()
    assert not interrupted
    assert text.startswith("\x1b[?1049h\x1b[?25l")  # alternate screen, cursor hidden
    assert text.count("\x1b[H") >= 2  # several frames, each drawn from the top
    assert "\x1b[?25h\x1b[?1049l" in text  # cursor shown, main screen back
    assert text.rstrip().endswith("last 100.25 | trade B 102.00 x 3 | bars 30 close 101.00")


def test_ctrl_c_ends_the_view_and_restores_the_cursor() -> None:
    out = _Terminal()

    def interrupt() -> None:
        raise KeyboardInterrupt

    interrupted = LiveView(_state(), Screen(out), ViewOptions(), check=interrupt).run()
    assert interrupted
    assert "\x1b[?25h\x1b[?1049l" in out.getvalue()


def test_sigterm_ends_the_view_cleanly() -> None:
    out = _Terminal()
    before = signal.getsignal(signal.SIGTERM)
    view = LiveView(
        _state(), Screen(out), ViewOptions(), check=lambda: signal.raise_signal(signal.SIGTERM)
    )
    assert view.run() is False  # ended by the handler, not by an exception
    assert "\x1b[?25h\x1b[?1049l" in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) is before  # the handler was put back


def test_errors_restore_the_screen_and_propagate() -> None:
    out = _Terminal()

    def fail() -> None:
        raise RuntimeError("rejected")

    with pytest.raises(RuntimeError, match="rejected"):
        LiveView(_state(), Screen(out), ViewOptions(), check=fail).run()
    assert out.getvalue().endswith("\x1b[?25h\x1b[?1049l")


def test_no_data_times_out() -> None:
    state = MarketState("SBER", "MOEX")
    options = ViewOptions(first_data_timeout=0.2, refresh_interval=0.05)
    with pytest.raises(TimeoutError, match=r"no order book for SBER within 0\.2 s"):
        LiveView(state, Screen(io.StringIO()), options).run()


def test_stop_from_another_thread() -> None:
    out = io.StringIO()
    view = LiveView(_state(), Screen(out), ViewOptions(line_interval=0.05))
    stopper = threading.Timer(0.2, view.stop)
    stopper.start()
    try:
        assert view.run() is False
    finally:
        stopper.join()
    assert len(out.getvalue().splitlines()) >= 2


# ---------------------------------------------------------------------------- small parts


def test_console_progress_messages_and_redaction() -> None:
    err = io.StringIO()
    console = Console(io.StringIO(), err)
    console.add_secret("s3cret-token")
    console.name_connection("ws", "wss://example/ws")
    console.on_connect(ConnectionChange("ws", True))
    console.on_disconnect(
        ConnectionChange(
            "ws", False, "reset by s3cret-token", True, next_attempt_in=1.25, attempt=1
        )
    )
    console.closing = True
    console.on_disconnect(ConnectionChange("ws", False, "closed by the client"))
    assert err.getvalue().splitlines() == [
        "alor-sync: connected to wss://example/ws",
        "alor-sync: disconnected (reset by ***); reconnecting (attempt 1, next in 1.2 s)",
    ]


def test_quiet_console_still_reports_errors() -> None:
    err = io.StringIO()
    console = Console(io.StringIO(), err, quiet=True)
    console.progress("connecting")
    console.error("broken")
    assert err.getvalue() == "alor-sync: error: broken\n"


def test_times_on_the_command_line() -> None:
    now = 1_700_000_000.0
    assert unix_time("1700000000") == 1_700_000_000
    assert unix_time("2h", now=now) == 1_700_000_000 - 7200
    assert unix_time("-15m", now=now) == 1_700_000_000 - 900
    assert unix_time("2024-01-15") == int(datetime(2024, 1, 15, tzinfo=UTC).timestamp())
    assert unix_time("2024-01-15T10:00:00+03:00") == int(
        datetime(2024, 1, 15, 7, tzinfo=UTC).timestamp()
    )


def test_typed_json_is_plain() -> None:
    line = json_line(
        AllTrade(id=2**60, price=1.5, side=Side.SELL, time=datetime(2024, 1, 1, tzinfo=UTC))
    )
    assert '"id":1152921504606846976' in line
    assert '"side":"sell"' in line and '"time":"2024-01-01T00:00:00+00:00"' in line
