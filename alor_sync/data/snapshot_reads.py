"""One-shot reads over the WebSocket API: ``get_*`` subscribes, collects, unsubscribes, returns.

Every ``*GetAndSubscribe`` opcode is "get and subscribe"; these methods keep the "get". They are
built only on the client's public API (``subscribe``, ``Subscription.wait_active``,
``Subscription.statistics``, ``Subscription.unsubscribe``).

How a get knows the initial part is over (the API sends no "history done" message):

1. A rule of :mod:`alor_sync.data.history_ends` sees it in the data: the first frame of a full-state
   stream, the first live (``existing=False``) item, a candle newer than ``to_time`` or a repeat
   of the current candle, the ``depth``-th history trade.
2. Otherwise, once the server confirmed the subscription, the get waits until every frame read
   so far has been handled and then for ``settle`` seconds (default 0.25) in which no new frame
   arrives. Production sends the history *before* the confirmation (reference 2.5), so there the
   quiet interval only confirms an end already reached; it also covers a server that confirms
   first and an empty history. It is the last resort, bounded like everything by ``timeout``.

The ``get_*`` methods themselves are generated from :data:`READS` and the stream specs into
:mod:`alor_sync.data.snapshot_methods`; their bodies forward to :meth:`SnapshotReads._read`.

Rules of this module:

* A get never leaves a stream behind: the subscription is unsubscribed on success, on timeout,
  on a server error and on any exception (``try``/``finally`` around everything after
  ``subscribe``).
* A get of a full-state stream may join an identical subscription the user (or another get)
  already holds: the client replays the stream's latest state to a joining handle, so the get
  answers at once, even on a quiet market (tests pin this).
* Blocking: every get runs on the caller's thread and takes ``timeout`` (seconds). Do not call a
  get from inside a callback when the client has a single worker: the get's own frames need a
  worker to be delivered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from alor_sync.data.history_ends import (
    AllTradesEnd,
    BarsEnd,
    EndRule,
    FirstItem,
    KeyedHistory,
    id_key,
    position_key,
)
from alor_sync.data.snapshot_collector import Collector
from alor_sync.data.stream_methods import StreamMethods
from alor_sync.data.stream_options import instrument_code
from alor_sync.errors import CommandTimeoutError, ConnectFailedError, InvalidArgumentError
from alor_sync.models.values import P
from alor_sync.protocol._checks import check_integer, check_unix_seconds
from alor_sync.protocol.specs import ALL_TRADES_MAX_DEPTH, REQUIRED, SPECS, Param, StreamSpec
from alor_sync.wire import Opcode

__all__ = ["DEFAULT_SETTLE", "DEFAULT_TIMEOUT", "READS", "Read", "SnapshotReads"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_SETTLE = 0.25

R = TypeVar("R")
EndOf = Callable[[dict[str, Any]], EndRule[Any, Any]]
"""Checks the bound arguments a rule depends on (in place) and makes the get's end rule."""


@attrs.frozen
class Read:
    """One ``get_<name>``: which stream, which of its parameters, how its answer ends."""

    name: str
    opcode: Opcode
    what: str  # for messages, ``{key}`` the symbol or portfolio
    params: tuple[str, ...]  # keyword-only parameters of the spec (the key aside)
    end: EndOf
    doc: str
    many: bool = False  # a list of items (takes ``settle``), else one item
    positional: tuple[Param, ...] = ()  # after the key, the get's own (required unless defaulted)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def spec(self) -> StreamSpec:
        return SPECS[self.opcode]

    def keywords(self) -> tuple[Param, ...]:
        return tuple(self.spec.param(name) for name in self.params)


def _first(values: dict[str, Any]) -> EndRule[Any, Any]:
    return FirstItem()


def _keyed_by(key: Callable[[Any], Any]) -> EndOf:
    return lambda values: KeyedHistory(key)


def _bars_end(values: dict[str, Any]) -> EndRule[Any, Any]:
    start = check_unix_seconds("from_time", values["from_time"])
    to_time = values.pop("to_time")
    end = None if to_time is None else check_unix_seconds("to_time", to_time)
    if end is not None and end < start:
        raise InvalidArgumentError(f"to_time ({end}) must not be before from_time ({start})")
    values["from_time"] = start
    return BarsEnd(end)


def _trades_end(values: dict[str, Any]) -> EndRule[Any, Any]:
    values["depth"] = check_integer("depth", values["depth"], 1, ALL_TRADES_MAX_DEPTH)
    return AllTradesEnd(values["depth"])


_BARS = SPECS[Opcode.BARS]
_TO_TIME = attrs.evolve(
    _BARS.param("from_time"),
    name="to_time",
    wire="",
    annotation=int | datetime | None,
    doc="the open of the last candle wanted (None: up to the current one)",
    default=None,
)
_LAST_TRADES = attrs.evolve(
    SPECS[Opcode.ALL_TRADES].param("depth"), annotation=int, default=REQUIRED
)
_GROUP = "instrument_group"

