"""Portfolio models: positions, summaries, risks and derivatives (FORTS) risks.

Rules of this module:

* One frozen class per stream payload; fields are the union of what the Simple, Slim and Heavy
  formats carry, ``None`` where the decoded format lacks a field or the server sent ``null``.
* Quantities follow one naming scheme: ``*_units`` are pieces (shares, bonds, currency units),
  ``*_batch`` are lots; a bare ``quantity`` is the deprecated lot count of the Simple format.
* No wire (JSON) names here: ``alor_sync.converter`` maps them.

Instances are immutable and safe to share between threads.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from alor_sync.models.enums import ClientType, RiskStatus
from alor_sync.models.values import Number

__all__ = ["CurrencyBuyingPower", "Position", "Risk", "SpectraRisk", "Summary"]


@attrs.frozen
class Position:
    """One position of a portfolio, money included: stream ``PositionsGetAndSubscribeV2``.

    Upsert on ``symbol``. The ``*_batch`` quantities and the deprecated ``quantity`` /
    ``open_quantity`` are not in Slim; Heavy lacks the deprecated ones.
    """

    symbol: str
    volume: Number | None = None
    """Value of the position at the average price."""
    current_volume: Number | None = None
    """Value of the position at the current price."""
    broker_symbol: str | None = None
    portfolio: str | None = None
    exchange: str | None = None
    avg_price: Number | None = None
    quantity_units: Number | None = None
    open_quantity_units: Number | None = None
    """Quantity at the start of the session, in units."""
    lot_size: Number | None = None
    short_name: str | None = None
    quantity_t0_units: Number | None = None
    quantity_t1_units: Number | None = None
    quantity_t2_units: Number | None = None
    quantity_t_future_units: Number | None = None
    quantity_t0_batch: Number | None = None
    quantity_t1_batch: Number | None = None
    quantity_t2_batch: Number | None = None
    quantity_t_future_batch: Number | None = None
    quantity_batch: Number | None = None
    open_quantity_batch: Number | None = None
    quantity: Number | None = None
    """Deprecated: quantity in lots (Simple only)."""
    open_quantity: Number | None = None
    """Deprecated: quantity at the start of the session in lots (Simple only)."""
    daily_unrealised_pl: Number | None = None
    unrealised_pl: Number | None = None
    is_currency: bool | None = None
    existing: bool | None = None
    """True for the state sent at subscription, False for live changes."""


@attrs.frozen
class CurrencyBuyingPower:
    """Buying power in one currency, a row of :attr:`Summary.buying_power_by_currency`."""

    currency: str | None = None
    buying_power: Number | None = None


@attrs.frozen
class Summary:
    """Portfolio summary (buying power, evaluation...): stream ``SummariesGetAndSubscribeV2``.

    Each frame is a full snapshot of the figures.
    """

    buying_power_at_morning: Number | None = None
    buying_power: Number | None = None
    profit: Number | None = None
    profit_rate: Number | None = None
    portfolio_evaluation: Number | None = None
    portfolio_liquidation_value: Number | None = None
    initial_margin: Number | None = None
    corrected_margin: Number | None = None
    risk_before_force_position_closing: Number | None = None
    commission: Number | None = None
    buying_power_by_currency: tuple[CurrencyBuyingPower, ...] = ()
    """Per-currency buying power (empty when the frame carries none)."""


@attrs.frozen
class Risk:
    """Portfolio risk figures: stream ``RisksGetAndSubscribe``. Each frame is a full snapshot."""

    portfolio: str | None = None
    exchange: str | None = None
    portfolio_evaluation: Number | None = None
    portfolio_liquidation_value: Number | None = None
    initial_margin: Number | None = None
    minimal_margin: Number | None = None
    corrected_margin: Number | None = None
    risk_coverage_ratio_one: Number | None = None
    risk_coverage_ratio_two: Number | None = None
    risk_category_id: int | None = None
    client_type: ClientType | str | None = None
    has_forbidden_positions: bool | None = None
    has_negative_quantity: bool | None = None
    risk_status: RiskStatus | str | None = None
    calculation_time: datetime | None = None


@attrs.frozen
class SpectraRisk:
    """Derivatives-market (FORTS) risks of a portfolio: stream ``SpectraRisksGetAndSubscribe``.

    Each frame is a full snapshot. Slim lacks ``variation_margin``; only Simple has the
    deprecated ``balance_money``.
    """

    portfolio: str | None = None
    money_free: Number | None = None
    money_blocked: Number | None = None
    fee: Number | None = None
    money_old: Number | None = None
    money_amount: Number | None = None
    money_pledge_amount: Number | None = None
    variation_margin_interim_clearing: Number | None = None
    """Variation margin fixed at the interim (intraday) clearing."""
    variation_margin_current_positions: Number | None = None
    variation_margin: Number | None = None
    indicative_variation_margin: Number | None = None
    net_option_value: Number | None = None
    position_risk: Number | None = None
    is_limits_set: bool | None = None
    balance_money: Number | None = None
    """Deprecated (Simple only)."""
