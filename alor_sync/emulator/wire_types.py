"""Which payload fields are decimals, enums or nullable, per opcode and format (data only).

Rules of this module:

* The tables are transcribed from the reference's Appendix A (the broker's response schemas):
  ``decimal`` = fields typed ``number(decimal)``, ``enum`` = string fields with an enum (the
  exchange excepted: it is an identifier the client echoes back), ``nullable`` = fields the schema
  marks ``| null`` plus those the broker's own examples send as ``null`` (``tests/samples``).
* Names are leaf names: they apply to keys of the payload object and of the objects inside its
  top-level arrays (order-book rows, buying power per currency), never deeper.
* Only the production profile (``liberties.py``) reads these tables; the encoders do not.
"""

from __future__ import annotations

__all__ = ["FieldKinds", "field_kinds"]

FieldKinds = tuple[frozenset[str], frozenset[str], frozenset[str]]
"""(decimal, enum, nullable) leaf names of one opcode in one format."""

_TABLES: dict[str, dict[str, FieldKinds]] = {
    "OrderBookGetAndSubscribe": {
        "Simple": (frozenset(["price", "timestamp"]), frozenset(), frozenset()),
        "Slim": (frozenset(["p", "y"]), frozenset(), frozenset(["y"])),
        "Heavy": (frozenset(["price"]), frozenset(), frozenset()),
    },
    "BarsGetAndSubscribe": {
        "Simple": (frozenset(["close", "high", "low", "open"]), frozenset(), frozenset()),
        "Slim": (frozenset(["c", "h", "l", "o"]), frozenset(), frozenset()),
        "Heavy": (frozenset(["close", "high", "low", "open"]), frozenset(), frozenset()),
    },
    "QuotesSubscribe": {
        "Simple": (
            frozenset(
                [
                    "accruedInt",
                    "accrued_interest",
                    "ask",
                    "bid",
                    "change",
                    "change_percent",
                    "facevalue",
                    "high_price",
                    "last_price",
                    "lotsize",
                    "lotvalue",
                    "low_price",
                    "open_price",
                    "prev_close_price",
                    "volume",
                    "yield",
                ]
            ),
            frozenset(),
            frozenset(["ob_ms_timestamp", "open_interest", "type", "yield"]),
        ),
        "Slim": (
            frozenset(["acci", "ask", "bid", "c", "fv", "h", "l", "lot", "lotv", "o", "v", "y"]),
            frozenset(),
            frozenset(["oi", "t", "tso", "y"]),
        ),
        "Heavy": (
            frozenset(
                [
                    "accruedInterest",
                    "ask",
                    "bid",
                    "change",
                    "changePercent",
                    "faceValue",
                    "highPrice",
                    "lastPrice",
                    "lotSize",
                    "lotValue",
                    "lowPrice",
                    "openPrice",
                    "prevClosePrice",
                    "volume",
                    "yield",
                ]
            ),
            frozenset(),
            frozenset(["currency", "obMsTimestamp", "openInterest", "type", "yield"]),
        ),
    },
    "AllTradesGetAndSubscribe": {
        "Simple": (frozenset(["price"]), frozenset(["side"]), frozenset()),
        "Slim": (frozenset(["px"]), frozenset(["s"]), frozenset()),
        "Heavy": (frozenset(["price"]), frozenset(["side"]), frozenset()),
    },
    "InstrumentsGetAndSubscribeV2": {
        "Simple": (
            frozenset(
                [
                    "marginBuy",
                    "marginSell",
                    "marginSyntetic",
                    "priceMax",
                    "priceMin",
                    "theorPrice",
                    "theorPriceLimit",
                    "volatility",
                ]
            ),
            frozenset(),
            frozenset(["tradingStatusInfo"]),
        ),
        "Slim": (
            frozenset(["mgb", "mgs", "mgsnt", "pxmn", "pxmx", "pxt", "pxtl", "vl"]),
            frozenset(),
            frozenset(["sti"]),
        ),
        "Heavy": (
            frozenset(
                [
                    "marginBuy",
                    "marginSell",
                    "marginSyntetic",
                    "priceMax",
                    "priceMin",
                    "theorPrice",
                    "theorPriceLimit",
                    "volatility",
                ]
            ),
            frozenset(),
            frozenset(["tradingStatusInfo"]),
        ),
    },
    "PositionsGetAndSubscribeV2": {
        "Simple": (
            frozenset(
                [
                    "avgPrice",
                    "currentVolume",
                    "dailyUnrealisedPl",
                    "lotSize",
                    "open",
                    "openQtyBatch",
                    "openUnits",
                    "qty",
                    "qtyBatch",
                    "qtyT0",
                    "qtyT0Batch",
                    "qtyT1",
                    "qtyT1Batch",
                    "qtyT2",
                    "qtyT2Batch",
                    "qtyTFuture",
                    "qtyTFutureBatch",
                    "qtyUnits",
                    "unrealisedPl",
                    "volume",
                ]
            ),
            frozenset(),
            frozenset(),
        ),
        "Slim": (
            frozenset(["cv", "lot", "o", "pxavg", "q", "q0", "q1", "q2", "qf", "up", "upd", "v"]),
            frozenset(),
            frozenset(),
        ),
        "Heavy": (
            frozenset(
                [
                    "avgPrice",
                    "currentVolume",
                    "dailyUnrealisedPl",
                    "lotSize",
                    "openQtyBatch",
                    "openUnits",
                    "qtyT0",
                    "qtyT0Batch",
                    "qtyT1",
                    "qtyT1Batch",
                    "qtyT2",
                    "qtyT2Batch",
                    "qtyTFuture",
                    "qtyTFutureBatch",
                    "qtyUnits",
                    "unrealisedPl",
                    "volume",
                ]
            ),
            frozenset(),
            frozenset(),
        ),
    },
    "SummariesGetAndSubscribeV2": {
        "Simple": (
            frozenset(
                [
                    "buyingPower",
                    "buyingPowerAtMorning",
                    "commission",
                    "correctedMargin",
                    "initialMargin",
                    "portfolioEvaluation",
                    "portfolioLiquidationValue",
                    "profit",
                    "profitRate",
                    "riskBeforeForcePositionClosing",
                ]
            ),
            frozenset(),
            frozenset(["commission", "currency"]),
        ),
        "Slim": (
            frozenset(["bp", "bpm", "cms", "im", "mgc", "p", "pe", "plv", "pr", "r"]),
            frozenset(),
            frozenset(["cms", "cr"]),
        ),
        "Heavy": (
            frozenset(
                [
                    "buyingPower",
                    "buyingPowerAtMorning",
                    "commission",
                    "correctedMargin",
                    "initialMargin",
                    "portfolioEvaluation",
                    "portfolioLiquidationValue",
                    "profit",
                    "profitRate",
                    "riskBeforeForcePositionClosing",
                ]
            ),
            frozenset(),
            frozenset(["commission", "currency"]),
        ),
    },
    "RisksGetAndSubscribe": {
        "Simple": (
            frozenset(
                [
                    "correctedMargin",
                    "initialMargin",
                    "minimalMargin",
                    "portfolioEvaluation",
                    "portfolioLiquidationValue",
                    "riskCoverageRatioOne",
                    "riskCoverageRatioTwo",
                ]
            ),
            frozenset(["clientType", "riskStatus"]),
            frozenset(),
        ),
        "Slim": (
            frozenset(["mgc", "mgi", "mgmn", "pe", "plv", "r1", "r2"]),
            frozenset(["ct", "rst"]),
            frozenset(),
        ),
        "Heavy": (
            frozenset(
                [
                    "correctedMargin",
                    "initialMargin",
                    "minimalMargin",
                    "portfolioEvaluation",
                    "portfolioLiquidationValue",
                    "riskCoverageRatioOne",
                    "riskCoverageRatioTwo",
                ]
            ),
            frozenset(["clientType", "riskStatus"]),
            frozenset(),
        ),
    },
    "SpectraRisksGetAndSubscribe": {
        "Simple": (
            frozenset(
                [
                    "balanceMoney",
                    "fee",
                    "indicativeVarMargin",
                    "moneyAmount",
                    "moneyBlocked",
                    "moneyFree",
                    "moneyOld",
                    "moneyPledgeAmount",
                    "netOptionValue",
                    "posRisk",
                    "varMargin",
                    "vmCurrentPositions",
                    "vmInterCl",
                ]
            ),
            frozenset(),
            frozenset(),
        ),
        "Slim": (
            frozenset(["a", "b", "f", "fee", "ivm", "mgc", "mgp", "nov", "o", "pa", "pr"]),
            frozenset(),
            frozenset(),
        ),
        "Heavy": (
            frozenset(
                [
                    "fee",
                    "indicativeVarMargin",
                    "moneyAmount",
                    "moneyBlocked",
                    "moneyFree",
                    "moneyOld",
                    "moneyPledgeAmount",
                    "netOptionValue",
                    "posRisk",
                    "varMargin",
                    "vmCurrentPositions",
                    "vmInterCl",
                ]
            ),
            frozenset(),
            frozenset(),
        ),
    },
    "TradesGetAndSubscribeV2": {
        "Simple": (
            frozenset(
                ["accruedInt", "commission", "price", "repoRate", "value", "volume", "yield"]
            ),
            frozenset(["side"]),
            frozenset(["comment", "commission", "repoSpecificFields"]),
        ),
        "Slim": (
            frozenset(["ai", "cms", "px", "r", "v", "y"]),
            frozenset(["s"]),
            frozenset(["cms", "cmt", "r"]),
        ),
        "Heavy": (
            frozenset(
                ["accruedInt", "commission", "price", "repoRate", "value", "volume", "yield"]
            ),
            frozenset(["side"]),
            frozenset(["comment", "commission", "repoSpecificFields"]),
        ),
    },
    "OrdersGetAndSubscribeV2": {
        "Simple": (
            frozenset(["filled", "filledQtyBatch", "filledQtyUnits", "price", "volume"]),
            frozenset(["side", "status", "timeInForce", "type"]),
            frozenset(["comment", "iceberg", "volume"]),
        ),
        "Slim": (
            frozenset(["fq", "fqb", "px", "v"]),
            frozenset(["s", "st", "t", "tf"]),
            frozenset(["cmt", "i", "v"]),
        ),
        "Heavy": (
            frozenset(["filledQtyBatch", "filledQtyUnits", "price", "volume"]),
            frozenset(["side", "status", "timeInForce", "type"]),
            frozenset(["comment", "iceberg", "volume"]),
        ),
    },
    "StopOrdersGetAndSubscribeV2": {
        "Simple": (
            frozenset(
                [
                    "avg_price",
                    "filled",
                    "filledQtyBatch",
                    "filledQtyUnits",
                    "price",
                    "qtyUnits",
                    "stopPrice",
                    "volume",
                ]
            ),
            frozenset(["condition", "side", "status", "timeInForce", "type"]),
            frozenset(["comment", "error", "exchangeOrderId", "iceberg", "updateTime", "volume"]),
        ),
        "Slim": (
            frozenset(["fq", "fqb", "px", "pxavg", "pxs", "q", "v"]),
            frozenset(["cnd", "s", "st", "t", "tf"]),
            frozenset(["cmt", "eid", "err", "i", "ut", "v"]),
        ),
        "Heavy": (
            frozenset(
                [
                    "avgPrice",
                    "filledQtyBatch",
                    "filledQtyUnits",
                    "price",
                    "qtyUnits",
                    "stopPrice",
                    "volume",
                ]
            ),
            frozenset(["condition", "side", "status", "timeInForce", "type"]),
            frozenset(["comment", "error", "exchangeOrderId", "iceberg", "updateTime", "volume"]),
        ),
    },
    "StopOrdersGetAndSubscribe": {
        "Simple": (
            frozenset(["filledQtyBatch", "price", "stopPrice"]),
            frozenset(["side", "status", "type"]),
            frozenset(),
        ),
        "Slim": (frozenset(["fqb", "px", "pxs"]), frozenset(["s", "st", "t"]), frozenset()),
        "Heavy": (
            frozenset(["filledQtyBatch", "price", "stopPrice"]),
            frozenset(["side", "status", "type"]),
            frozenset(),
        ),
    },
}

_NONE: FieldKinds = (frozenset(), frozenset(), frozenset())


def field_kinds(opcode: str, fmt: str) -> FieldKinds:
    """The field kinds of ``opcode`` (canonical spelling) in ``fmt`` (``Simple``, ``Slim``...)."""
    return _TABLES.get(opcode, {}).get(fmt, _NONE)
