"""A user's code type-checks against the installed package the way it runs: prices are ``float``
from a default client and ``Decimal`` from ``exact=True``, callbacks are typed with their payload.

mypy runs from an empty directory on snippets written like a user's script, so it sees only the
package as pip installed it (the README's editable install must be visible to a type checker).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

_HEADER = """\
from decimal import Decimal
from typing import Any, assert_type

from alor_sync import AlorClient, Bar, Order, OrderBook, Position, Quote, Subscription, Trade
"""

# Each snippet must pass mypy --strict as it stands.
_PASSING = {
    "float_mode": """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")


def on_quote(quote: Quote) -> None:
    if quote.bid is not None and quote.ask is not None:
        spread: float = quote.ask - quote.bid
        print(spread * 2 + 0.5)


sub = client.subscribe_quotes("SBER", on_quote)
assert_type(sub, Subscription[Quote[float]])
client.subscribe_quotes("SBER", lambda q: print((q.ask or 0.0) - (q.bid or 0.0)))
client.subscribe_order_book("SBER", lambda b: print(b.bids[0].price - 1.0), depth=5)
bars = client.get_bars("SBER", 60, 0)
assert_type(bars, list[Bar[float]])
print(sum(bar.close - bar.open for bar in bars) / len(bars))
book = client.get_order_book("SBER")
assert_type(book, OrderBook[float])
best = book.best_bid
if best is not None:
    assert_type(best.price, float)
positions: list[Position] = client.get_positions("D39004")
orders: list[Order[float]] = client.get_orders("D39004")
filled: int = sum(order.filled_quantity_batch or 0 for order in orders)
""",
    "exact_mode": """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws", exact=True)


def on_quote(quote: Quote[Decimal]) -> None:
    if quote.bid is not None and quote.ask is not None:
        spread: Decimal = quote.ask - quote.bid
        print(spread.quantize(Decimal("0.01")))


client.subscribe_quotes("SBER", on_quote)
client.subscribe_trades("D39004", lambda t: print(t.price and t.price * 2))
quote = client.get_quote("SBER")
assert_type(quote.bid, Decimal | None)
assert_type(client.get_bars("SBER", 60, 0), list[Bar[Decimal]])
""",
    "raw_mode": """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")


def on_payload(payload: dict[str, Any]) -> None:
    print(payload["bid"])


sub = client.subscribe_quotes("SBER", on_payload, raw=True)
assert_type(sub, Subscription[dict[str, Any]])
client.subscribe_positions("D39004", lambda p: print(p.get("symbol")), raw=True)
stops = client.subscribe_stop_orders(
    "D39004", lambda o: print(o.id), order_statuses=["working"], format="Slim",
    silence_timeout=5.0, conflate=False, on_gap=print, on_state=print, exchange="SPBX",
)  # fmt: skip
assert_type(stops.statistics().received, int)
""",
}

# Each snippet must fail mypy --strict, with these error codes on these lines (1-based, counted
# from the snippet's first line).
_FAILING = {
    "misspelled_field": (
        """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")
client.subscribe_quotes("SBER", lambda q: print(q.bidd))
""",
        {3: "attr-defined"},
    ),
    "wrong_payload": (
        """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")


def on_trade(trade: Trade) -> None:
    print(trade.price)


client.subscribe_quotes("SBER", on_trade)
""",
        {9: "arg-type"},
    ),
    "wrong_payload_on_a_portfolio_stream": (
        """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")


def on_trade(trade: Trade) -> None:
    print(trade.price)


client.subscribe_positions("D39004", on_trade, skip_history=True)
client.subscribe_orders("D39004", lambda order: print(order.symbl))
""",
        {9: "arg-type", 10: "attr-defined"},
    ),
    "float_callback_on_exact_client": (
        """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws", exact=True)


def on_quote(quote: Quote[float]) -> None:
    print(quote.bid)


client.subscribe_quotes("SBER", on_quote)
""",
        {9: "arg-type"},
    ),
    "decimal_plus_float": (
        """
client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws", exact=True)
print((client.get_quote("SBER").bid or Decimal(0)) + 0.5)
""",
        {3: "operator"},
    ),
}

_ERROR = re.compile(r"^(?P<file>[\w.]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[int, set[str]]]:
    """One mypy --strict run over every snippet: file stem -> line -> error codes."""
    folder = tmp_path_factory.mktemp("user_code")
    header_lines = _HEADER.count("\n")
    snippets = {name: code for name, code in _PASSING.items()}
    snippets.update({name: code for name, (code, _) in _FAILING.items()})
    for name, code in snippets.items():
        (folder / f"{name}.py").write_text(_HEADER + code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    files = sorted(path.name for path in folder.iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes",
         "--no-error-summary", "--cache-dir", os.devnull, *files],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    errors: dict[str, dict[int, set[str]]] = {name: {} for name in snippets}
    for line in result.stdout.splitlines():
        match = _ERROR.match(line)
        if match is None:
            continue  # notes
        lines = errors[Path(match["file"]).stem]
        lines.setdefault(int(match["line"]) - header_lines, set()).add(match["code"])
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return errors


@pytest.mark.parametrize("name", sorted(_PASSING))
def test_user_code_with_typed_prices_passes_mypy_strict(
    mypy_errors: dict[str, dict[int, set[str]]], name: str
) -> None:
    # An import-not-found here means mypy cannot see the installed package (finder-based
    # editable install): the README installs with editable_mode=compat for that reason.
    assert mypy_errors[name] == {}


@pytest.mark.parametrize("name", sorted(_FAILING))
def test_user_mistakes_fail_mypy_strict(
    mypy_errors: dict[str, dict[int, set[str]]], name: str
) -> None:
    expected = {line: {code} for line, code in _FAILING[name][1].items()}
    assert mypy_errors[name] == expected  # exactly the mistake: no other error around it
