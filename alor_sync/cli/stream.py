"""``alor-sync stream KIND KEY``: any of the twelve subscriptions as JSON lines on stdout.

Rules of this module:

* One table (:data:`KINDS`) says, per friendly kind name, which opcode it is, whether its key is a
  symbol or a portfolio, and which optional flags apply; a flag that does not apply is a usage
  error, never silently ignored.
* Lines are written from the subscription's callback (a dispatcher worker), one subscription so
  they are in order; the main thread only waits for ``--count``, ``--duration``, a rejection or
  Ctrl+C. A reader that goes away (``| head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import orjson

from alor_sync import protocol
from alor_sync.cli.connect import open_client, open_target
from alor_sync.cli.console import Console
from alor_sync.cli.jsonout import json_line
from alor_sync.cli.parsing import (
    CliError,
    UsageError,
    positive_float,
    positive_int,
    unix_time,
    whole_number,
)
from alor_sync.client import AlorClient
from alor_sync.data.subscriptions import Subscription, SubscriptionState
from alor_sync.wire import Opcode

__all__ = ["KINDS", "QuietNotice", "StreamKind", "add_parser", "default_portfolio", "run"]

_MARKET_FLAGS = frozenset({"board"})
# A confirmed subscription silent this long (seconds) gets a "waiting for data" note on stderr.
QUIET_NOTICE_AFTER = 1.0


@attrs.frozen
class StreamKind:
    """One subscription as the CLI names it."""

    opcode: Opcode
    key: str  # "symbol" or "portfolio"
    flags: frozenset[str]  # optional flags (dest names) this kind accepts, besides the common ones
    summary: str


def _market(opcode: Opcode, summary: str, *flags: str) -> StreamKind:
    return StreamKind(opcode, "symbol", _MARKET_FLAGS | frozenset(flags), summary)


def _portfolio(opcode: Opcode, summary: str, *flags: str) -> StreamKind:
    return StreamKind(opcode, "portfolio", frozenset({"skip_history", *flags}), summary)


KINDS: dict[str, StreamKind] = {
    "order-book": _market(
        Opcode.ORDER_BOOK, "order book (whole book each frame)", "depth", "frequency"
    ),
    "bars": _market(
        Opcode.BARS,
        "candles from --from, then live",
        "tf",
        "from_time",
        "skip_history",
        "split_adjust",
        "frequency",
    ),
    "quotes": _market(Opcode.QUOTES, "quote summary", "frequency"),
    "all-trades": _market(
        Opcode.ALL_TRADES, "the exchange's trade tape", "depth", "include_virtual_trades"
    ),
    "instruments": _market(Opcode.INSTRUMENTS, "instrument attributes (full, then changes)"),
    "positions": _portfolio(Opcode.POSITIONS, "positions, money included"),
    "summaries": _portfolio(Opcode.SUMMARIES, "portfolio summary (buying power, P&L)"),
    "risks": _portfolio(Opcode.RISKS, "portfolio risk figures"),
    "spectra-risks": _portfolio(Opcode.SPECTRA_RISKS, "derivatives (FORTS) risks"),
    "trades": _portfolio(Opcode.TRADES, "own trades"),
    "orders": _portfolio(Opcode.ORDERS, "market and limit orders", "order_statuses"),
    "stop-orders": _portfolio(Opcode.STOP_ORDERS, "stop and stop-limit orders", "order_statuses"),
}

# Flags a kind may or may not accept: dest -> how it is spelled on the command line.
_OPTIONAL_FLAGS = {
    "board": "--board",
    "depth": "--depth",
    "frequency": "--frequency",
    "tf": "--tf",
    "from_time": "--from",
    "skip_history": "--skip-history",
    "split_adjust": "--split-adjust",
    "include_virtual_trades": "--include-virtual-trades",
    "order_statuses": "--order-statuses",
}

EPILOG = """\
examples:
  alor-sync stream quotes SBER --emulator --count 3
  alor-sync stream order-book SBER --depth 5 --typed | jq '.bids[0]'
  alor-sync stream bars SBER --tf 60 --from 2h --count 200
  alor-sync stream all-trades GAZP --depth 50 --duration 30
  alor-sync stream positions D39004 --exchange MOEX
  alor-sync stream risks --portfolio D39004 --typed
  alor-sync stream orders --emulator --order-statuses working,filled

