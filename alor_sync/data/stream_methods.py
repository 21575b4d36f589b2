"""The ``subscribe_*`` methods of :class:`~alor_sync.client.AlorClient`: market data here,
portfolio streams in :mod:`alor_sync.data.portfolio_stream_methods`.

Generated from the stream specs (:mod:`alor_sync.protocol.specs`): do not edit; regenerate with
``python -m alor_sync.data.generate``.

Rules of this module:

* One method per opcode, two typed overloads each: the callback gets the stream's model in the
  client's price type (``Quote[float]``, or ``Quote[Decimal]`` with ``exact=True``), or with
  ``raw=True`` the payload ``dict``. Types only: the runtime body binds the call by the spec and
  forwards it to ``subscribe`` (:mod:`alor_sync.data.stream_options`).
* Callbacks run on a dispatcher worker (or the client's executor), never on the network thread;
  one subscription's frames arrive in order and never concurrently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, overload

from alor_sync.data.portfolio_stream_methods import PortfolioStreamMethods
from alor_sync.data.stream_options import Callback, GapHook, RawCallback, StateHook, described_by
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
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
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
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.ORDER_BOOK)
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
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Order book of ``symbol``: every frame the whole book up to ``depth`` (1..50, default
        20); a slow callback gets the latest book (older ones are conflated, never queued)."""
        return self._stream(Opcode.ORDER_BOOK, locals())

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
        slice_mode: str | None = ...,
        frequency: int | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
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
        slice_mode: str | None = ...,
        frequency: int | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.BARS)
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
        slice_mode: str | None = None,
        frequency: int | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time``, then live;
        the current candle is re-sent with the same ``time`` until a new one starts."""
        return self._stream(Opcode.BARS, locals())

    @overload
    def subscribe_quotes(
        self,
        symbol: str,
        callback: Callable[[Quote[P]], None],
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        frequency: int | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
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
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.QUOTES)
    def subscribe_quotes(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        frequency: int | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Quote (ticker summary) of ``symbol``; latest-wins when the callback is slow."""
        return self._stream(Opcode.QUOTES, locals())

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
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
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
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.ALL_TRADES)
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
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """The anonymous trade tape of ``symbol``; ``depth`` last trades (max 5000) come first."""
        return self._stream(Opcode.ALL_TRADES, locals())

    @overload
    def subscribe_instruments(
        self,
        symbol: str,
        callback: Callable[[Instrument[P]], None],
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[Instrument[P]]: ...

    @overload
    def subscribe_instruments(
        self,
        symbol: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        instrument_group: str | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.INSTRUMENTS)
    def subscribe_instruments(
        self,
        symbol: str | None = None,
        callback: Callback | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Instrument attributes: the full object first, then partial updates (changed fields)."""
        return self._stream(Opcode.INSTRUMENTS, locals())
