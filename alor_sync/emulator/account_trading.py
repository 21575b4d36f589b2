"""The account's trading desk: places, fills, triggers and cancels orders, and books every fill.

Rules of this module:

* Every state change is announced through ``emit(opcode, portfolio, exchange, record)`` right
  after it happens, in this order for a fill: Orders, Trades, Positions; Summaries / Risks /
  SpectraRisks follow once per command or market update (:meth:`TradingDesk.flush_figures`).
* The desk never calls itself back through the market: an instrument its own fills touched is
  queued in :attr:`TradingDesk.touched` and the account re-examines it afterwards (a fill moves
  the last price, which may trigger stops or cross resting limits).
* Commands arrive checked (``account_commands``); the only rejections raised here are about money
  (buying power, margin, position) and order state (unknown, no longer working).

Not thread-safe: used under the server's venue lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from alor_sync.emulator import account_commands as texts
from alor_sync.emulator.account_commands import CancelRequest, CommandRejected, OrderRequest
from alor_sync.emulator.account_funds import Funds
from alor_sync.emulator.account_ledger import Ledger, new_trade
from alor_sync.emulator.account_records import (
    RiskRecord,
    SpectraRiskRecord,
    SummaryRecord,
    TradeRecord,
)
from alor_sync.emulator.orders import (
    AccountOrders,
    Iceberg,
    InstrumentKey,
    OrderRecord,
    OrderStatus,
    StopOrderRecord,
    draw_iceberg,
    end_time_for,
    limit_crosses,
)
from alor_sync.emulator.venue import InstrumentInfo, MarketView, Reply
from alor_sync.wire import Opcode

__all__ = ["STOP_ORDERS_V1", "Emit", "TradingDesk"]

Emit = Callable[[str, str, str, Any], None]
LedgerKey = tuple[str, str]  # (portfolio, exchange)

STOP_ORDERS_V1 = "StopOrdersGetAndSubscribe"
_ORDERS, _TRADES, _POSITIONS = Opcode.ORDERS.value, Opcode.TRADES.value, Opcode.POSITIONS.value
_STOP_ORDERS = Opcode.STOP_ORDERS.value
_FIGURE_OPCODES: dict[type, str] = {
    SummaryRecord: Opcode.SUMMARIES.value,
    RiskRecord: Opcode.RISKS.value,
    SpectraRiskRecord: Opcode.SPECTRA_RISKS.value,
}
_ZERO = Decimal(0)


class TradingDesk:
    """Order lifecycle of one account over its ledgers (one per portfolio and exchange)."""

    def __init__(
        self,
        market: MarketView,
        ledgers: Mapping[LedgerKey, Ledger],
        *,
        clock: Callable[[], float],
        rng: random.Random,
        emit: Emit,
        big_ids: bool = False,
    ) -> None:
        self._market = market
        self._ledgers = ledgers
        self._clock = clock
        self._rng = rng
        self._emit = emit
        self.orders = AccountOrders(big_ids=big_ids)
        self._funds = Funds(market, self.orders, ledgers)
        self.touched: dict[InstrumentKey, None] = {}  # ordered set, drained by the account
        self.trades: dict[LedgerKey, list[TradeRecord]] = {key: [] for key in ledgers}
        self._dirty: dict[LedgerKey, None] = {}

    # -- commands ----------------------------------------------------------------------------

    def create(self, request: OrderRequest) -> Reply:
        new_id = self._place(request, check=True)
        return Reply(200, texts.CREATED_MESSAGE.format(new_id), new_id)

    def update(self, request: OrderRequest, order_id: str) -> Reply:
        """Cancel the working order ``order_id`` and place ``request`` under a new number."""
        exchange = request.instrument.exchange
        if request.kind in ("market", "limit"):
            old_order = self._working_order(order_id, request.portfolio, exchange)
            if old_order.instrument.kind == "future":
                # Documented: FORTS orders keep their side and symbol when updated.
                request = attrs.evolve(
                    request, side=old_order.side, instrument=old_order.instrument
                )
            self._funds.check_affordable(request, exclude_id=old_order.id)
            self._finish(old_order, "canceled")
        else:
            old_stop = self._working_stop(order_id, request.portfolio, exchange)
            self._finish_stop(old_stop, "canceled")
        new_id = self._place(request, check=False)
        return Reply(200, texts.UPDATED_MESSAGE.format(new_id), new_id)

    def cancel(self, stop_kind: bool, request: CancelRequest) -> Reply:
        if stop_kind:
            self._finish_stop(
                self._working_stop(request.order_id, request.portfolio, request.exchange),
                "canceled",
            )
        else:
            self._finish(
                self._working_order(request.order_id, request.portfolio, request.exchange),
                "canceled",
            )
        return Reply(200, texts.DELETED_MESSAGE.format(request.order_id), request.order_id)

    # -- market ------------------------------------------------------------------------------

    def concerns(self, key: InstrumentKey) -> bool:
        """True when the instrument matters to the account (position or working order)."""
        if self.orders.concerns(key):
            return True
        return any(
            ledger.exchange == key[0] and ledger.holds(key[1]) for ledger in self._ledgers.values()
        )

    def examine(self, key: InstrumentKey, now: float) -> None:
        """React to the instrument's current market: revalue, fill resting limits, run stops."""
        self._revalue(key)
        self._fill_resting(key)
        self._run_stops(key, now)

    def run_deadlines(self, now: float) -> None:
        """Expire stops and finish protecting times that came due without a market move."""
        if self.orders.deadline_passed(now):
            for key in self.orders.keys_with_deadline(now):
                self._run_stops(key, now)

    def flush_figures(self) -> None:
        """Announce summaries, risks and spectra risks of every ledger changed since last time."""
        now = self._clock()
        while self._dirty:
            ledger_key = next(iter(self._dirty))
            del self._dirty[ledger_key]
            ledger = self._ledgers[ledger_key]
            for record in ledger.refresh_figures(self._funds.reservation(ledger_key), now):
                opcode = _FIGURE_OPCODES[type(record)]
                self._emit(opcode, ledger.portfolio, ledger.exchange, record)

    # -- placing -----------------------------------------------------------------------------

    def _place(self, request: OrderRequest, *, check: bool) -> str:
        if request.kind in ("stop", "stoplimit"):
            return self._place_stop(request).id
        if check:
            self._funds.check_affordable(request)
        iceberg = draw_iceberg(request.iceberg_fixed, request.iceberg_variance, self._rng)
        return self._open_order(request, self.orders.new_order_id(), iceberg)

    def _open_order(
        self,
        request: OrderRequest,
        order_id: str,
        iceberg: Iceberg | None,
        stop_order_id: str | None = None,
    ) -> str:
        """Record a new exchange order as working, announce it, and execute it."""
        now = self._clock()
        order = OrderRecord(
            id=order_id,
            portfolio=request.portfolio,
            instrument=request.instrument,
            type="market" if request.kind == "market" else "limit",
            side=request.side,
            status="working",
            lots=request.lots,
            limit_price=request.price,
            time_in_force=request.time_in_force,
            allow_margin=request.allow_margin,
            comment=request.comment,
            iceberg=iceberg,
            trans_time=now,
            update_time=now,
            end_time=end_time_for(now, request.time_in_force),
            stop_order_id=stop_order_id,
        )
        self._store(order)
        self._work(order)
        return order_id

    def _work(self, order: OrderRecord) -> None:
        """Execute a freshly placed order as far as the book and its time-in-force allow."""
        if order.limit_price is None:
            self._take(order, cancel_rest=True)
            return
        best_bid, best_ask = self._market.best_bid_ask(*_key(order.instrument))
        crosses = limit_crosses(order.side, order.limit_price, best_bid, best_ask)
        immediate = order.time_in_force in ("immediateorcancel", "fillorkill")
        if order.time_in_force == "bookorcancel" and crosses:
            self._finish(order, "canceled")  # a passive order must not take liquidity
        elif crosses:
            self._take(order, cancel_rest=immediate)
        elif immediate:
            self._finish(order, "canceled")

    def _place_stop(self, request: OrderRequest) -> StopOrderRecord:
        assert request.condition is not None and request.trigger_price is not None
        stop = StopOrderRecord(
            id=self.orders.new_stop_id(),
            portfolio=request.portfolio,
            instrument=request.instrument,
            type="stop" if request.kind == "stop" else "stoplimit",
            side=request.side,
            condition=request.condition,
            status="working",
            lots=request.lots,
            trigger_price=request.trigger_price,
            limit_price=request.price,
            time_in_force=request.time_in_force,
            allow_margin=request.allow_margin,
            comment=request.comment,
            iceberg=draw_iceberg(request.iceberg_fixed, request.iceberg_variance, self._rng),
            protecting_seconds=request.protecting_seconds,
            active=request.activate,
            expires_at=request.expires_at,
            trans_time=self._clock(),
        )
        self._store_stop(stop)
        self.touched[_key(stop.instrument)] = None  # its condition may already hold
        return stop

    # -- filling -----------------------------------------------------------------------------

    def _take(self, order: OrderRecord, *, cancel_rest: bool) -> None:
        """Take liquidity for the order's remainder (within its limit) and book the fills."""
        instrument = order.instrument
        fills = self._market.take_liquidity(
            instrument.exchange, instrument.symbol, order.side, order.remaining, order.limit_price
        )
        now = self._clock()
        ledger = self._ledgers[(order.portfolio, instrument.exchange)]
        trades = []
        for fill in fills:
            lots = min(fill.lots, order.remaining)
            if lots <= 0:
                continue
            trade = new_trade(self.orders.new_trade_id(), order, lots, fill.price, now)
            ledger.book_fill(trade)
            trades.append(trade)
            self.trades[(order.portfolio, instrument.exchange)].append(trade)
            order = attrs.evolve(
                order,
                filled_lots=order.filled_lots + lots,
                filled_volume=order.filled_volume + trade.volume,
            )
        status: OrderStatus = "filled" if order.remaining == 0 else order.status
        if status == "working" and cancel_rest:
            status = "canceled"
        self._store(attrs.evolve(order, status=status, update_time=now))
        for trade in trades:
            self._emit(_TRADES, order.portfolio, instrument.exchange, trade)
        if trades:
            ledger.reprice(instrument.symbol, self._market.last_price(*_key(instrument)))
            self._emit_positions(ledger, [instrument.symbol])
            self.touched[_key(instrument)] = None

    def _fill_resting(self, key: InstrumentKey) -> None:
        for candidate in self.orders.working_orders_on(key):
            order = self.orders.order(candidate.id)
            if order is None or order.status != "working" or order.limit_price is None:
                continue
            best_bid, best_ask = self._market.best_bid_ask(*key)
            if limit_crosses(order.side, order.limit_price, best_bid, best_ask):
                self._take(order, cancel_rest=False)

    def _revalue(self, key: InstrumentKey) -> None:
        exchange, symbol = key
        last_price: Decimal | None = None
        for ledger in self._ledgers.values():
            if ledger.exchange != exchange or not ledger.holds(symbol):
                continue
            if last_price is None:
                last_price = self._market.last_price(exchange, symbol)
            if ledger.reprice(symbol, last_price):
                self._emit_positions(ledger, [symbol])

    # -- stops -------------------------------------------------------------------------------

    def _run_stops(self, key: InstrumentKey, now: float) -> None:
        stops = self.orders.working_stops_on(key)
        if not stops:
            return
        last_price = self._market.last_price(*key)
        for stop in stops:
            decision = self.orders.decide(stop, last_price, now)
            if decision == "expire":
                self._finish_stop(stop, "canceled")
            elif decision == "trigger":
                self._trigger(stop)

    def _trigger(self, stop: StopOrderRecord) -> None:
        """A stop becomes a market order, a stop-limit a limit order; the stop turns filled."""
        child = OrderRequest(
            kind="market" if stop.type == "stop" else "limit",
            portfolio=stop.portfolio,
            instrument=stop.instrument,
            side=stop.side,
            lots=stop.lots,
            price=stop.limit_price,
            time_in_force=stop.time_in_force if stop.type == "stoplimit" else "oneday",
            allow_margin=stop.allow_margin,
            comment=stop.comment,
            iceberg_fixed=stop.iceberg.fixed if stop.iceberg else None,
            iceberg_variance=stop.iceberg.variance if stop.iceberg else None,
            condition=None,
            trigger_price=None,
            expires_at=None,
            protecting_seconds=None,
            activate=True,
        )
        try:
            self._funds.check_affordable(child)
        except CommandRejected as rejected:
            self._finish_stop(stop, "rejected", error=rejected.message)
            return
        child_id = self.orders.new_order_id()
        self._store_stop(
            attrs.evolve(
                stop, status="filled", exchange_order_id=child_id, update_time=self._clock()
            )
        )
        self._open_order(child, child_id, stop.iceberg, stop_order_id=stop.id)

    # -- lookups and state changes -----------------------------------------------------------

    def _working_order(self, order_id: str, portfolio: str, exchange: str) -> OrderRecord:
        order = self.orders.order(order_id)
        if order is None or order.portfolio != portfolio or order.instrument.exchange != exchange:
            raise _not_found(order_id, portfolio, exchange)
        if order.status != "working":
            raise CommandRejected(texts.NOT_WORKING_MESSAGE.format(order_id, order.status))
        return order

    def _working_stop(self, stop_id: str, portfolio: str, exchange: str) -> StopOrderRecord:
        stop = self.orders.stop(stop_id)
        if stop is None or stop.portfolio != portfolio or stop.instrument.exchange != exchange:
            raise _not_found(stop_id, portfolio, exchange)
        if stop.status != "working":
            raise CommandRejected(texts.NOT_WORKING_MESSAGE.format(stop_id, stop.status))
        return stop

    def _finish(self, order: OrderRecord, status: OrderStatus) -> None:
        self._store(attrs.evolve(order, status=status, update_time=self._clock()))

    def _finish_stop(
        self, stop: StopOrderRecord, status: OrderStatus, error: str | None = None
    ) -> None:
        self._store_stop(attrs.evolve(stop, status=status, update_time=self._clock(), error=error))

    def _store(self, order: OrderRecord) -> None:
        self.orders.put_order(order)
        self._emit(_ORDERS, order.portfolio, order.instrument.exchange, order)
        self._dirty[(order.portfolio, order.instrument.exchange)] = None
        if order.stop_order_id is not None:
            self._mirror_into_stop(order)

    def _mirror_into_stop(self, order: OrderRecord) -> None:
        """Show the child order's execution on the stop order that spawned it."""
        stop = self.orders.stop(order.stop_order_id or "")
        if stop is None or stop.filled_lots == order.filled_lots:
            return
        self._store_stop(
            attrs.evolve(
                stop,
                filled_lots=order.filled_lots,
                average_fill_price=order.average_fill_price,
                update_time=order.update_time,
            )
        )

    def _store_stop(self, stop: StopOrderRecord) -> None:
        self.orders.put_stop(stop)
        exchange = stop.instrument.exchange
        self._emit(_STOP_ORDERS, stop.portfolio, exchange, stop)
        self._emit(STOP_ORDERS_V1, stop.portfolio, exchange, stop)

    def _emit_positions(self, ledger: Ledger, symbols: list[str]) -> None:
        for record in ledger.refresh_positions(symbols):
            self._emit(_POSITIONS, ledger.portfolio, ledger.exchange, record)
        self._dirty[(ledger.portfolio, ledger.exchange)] = None


def _key(instrument: InstrumentInfo) -> InstrumentKey:
    return (instrument.exchange, instrument.symbol)


def _not_found(order_id: str, portfolio: str, exchange: str) -> CommandRejected:
    return CommandRejected(
        texts.ORDER_NOT_FOUND_MESSAGE.format(order_id, portfolio, exchange),
        texts.NOT_FOUND_HTTP_CODE,
    )
