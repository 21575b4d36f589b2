"""Wire encoding of the account streams: records -> the ``data`` object of a ``/ws`` frame.

Rules of this module:

* This is the only place where the account's JSON names live. Each opcode has one table of
  (Simple, Slim, Heavy) names - ``None`` where a format lacks the field - and one function giving
  the values in table order; the names are exactly those of the reference's Appendix A and the
  broker's example payloads (``tests/samples/<opcode>.<Format>.data.json``).
* Independent of the client side of alor-sync (no ``protocol``/``converter``/``models``), so that
  client and emulator cannot share a mistake.
* Output is ready for ``orjson.dumps``: ``Decimal`` becomes ``int`` when integral, else ``float``;
  times are ISO-8601 strings with 7 fractional digits and ``Z``; ids are strings of digits.

Choices where the reference is ambiguous (quoted in ``docs/emulator.md``):

* Summaries Slim: the per-currency buying power is sent under :data:`SUMMARY_SLIM_BY_CURRENCY_KEY`
  = ``"bp2v"``, the key of the broker's Slim example (the schema says ``bpv2``).
* Stop-order ``condition``: Simple sends PascalCase (``LessOrEqual``) and Slim/Heavy lowercase
  (``lessorequal``), as the examples do. Other enums (type, side, status, timeInForce) lowercase.
* StopOrdersGetAndSubscribe (v1): ``id`` is a JSON number and Slim marks history with ``e``, as its
  example does; ``price`` is the limit price (0 for a plain stop).
* Orders Slim ``et`` carries the ``Z`` like every other time (its example lacks it).
* A stop without expiry shows ``endTime`` 2060-12-31T23:59:59Z (the example's value);
  ``protectingSeconds`` is 0 when not set; ``repoSpecificFields`` is null.

Pure functions; safe to call from any thread on records (frozen) handed out by the account.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from alor_sync.emulator.account_records import (
    PositionRecord,
    RiskRecord,
    SpectraRiskRecord,
    SummaryRecord,
    TradeRecord,
)
from alor_sync.emulator.orders import Iceberg, OrderRecord, StopOrderRecord
from alor_sync.wire import Format

__all__ = [
    "ACCOUNT_OPCODES",
    "STOP_ORDER_NO_EXPIRY",
    "SUMMARY_SLIM_BY_CURRENCY_KEY",
    "encode",
    "iso_time",
]

SUMMARY_SLIM_BY_CURRENCY_KEY = "bp2v"
STOP_ORDER_NO_EXPIRY = float(calendar.timegm((2060, 12, 31, 23, 59, 59, 0, 0, 0)))

_PASCAL_CONDITIONS = {
    "more": "More",
    "less": "Less",
    "moreorequal": "MoreOrEqual",
    "lessorequal": "LessOrEqual",
}
_TICKS_PER_SECOND = 10_000_000

Names = tuple[str | None, str | None, str | None]  # Simple, Slim, Heavy
Values = tuple[Any, ...]


def num(value: Decimal) -> int | float:
    """A JSON number: integral decimals stay integers."""
    return int(value) if value == value.to_integral_value() else float(value)


def iso_time(seconds: float) -> str:
    """``2020-06-16T23:59:59.9990000Z`` (UTC, 100 ns resolution like .NET)."""
    whole, fraction = divmod(round(seconds * _TICKS_PER_SECOND), _TICKS_PER_SECOND)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{fraction:07d}Z"


# -- positions, summaries, risks -------------------------------------------------------------

_POSITION_NAMES: tuple[Names, ...] = (
    ("volume", "v", "volume"),
    ("currentVolume", "cv", "currentVolume"),
    ("symbol", "sym", "symbol"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("avgPrice", "pxavg", "avgPrice"),
    ("qtyUnits", "q", "qtyUnits"),
    ("openUnits", "o", "openUnits"),
    ("lotSize", "lot", "lotSize"),
    ("shortName", "n", "shortName"),
    ("qtyT0", "q0", "qtyT0"),
    ("qtyT1", "q1", "qtyT1"),
    ("qtyT2", "q2", "qtyT2"),
    ("qtyTFuture", "qf", "qtyTFuture"),
    ("qtyT0Batch", None, "qtyT0Batch"),
    ("qtyT1Batch", None, "qtyT1Batch"),
    ("qtyT2Batch", None, "qtyT2Batch"),
    ("qtyTFutureBatch", None, "qtyTFutureBatch"),
    ("qtyBatch", None, None),
    ("openQtyBatch", None, "openQtyBatch"),
    ("qty", None, None),
    ("open", None, None),
    ("dailyUnrealisedPl", "upd", "dailyUnrealisedPl"),
    ("unrealisedPl", "up", "unrealisedPl"),
    ("isCurrency", "cur", "isCurrency"),
    ("existing", "h", "existing"),
)


def _position(r: PositionRecord, existing: bool, fmt: Format) -> Values:
    units, lots, open_lots = num(r.qty_units), num(r.lots), num(r.open_lots)
    return (
        num(r.volume), num(r.current_volume), r.symbol, f"{r.exchange}:{r.symbol}", r.portfolio,
        r.exchange, num(r.avg_price), units, num(r.open_units), r.lot_size, r.short_name,
        units, units, units, units,
        lots, lots, lots, lots, lots, open_lots, lots, open_lots,
        num(r.daily_unrealised_pl), num(r.unrealised_pl), r.is_currency, existing,
    )  # fmt: skip


_SUMMARY_NAMES: tuple[Names, ...] = (
    ("buyingPowerAtMorning", "bpm", "buyingPowerAtMorning"),
    ("buyingPower", "bp", "buyingPower"),
    ("profit", "p", "profit"),
    ("profitRate", "pr", "profitRate"),
    ("portfolioEvaluation", "pe", "portfolioEvaluation"),
    ("portfolioLiquidationValue", "plv", "portfolioLiquidationValue"),
    ("initialMargin", "im", "initialMargin"),
    ("correctedMargin", "mgc", "correctedMargin"),
    ("riskBeforeForcePositionClosing", "r", "riskBeforeForcePositionClosing"),
    ("commission", "cms", "commission"),
    ("buyingPowerByCurrency", SUMMARY_SLIM_BY_CURRENCY_KEY, "buyingPowerByCurrency"),
)


def _summary(r: SummaryRecord, existing: bool, fmt: Format) -> Values:
    currency_key, power_key = ("cr", "bp") if fmt == Format.SLIM else ("currency", "buyingPower")
    by_currency = [
        {currency_key: currency, power_key: num(power)}
        for currency, power in r.buying_power_by_currency
    ]
    return (
        num(r.buying_power_at_morning), num(r.buying_power), num(r.profit), num(r.profit_rate),
        num(r.portfolio_evaluation), num(r.portfolio_liquidation_value), num(r.initial_margin),
        num(r.corrected_margin), num(r.risk_before_force_position_closing), num(r.commission),
        by_currency,
    )  # fmt: skip


_RISK_NAMES: tuple[Names, ...] = (
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("portfolioEvaluation", "pe", "portfolioEvaluation"),
    ("portfolioLiquidationValue", "plv", "portfolioLiquidationValue"),
    ("initialMargin", "mgi", "initialMargin"),
    ("minimalMargin", "mgmn", "minimalMargin"),
    ("correctedMargin", "mgc", "correctedMargin"),
    ("riskCoverageRatioOne", "r1", "riskCoverageRatioOne"),
    ("riskCoverageRatioTwo", "r2", "riskCoverageRatioTwo"),
    ("riskCategoryId", "rid", "riskCategoryId"),
    ("clientType", "ct", "clientType"),
    ("hasForbiddenPositions", "fpos", "hasForbiddenPositions"),
    ("hasNegativeQuantity", "nq", "hasNegativeQuantity"),
    ("riskStatus", "rst", "riskStatus"),
    ("calculationTime", "t", "calculationTime"),
)


def _risk(r: RiskRecord, existing: bool, fmt: Format) -> Values:
    return (
        r.portfolio, r.exchange, num(r.portfolio_evaluation), num(r.portfolio_liquidation_value),
        num(r.initial_margin), num(r.minimal_margin), num(r.corrected_margin),
        num(r.risk_coverage_ratio_one), num(r.risk_coverage_ratio_two), r.risk_category_id,
        r.client_type, r.has_forbidden_positions, r.has_negative_quantity, r.risk_status,
        iso_time(r.calculation_time),
    )  # fmt: skip


_SPECTRA_NAMES: tuple[Names, ...] = (
    ("balanceMoney", None, None),
    ("portfolio", "p", "portfolio"),
    ("moneyFree", "f", "moneyFree"),
    ("moneyBlocked", "b", "moneyBlocked"),
    ("fee", "fee", "fee"),
    ("moneyOld", "o", "moneyOld"),
    ("moneyAmount", "a", "moneyAmount"),
    ("moneyPledgeAmount", "pa", "moneyPledgeAmount"),
    ("vmInterCl", "mgc", "vmInterCl"),
    ("vmCurrentPositions", "mgp", "vmCurrentPositions"),
    ("varMargin", None, "varMargin"),
    ("indicativeVarMargin", "ivm", "indicativeVarMargin"),
    ("netOptionValue", "nov", "netOptionValue"),
    ("posRisk", "pr", "posRisk"),
    ("isLimitsSet", "lim", "isLimitsSet"),
)


def _spectra(r: SpectraRiskRecord, existing: bool, fmt: Format) -> Values:
    return (
        num(r.money_amount), r.portfolio, num(r.money_free), num(r.money_blocked), num(r.fee),
        num(r.money_old), num(r.money_amount), num(r.money_pledge_amount), num(r.vm_inter_cl),
        num(r.vm_current_positions), num(r.var_margin), num(r.indicative_var_margin),
        num(r.net_option_value), num(r.pos_risk), r.is_limits_set,
    )  # fmt: skip


# -- trades, orders, stop orders -------------------------------------------------------------

_TRADE_NAMES: tuple[Names, ...] = (
    ("id", "id", "id"),
    ("orderno", "eid", "orderNo"),
    ("comment", "cmt", "comment"),
    ("symbol", "sym", "symbol"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("exchange", "ex", "exchange"),
    ("date", "d", "date"),
    ("board", "b", "board"),
    ("qtyUnits", "q", "qtyUnits"),
    ("qtyBatch", "qb", "qtyBatch"),
    ("qty", None, "qty"),
    ("price", "px", "price"),
    ("accruedInt", "ai", "accruedInt"),
    ("side", "s", "side"),
    ("existing", "h", "existing"),
    ("commission", "cms", "commission"),
    ("repoSpecificFields", "r", "repoSpecificFields"),
    ("volume", "v", "volume"),
    (None, None, "settleDate"),
)


def _trade(r: TradeRecord, existing: bool, fmt: Format) -> Values:
    i = r.instrument
    return (
        r.id, r.order_id, r.comment, i.symbol, f"{i.exchange}:{i.symbol}", i.exchange,
        iso_time(r.time), i.board, r.lots * i.lot_size, r.lots, r.lots, num(r.price), 0, r.side,
        existing, num(r.commission), None, num(r.volume), iso_time(r.settle_time),
    )  # fmt: skip


_ICEBERG_NAMES: tuple[Names, ...] = (
    ("creationFixedQuantity", "cf", "creationFixedQuantity"),
    ("creationVarianceQuantity", "cv", "creationVarianceQuantity"),
    ("visibleQuantity", "v", "visibleQuantity"),
    ("visibleQuantityBatch", "vb", "visibleQuantityBatch"),
    ("visibleFilledQuantity", "vf", "visibleFilledQuantity"),
    ("visibleFilledQuantityBatch", "vfb", "visibleFilledQuantityBatch"),
)


def _iceberg(iceberg: Iceberg | None, remaining: int, lot_size: int, fmt: Format) -> Any:
    if iceberg is None:
        return None
    visible = iceberg.visible_lots(remaining)
    values = (iceberg.fixed, iceberg.variance, visible * lot_size, visible, 0, 0)
    return _pick(_ICEBERG_LAYOUT, values, fmt)


_ORDER_NAMES: tuple[Names, ...] = (
    ("id", "id", "id"),
    ("symbol", "sym", "symbol"),
    ("board", "bd", "board"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("comment", "cmt", "comment"),
    ("type", "t", "type"),
    ("side", "s", "side"),
    ("status", "st", "status"),
    ("transTime", "tt", "transTime"),
    ("updateTime", "ut", "updateTime"),
    ("endTime", "et", "endTime"),
    ("qtyUnits", "q", "qtyUnits"),
    ("qtyBatch", "qb", "qtyBatch"),
    ("qty", None, None),
    ("filledQtyUnits", "fq", "filledQtyUnits"),
    ("filledQtyBatch", "fqb", "filledQtyBatch"),
    ("filled", None, None),
    ("price", "px", "price"),
    ("existing", "h", "existing"),
    ("timeInForce", "tf", "timeInForce"),
    ("iceberg", "i", "iceberg"),
    ("volume", "v", "volume"),
)


def _order(r: OrderRecord, existing: bool, fmt: Format) -> Values:
    i = r.instrument
    return (
        r.id, i.symbol, i.board, f"{i.exchange}:{i.symbol}", r.portfolio, i.exchange, r.comment,
        r.type, r.side, r.status, iso_time(r.trans_time), iso_time(r.update_time),
        iso_time(r.end_time), r.lots * i.lot_size, r.lots, r.lots, r.filled_lots * i.lot_size,
        r.filled_lots, r.filled_lots, num(r.price), existing, r.time_in_force,
        _iceberg(r.iceberg, r.remaining, i.lot_size, fmt), num(r.volume),
    )  # fmt: skip


_STOP_NAMES: tuple[Names, ...] = (
    ("id", "id", "id"),
    ("exchangeOrderId", "eid", "exchangeOrderId"),
    ("symbol", "sym", "symbol"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("comment", "cmt", "comment"),
    ("board", "bd", "board"),
    ("type", "t", "type"),
    ("side", "s", "side"),
    ("condition", "cnd", "condition"),
    ("status", "st", "status"),
    ("transTime", "tt", "transTime"),
    ("updateTime", "ut", "updateTime"),
    ("endTime", "et", "endTime"),
    ("error", "err", "error"),
    ("qtyUnits", "q", "qtyUnits"),
    ("qtyBatch", "qb", "qtyBatch"),
    ("qty", None, None),
    ("filled", None, None),
    ("filledQtyUnits", "fq", "filledQtyUnits"),
    ("filledQtyBatch", "fqb", "filledQtyBatch"),
    ("price", "px", "price"),
    ("avg_price", "pxavg", "avgPrice"),
    ("stopPrice", "pxs", "stopPrice"),
    ("existing", "h", "existing"),
    ("timeInForce", "tf", "timeInForce"),
    ("iceberg", "i", "iceberg"),
    ("volume", "v", "volume"),
    ("protectingSeconds", "psec", "protectingSeconds"),
)


def _stop_end(r: StopOrderRecord) -> str:
    return iso_time(r.expires_at if r.expires_at is not None else STOP_ORDER_NO_EXPIRY)


def _stop(r: StopOrderRecord, existing: bool, fmt: Format) -> Values:
    i = r.instrument
    condition = _PASCAL_CONDITIONS[r.condition] if fmt == Format.SIMPLE else r.condition
    update_time = iso_time(r.update_time) if r.update_time is not None else None
    return (
        r.id, r.exchange_order_id, i.symbol, f"{i.exchange}:{i.symbol}", r.portfolio, i.exchange,
        r.comment, i.board, r.type, r.side, condition, r.status, iso_time(r.trans_time),
        update_time, _stop_end(r), r.error, r.lots * i.lot_size, r.lots, r.lots, r.filled_lots,
        r.filled_lots * i.lot_size, r.filled_lots, num(r.price), num(r.average_fill_price),
        num(r.trigger_price), existing, r.time_in_force,
        _iceberg(r.iceberg, r.lots - r.filled_lots, i.lot_size, fmt), num(r.volume),
        r.protecting_seconds or 0,
    )  # fmt: skip


_STOP_V1_NAMES: tuple[Names, ...] = (
    ("id", "id", "id"),
    ("symbol", "sym", "symbol"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("exchange", "ex", "exchange"),
    ("board", "bd", "board"),
    ("type", "t", "type"),
    ("stopPrice", "pxs", "stopPrice"),
    ("side", "s", "side"),
    ("status", "st", "status"),
    ("endTime", "exp", "endTime"),
    ("qty", "q", "qty"),
    ("filledQtyBatch", "fqb", "filledQtyBatch"),
    ("price", "px", "price"),
    ("existing", "e", "existing"),
)


def _stop_v1(r: StopOrderRecord, existing: bool, fmt: Format) -> Values:
    i = r.instrument
    return (
        int(r.id), i.symbol, f"{i.exchange}:{i.symbol}", i.exchange, i.board, r.type,
        num(r.trigger_price), r.side, r.status, _stop_end(r), r.lots, r.filled_lots,
        num(r.price), existing,
    )  # fmt: skip


# -- dispatch --------------------------------------------------------------------------------

_FORMAT_COLUMN = {Format.SIMPLE: 0, Format.SLIM: 1, Format.HEAVY: 2}


def _named(names: tuple[Names, ...], column: int) -> tuple[tuple[int, str], ...]:
    picked = []
    for index, row in enumerate(names):
        name = row[column]
        if name is not None:
            picked.append((index, name))
    return tuple(picked)


def _layout(names: tuple[Names, ...]) -> dict[Format, tuple[tuple[int, str], ...]]:
    """Per format: (value index, JSON name) of the fields that format has, in table order."""
    return {fmt: _named(names, column) for fmt, column in _FORMAT_COLUMN.items()}


def _pick(
    layouts: dict[Format, tuple[tuple[int, str], ...]], values: Values, fmt: Format
) -> dict[str, Any]:
    return {name: values[index] for index, name in layouts[fmt]}


_Encoder = tuple[
    type, dict[Format, tuple[tuple[int, str], ...]], Callable[[Any, bool, Format], Values]
]

_ICEBERG_LAYOUT = _layout(_ICEBERG_NAMES)
_ENCODERS: dict[str, _Encoder] = {
    "PositionsGetAndSubscribeV2": (PositionRecord, _layout(_POSITION_NAMES), _position),
    "SummariesGetAndSubscribeV2": (SummaryRecord, _layout(_SUMMARY_NAMES), _summary),
    "RisksGetAndSubscribe": (RiskRecord, _layout(_RISK_NAMES), _risk),
    "SpectraRisksGetAndSubscribe": (SpectraRiskRecord, _layout(_SPECTRA_NAMES), _spectra),
    "TradesGetAndSubscribeV2": (TradeRecord, _layout(_TRADE_NAMES), _trade),
    "OrdersGetAndSubscribeV2": (OrderRecord, _layout(_ORDER_NAMES), _order),
    "StopOrdersGetAndSubscribeV2": (StopOrderRecord, _layout(_STOP_NAMES), _stop),
    "StopOrdersGetAndSubscribe": (StopOrderRecord, _layout(_STOP_V1_NAMES), _stop_v1),
}

ACCOUNT_OPCODES: tuple[str, ...] = tuple(_ENCODERS)


def encode(opcode: str, fmt: Format, record: Any, *, existing: bool) -> dict[str, Any]:
    """The ``data`` object for ``record`` of stream ``opcode`` in format ``fmt``.

    ``existing`` is true for history (snapshot) records, false for live changes. Raises
    ``ValueError`` for an opcode that is not an account stream and ``TypeError`` for a record of
    another stream.
    """
    encoder = _ENCODERS.get(opcode)
    if encoder is None:
        raise ValueError(f"{opcode!r} is not an account stream; known: {', '.join(_ENCODERS)}")
    record_type, layouts, values_of = encoder
    if not isinstance(record, record_type):
        raise TypeError(f"{opcode} encodes {record_type.__name__}, not {type(record).__name__}")
    return _pick(layouts, values_of(record, existing, fmt), Format(fmt))
