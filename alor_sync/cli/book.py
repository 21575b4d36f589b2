"""``alor-sync book SYMBOL``: the live market view (book, quote, tape, chart) of one instrument.

Rules of this module:

* Four subscriptions feed one :class:`~alor_sync.cli.terminal.MarketState`; their callbacks only
  store. The main thread draws (:class:`~alor_sync.cli.terminal.LiveView`) and is the only writer
  of stdout while the view runs; progress goes to the view's header instead of stderr.
* ``demo`` shows exactly this view, against an in-process emulator.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from alor_sync.cli.connect import open_client, open_target
from alor_sync.cli.console import Console
from alor_sync.cli.parsing import positive_float, positive_int
from alor_sync.cli.stream import raise_if_rejected
from alor_sync.cli.terminal import LiveView, MarketState, Screen, ViewOptions
from alor_sync.client import AlorClient
from alor_sync.data.subscriptions import Subscription

__all__ = ["add_parser", "add_view_options", "run", "show_market"]

EPILOG = """\
examples:
  alor-sync book SBER --emulator
  alor-sync book SBER --depth 20 --tf 300
  alor-sync book SiZ6 --board RFUD --duration 60 --plain > book.log

Shows the order book with volume bars, the quote, the last trades and a price chart, redrawn in
place up to 10 times a second. Not a terminal (or --plain): one summary line per second.
Ctrl+C quits.
"""

_TAPE_HISTORY = 50  # trades requested at subscription, so the tape is not empty at first
_CHART_BARS = 240  # candles requested back from now, enough for a wide terminal


def add_view_options(parser: argparse.ArgumentParser, *, tf: int) -> None:
    """Flags shared by ``book`` and ``demo``."""
    group = parser.add_argument_group("view")
    group.add_argument(
        "--depth",
        type=positive_int,
        default=10,
        help="price levels per side (default 10, at most 50)",
    )
    group.add_argument(
        "--tf",
        type=positive_int,
        default=tf,
        metavar="SECONDS",
        help=f"candle length of the chart (default {tf})",
    )
    group.add_argument(
        "--duration",
        type=positive_float,
        metavar="S",
        help="stop after S seconds of data (default: until Ctrl+C)",
    )
    group.add_argument(
        "--plain",
        action="store_true",
        help="no redrawing: one summary line per second, as when piped",
    )
    group.add_argument("--no-color", action="store_true", help="no colours (also: $NO_COLOR)")
    group.add_argument(
        "--wait",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="give up if no order book arrived within S seconds (default 30)",
    )


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "book",
        parents=parents,
        help="live order book, quote, trades and chart of one instrument",
        description="Show a live order book, quote, last trades and price chart.",
        epilog=EPILOG,
    )
    parser.add_argument("symbol", metavar="SYMBOL", help="e.g. SBER")
    parser.add_argument("--exchange", default="MOEX", help="MOEX (default) or SPBX")
    parser.add_argument("--board", help="instrument group, e.g. TQBR")
    add_view_options(parser, tf=60)
    parser.set_defaults(handler=run)


def show_market(
    client: AlorClient,
    console: Console,
    args: argparse.Namespace,
    *,
    symbol: str,
    exchange: str,
    board: str | None = None,
) -> int:
    """Subscribe and draw until ``--duration``, Ctrl+C or an error; returns the exit code."""
    state = MarketState(symbol, exchange)
    screen = Screen(
        console.out,
        interactive=False if args.plain else None,
        color=False if args.no_color else None,
    )
    market: dict[str, Any] = {"exchange": exchange, "instrument_group": board}
    since = int(time.time()) - args.tf * _CHART_BARS
    console.rejections_reported = True
    subs: list[Subscription[Any]] = [
        client.subscribe_order_book(symbol, state.on_book, depth=args.depth, **market),
        client.subscribe_quotes(symbol, state.on_quote, **market),
        client.subscribe_all_trades(symbol, state.on_trade, depth=_TAPE_HISTORY, **market),
        client.subscribe_bars(symbol, state.on_bar, tf=args.tf, from_time=since, **market),
    ]
    options = ViewOptions(
        levels=args.depth,
        duration=args.duration,
        first_data_timeout=args.wait,
        chart_label=_timeframe_label(args.tf),
    )
    if screen.interactive:
        console.redirect_progress(state.set_status)

    def check() -> None:
        raise_if_rejected(subs)
        console.watch_connection(client.statistics().connection)

    try:
        LiveView(state, screen, options, check=check).run()
    finally:
        console.redirect_progress(None)
    return 0


def _timeframe_label(seconds: int) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def run(args: argparse.Namespace, console: Console) -> int:
    with open_target(args, console) as target, open_client(target, console) as client:
        return show_market(
            client, console, args, symbol=args.symbol, exchange=args.exchange, board=args.board
        )
