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
from datetime import datetime
from typing import Any, TypeVar, overload

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
from alor_sync.models import (
    AllTrade,
    Bar,
    Instrument,
    Order,
    OrderBook,
    Position,
    Quote,
    Risk,
    SpectraRisk,
    StopOrder,
    Summary,
    Trade,
)
from alor_sync.models.values import P
from alor_sync.protocol._checks import check_integer, check_unix_seconds
from alor_sync.protocol.ws import ALL_TRADES_MAX_DEPTH
from alor_sync.wire import Opcode

__all__ = ["DEFAULT_SETTLE", "DEFAULT_TIMEOUT", "SnapshotMethods"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_SETTLE = 0.25

R = TypeVar("R")


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


class SnapshotMethods(StreamMethods[P]):
    """Mixin of :class:`~alor_sync.client.AlorClient`: blocking one-shot reads.

    Each ``get_*`` runs on the caller's thread, blocks at most ``timeout`` seconds and raises
    :class:`~alor_sync.errors.CommandTimeoutError` when the data did not come in time, the typed
    :class:`~alor_sync.errors.APIError` when the server rejected the request, and
    :class:`~alor_sync.errors.InvalidArgumentError` for a bad argument (nothing is sent then).
    It leaves no subscription behind in any case. Thread-safe; see
    :mod:`alor_sync.data.snapshot_methods` for how the end of a history is told.
    """

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

    def _snapshot(self, what: str, opcode: Opcode, timeout: float, **params: Any) -> Any:
        rule: FirstItem[Any] = FirstItem()
        return self._get(what, opcode, rule, timeout, None, **params)

    # ------------------------------------------------------------------ market data

    def get_order_book(
        self,
        symbol: str | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        depth: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> OrderBook[P]:
        """The current order book of ``symbol`` (``depth`` levels a side, 1..50, default 20)."""
        code = instrument_code(symbol, code)
        book: OrderBook[P] = self._snapshot(
            f"order book of {code}", Opcode.ORDER_BOOK, timeout, code=code, exchange=exchange,
            instrument_group=instrument_group, depth=depth,
        )  # fmt: skip
        return book

    def get_quote(
        self,
        symbol: str | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Quote[P]:
        """The current quote (last price, best bid/ask, lot size...) of ``symbol``."""
        code = instrument_code(symbol, code)
        quote: Quote[P] = self._snapshot(
            f"quote of {code}", Opcode.QUOTES, timeout, code=code, exchange=exchange,
            instrument_group=instrument_group,
        )  # fmt: skip
        return quote

    def get_instrument(
        self,
        symbol: str | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Instrument[P]:
        """The full trading attributes of ``symbol`` (status, price limits, margins).

        Lot size and face value are in the quote (:meth:`get_quote`); the price step is not in
        the WebSocket API (ALOR's HTTP ``securities`` endpoint has it).
        """
        code = instrument_code(symbol, code)
        rule: FirstItem[Instrument[P]] = FirstItem()
        return self._get(
            f"instrument {code}", Opcode.INSTRUMENTS, rule, timeout, None, code=code,
            exchange=exchange, instrument_group=instrument_group,
        )  # fmt: skip

    @overload
    def get_bars(
        self,
        symbol: str,
        tf: int | str,
        from_time: int | datetime,
        to_time: int | datetime | None = None,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        split_adjust: bool | None = ...,
        timeout: float = ...,
        settle: float = ...,
    ) -> list[Bar[P]]: ...

    @overload
    def get_bars(
        self,
        *,
        code: str,
        tf: int | str,
        from_time: int | datetime,
        to_time: int | datetime | None = None,
        exchange: str = ...,
        instrument_group: str | None = ...,
        split_adjust: bool | None = ...,
        timeout: float = ...,
        settle: float = ...,
    ) -> list[Bar[P]]: ...

    def get_bars(
        self,
        symbol: str | None = None,
        tf: int | str | None = None,
        from_time: int | datetime | None = None,
        to_time: int | datetime | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        split_adjust: bool | None = None,
        timeout: float = 30.0,
        settle: float = DEFAULT_SETTLE,
    ) -> list[Bar[P]]:
        """Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time`` to
        ``to_time`` (both inclusive, unix seconds or aware datetimes; None: up to the current,
        unfinished candle), oldest first, each candle once."""
        code = instrument_code(symbol, code)
        start = check_unix_seconds("from_time", from_time)
        end = None if to_time is None else check_unix_seconds("to_time", to_time)
        if end is not None and end < start:
            raise InvalidArgumentError(f"to_time ({end}) must not be before from_time ({start})")
        rule: EndRule[Any, Any] = BarsEnd(end)
        bars: list[Bar[P]] = self._get(
            f"bars of {code}", Opcode.BARS, rule, timeout, settle, code=code,
            exchange=exchange, tf=tf, from_time=start, instrument_group=instrument_group,
            split_adjust=split_adjust,
        )  # fmt: skip
        return bars

    @overload
    def get_all_trades(
        self,
        symbol: str,
        depth: int,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        include_virtual_trades: bool | None = ...,
        timeout: float = ...,
        settle: float = ...,
    ) -> list[AllTrade[P]]: ...

    @overload
    def get_all_trades(
        self,
        *,
        code: str,
        depth: int,
        exchange: str = ...,
        instrument_group: str | None = ...,
        include_virtual_trades: bool | None = ...,
        timeout: float = ...,
        settle: float = ...,
    ) -> list[AllTrade[P]]: ...

    def get_all_trades(
        self,
        symbol: str | None = None,
        depth: int | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        include_virtual_trades: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        settle: float = DEFAULT_SETTLE,
    ) -> list[AllTrade[P]]:
        """The last ``depth`` (1..5000) trades of ``symbol``'s tape, oldest first (fewer when the
        exchange has fewer)."""
        code = instrument_code(symbol, code)
        depth = check_integer("depth", depth, 1, ALL_TRADES_MAX_DEPTH)
        rule: EndRule[Any, Any] = AllTradesEnd(depth)
        trades: list[AllTrade[P]] = self._get(
            f"all trades of {code}", Opcode.ALL_TRADES, rule, timeout, settle,
            code=code, exchange=exchange, instrument_group=instrument_group, depth=depth,
            include_virtual_trades=include_virtual_trades,
        )  # fmt: skip
        return trades

    # ------------------------------------------------------------------ portfolio

    def get_summary(
        self, portfolio: str, *, exchange: str = "MOEX", timeout: float = DEFAULT_TIMEOUT
    ) -> Summary[P]:
        """The portfolio summary: buying power, evaluation, profit."""
        summary: Summary[P] = self._snapshot(
            f"summary of {portfolio}", Opcode.SUMMARIES, timeout, portfolio=portfolio,
            exchange=exchange,
        )  # fmt: skip
        return summary

    def get_risks(
        self, portfolio: str, *, exchange: str = "MOEX", timeout: float = DEFAULT_TIMEOUT
    ) -> Risk[P]:
        """The portfolio's risk figures."""
        risk: Risk[P] = self._snapshot(
            f"risks of {portfolio}", Opcode.RISKS, timeout, portfolio=portfolio,
            exchange=exchange,
        )  # fmt: skip
        return risk

    def get_spectra_risks(
        self, portfolio: str, *, exchange: str = "MOEX", timeout: float = DEFAULT_TIMEOUT
    ) -> SpectraRisk[P]:
        """The derivatives (FORTS) risks of a derivatives portfolio (``7500...``)."""
        risk: SpectraRisk[P] = self._snapshot(
            f"derivatives risks of {portfolio}", Opcode.SPECTRA_RISKS, timeout,
            portfolio=portfolio, exchange=exchange,
        )  # fmt: skip
        return risk

    def _keyed(
        self,
        what: str,
        opcode: Opcode,
        key: Any,
        timeout: float,
        settle: float,
        **params: Any,
    ) -> Any:
        rule: KeyedHistory[Any] = KeyedHistory(key)
        return self._get(what, opcode, rule, timeout, settle, **params)

    def get_positions(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = DEFAULT_TIMEOUT,
        settle: float = DEFAULT_SETTLE,
    ) -> list[Position[P]]:
        """Every position of ``portfolio``, money included, one per instrument."""
        positions: list[Position[P]] = self._keyed(
            f"positions of {portfolio}", Opcode.POSITIONS, position_key, timeout, settle,
            portfolio=portfolio, exchange=exchange,
        )  # fmt: skip
        return positions

    def get_trades(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = DEFAULT_TIMEOUT,
        settle: float = DEFAULT_SETTLE,
    ) -> list[Trade[P]]:
        """The portfolio's own trades of the current session."""
        trades: list[Trade[P]] = self._keyed(
            f"trades of {portfolio}", Opcode.TRADES, id_key, timeout, settle,
            portfolio=portfolio, exchange=exchange,
        )  # fmt: skip
        return trades

    def get_orders(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        order_statuses: list[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        settle: float = DEFAULT_SETTLE,
    ) -> list[Order[P]]:
        """The portfolio's market and limit orders of the session (latest state of each),
        optionally only those in ``order_statuses`` (``working``, ``filled``...)."""
        orders: list[Order[P]] = self._keyed(
            f"orders of {portfolio}", Opcode.ORDERS, id_key, timeout, settle,
            portfolio=portfolio, exchange=exchange, order_statuses=order_statuses,
        )  # fmt: skip
        return orders

    def get_stop_orders(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        order_statuses: list[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        settle: float = DEFAULT_SETTLE,
    ) -> list[StopOrder[P]]:
        """The portfolio's stop and stop-limit orders (latest state of each)."""
        orders: list[StopOrder[P]] = self._keyed(
            f"stop orders of {portfolio}", Opcode.STOP_ORDERS, id_key, timeout, settle,
            portfolio=portfolio, exchange=exchange, order_statuses=order_statuses,
        )  # fmt: skip
        return orders
