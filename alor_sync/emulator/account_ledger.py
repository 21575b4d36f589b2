"""Money and positions of one (portfolio, exchange), and the figures derived from them.

Rules of this module:

* A :class:`Ledger` is the only owner of cash and holdings; it changes only through
  :meth:`Ledger.book_fill` (and :meth:`Ledger.add_holding` at start-up) and :meth:`Ledger.reprice`.
* Records (positions, trades, summary, risks, spectra risks) are frozen snapshots, recomputed from
  the state and compared with the last one handed out: ``refresh_*`` returns only what changed, so
  listeners hear about real changes only.
* All money is ``Decimal``. Values in other currencies count in RUB at the fixed
  :data:`RUB_RATES` (the emulator has no FX feed); a future's price point is worth one unit of its
  currency per unit of the underlying.

Not thread-safe: used under the server's venue lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from alor_sync.emulator.account_commands import MarketKind
from alor_sync.emulator.account_records import (
    PositionRecord,
    Reservation,
    RiskRecord,
    SpectraRiskRecord,
    SummaryRecord,
    TradeRecord,
)
from alor_sync.emulator.orders import OrderRecord, unit_value
from alor_sync.emulator.venue import InstrumentInfo

__all__ = [
    "COMMISSION_RATE",
    "RUB_RATES",
    "SETTLEMENT_SECONDS",
    "STOCK_MARGIN_RATE",
    "Ledger",
    "commission_for",
    "new_trade",
]

COMMISSION_RATE = Decimal("0.0005")  # of the traded volume, every market
STOCK_MARGIN_RATE = Decimal("0.25")  # initial margin per unit of position value (D and G)
RUB_RATES: Mapping[str, Decimal] = {
    "RUB": Decimal(1),
    "USD": Decimal(90),
    "EUR": Decimal(100),
    "CNY": Decimal("12.5"),
}
MONEY_NAMES: Mapping[str, str] = {"RUB": "Рубли", "USD": "Доллары США", "EUR": "Евро"}
CLIENT_TYPE = "StandardRisk"
RISK_CATEGORY_ID = 1
SETTLEMENT_SECONDS = 86400.0  # shares and bonds settle T+1 (weekends ignored); futures at once

_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_COMMISSION_QUANTUM = Decimal("0.00001")


@attrs.define
class _Holding:
    instrument: InstrumentInfo
    units: Decimal
    avg_price: Decimal
    open_units: Decimal
    last_price: Decimal

    def value(self) -> Decimal:
        """Market value (negative for a short)."""
        return unit_value(self.instrument, self.last_price) * self.units


def commission_for(volume: Decimal) -> Decimal:
    return (abs(volume) * COMMISSION_RATE).quantize(_COMMISSION_QUANTUM)


def new_trade(
    trade_id: str, order: OrderRecord, lots: int, price: Decimal, now: float
) -> TradeRecord:
    """The own trade of ``lots`` of ``order`` at ``price``, with its volume and commission."""
    instrument = order.instrument
    volume = unit_value(instrument, price) * lots * instrument.lot_size
    settle = 0.0 if instrument.kind == "future" else SETTLEMENT_SECONDS
    return TradeRecord(
        id=trade_id,
        order_id=order.id,
        portfolio=order.portfolio,
        instrument=instrument,
        side=order.side,
        lots=lots,
        price=price,
        volume=volume,
        commission=commission_for(volume),
        comment=order.comment,
        time=now,
        settle_time=now + settle,
    )


class Ledger:
    """Cash, holdings and derived figures of one (portfolio, exchange)."""

    def __init__(
        self, portfolio: str, exchange: str, market: MarketKind, money: Mapping[str, Decimal]
    ) -> None:
        self.portfolio = portfolio
        self.exchange = exchange
        self.market = market
        self.cash: dict[str, Decimal] = dict(money)
        self._morning_cash = dict(money)
        self._holdings: dict[str, _Holding] = {}
        self.commission = _ZERO
        self._realised_vm = _ZERO
        self._morning_evaluation = _ZERO
        self._positions: dict[tuple[bool, str], PositionRecord] = {}
        self.summary: SummaryRecord | None = None
        self.risk: RiskRecord | None = None
        self.spectra: SpectraRiskRecord | None = None

    # -- state changes -----------------------------------------------------------------------

    def add_holding(self, instrument: InstrumentInfo, lots: int, price: Decimal) -> None:
        """A position held since before the session, bought at ``price`` (start-up only)."""
        units = Decimal(lots * instrument.lot_size)
        self._holdings[instrument.symbol] = _Holding(instrument, units, price, units, price)

    def start_session(self, reservation: Reservation, now: float) -> None:
        """Fix the morning figures once holdings are in place."""
        self.refresh_positions(None)
        self._morning_evaluation = self._evaluation()
        self.refresh_figures(reservation, now)

    def book_fill(self, trade: TradeRecord) -> None:
        """Apply one own trade to cash and the instrument's holding."""
        instrument = trade.instrument
        signed_units = Decimal(trade.lots * instrument.lot_size) * (
            1 if trade.side == "buy" else -1
        )
        holding = self._holdings.get(instrument.symbol)
        if holding is None:
            holding = _Holding(instrument, _ZERO, _ZERO, _ZERO, trade.price)
            self._holdings[instrument.symbol] = holding
        realised = _move(holding, signed_units, trade.price)
        currency = instrument.currency
        self.cash[currency] = self.cash.get(currency, _ZERO) - trade.commission
        if self.market == "derivatives":
            self.cash[currency] += realised  # variation margin of the closed part
            self._realised_vm += realised
        else:
            self.cash[currency] -= trade.volume if trade.side == "buy" else -trade.volume
        self.commission += trade.commission

    def reprice(self, symbol: str, last_price: Decimal) -> bool:
        """Record the instrument's last price; True when a held position's value moved."""
        holding = self._holdings.get(symbol)
        if holding is None or holding.last_price == last_price:
            return False
        holding.last_price = last_price
        return holding.units != 0

    # -- queries -----------------------------------------------------------------------------

    def holds(self, symbol: str) -> bool:
        holding = self._holdings.get(symbol)
        return holding is not None and holding.units != 0

    def held_units(self, symbol: str) -> Decimal:
        holding = self._holdings.get(symbol)
        return holding.units if holding is not None else _ZERO

    def positions(self) -> list[PositionRecord]:
        """Every position, money first (as last refreshed)."""
        return list(self._positions.values())

    def money_free(self, reservation: Reservation) -> Decimal:
        """Derivatives: money not blocked as margin by positions and working orders."""
        return self._money_amount() - self._position_margin() - reservation.margin

    # -- records -----------------------------------------------------------------------------

    def refresh_positions(self, symbols: Iterable[str] | None) -> list[PositionRecord]:
        """Recompute money and the given instruments' positions (None: all); return changes."""
        fresh = [self._money_record(currency) for currency in self.cash]
        chosen = self._holdings if symbols is None else symbols
        fresh.extend(self._holding_record(self._holdings[s]) for s in chosen if s in self._holdings)
        changed = []
        for record in fresh:
            key = (record.is_currency, record.symbol)
            if self._positions.get(key) != record:
                self._positions[key] = record
                changed.append(record)
        return changed

    def refresh_figures(
        self, reservation: Reservation, now: float
    ) -> list[SummaryRecord | RiskRecord | SpectraRiskRecord]:
        """Recompute summary, risks (and spectra risks for derivatives); return those changed."""
        changed: list[SummaryRecord | RiskRecord | SpectraRiskRecord] = []
        summary = self._summary(reservation)
        if summary != self.summary:
            self.summary = summary
            changed.append(summary)
        risk = self._risk(now)
        if risk != self.risk:
            self.risk = risk
            changed.append(risk)
        if self.market == "derivatives":
            spectra = self._spectra(reservation)
            if spectra != self.spectra:
                self.spectra = spectra
                changed.append(spectra)
        return changed

    def _money_record(self, currency: str) -> PositionRecord:
        amount = self.cash[currency]
        return PositionRecord(
            portfolio=self.portfolio,
            exchange=self.exchange,
            symbol=currency,
            short_name=MONEY_NAMES.get(currency, currency),
            lot_size=1,
            is_currency=True,
            qty_units=amount,
            open_units=self._morning_cash.get(currency, _ZERO),
            avg_price=Decimal(1),
            volume=amount,
            current_volume=amount,
            unrealised_pl=_ZERO,
            daily_unrealised_pl=_ZERO,
        )

    def _holding_record(self, holding: _Holding) -> PositionRecord:
        volume = unit_value(holding.instrument, holding.avg_price) * holding.units
        current = holding.value()
        return PositionRecord(
            portfolio=self.portfolio,
            exchange=self.exchange,
            symbol=holding.instrument.symbol,
            short_name=holding.instrument.description,
            lot_size=holding.instrument.lot_size,
            is_currency=False,
            qty_units=holding.units,
            open_units=holding.open_units,
            avg_price=holding.avg_price,
            volume=volume,
            current_volume=current,
            unrealised_pl=current - volume,
            # The session opens with every holding valued at the market, so both P&Ls agree.
            daily_unrealised_pl=current - volume,
        )

    def _summary(self, reservation: Reservation) -> SummaryRecord:
        evaluation = self._evaluation()
        initial = self._initial_margin()
        if self.market == "derivatives":
            free = self.money_free(reservation)
            by_currency: tuple[tuple[str, Decimal], ...] = (("RUB", free),)
            buying_power = free
        else:
            by_currency = tuple(
                (c, amount - reservation.cash.get(c, _ZERO)) for c, amount in self.cash.items()
            )
            buying_power = dict(by_currency).get("RUB", _ZERO)
        profit = evaluation - self._morning_evaluation
        rate = profit / self._morning_evaluation * 100 if self._morning_evaluation else _ZERO
        return SummaryRecord(
            buying_power_at_morning=self._morning_cash.get("RUB", _ZERO),
            buying_power=buying_power,
            profit=profit,
            profit_rate=rate.quantize(_CENT),
            portfolio_evaluation=evaluation,
            portfolio_liquidation_value=evaluation,
            initial_margin=initial,
            corrected_margin=initial,
            risk_before_force_position_closing=evaluation - initial / 2,
            commission=self.commission,
            buying_power_by_currency=by_currency,
        )

    def _risk(self, now: float) -> RiskRecord:
        evaluation = self._evaluation()
        initial = self._initial_margin()
        minimal = initial / 2
        ratio_one, ratio_two = evaluation - initial, evaluation - minimal
        status = "Ok" if ratio_one >= 0 else ("Demand" if ratio_two >= 0 else "ToClose")
        negative = any(h.units < 0 for h in self._holdings.values()) or any(
            amount < 0 for amount in self.cash.values()
        )
        return RiskRecord(
            portfolio=self.portfolio,
            exchange=self.exchange,
            portfolio_evaluation=evaluation,
            portfolio_liquidation_value=evaluation,
            initial_margin=initial,
            minimal_margin=minimal,
            corrected_margin=initial,
            risk_coverage_ratio_one=ratio_one,
            risk_coverage_ratio_two=ratio_two,
            risk_category_id=RISK_CATEGORY_ID,
            client_type=CLIENT_TYPE,
            has_forbidden_positions=False,
            has_negative_quantity=negative,
            risk_status=status,
            calculation_time=now,
        )

    def _spectra(self, reservation: Reservation) -> SpectraRiskRecord:
        open_vm = self._open_variation_margin()
        blocked = self._position_margin() + reservation.margin
        amount = self._money_amount()
        return SpectraRiskRecord(
            portfolio=self.portfolio,
            money_free=amount - blocked,
            money_blocked=blocked,
            fee=self.commission,
            money_old=self._morning_cash.get("RUB", _ZERO),
            money_amount=amount,
            money_pledge_amount=_ZERO,
            vm_inter_cl=_ZERO,
            vm_current_positions=open_vm,
            var_margin=self._realised_vm + open_vm,
            indicative_var_margin=open_vm,
            net_option_value=_ZERO,
            pos_risk=self._position_margin(),
            is_limits_set=False,
        )

    # -- valuation ---------------------------------------------------------------------------

    def _evaluation(self) -> Decimal:
        if self.market == "derivatives":
            return self._money_amount()
        money = sum((a * _rate(c) for c, a in self.cash.items()), _ZERO)
        holdings = (h.value() * _rate(h.instrument.currency) for h in self._holdings.values())
        return money + sum(holdings, _ZERO)

    def _money_amount(self) -> Decimal:
        return self.cash.get("RUB", _ZERO) + self._open_variation_margin()

    def _open_variation_margin(self) -> Decimal:
        return sum(((h.last_price - h.avg_price) * h.units for h in self._holdings.values()), _ZERO)

    def _position_margin(self) -> Decimal:
        return sum(
            (
                abs(h.units) / h.instrument.lot_size * (h.instrument.margin_per_lot or _ZERO)
                for h in self._holdings.values()
            ),
            _ZERO,
        )

    def _initial_margin(self) -> Decimal:
        if self.market == "derivatives":
            return self._position_margin()
        return sum(
            (
                abs(h.value()) * _rate(h.instrument.currency) * STOCK_MARGIN_RATE
                for h in self._holdings.values()
            ),
            _ZERO,
        )


def _rate(currency: str) -> Decimal:
    return RUB_RATES.get(currency, Decimal(1))


def _move(holding: _Holding, signed_units: Decimal, price: Decimal) -> Decimal:
    """Add ``signed_units`` at ``price`` to a holding; return the P&L the closed part realised."""
    old = holding.units
    new = old + signed_units
    if old == 0 or (old > 0) == (signed_units > 0):
        holding.avg_price = (holding.avg_price * abs(old) + price * abs(signed_units)) / abs(new)
        holding.units = new
        return _ZERO
    closed = min(abs(signed_units), abs(old))
    realised = (price - holding.avg_price) * closed * (1 if old > 0 else -1)
    if new == 0:
        holding.avg_price = _ZERO
    elif (new > 0) != (old > 0):
        holding.avg_price = price  # the position flipped: the rest was opened at this price
    holding.units = new
    return realised
