"""The wire (JSON) names of every data payload, per stream and format (Simple, Slim, Heavy).

Rules of this module:

* This is the only module that knows the wire names of data payloads: the tables below map every
  model field to its Simple, Slim and Heavy name, per opcode. A name the table lacks is a field
  that format does not carry.
* Data only, built at import and never changed: any thread may read it.
  :mod:`alor_sync.codec.converter` builds the decoders and encoders from it.
"""

from __future__ import annotations

from typing import TypeAlias

from alor_sync.models import (
    AllTrade,
    Bar,
    CurrencyBuyingPower,
    Iceberg,
    Instrument,
    Order,
    OrderBook,
    Position,
    Quote,
    RepoFields,
    Risk,
    SpectraRisk,
    StopOrder,
    Summary,
    Trade,
)
from alor_sync.wire import Format, Opcode

__all__ = [
    "ALIASES",
    "FAST_STREAMS",
    "LEVEL",
    "NESTED",
    "OPCODE_ALIASES",
    "STOP_ORDERS_V1",
    "STREAMS",
    "Row",
    "field_names",
]

STOP_ORDERS_V1 = "StopOrdersGetAndSubscribe"
"""The deprecated v1 stop-orders opcode (not an :class:`~alor_sync.wire.Opcode`); decodes too."""

# One line per model field: the field, then its name in Simple, Slim and Heavy; "-": the format
# does not carry it, "=": Heavy uses the Simple name. Checked against the API reference
# (appendix A) and the sample payloads.
Row: TypeAlias = tuple[str, str | None, str | None, str | None]


def _name(word: str) -> str | None:
    return None if word == "-" else word


def _table(text: str) -> tuple[Row, ...]:
    rows = []
    for line in text.strip().splitlines():
        field, simple, slim, heavy = line.split()
        heavy_name = _name(simple) if heavy == "=" else _name(heavy)
        rows.append((field, _name(simple), _name(slim), heavy_name))
    return tuple(rows)


LEVEL = _table("""
price   price   p  =
volume  volume  v  =
yield_  -       y  -
""")

_CURRENCY_BUYING_POWER = _table("""
currency      currency     cr  =
buying_power  buyingPower  bp  =
""")

_ICEBERG = _table("""
creation_fixed_quantity        creationFixedQuantity       cf   =
creation_variance_quantity     creationVarianceQuantity    cv   =
visible_quantity               visibleQuantity             v    =
visible_quantity_batch         visibleQuantityBatch        vb   =
visible_filled_quantity        visibleFilledQuantity       vf   =
visible_filled_quantity_batch  visibleFilledQuantityBatch  vfb  =
""")

_REPO = _table("""
repo_rate        repoRate       r    =
ext_ref          extRef         exr  =
repo_term        repoTerm       tm   =
account          account        a    =
trade_type_info  tradeTypeInfo  t    =
value            value          v    =
yield_           yield          y    =
""")
# Nested objects; order book sides (lists of LEVEL rows) have hand-written hooks.
NESTED: dict[type, tuple[Row, ...]] = {
    CurrencyBuyingPower: _CURRENCY_BUYING_POWER,
    Iceberg: _ICEBERG,
    RepoFields: _REPO,
}

_ORDER_BOOK = _table("""
bids          bids          b  =
asks          asks          a  =
timestamp_ms  ms_timestamp  t  msTimestamp
existing      existing      h  =
snapshot      snapshot      -  -
timestamp_s   timestamp     -  -
""")

_BARS = _table("""
timestamp_s  time    t  =
open         open    o  =
high         high    h  =
low          low     l  =
close        close   c  =
volume       volume  v  =
""")

_QUOTES = _table("""
symbol                       symbol                sym   =
exchange                     exchange              ex    =
description                  description           desc  =
prev_close_price             prev_close_price      -     prevClosePrice
last_price                   last_price            c     lastPrice
last_price_timestamp_s       last_price_timestamp  tst   lastPriceTimestamp
high_price                   high_price            h     highPrice
low_price                    low_price             l     lowPrice
accrued_interest             accruedInt            acci  accruedInterest
volume                       volume                v     =
open_interest                open_interest         oi    openInterest
ask                          ask                   ask   =
bid                          bid                   bid   =
ask_volume                   ask_vol               av    askVol
bid_volume                   bid_vol               bv    bidVol
order_book_timestamp_ms      ob_ms_timestamp       tso   obMsTimestamp
open_price                   open_price            o     openPrice
yield_                       yield                 y     =
lot_size                     lotsize               lot   lotSize
lot_value                    lotvalue              lotv  lotValue
face_value                   facevalue             fv    faceValue
security_type                type                  t     =
total_bid_volume             total_bid_vol         tbv   totalBidVol
total_ask_volume             total_ask_vol         tav   totalAskVol
change                       change                -     =
change_percent               change_percent        -     changePercent
deprecated_accrued_interest  accrued_interest      -     -
currency                     -                     -     currency
""")

