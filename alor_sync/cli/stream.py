"""``alor-sync stream KIND KEY``: any of the twelve subscriptions as JSON lines on stdout.

Rules of this module:

* The kinds and their flags come from the stream specs (:mod:`alor_sync.protocol.specs`): one
  kind per spec (:data:`KINDS`), one flag per optional parameter, read by the type the spec
  declares; only spellings (``--board``, ``--from``) are this module's. A flag that does not
  apply to the kind is a usage error, never silently ignored.
* Lines are written from the subscription's callback (a dispatcher worker), one subscription so
  they are in order; the main thread only waits for ``--count``, ``--duration``, a rejection or
  Ctrl+C. A reader that goes away (``| head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
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
from alor_sync.protocol.specs import SPECS, Param, StreamSpec
from alor_sync.wire import Opcode

__all__ = ["KINDS", "QuietNotice", "StreamKind", "add_parser", "default_portfolio", "run"]

# A confirmed subscription silent this long (seconds) gets a "waiting for data" note on stderr.
QUIET_NOTICE_AFTER = 1.0
# Given once for every kind (``--exchange``, ``--format``) or as KEY: not per-kind flags.
_COMMON_PARAMS = frozenset({"code", "portfolio", "exchange", "format"})


@attrs.frozen
class StreamKind:
    """One subscription as the CLI names it."""

    opcode: Opcode
    key: str  # "symbol" or "portfolio"
    flags: frozenset[str]  # optional flags (dest names) this kind accepts, besides the common ones
    summary: str


@attrs.frozen
class _Flag:
    """How the command line spells a spec parameter (where its name is not enough)."""

    flag: str
    dest: str
    metavar: str | None = None
    how: str = ""  # how to write the value on a command line, in place of the spec's doc line
    note: str = ""  # what the CLI adds (its own default)


# Spellings that differ from ``--<name-with-dashes>``; dests are what ``record`` sets too.
_SPELLINGS = {
    "instrument_group": _Flag("--board", "board"),
    "from_time": _Flag(
        "--from",
        "from_time",
        "WHEN",
        how="start as unix seconds, ISO 8601 or a time ago (2h)",
        note="default 50 bars",
    ),
    "tf": _Flag("--tf", "tf", note="default 60"),
    "frequency": _Flag("--frequency", "frequency", "MS"),
    "order_statuses": _Flag(
        "--order-statuses", "order_statuses", "LIST", how="filter history, e.g. working,filled"
    ),
}


def _spelling(name: str) -> _Flag:
    return _SPELLINGS.get(name) or _Flag("--" + name.replace("_", "-"), name)


def _kind(spec: StreamSpec) -> StreamKind:
    own = frozenset(_spelling(p.name).dest for p in spec.params if p.name not in _COMMON_PARAMS)
    return StreamKind(spec.opcode, spec.key, own, spec.summary)


KINDS: dict[str, StreamKind] = {spec.name.replace("_", "-"): _kind(spec) for spec in SPECS.values()}


def _optional_params() -> dict[str, tuple[_Flag, Param, list[StreamSpec]]]:
    """Each per-kind parameter once, in spec order: dest -> (its flag, the parameter, the specs
    of the kinds that take it)."""
    found: dict[str, tuple[_Flag, Param, list[StreamSpec]]] = {}
    for spec in SPECS.values():
        for param in spec.params:
            if param.name not in _COMMON_PARAMS:
                flag = _spelling(param.name)
                found.setdefault(flag.dest, (flag, param, []))[2].append(spec)
    return found


_OPTIONAL = _optional_params()

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


def _reader(param: Param) -> dict[str, Any]:
    """How argparse reads a parameter, by the type the spec declares."""
    kind = param.annotation
    if kind == int | None:
        return {"type": whole_number}
    if kind == int | str:
        return {"type": _timeframe}
    if kind == int | datetime:
        return {"type": unix_time}
    if kind == Iterable[str] | None:
        return {"type": _statuses}
    if kind == bool | None:
        # "--no-x" only where the server's default is yes; elsewhere the flag alone says it
        on = argparse.BooleanOptionalAction if param.server_default is True else "store_true"
        return {"action": on, "default": None}
    return {}


def _help(flag: _Flag, param: Param, specs: list[StreamSpec]) -> str:
    """The parameter's doc line, after the kinds it applies to (those sharing a doc together)."""
    by_doc: dict[str, list[StreamSpec]] = {}
    for spec in specs:
        by_doc.setdefault(flag.how or spec.param(param.name).doc, []).append(spec)
    text = "; ".join(f"{_kinds(group)}: {doc}" for doc, group in by_doc.items())
    return f"{text} ({flag.note})" if flag.note else text


def _kinds(specs: list[StreamSpec]) -> str:
    """``market kinds`` / ``account kinds`` where a flag applies to all of them, else names."""
    names: list[str] = []
    for key, label in (("symbol", "market kinds"), ("portfolio", "account kinds")):
        of_key = [s for s in specs if s.key == key]
        if len(of_key) > 1 and len(of_key) == sum(s.key == key for s in SPECS.values()):
            names.append(label)
        else:
            names.extend(s.name.replace("_", "-") for s in of_key)
    return ", ".join(names)


def _add_stream_parameters(parser: argparse.ArgumentParser) -> None:
    opts = parser.add_argument_group("stream parameters (each applies to some kinds only)")
    for dest, (flag, param, specs) in _OPTIONAL.items():
        extra: dict[str, Any] = {} if flag.metavar is None else {"metavar": flag.metavar}
        opts.add_argument(
            flag.flag, dest=dest, help=_help(flag, param, specs), **_reader(param), **extra
        )


def _default_from(tf: int | str) -> int:
    span = 50 * tf if isinstance(tf, int) else 365 * 86400
    return int(time.time()) - span


def build_params(kind: StreamKind, args: argparse.Namespace) -> dict[str, Any]:
    """The ``subscribe`` keyword arguments for ``kind`` (without the key); usage errors for
    flags that do not apply."""
    params: dict[str, Any] = {"exchange": args.exchange, "format": args.format}
    for dest, (flag, param, _) in _OPTIONAL.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest not in kind.flags:
            raise UsageError(f"{flag.flag} does not apply to '{args.kind}'")
        params[param.name] = value
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
