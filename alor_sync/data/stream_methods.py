"""The ``subscribe_*`` methods of :class:`~alor_sync.client.AlorClient`: market data here,
portfolio streams in :mod:`alor_sync.data.portfolio_stream_methods`.

Rules of this module:

* One thin method per opcode: it names every documented parameter (so that help() and type
  checkers show them) and forwards them to ``subscribe``; validation lives in
  :mod:`alor_sync.protocol`, delivery in the session.
* Two typed overloads per method: the callback gets the stream's model in the client's price
  type (``Quote[float]``, or ``Quote[Decimal]`` with ``exact=True``), or with ``raw=True`` the
  payload ``dict``. Types only: the runtime method is the one below its overloads.
* Callbacks run on a dispatcher worker (or the client's executor), never on the network thread;
  one subscription's frames arrive in order and never concurrently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, overload

from typing_extensions import Unpack

from alor_sync.data.portfolio_stream_methods import PortfolioStreamMethods
from alor_sync.data.stream_options import (
    Callback,
    DeliveryOptions,
    FormatArg,
    GapHook,
    RawCallback,
    StateHook,
    delivery,
    instrument_code,
)
from alor_sync.data.subscriptions import Subscription
from alor_sync.models import AllTrade, Bar, Instrument, OrderBook, Quote
from alor_sync.models.values import P
from alor_sync.wire import Format, Opcode

__all__ = ["StreamMethods"]


class StreamMethods(PortfolioStreamMethods[P]):
    """Mixin: ``subscribe_<kind>(key, callback, ...) -> Subscription`` for every stream.

    The key of a market stream is ``symbol`` (as in commands and models); ``code=``, the wire's
    name, is accepted too. Portfolio streams take ``portfolio``.
    Common keyword arguments: ``format`` (``Simple`` default, ``Slim``, ``Heavy``), ``raw``
    (True: the callback gets the payload ``dict`` as sent; False: the typed model),
    ``silence_timeout`` (seconds without data after which the subscription is renewed; None:
    off), ``conflate`` (full-state streams only: True, the default, hands a slow callback only
    the newest state; False delivers every frame, losslessly up to a bound, then a gap; event
    streams are always lossless), ``on_gap(GapNotice)`` and ``on_state(StateChange)`` (this
    subscription's gap notices and state changes, on its worker in stream order). Every call
    may come from any thread, including from inside a callback.
    """

    @overload
    def subscribe_order_book(
        self,
        symbol: str,
        callback: Callable[[OrderBook[P]], None],
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        depth: int | None = ...,
        frequency: int | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[OrderBook[P]]: ...

    @overload
    def subscribe_order_book(
        self,
        symbol: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        depth: int | None = ...,
        frequency: int | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

    def subscribe_order_book(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
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
    ) -> Subscription[Any]:
        """Order book of ``symbol``: every frame the whole book up to ``depth`` (1..50, default
        20); a slow callback gets the latest book (older ones are conflated, never queued)."""
        return self.subscribe(
            Opcode.ORDER_BOOK,
            callback,
            code=instrument_code(symbol, code),
            exchange=exchange,
            instrument_group=instrument_group,
            depth=depth,
            frequency=frequency,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_bars(
        self,
        symbol: str,
        callback: Callable[[Bar[P]], None],
        *,
        tf: int | str,
        from_time: int | datetime,
        exchange: str = ...,
        instrument_group: str | None = ...,
        skip_history: bool | None = ...,
        split_adjust: bool | None = ...,
        frequency: int | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Bar[P]]: ...

    @overload
    def subscribe_bars(
        self,
        symbol: str,
        callback: RawCallback,
        *,
        tf: int | str,
        from_time: int | datetime,
        exchange: str = ...,
        instrument_group: str | None = ...,
        skip_history: bool | None = ...,
        split_adjust: bool | None = ...,
        frequency: int | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

    def subscribe_bars(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
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
    ) -> Subscription[Any]:
        """Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time``, then live;
        the current candle is re-sent with the same ``time`` until a new one starts."""
        return self.subscribe(
            Opcode.BARS,
            callback,
            code=instrument_code(symbol, code),
            exchange=exchange,
            instrument_group=instrument_group,
            tf=tf,
            from_time=from_time,
            skip_history=skip_history,
            split_adjust=split_adjust,
            frequency=frequency,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_quotes(
        self,
        symbol: str,
        callback: Callable[[Quote[P]], None],
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        frequency: int | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Quote[P]]: ...

    @overload
    def subscribe_quotes(
        self,
        symbol: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        frequency: int | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

    def subscribe_quotes(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        frequency: int | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Quote (ticker summary) of ``symbol``; latest-wins when the callback is slow."""
        return self.subscribe(
            Opcode.QUOTES,
            callback,
            code=instrument_code(symbol, code),
            exchange=exchange,
            instrument_group=instrument_group,
            frequency=frequency,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_all_trades(
        self,
        symbol: str,
        callback: Callable[[AllTrade[P]], None],
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        depth: int | None = ...,
        include_virtual_trades: bool | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[AllTrade[P]]: ...

    @overload
    def subscribe_all_trades(
        self,
        symbol: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        depth: int | None = ...,
        include_virtual_trades: bool | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

    def subscribe_all_trades(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
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
    ) -> Subscription[Any]:
        """The anonymous trade tape of ``symbol``; ``depth`` last trades (max 5000) come first."""
        return self.subscribe(
            Opcode.ALL_TRADES,
            callback,
            code=instrument_code(symbol, code),
            exchange=exchange,
            instrument_group=instrument_group,
            depth=depth,
            include_virtual_trades=include_virtual_trades,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_instruments(
        self,
        symbol: str,
        callback: Callable[[Instrument[P]], None],
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Instrument[P]]: ...

    @overload
    def subscribe_instruments(
        self,
        symbol: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

    def subscribe_instruments(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        format: FormatArg = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Instrument attributes: the full object first, then partial updates (changed fields)."""
        return self.subscribe(
            Opcode.INSTRUMENTS,
            callback,
            code=instrument_code(symbol, code),
            exchange=exchange,
            instrument_group=instrument_group,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )
