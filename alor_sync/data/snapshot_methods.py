"""The one-shot ``get_*`` reads of the client: subscribe, collect, unsubscribe,
return (how each tells the end of its history: :mod:`alor_sync.data.snapshot_reads`).

Generated from the stream specs and :data:`~alor_sync.data.snapshot_reads.READS`: do not edit;
regenerate with ``python -m alor_sync.data.generate``.

Rules of this module:

* One typed method per read (two overloads where the symbol may be positional or ``code=``);
  the body hands its ``locals()`` to :meth:`~alor_sync.data.snapshot_reads.SnapshotReads._read`.
* Blocking: every get runs on the caller's thread and takes ``timeout`` (seconds).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import overload

from alor_sync.data.snapshot_reads import SnapshotReads
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

__all__ = ["SnapshotMethods"]


class SnapshotMethods(SnapshotReads[P]):
    """Mixin of :class:`~alor_sync.client.AlorClient`: blocking one-shot reads (see
    :class:`~alor_sync.data.snapshot_reads.SnapshotReads` for what they raise)."""

    def get_order_book(
        self,
        symbol: str | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        depth: int | None = None,
        timeout: float = 10.0,
    ) -> OrderBook[P]:
        """The current order book of ``symbol`` (``depth`` levels a side, 1..50, default 20)."""
        answer: OrderBook[P] = self._read("order_book", locals())
        return answer

    def get_quote(
        self,
        symbol: str | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        timeout: float = 10.0,
    ) -> Quote[P]:
        """The current quote (last price, best bid/ask, lot size...) of ``symbol``."""
        answer: Quote[P] = self._read("quote", locals())
        return answer

    def get_instrument(
        self,
        symbol: str | None = None,
        *,
        code: str | None = None,
        exchange: str = "MOEX",
        instrument_group: str | None = None,
        timeout: float = 10.0,
    ) -> Instrument[P]:
        """The full trading attributes of ``symbol`` (status, price limits, margins).

        Lot size and face value are in the quote (:meth:`get_quote`); the price step is not in
        the WebSocket API (ALOR's HTTP ``securities`` endpoint has it)."""
        answer: Instrument[P] = self._read("instrument", locals())
        return answer

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
        settle: float = 0.25,
    ) -> list[Bar[P]]:
        """Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time`` to
        ``to_time`` (both inclusive, unix seconds or aware datetimes; None: up to the current,
        unfinished candle), oldest first, each candle once."""
        answer: list[Bar[P]] = self._read("bars", locals())
        return answer

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
        timeout: float = 10.0,
        settle: float = 0.25,
    ) -> list[AllTrade[P]]:
        """The last ``depth`` (1..5000) trades of ``symbol``'s tape, oldest first (fewer when the
        exchange has fewer)."""
        answer: list[AllTrade[P]] = self._read("all_trades", locals())
        return answer

    def get_summary(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = 10.0,
    ) -> Summary[P]:
        """The portfolio summary: buying power, evaluation, profit."""
        answer: Summary[P] = self._read("summary", locals())
        return answer

    def get_risks(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = 10.0,
    ) -> Risk[P]:
        """The portfolio's risk figures."""
        answer: Risk[P] = self._read("risks", locals())
        return answer

    def get_spectra_risks(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = 10.0,
    ) -> SpectraRisk[P]:
        """The derivatives (FORTS) risks of a derivatives portfolio (``7500...``)."""
        answer: SpectraRisk[P] = self._read("spectra_risks", locals())
        return answer

    def get_positions(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = 10.0,
        settle: float = 0.25,
    ) -> list[Position[P]]:
        """Every position of ``portfolio``, money included, one per instrument."""
        answer: list[Position[P]] = self._read("positions", locals())
        return answer

    def get_trades(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        timeout: float = 10.0,
        settle: float = 0.25,
    ) -> list[Trade[P]]:
        """The portfolio's own trades of the current session."""
        answer: list[Trade[P]] = self._read("trades", locals())
        return answer

    def get_orders(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        order_statuses: Iterable[str] | None = None,
        timeout: float = 10.0,
        settle: float = 0.25,
    ) -> list[Order[P]]:
        """The portfolio's market and limit orders of the session (latest state of each),
        optionally only those in ``order_statuses`` (``working``, ``filled``...)."""
        answer: list[Order[P]] = self._read("orders", locals())
        return answer

    def get_stop_orders(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        order_statuses: Iterable[str] | None = None,
        timeout: float = 10.0,
        settle: float = 0.25,
    ) -> list[StopOrder[P]]:
        """The portfolio's stop and stop-limit orders (latest state of each)."""
        answer: list[StopOrder[P]] = self._read("stop_orders", locals())
        return answer