KEY is the symbol for market kinds and the portfolio for account kinds (default: from your
token, its first derivatives portfolio (7500...) for spectra-risks, its first other one for the
rest). A stream that is confirmed but sends nothing says "subscribed, waiting for data" on
stderr. One JSON object per line: the payload as the server sent it, or with --typed the
decoded model with snake_case fields.
"""


def _timeframe(text: str) -> int | str:
    return int(text) if text.isdigit() else text.upper()


def _statuses(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    kinds = "\n".join(f"  {name:<14} {kind.summary}" for name, kind in KINDS.items())
    parser = subparsers.add_parser(
        "stream",
        parents=parents,
        help="print any subscription as JSON lines",
        description=f"Subscribe to one stream and print it as JSON lines.\n\nkinds:\n{kinds}",
        epilog=EPILOG,
    )
    parser.add_argument("kind", choices=sorted(KINDS), metavar="KIND", help="what to stream")
    parser.add_argument("key", nargs="?", metavar="KEY", help="symbol or portfolio")
    parser.add_argument("--portfolio", help="account kinds: the portfolio (same as KEY)")
    parser.add_argument("--exchange", default="MOEX", help="MOEX (default) or SPBX")
    parser.add_argument(
        "--format", default="Simple", help="wire format: Simple (default), Slim or Heavy"
    )
    parser.add_argument("--typed", action="store_true", help="print the decoded, typed model")
    parser.add_argument("--count", type=positive_int, metavar="N", help="stop after N messages")
    parser.add_argument("--duration", type=positive_float, metavar="S", help="stop after S s")
    parser.add_argument(
        "--silence-timeout",
        type=positive_float,
        metavar="S",
        help="renew the subscription after S s without data",
    )
    _add_stream_parameters(parser)
    parser.set_defaults(handler=run)


def _add_stream_parameters(parser: argparse.ArgumentParser) -> None:
    opts = parser.add_argument_group("stream parameters (each applies to some kinds only)")
    opts.add_argument("--board", help="instrument group, e.g. TQBR (market kinds)")
    opts.add_argument(
        "--depth",
        type=whole_number,
        help="order-book levels (1-50) / all-trades history (max 5000)",
    )
    opts.add_argument(
        "--frequency",
        type=whole_number,
        metavar="MS",
        help="at most one frame per MS milliseconds",
    )
    opts.add_argument(
        "--tf", type=_timeframe, help="bars: seconds (60, 300, 3600...) or D, W, M, Y (default 60)"
    )
    opts.add_argument(
        "--from",
        dest="from_time",
        type=unix_time,
        metavar="WHEN",
        help="bars: start as unix seconds, ISO 8601 or a time ago (2h); default 50 bars",
    )
    opts.add_argument(
        "--skip-history",
        action="store_true",
        default=None,
        help="only new data, no history/snapshot",
    )
    opts.add_argument(
        "--split-adjust",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bars: adjust history for splits (server default: yes)",
    )
    opts.add_argument(
        "--include-virtual-trades",
        action="store_true",
        default=None,
        help="all-trades: include virtual trades",
    )
    opts.add_argument(
        "--order-statuses",
        type=_statuses,
        metavar="LIST",
        help="orders/stop-orders: filter history, e.g. working,filled",
    )


def _default_from(tf: int | str) -> int:
    span = 50 * tf if isinstance(tf, int) else 365 * 86400
    return int(time.time()) - span


def build_params(kind: StreamKind, args: argparse.Namespace) -> dict[str, Any]:
    """The ``subscribe`` keyword arguments for ``kind`` (without the key); usage errors for
    flags that do not apply."""
    params: dict[str, Any] = {"exchange": args.exchange, "format": args.format}
    for dest, flag in _OPTIONAL_FLAGS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if dest not in kind.flags:
            raise UsageError(f"{flag} does not apply to '{args.kind}'")
        params["instrument_group" if dest == "board" else dest] = value
    if kind.opcode is Opcode.BARS:
        params.setdefault("tf", 60)
        params.setdefault("from_time", _default_from(params["tf"]))
    return params


class _Printer:
    """The subscription's callback: one JSON line per message, until ``count`` (worker thread)."""

    def __init__(self, console: Console, typed: bool, count: int | None) -> None:
        self._console = console
        self._encode: Callable[[Any], str] = json_line if typed else _raw_line
        self._count = count
        self._printed = 0
        self._lock = threading.Lock()
        self.done = threading.Event()

    def __call__(self, message: Any) -> None:
        with self._lock:
            if self.done.is_set():
                return
            try:
                self._console.write_out(self._encode(message))
            except (BrokenPipeError, ValueError):
                self.done.set()  # the reader went away (or stdout was closed): stop quietly
                return
            self._printed += 1
            if self._count is not None and self._printed >= self._count:
                self.done.set()

    @property
    def printed(self) -> int:
        """Messages printed so far."""
        with self._lock:
            return self._printed


