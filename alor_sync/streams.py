"""The twelve ``subscribe_*`` methods of :class:`~alor_sync.client.AlorClient`.

Rules of this module:

* One thin method per opcode: it names every documented parameter (so that help() and type
  checkers show them) and forwards them to :meth:`StreamMethods.subscribe`; validation lives in
  :mod:`alor_sync.protocol`, delivery in the session.
* Callbacks run on a dispatcher worker (or the client's executor), never on the network thread;
  one subscription's frames arrive in order and never concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from alor_sync.events import GapNotice, StateChange
from alor_sync.subscriptions import Subscription
from alor_sync.wire import Format, Opcode

__all__ = ["StreamMethods"]

Callback = Callable[[Any], None]
FormatArg = Format | str
GapHook = Callable[[GapNotice], None]
StateHook = Callable[[StateChange], None]


def _delivery(
    raw: bool,
    silence_timeout: float | None,
    conflate: bool,
    on_gap: GapHook | None,
    on_state: StateHook | None,
) -> dict[str, Any]:
    """The delivery options every ``subscribe_*`` forwards to :meth:`StreamMethods.subscribe`."""
    return {
        "raw": raw,
        "silence_timeout": silence_timeout,
        "conflate": conflate,
        "on_gap": on_gap,
        "on_state": on_state,
    }


class StreamMethods:
    """Mixin: ``subscribe_<kind>(key, callback, ...) -> Subscription`` for every stream.

    Common keyword arguments: ``format`` (``Simple`` default, ``Slim``, ``Heavy``), ``raw``
    (True: the callback gets the payload ``dict`` as sent; False: the typed model),
    ``silence_timeout`` (seconds without data after which the subscription is renewed; None:
    off), ``conflate`` (full-state streams only: True, the default, hands a slow callback only
    the newest state; False delivers every frame, losslessly up to a bound, then a gap; event
    streams are always lossless), ``on_gap(GapNotice)`` and ``on_state(StateChange)`` (this
    subscription's gap notices and state changes, on its worker in stream order). Every call
    may come from any thread, including from inside a callback.
    """

    def subscribe(
        self,
        opcode: Opcode | str,
        callback: Callback,
        *,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
        **params: Any,
    ) -> Subscription:
        """Subscribe by opcode name with the request's parameters in snake_case."""
        raise NotImplementedError

    def subscribe_order_book(
        self,
        code: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        depth: int | None = None,
        frequency: int | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Order book of ``code``: every frame the whole book up to ``depth`` (1..50, default 20);
        a slow callback gets the latest book (older ones are conflated, never queued)."""
        return self.subscribe(
            Opcode.ORDER_BOOK, callback, code=code,
            **_delivery(raw, silence_timeout, conflate, on_gap, on_state),
            exchange=exchange, instrument_group=instrument_group, depth=depth,
            frequency=frequency, format=format,
        )  # fmt: skip

    def subscribe_bars(
        self,
        code: str,
        callback: Callback,
        *,
        tf: int | str,
        from_time: int | datetime,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        skip_history: bool | None = None,
        split_adjust: bool | None = None,
        frequency: int | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time``, then live;
        the current candle is re-sent with the same ``time`` until a new one starts."""
        return self.subscribe(
            Opcode.BARS, callback, code=code,
            **_delivery(raw, silence_timeout, conflate, on_gap, on_state),
            exchange=exchange, tf=tf, from_time=from_time, instrument_group=instrument_group,
            skip_history=skip_history, split_adjust=split_adjust, frequency=frequency,
            format=format,
        )  # fmt: skip

    def subscribe_quotes(
        self,
        code: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        frequency: int | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Quote (ticker summary) of ``code``; latest-wins when the callback is slow."""
        return self.subscribe(
            Opcode.QUOTES, callback, code=code,
            **_delivery(raw, silence_timeout, conflate, on_gap, on_state),
            exchange=exchange, instrument_group=instrument_group, frequency=frequency,
            format=format,
        )  # fmt: skip

    def subscribe_all_trades(
        self,
        code: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        depth: int | None = None,
        include_virtual_trades: bool | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """The anonymous trade tape of ``code``; ``depth`` last trades (max 5000) come first."""
        return self.subscribe(
            Opcode.ALL_TRADES, callback, code=code,
            **_delivery(raw, silence_timeout, conflate, on_gap, on_state),
            exchange=exchange, instrument_group=instrument_group, depth=depth,
            include_virtual_trades=include_virtual_trades, format=format,
        )  # fmt: skip

    def subscribe_instruments(
        self,
        code: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Instrument attributes: the full object first, then partial updates (changed fields)."""
        return self.subscribe(
            Opcode.INSTRUMENTS, callback, code=code,
            **_delivery(raw, silence_timeout, conflate, on_gap, on_state),
            exchange=exchange, instrument_group=instrument_group, format=format,
        )  # fmt: skip

    def _portfolio_stream(
        self,
        opcode: Opcode,
        portfolio: str,
        callback: Callback,
        exchange: str,
        skip_history: bool | None,
        format: FormatArg,
        delivery: dict[str, Any],
        **extra: Any,
    ) -> Subscription:
        return self.subscribe(
            opcode, callback, **delivery, portfolio=portfolio, exchange=exchange,
            skip_history=skip_history, format=format, **extra,
        )  # fmt: skip

    def subscribe_positions(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Positions of ``portfolio`` (money included): all first, then every change."""
        return self._portfolio_stream(
            Opcode.POSITIONS, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )  # fmt: skip

    def subscribe_summaries(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Portfolio summary (buying power, evaluation, P&L); latest-wins."""
        return self._portfolio_stream(
            Opcode.SUMMARIES, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )  # fmt: skip

    def subscribe_risks(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Portfolio risk figures; latest-wins."""
        return self._portfolio_stream(
            Opcode.RISKS, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )  # fmt: skip

    def subscribe_spectra_risks(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Derivatives (FORTS) risks of a ``75...`` portfolio; latest-wins."""
        return self._portfolio_stream(
            Opcode.SPECTRA_RISKS, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )  # fmt: skip

    def subscribe_trades(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Own trades of ``portfolio``: the session's first, then each new one."""
        return self._portfolio_stream(
            Opcode.TRADES, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )  # fmt: skip

    def subscribe_orders(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        order_statuses: Iterable[str] | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Market and limit orders of ``portfolio``; ``order_statuses`` filters the history."""
        return self._portfolio_stream(
            Opcode.ORDERS, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
            order_statuses=order_statuses,
        )  # fmt: skip

    def subscribe_stop_orders(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        order_statuses: Iterable[str] | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription:
        """Stop and stop-limit orders of ``portfolio``; ``order_statuses`` filters the history."""
        return self._portfolio_stream(
            Opcode.STOP_ORDERS, portfolio, callback, exchange, skip_history, format,
            _delivery(raw, silence_timeout, conflate, on_gap, on_state),
            order_statuses=order_statuses,
        )  # fmt: skip
