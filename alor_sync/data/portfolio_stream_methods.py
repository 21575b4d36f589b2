"""The seven portfolio ``subscribe_*`` methods of :class:`~alor_sync.client.AlorClient`.

Rules of this module: those of :mod:`alor_sync.data.stream_methods` (one thin method per
opcode, typed overloads for the model and the ``raw=True`` payload; callbacks run on a
dispatcher worker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, overload

from typing_extensions import Unpack

from alor_sync.data.stream_options import (
    Callback,
    DeliveryOptions,
    FormatArg,
    GapHook,
    RawCallback,
    StateHook,
    Subscriber,
    delivery,
)
from alor_sync.data.subscriptions import Subscription
from alor_sync.models import Order, Position, Risk, SpectraRisk, StopOrder, Summary, Trade
from alor_sync.models.values import P
from alor_sync.wire import Format, Opcode

__all__ = ["PortfolioStreamMethods"]


class PortfolioStreamMethods(Subscriber[P]):
    """Mixin: ``subscribe_<kind>(portfolio, callback, ...)`` for the portfolio streams (see
    :class:`~alor_sync.data.stream_methods.StreamMethods` for the options they share)."""

    @overload
    def subscribe_positions(
        self,
        portfolio: str,
        callback: Callable[[Position[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Position[P]]: ...

    @overload
    def subscribe_positions(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Positions of ``portfolio`` (money included): all first, then every change."""
        return self.subscribe(
            Opcode.POSITIONS,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_summaries(
        self,
        portfolio: str,
        callback: Callable[[Summary[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Summary[P]]: ...

    @overload
    def subscribe_summaries(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Portfolio summary (buying power, evaluation, P&L); latest-wins."""
        return self.subscribe(
            Opcode.SUMMARIES,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_risks(
        self,
        portfolio: str,
        callback: Callable[[Risk[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Risk[P]]: ...

    @overload
    def subscribe_risks(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Portfolio risk figures; latest-wins."""
        return self.subscribe(
            Opcode.RISKS,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_spectra_risks(
        self,
        portfolio: str,
        callback: Callable[[SpectraRisk[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[SpectraRisk[P]]: ...

    @overload
    def subscribe_spectra_risks(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Derivatives (FORTS) risks of a ``75...`` portfolio; latest-wins."""
        return self.subscribe(
            Opcode.SPECTRA_RISKS,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_trades(
        self,
        portfolio: str,
        callback: Callable[[Trade[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Trade[P]]: ...

    @overload
    def subscribe_trades(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Own trades of ``portfolio``: the session's first, then each new one."""
        return self.subscribe(
            Opcode.TRADES,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_orders(
        self,
        portfolio: str,
        callback: Callable[[Order[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        order_statuses: Iterable[str] | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[Order[P]]: ...

    @overload
    def subscribe_orders(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        order_statuses: Iterable[str] | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Market and limit orders of ``portfolio``; ``order_statuses`` filters the history."""
        return self.subscribe(
            Opcode.ORDERS,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            order_statuses=order_statuses,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )

    @overload
    def subscribe_stop_orders(
        self,
        portfolio: str,
        callback: Callable[[StopOrder[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        order_statuses: Iterable[str] | None = ...,
        raw: Literal[False] = ...,
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[StopOrder[P]]: ...

    @overload
    def subscribe_stop_orders(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        order_statuses: Iterable[str] | None = ...,
        raw: Literal[True],
        **options: Unpack[DeliveryOptions],
    ) -> Subscription[dict[str, Any]]: ...

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
    ) -> Subscription[Any]:
        """Stop and stop-limit orders of ``portfolio``; ``order_statuses`` filters the history."""
        return self.subscribe(
            Opcode.STOP_ORDERS,
            callback,
            portfolio=portfolio,
            exchange=exchange,
            skip_history=skip_history,
            order_statuses=order_statuses,
            format=format,
            **delivery(raw, silence_timeout, conflate, on_gap, on_state),
        )