READS: tuple[Read, ...] = (
    Read("order_book", Opcode.ORDER_BOOK, "order book of {key}", ("exchange", _GROUP, "depth"),
         _first, "The current order book of ``symbol`` (``depth`` levels a side, 1..50, default "
         "20)."),
    Read("quote", Opcode.QUOTES, "quote of {key}", ("exchange", _GROUP), _first,
         "The current quote (last price, best bid/ask, lot size...) of ``symbol``."),
    Read("instrument", Opcode.INSTRUMENTS, "instrument {key}", ("exchange", _GROUP), _first,
         "The full trading attributes of ``symbol`` (status, price limits, margins).\n\n"
         "Lot size and face value are in the quote (:meth:`get_quote`); the price step is not in\n"
         "the WebSocket API (ALOR's HTTP ``securities`` endpoint has it)."),
    Read("bars", Opcode.BARS, "bars of {key}", ("exchange", _GROUP, "split_adjust"), _bars_end,
         "Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time`` to\n"
         "``to_time`` (both inclusive, unix seconds or aware datetimes; None: up to the current,\n"
         "unfinished candle), oldest first, each candle once.",
         many=True, positional=(_BARS.param("tf"), _BARS.param("from_time"), _TO_TIME),
         timeout=30.0),
    Read("all_trades", Opcode.ALL_TRADES, "all trades of {key}",
         ("exchange", _GROUP, "include_virtual_trades"), _trades_end,
         "The last ``depth`` (1..5000) trades of ``symbol``'s tape, oldest first (fewer when the\n"
         "exchange has fewer).", many=True, positional=(_LAST_TRADES,)),
    Read("summary", Opcode.SUMMARIES, "summary of {key}", ("exchange",), _first,
         "The portfolio summary: buying power, evaluation, profit."),
    Read("risks", Opcode.RISKS, "risks of {key}", ("exchange",), _first,
         "The portfolio's risk figures."),
    Read("spectra_risks", Opcode.SPECTRA_RISKS, "derivatives risks of {key}", ("exchange",),
         _first, "The derivatives (FORTS) risks of a derivatives portfolio (``7500...``)."),
    Read("positions", Opcode.POSITIONS, "positions of {key}", ("exchange",),
         _keyed_by(position_key), "Every position of ``portfolio``, money included, one per "
         "instrument.", many=True),
    Read("trades", Opcode.TRADES, "trades of {key}", ("exchange",), _keyed_by(id_key),
         "The portfolio's own trades of the current session.", many=True),
    Read("orders", Opcode.ORDERS, "orders of {key}", ("exchange", "order_statuses"),
         _keyed_by(id_key), "The portfolio's market and limit orders of the session (latest "
         "state of each),\noptionally only those in ``order_statuses`` (``working``, "
         "``filled``...).", many=True),
    Read("stop_orders", Opcode.STOP_ORDERS, "stop orders of {key}", ("exchange", "order_statuses"),
         _keyed_by(id_key), "The portfolio's stop and stop-limit orders (latest state of each).",
         many=True),
)  # fmt: skip
"""Every ``get_*``, in the order of the generated module."""

_BY_NAME = {read.name: read for read in READS}


def _check_timeout(name: str, value: object) -> float:
    """A finite number of seconds > 0: every get is bounded (inf would not even reach a lock)."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        return float(value)
    raise InvalidArgumentError(
        f"{name} must be a positive, finite number of seconds, got {value!r}"
    )


class SnapshotReads(StreamMethods[P]):
    """What the generated ``get_*`` methods run: one generic read, bounded and clean.

    Each ``get_*`` runs on the caller's thread, blocks at most ``timeout`` seconds and raises
    :class:`~alor_sync.errors.CommandTimeoutError` when the data did not come in time, the typed
    :class:`~alor_sync.errors.APIError` when the server rejected the request, and
    :class:`~alor_sync.errors.InvalidArgumentError` for a bad argument (nothing is sent then).
    It leaves no subscription behind in any case. Thread-safe; see
    :mod:`alor_sync.data.snapshot_reads` for how the end of a history is told.
    """

    def _read(self, name: str, arguments: dict[str, Any]) -> Any:
        """``get_<name>`` with its arguments (the generated method's ``locals()``, so that its
        body names no parameter again): the key resolved, the rule's arguments checked."""
        read = _BY_NAME[name]
        values = {k: v for k, v in arguments.items() if k != "self"}
        timeout = values.pop("timeout")
        settle = values.pop("settle", None)
        if read.spec.key == "symbol":
            values["code"] = key = instrument_code(values.pop("symbol"), values.pop("code"))
        else:
            key = values["portfolio"]
        rule = read.end(values)
        return self._get(read.what.format(key=key), read.opcode, rule, timeout, settle, **values)

    def _get(
        self,
        what: str,
        opcode: Opcode,
        rule: EndRule[Any, R],
        timeout: float,
        settle: float | None,
        **params: Any,
    ) -> R:
        """Subscribe, wait for the end ``rule`` sees (or the quiet end when ``settle`` is set),
        unsubscribe."""
        deadline = time.monotonic() + _check_timeout("timeout", timeout)
        if settle is not None:
            _check_timeout("settle", settle)
        collector = Collector(rule)
        subscription = self.subscribe(opcode, collector, **params)
        try:
            try:
                subscription.wait_active(max(0.0, deadline - time.monotonic()))
            except CommandTimeoutError as exc:
                unsent = exc.__cause__ if isinstance(exc.__cause__, ConnectFailedError) else None
                why = (
                    f"the server did not confirm the request within {timeout} s"
                    if unsent is None
                    else f"the request could not be sent within {timeout} s: {unsent}"
                )
                raise CommandTimeoutError(f"{what}: {why}") from (unsent or exc)
            if settle is None:
                ended = collector.wait_done(deadline)
            else:
                ended = collector.wait_quiet(subscription, deadline, settle)
            if not ended:
                raise CommandTimeoutError(
                    f"{what}: no complete answer within {timeout} s "
                    f"({collector.count} item(s) so far)"
                )
            result: R = collector.result()
            return result
        finally:
            subscription.unsubscribe()
