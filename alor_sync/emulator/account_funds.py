"""Can the account afford an order? What working orders hold back, and the buying-power checks.

Rules of this module:

* Read-only: it looks at ledgers, working orders and the market, and either returns or raises
  :class:`~alor_sync.emulator.account_commands.CommandRejected` with a 400 that says what is
  missing. It never changes state.
* Stock and FX: buys without ``allowMargin`` need cash net of what working buy limits reserve;
  sells without ``allowMargin`` need the position net of working sells. Futures need free money
  for the initial margin when they open or grow a position, ``allowMargin`` or not.

Not thread-safe: used under the server's venue lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from alor_sync.emulator import account_commands as texts
from alor_sync.emulator.account_commands import CommandRejected, OrderRequest
from alor_sync.emulator.account_ledger import COMMISSION_RATE, Ledger
from alor_sync.emulator.account_records import Reservation
from alor_sync.emulator.orders import AccountOrders, unit_value
from alor_sync.emulator.venue import InstrumentInfo, MarketView

__all__ = ["Funds"]

LedgerKey = tuple[str, str]  # (portfolio, exchange)
_ZERO = Decimal(0)


class Funds:
    """Reservations and affordability checks over one account's ledgers and orders."""

    def __init__(
        self, market: MarketView, orders: AccountOrders, ledgers: Mapping[LedgerKey, Ledger]
    ) -> None:
        self._market = market
        self._orders = orders
        self._ledgers = ledgers

    def reservation(self, ledger_key: LedgerKey, exclude_id: str | None = None) -> Reservation:
        """Cash held back by working buys (stock, FX) and margin blocked by working futures."""
        cash: dict[str, Decimal] = {}
        margin = _ZERO
        portfolio, exchange = ledger_key
        for order in self._orders.working_orders():
            if order.portfolio != portfolio or order.instrument.exchange != exchange:
                continue
            if order.id == exclude_id:
                continue
            instrument = order.instrument
            if instrument.kind == "future":
                margin += (instrument.margin_per_lot or _ZERO) * order.remaining
            elif order.side == "buy" and order.limit_price is not None:
                value = unit_value(instrument, order.limit_price) * order.remaining
                value *= instrument.lot_size
                cash[instrument.currency] = cash.get(instrument.currency, _ZERO) + value * (
                    1 + COMMISSION_RATE
                )
        return Reservation(cash, margin)

    def check_affordable(self, request: OrderRequest, exclude_id: str | None = None) -> None:
        ledger_key = (request.portfolio, request.instrument.exchange)
        ledger = self._ledgers[ledger_key]
        reservation = self.reservation(ledger_key, exclude_id)
        instrument = request.instrument
        if ledger.market == "derivatives":
            self._check_margin(ledger, request, reservation)
        elif request.allow_margin:
            return
        elif request.side == "buy":
            price = request.price if request.price is not None else self._buy_estimate(instrument)
            needed = unit_value(instrument, price) * request.lots * instrument.lot_size
            needed *= 1 + COMMISSION_RATE
            available = ledger.cash.get(instrument.currency, _ZERO) - reservation.cash.get(
                instrument.currency, _ZERO
            )
            if needed > available:
                raise CommandRejected(
                    texts.INSUFFICIENT_FUNDS_MESSAGE.format(
                        needed=_money(needed),
                        currency=instrument.currency,
                        available=_money(available),
                    )
                )
        else:
            self._check_position(ledger, request, exclude_id)

    def _check_margin(
        self, ledger: Ledger, request: OrderRequest, reservation: Reservation
    ) -> None:
        instrument = request.instrument
        held_lots = ledger.held_units(instrument.symbol) / instrument.lot_size
        if (request.side == "buy" and held_lots < 0) or (request.side == "sell" and held_lots > 0):
            return  # reduces the position: no new margin needed
        needed = (instrument.margin_per_lot or _ZERO) * request.lots
        free = ledger.money_free(reservation)
        if needed > free:
            raise CommandRejected(
                texts.INSUFFICIENT_MARGIN_MESSAGE.format(needed=_money(needed), free=_money(free))
            )

    def _check_position(
        self, ledger: Ledger, request: OrderRequest, exclude_id: str | None
    ) -> None:
        instrument = request.instrument
        selling = sum(
            o.remaining
            for o in self._orders.working_orders_on(_key(instrument))
            if o.side == "sell" and o.portfolio == request.portfolio and o.id != exclude_id
        )
        available = ledger.held_units(instrument.symbol) / instrument.lot_size - selling
        if request.lots > available:
            raise CommandRejected(
                texts.INSUFFICIENT_POSITION_MESSAGE.format(
                    lots=request.lots, symbol=instrument.symbol, available=max(available, _ZERO)
                )
            )

    def _buy_estimate(self, instrument: InstrumentInfo) -> Decimal:
        _, best_ask = self._market.best_bid_ask(*_key(instrument))
        return best_ask if best_ask is not None else self._market.last_price(*_key(instrument))


def _key(instrument: InstrumentInfo) -> tuple[str, str]:
    return (instrument.exchange, instrument.symbol)


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"