def _raw_line(payload: Any) -> str:
    return orjson.dumps(payload).decode()


def is_derivatives_portfolio(portfolio: str) -> bool:
    """FORTS (derivatives) portfolios are the ``7500...`` ones (``7500GHC``; reference 2.4)."""
    return portfolio.startswith("750")


def default_portfolio(opcode: Opcode, portfolios: tuple[str, ...]) -> str | None:
    """The token's portfolio a stream most likely means: the first derivatives one for
    derivatives risks (a stock portfolio never gets any), else the first other one."""
    wanted = opcode is Opcode.SPECTRA_RISKS
    matching = [p for p in portfolios if is_derivatives_portfolio(p) == wanted]
    if matching:
        return matching[0]
    return None if wanted or not portfolios else portfolios[0]


def _resolve_key(kind: StreamKind, args: argparse.Namespace, client: AlorClient) -> str:
    """KEY as given, or for account kinds the token's portfolio that suits the stream."""
    if args.key:
        return str(args.key)
    portfolios = client.tokens.claims().portfolios
    chosen = default_portfolio(kind.opcode, portfolios)
    if chosen is None:
        what = "a derivatives (7500...) portfolio" if portfolios else "a portfolio"
        raise UsageError(f"'{args.kind}' needs {what} and your token lists none: pass it as KEY")
    return chosen


def raise_if_rejected(subs: list[Subscription]) -> None:
    """Raise :class:`CliError` if the server rejected any of ``subs``."""
    for sub in subs:
        if sub.state is SubscriptionState.FAILED:
            raise CliError(f"the server rejected the {sub.opcode} subscription: {sub.error}")


class QuietNotice:
    """Says once, on stderr, that a confirmed subscription has sent nothing yet (main thread).

    Without it a stream with no history (own trades, orders) looks like a hung command.
    """

    def __init__(self, console: Console, printed: Callable[[], int]) -> None:
        self._console = console
        self._printed = printed
        self._active_since: float | None = None
        self._said = False

    def check(self, sub: Subscription) -> None:
        if self._said or sub.state is not SubscriptionState.ACTIVE:
            return
        now = time.monotonic()
        if self._active_since is None:
            self._active_since = now
        if self._printed() == 0 and now - self._active_since >= QUIET_NOTICE_AFTER:
            self._said = True
            self._console.progress("subscribed, waiting for data")


def wait_until_done(
    done: threading.Event,
    subs: list[Subscription],
    duration: float | None,
    watch: Callable[[], None] = lambda: None,
) -> None:
    """Main thread: wait for ``done`` or ``duration``, calling ``watch`` every 0.2 s; raise if
    the server rejected a request."""
    deadline = None if duration is None else time.monotonic() + duration
    while not done.is_set():
        raise_if_rejected(subs)
        watch()
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        done.wait(0.2 if left is None else min(0.2, left))


def _check_key(kind: StreamKind, args: argparse.Namespace) -> None:
    """Merge ``--portfolio`` into KEY; usage errors for a missing or doubled key."""
    if args.portfolio is not None:
        if kind.key != "portfolio":
            raise UsageError(f"--portfolio does not apply to '{args.kind}'")
        if args.key is not None and args.key != args.portfolio:
            raise UsageError("give the portfolio once: as KEY or with --portfolio")
        args.key = args.portfolio
    if kind.key == "symbol" and not args.key:
        raise UsageError(f"'{args.kind}' needs a symbol, e.g. alor-sync stream {args.kind} SBER")


def _key_name(kind: StreamKind) -> str:
    return "code" if kind.key == "symbol" else "portfolio"


def run(args: argparse.Namespace, console: Console) -> int:
    kind = KINDS[args.kind]
    _check_key(kind, args)
    params = build_params(kind, args)
    # Check every value before anything connects (raises InvalidArgumentError: a usage error).
    protocol.subscription_request(
        kind.opcode, "preview", **{_key_name(kind): args.key or "KEY"}, **params
    )
    printer = _Printer(console, args.typed, args.count)
    console.rejections_reported = True
    with open_target(args, console) as target, open_client(target, console) as client:
        key = _resolve_key(kind, args, client)
        if not args.key:
            console.progress(f"using portfolio {key} from your token")
        params[_key_name(kind)] = key
        sub = client.subscribe(
            kind.opcode,
            printer,
            raw=not args.typed,
            silence_timeout=args.silence_timeout,
            **params,
        )

        quiet = QuietNotice(console, lambda: printer.printed)

        def watch() -> None:
            console.watch_connection(client.statistics().connection)
            quiet.check(sub)

        wait_until_done(printer.done, [sub], args.duration, watch)
    return 0