_ALL_TRADES = _table("""
id             id         id   =
order_id       orderno    -    -
symbol         symbol     sym  =
board          board      bd   =
quantity       qty        q    =
price          price      px   =
time           time       -    =
timestamp_ms   timestamp  t    =
side           side       s    =
open_interest  oi         oi   =
existing       existing   h    =
""")

_INSTRUMENTS = _table("""
symbol               symbol             sym    =
exchange             exchange           ex     =
board                board              bd     =
trading_status       tradingStatus      st     =
trading_status_info  tradingStatusInfo  sti    =
price_min            priceMin           pxmn   =
price_max            priceMax           pxmx   =
margin_buy           marginBuy          mgb    =
margin_sell          marginSell         mgs    =
margin_synthetic     marginSyntetic     mgsnt  =
theor_price          theorPrice         pxt    =
theor_price_limit    theorPriceLimit    pxtl   =
volatility           volatility         vl     =
""")

_POSITIONS = _table("""
volume                   volume             v      =
current_volume           currentVolume      cv     =
symbol                   symbol             sym    =
broker_symbol            brokerSymbol       tic    =
portfolio                portfolio          p      =
exchange                 exchange           ex     =
avg_price                avgPrice           pxavg  =
quantity_units           qtyUnits           q      =
open_quantity_units      openUnits          o      =
lot_size                 lotSize            lot    =
short_name               shortName          n      =
quantity_t0_units        qtyT0              q0     =
quantity_t1_units        qtyT1              q1     =
quantity_t2_units        qtyT2              q2     =
quantity_t_future_units  qtyTFuture         qf     =
quantity_t0_batch        qtyT0Batch         -      =
quantity_t1_batch        qtyT1Batch         -      =
quantity_t2_batch        qtyT2Batch         -      =
quantity_t_future_batch  qtyTFutureBatch    -      =
quantity_batch           qtyBatch           -      -
open_quantity_batch      openQtyBatch       -      =
deprecated_quantity      qty                -      -
deprecated_open_quantity open               -      -
daily_unrealised_pl      dailyUnrealisedPl  upd    =
unrealised_pl            unrealisedPl       up     =
is_currency              isCurrency         cur    =
existing                 existing           h      =
""")

_SUMMARIES = _table("""
buying_power_at_morning             buyingPowerAtMorning            bpm   =
buying_power                        buyingPower                     bp    =
profit                              profit                          p     =
profit_rate                         profitRate                      pr    =
portfolio_evaluation                portfolioEvaluation             pe    =
portfolio_liquidation_value         portfolioLiquidationValue       plv   =
initial_margin                      initialMargin                   im    =
corrected_margin                    correctedMargin                 mgc   =
risk_before_force_position_closing  riskBeforeForcePositionClosing  r     =
commission                          commission                      cms   =
buying_power_by_currency            buyingPowerByCurrency           bpv2  =
""")

_RISKS = _table("""
portfolio                    portfolio                  p     =
exchange                     exchange                   ex    =
portfolio_evaluation         portfolioEvaluation        pe    =
portfolio_liquidation_value  portfolioLiquidationValue  plv   =
initial_margin               initialMargin              mgi   =
minimal_margin               minimalMargin              mgmn  =
corrected_margin             correctedMargin            mgc   =
risk_coverage_ratio_one      riskCoverageRatioOne       r1    =
risk_coverage_ratio_two      riskCoverageRatioTwo       r2    =
risk_category_id             riskCategoryId             rid   =
client_type                  clientType                 ct    =
has_forbidden_positions      hasForbiddenPositions      fpos  =
has_negative_quantity        hasNegativeQuantity        nq    =
risk_status                  riskStatus                 rst   =
calculation_time             calculationTime            t     =
""")

_SPECTRA_RISKS = _table("""
portfolio                           portfolio            p    =
money_free                          moneyFree            f    =
money_blocked                       moneyBlocked         b    =
fee                                 fee                  fee  =
money_old                           moneyOld             o    =
money_amount                        moneyAmount          a    =
money_pledge_amount                 moneyPledgeAmount    pa   =
variation_margin_interim_clearing   vmInterCl            mgc  =
variation_margin_current_positions  vmCurrentPositions   mgp  =
variation_margin                    varMargin            -    =
indicative_variation_margin         indicativeVarMargin  ivm  =
net_option_value                    netOptionValue       nov  =
position_risk                       posRisk              pr   =
is_limits_set                       isLimitsSet          lim  =
balance_money                       balanceMoney         -    -
""")

