"""The account's stream records: positions, own trades, summaries, risks and spectra risks.

Rules of this module:

* Records are frozen value objects; equality means "nothing a subscriber could see changed"
  (which is why a risk record's ``calculation_time`` is left out of it).
* Quantities are in units (shares, bonds, contracts, money) unless the name says lots; prices are
  as the exchange quotes them (bonds in percent of face value); money values are ``Decimal``.
* No behaviour beyond simple derived properties: the ledger computes, ``wire_account`` encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from alor_sync.emulator.venue import InstrumentInfo, Side

__all__ = [
    "PositionRecord",
    "Reservation",
    "RiskRecord",
    "SpectraRiskRecord",
    "SummaryRecord",
    "TradeRecord",
]

_ZERO = Decimal(0)


@attrs.frozen(kw_only=True)
class PositionRecord:
    """One position (an instrument, or money when ``is_currency``); quantities in units."""

    portfolio: str
    exchange: str
    symbol: str
    short_name: str
    lot_size: int
    is_currency: bool
    qty_units: Decimal
    open_units: Decimal
    avg_price: Decimal
    volume: Decimal
    current_volume: Decimal
    unrealised_pl: Decimal
    daily_unrealised_pl: Decimal

    @property
    def lots(self) -> Decimal:
        return self.qty_units / self.lot_size

    @property
    def open_lots(self) -> Decimal:
        return self.open_units / self.lot_size


@attrs.frozen(kw_only=True)
class TradeRecord:
    """One own trade (a fill of an own order)."""

    id: str
    order_id: str
    portfolio: str
    instrument: InstrumentInfo
    side: Side
    lots: int
    price: Decimal
    volume: Decimal
    commission: Decimal
    comment: str | None
    time: float
    settle_time: float


@attrs.frozen(kw_only=True)
class SummaryRecord:
    """The SummariesGetAndSubscribeV2 figures of one (portfolio, exchange)."""

    buying_power_at_morning: Decimal
    buying_power: Decimal
    profit: Decimal
    profit_rate: Decimal
    portfolio_evaluation: Decimal
    portfolio_liquidation_value: Decimal
    initial_margin: Decimal
    corrected_margin: Decimal
    risk_before_force_position_closing: Decimal
    commission: Decimal
    buying_power_by_currency: tuple[tuple[str, Decimal], ...]


@attrs.frozen(kw_only=True)
class RiskRecord:
    """The RisksGetAndSubscribe figures; ``calculation_time`` takes no part in equality."""

    portfolio: str
    exchange: str
    portfolio_evaluation: Decimal
    portfolio_liquidation_value: Decimal
    initial_margin: Decimal
    minimal_margin: Decimal
    corrected_margin: Decimal
    risk_coverage_ratio_one: Decimal
    risk_coverage_ratio_two: Decimal
    risk_category_id: int
    client_type: str
    has_forbidden_positions: bool
    has_negative_quantity: bool
    risk_status: str
    calculation_time: float = attrs.field(eq=False)


@attrs.frozen(kw_only=True)
class SpectraRiskRecord:
    """The SpectraRisksGetAndSubscribe figures of a derivatives portfolio."""

    portfolio: str
    money_free: Decimal
    money_blocked: Decimal
    fee: Decimal
    money_old: Decimal
    money_amount: Decimal
    money_pledge_amount: Decimal
    vm_inter_cl: Decimal
    vm_current_positions: Decimal
    var_margin: Decimal
    indicative_var_margin: Decimal
    net_option_value: Decimal
    pos_risk: Decimal
    is_limits_set: bool


@attrs.frozen
class Reservation:
    """What working orders hold back: cash per currency (buys) and margin (futures)."""

    cash: Mapping[str, Decimal] = attrs.field(factory=dict)
    margin: Decimal = _ZERO
