"""Portfolio models: positions, summaries, risks and derivatives (FORTS) risks.

Rules of this module:

* One frozen class per stream payload; fields are the union of what the Simple, Slim and Heavy
  formats carry, ``None`` where the decoded format lacks a field or the server sent ``null``.
* Quantities follow one naming scheme: ``*_units`` are pieces (shares, bonds, currency units),
  ``*_batch`` are lots; a bare ``quantity`` is the lot count, a property that reads whichever of
  them the format carries. ``deprecated_*`` fields hold the wire fields ALOR deprecated.
* No wire (JSON) names here: ``alor_sync.codec.converter`` maps them.

Instances are immutable and safe to share between threads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic

import attrs

from alor_sync.models.enums import ClientType, RiskStatus
from alor_sync.models.values import P

__all__ = ["CurrencyBuyingPower", "Position", "Risk", "SpectraRisk", "Summary"]


@attrs.frozen
class Position(Generic[P]):
    """One position of a portfolio, money included: stream ``PositionsGetAndSubscribeV2``.

    Upsert on ``symbol``. ``quantity`` and ``open_quantity`` (lots) are there in every format;
    the ``*_batch`` fields are not in Slim, the deprecated wire fields only in Simple.
    """

    symbol: str
    volume: P | None = None
    """Value of the position at the average price."""
    current_volume: P | None = None
    """Value of the position at the current price."""
    broker_symbol: str | None = None
    portfolio: str | None = None
    exchange: str | None = None
    avg_price: P | None = None
    quantity_units: P | None = None
    open_quantity_units: P | None = None
    """Quantity at the start of the session, in units."""
    lot_size: P | None = None
    short_name: str | None = None
    quantity_t0_units: P | None = None
    quantity_t1_units: P | None = None
    quantity_t2_units: P | None = None
    quantity_t_future_units: P | None = None
    quantity_t0_batch: P | None = None
    quantity_t1_batch: P | None = None
    quantity_t2_batch: P | None = None
    quantity_t_future_batch: P | None = None
    quantity_batch: P | None = None
    open_quantity_batch: P | None = None
    deprecated_quantity: P | None = None
    """The deprecated wire field ``qty`` (Simple only): use :attr:`quantity`."""
    deprecated_open_quantity: P | None = None
    """The deprecated wire field ``open`` (Simple only): use :attr:`open_quantity`."""
    daily_unrealised_pl: P | None = None
    unrealised_pl: P | None = None
    is_currency: bool | None = None
    existing: bool | None = None
    """True for the state sent at subscription, False for live changes."""

    @property
    def quantity(self) -> P | None:
        """The position in lots, in every format: ``quantity_batch``, else the deprecated Simple
        ``qty``, else (Slim carries neither) ``quantity_units / lot_size``."""
        return _lots(self.quantity_batch, self.deprecated_quantity, self.quantity_units, self)

    @property
    def open_quantity(self) -> P | None:
        """The position at the start of the session in lots, found like :attr:`quantity`."""
        return _lots(
            self.open_quantity_batch, self.deprecated_open_quantity, self.open_quantity_units, self
        )


def _lots(
    batch: P | None, deprecated: P | None, units: P | None, position: Position[P]
) -> P | None:
    if batch is not None:
        return batch
    if deprecated is not None:
        return deprecated
    lot_size = position.lot_size
    return units / lot_size if units is not None and lot_size else None


@attrs.frozen
class CurrencyBuyingPower(Generic[P]):
    """Buying power in one currency, a row of :attr:`Summary.buying_power_by_currency`."""

    currency: str | None = None
    buying_power: P | None = None


@attrs.frozen
class Summary(Generic[P]):
    """Portfolio summary (buying power, evaluation...): stream ``SummariesGetAndSubscribeV2``.

    Each frame is a full snapshot of the figures.
    """

    buying_power_at_morning: P | None = None
    buying_power: P | None = None
    profit: P | None = None
    profit_rate: P | None = None
    portfolio_evaluation: P | None = None
    portfolio_liquidation_value: P | None = None
    initial_margin: P | None = None
    corrected_margin: P | None = None
    risk_before_force_position_closing: P | None = None
    commission: P | None = None
    buying_power_by_currency: tuple[CurrencyBuyingPower[P], ...] = ()
    """Per-currency buying power (empty when the frame carries none)."""


@attrs.frozen
class Risk(Generic[P]):
    """Portfolio risk figures: stream ``RisksGetAndSubscribe``. Each frame is a full snapshot."""

    portfolio: str | None = None
    exchange: str | None = None
    portfolio_evaluation: P | None = None
    portfolio_liquidation_value: P | None = None
    initial_margin: P | None = None
    minimal_margin: P | None = None
    corrected_margin: P | None = None
    risk_coverage_ratio_one: P | None = None
    risk_coverage_ratio_two: P | None = None
    risk_category_id: int | None = None
    client_type: ClientType | str | None = None
    has_forbidden_positions: bool | None = None
    has_negative_quantity: bool | None = None
    risk_status: RiskStatus | str | None = None
    calculation_time: datetime | None = None


@attrs.frozen
class SpectraRisk(Generic[P]):
    """Derivatives-market (FORTS) risks of a portfolio: stream ``SpectraRisksGetAndSubscribe``.

    Each frame is a full snapshot. Slim lacks ``variation_margin``; only Simple has the
    deprecated ``balance_money``.
    """

    portfolio: str | None = None
    money_free: P | None = None
    money_blocked: P | None = None
    fee: P | None = None
    money_old: P | None = None
    money_amount: P | None = None
    money_pledge_amount: P | None = None
    variation_margin_interim_clearing: P | None = None
    """Variation margin fixed at the interim (intraday) clearing."""
    variation_margin_current_positions: P | None = None
    variation_margin: P | None = None
    indicative_variation_margin: P | None = None
    net_option_value: P | None = None
    position_risk: P | None = None
    is_limits_set: bool | None = None
    balance_money: P | None = None
    """Deprecated (Simple only)."""