_TRADES = _table("""
id                id                  id   =
order_id          orderno             eid  orderNo
comment           comment             cmt  =
symbol            symbol              sym  =
broker_symbol     brokerSymbol        tic  =
exchange          exchange            ex   =
time              date                d    =
board             board               b    =
quantity_units    qtyUnits            q    =
quantity_batch    qtyBatch            qb   =
deprecated_quantity qty               -    =
price             price               px   =
accrued_interest  accruedInt          ai   =
side              side                s    =
existing          existing            h    =
commission        commission          cms  =
repo              repoSpecificFields  r    =
volume            volume              v    =
settle_date       -                   -    settleDate
""")

_ORDER_COMMON = _table("""
id                     id              id   =
symbol                 symbol          sym  =
board                  board           bd   =
broker_symbol          brokerSymbol    tic  =
portfolio              portfolio       p    =
exchange               exchange        ex   =
comment                comment         cmt  =
type                   type            t    =
side                   side            s    =
status                 status          st   =
trans_time             transTime       tt   =
update_time            updateTime      ut   =
end_time               endTime         et   =
quantity_units         qtyUnits        q    =
quantity_batch         qtyBatch        qb   =
deprecated_quantity    qty             -    -
filled_quantity_units  filledQtyUnits  fq   =
filled_quantity_batch  filledQtyBatch  fqb  =
deprecated_filled_quantity filled      -    -
price                  price           px   =
existing               existing        h    =
time_in_force          timeInForce     tf   =
iceberg                iceberg         i    =
volume                 volume          v    =
""")

_STOP_ORDERS_EXTRA = _table("""
exchange_order_id   exchangeOrderId    eid    =
condition           condition          cnd    =
error               error              err    =
avg_price           avg_price          pxavg  avgPrice
stop_price          stopPrice          pxs    =
protecting_seconds  protectingSeconds  psec   =
""")
_STOP_ORDERS = _ORDER_COMMON + _STOP_ORDERS_EXTRA

_STOP_ORDERS_V1 = _table("""
id                     id              id   =
symbol                 symbol          sym  =
broker_symbol          brokerSymbol    tic  =
exchange               exchange        ex   =
board                  board           bd   =
type                   type            t    =
stop_price             stopPrice       pxs  =
side                   side            s    =
status                 status          st   =
end_time               endTime         exp  =
deprecated_quantity    qty             q    =
filled_quantity_batch  filledQtyBatch  fqb  =
price                  price           px   =
existing               existing        e    =
""")

STREAMS: dict[str, tuple[type, tuple[Row, ...]]] = {
    Opcode.ORDER_BOOK: (OrderBook, _ORDER_BOOK),
    Opcode.BARS: (Bar, _BARS),
    Opcode.QUOTES: (Quote, _QUOTES),
    Opcode.ALL_TRADES: (AllTrade, _ALL_TRADES),
    Opcode.INSTRUMENTS: (Instrument, _INSTRUMENTS),
    Opcode.POSITIONS: (Position, _POSITIONS),
    Opcode.SUMMARIES: (Summary, _SUMMARIES),
    Opcode.RISKS: (Risk, _RISKS),
    Opcode.SPECTRA_RISKS: (SpectraRisk, _SPECTRA_RISKS),
    Opcode.TRADES: (Trade, _TRADES),
    Opcode.ORDERS: (Order, _ORDER_COMMON),
    Opcode.STOP_ORDERS: (StopOrder, _STOP_ORDERS),
    STOP_ORDERS_V1: (StopOrder, _STOP_ORDERS_V1),
}
# Other names a decoder accepts for a key; the first (table) name is what encode() writes.
# The SWG Slim summaries example says "bp2v" where its schema says "bpv2".
ALIASES: dict[tuple[str, Format], dict[str, str]] = {
    (Opcode.SUMMARIES, Format.SLIM): {"bp2v": "bpv2"},
}
# Opcodes the server accepts besides the documented ones, by lowercased name.
OPCODE_ALIASES: dict[str, str] = {
    "alltradessubscribe": Opcode.ALL_TRADES,
    STOP_ORDERS_V1.lower(): STOP_ORDERS_V1,
}
FAST_STREAMS = frozenset({Opcode.ORDER_BOOK, Opcode.QUOTES, Opcode.ALL_TRADES, Opcode.BARS})
_FORMAT_COLUMN = {Format.SIMPLE: 1, Format.SLIM: 2, Format.HEAVY: 3}


def field_names(rows: tuple[Row, ...], fmt: Format) -> dict[str, str]:
    """Model field -> wire name, for the fields ``fmt`` carries."""
    column = _FORMAT_COLUMN[fmt]
    return {row[0]: wire for row in rows if (wire := row[column]) is not None}
