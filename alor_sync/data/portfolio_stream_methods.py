"""The seven portfolio ``subscribe_*`` methods of :class:`~alor_sync.client.AlorClient`.

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

from collections.abc import Callable, Iterable
from typing import Any, Literal, overload

from alor_sync.data.stream_options import (
    Callback,
    GapHook,
    RawCallback,
    StateHook,
    Subscriber,
    described_by,
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
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[Position[P]]: ...

    @overload
    def subscribe_positions(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.POSITIONS)
    def subscribe_positions(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Positions of ``portfolio`` (money included): all first, then every change."""
        return self._stream(Opcode.POSITIONS, locals())

    @overload
    def subscribe_summaries(
        self,
        portfolio: str,
        callback: Callable[[Summary[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[Summary[P]]: ...

    @overload
    def subscribe_summaries(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.SUMMARIES)
    def subscribe_summaries(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Portfolio summary (buying power, evaluation, P&L); latest-wins."""
        return self._stream(Opcode.SUMMARIES, locals())

    @overload
    def subscribe_risks(
        self,
        portfolio: str,
        callback: Callable[[Risk[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[Risk[P]]: ...

    @overload
    def subscribe_risks(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.RISKS)
    def subscribe_risks(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Portfolio risk figures; latest-wins."""
        return self._stream(Opcode.RISKS, locals())

    @overload
    def subscribe_spectra_risks(
        self,
        portfolio: str,
        callback: Callable[[SpectraRisk[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[SpectraRisk[P]]: ...

    @overload
    def subscribe_spectra_risks(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.SPECTRA_RISKS)
    def subscribe_spectra_risks(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Derivatives (FORTS) risks of a ``75...`` portfolio; latest-wins."""
        return self._stream(Opcode.SPECTRA_RISKS, locals())

    @overload
    def subscribe_trades(
        self,
        portfolio: str,
        callback: Callable[[Trade[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[Trade[P]]: ...

    @overload
    def subscribe_trades(
        self,
        portfolio: str,
        callback: RawCallback,
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.TRADES)
    def subscribe_trades(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Own trades of ``portfolio``: the session's first, then each new one."""
        return self._stream(Opcode.TRADES, locals())

    @overload
    def subscribe_orders(
        self,
        portfolio: str,
        callback: Callable[[Order[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        order_statuses: Iterable[str] | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
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
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.ORDERS)
    def subscribe_orders(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        order_statuses: Iterable[str] | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Market and limit orders of ``portfolio``; ``order_statuses`` filters the history."""
        return self._stream(Opcode.ORDERS, locals())

    @overload
    def subscribe_stop_orders(
        self,
        portfolio: str,
        callback: Callable[[StopOrder[P]], None],
        *,
        exchange: str = ...,
        skip_history: bool | None = ...,
        order_statuses: Iterable[str] | None = ...,
        format: Format | str = ...,
        raw: Literal[False] = ...,
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
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
        format: Format | str = ...,
        raw: Literal[True],
        silence_timeout: float | None = ...,
        conflate: bool = ...,
        on_gap: GapHook | None = ...,
        on_state: StateHook | None = ...,
    ) -> Subscription[dict[str, Any]]: ...

    @described_by(Opcode.STOP_ORDERS)
    def subscribe_stop_orders(
        self,
        portfolio: str,
        callback: Callback,
        *,
        exchange: str = "MOEX",
        skip_history: bool | None = None,
        order_statuses: Iterable[str] | None = None,
        format: Format | str = Format.SIMPLE,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
    ) -> Subscription[Any]:
        """Stop and stop-limit orders of ``portfolio``; ``order_statuses`` filters the history."""
        return self._stream(Opcode.STOP_ORDERS, locals())
