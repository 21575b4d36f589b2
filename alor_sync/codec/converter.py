"""Data payloads <-> typed models, for each wire format (Simple, Slim, Heavy).

Rules of this module:

* This is the only module that knows the wire (JSON) names of data payloads: the tables below map
  every model field to its Simple, Slim and Heavy name, per opcode. A name the table lacks is a
  field that format does not carry.
* Converters and decoders are built from the tables (by :mod:`alor_sync.codec.structuring`)
  on first use, under one lock, and never changed afterwards: any thread may call them
  concurrently. There is one cattrs converter per wire format and decoding mode (``exact``
  prices, ``strict`` keys); lenient decoding of the hot market-data streams (order book,
  quotes, all trades, bars) uses generated straight-line decoders instead, which cost about
  half as much per frame as cattrs' generic hooks.
* Whole frames (:func:`frame_decoder_for`, what the workers use) go from bytes to model in one
  pass through msgspec structs wherever the model is flat (every stream but instruments,
  summaries, trades, orders and stop orders); whatever those structs do not take as it is goes
  to the dict path above, so both give equal models and the same errors.
* Whatever goes wrong while decoding leaves :func:`decode` and :func:`decoder_for` as
  :class:`~alor_sync.errors.DecodeError` with ``opcode`` and ``format`` set, never as a raw
  cattrs, ``KeyError`` or ``TypeError``.

Leniency (both modes): ids as number or string, numbers as JSON numbers, numeric strings or
``Decimal``, integers never through ``float``, ISO-8601 times with or without ``Z`` (aware UTC),
``null`` in any optional field, enum strings in any casing, unknown enum values kept as the raw
string (``strict`` raises instead), unknown extra keys ignored (``strict`` raises instead).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeAlias

import attrs
import cattrs
import cattrs.v

from alor_sync.codec.struct_decoding import FrameDecoder
from alor_sync.codec.struct_decoding import frame_decoder as one_pass_decoder
from alor_sync.codec.struct_decoding import supports as supports_one_pass
from alor_sync.codec.structuring import (
    Decoder,
    Encoder,
    FieldDecodeError,
    build_converter,
    cattrs_decoder,
    cattrs_encoder,
    fast_decoder,
)
from alor_sync.errors import DecodeError, InvalidArgumentError
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
from alor_sync.protocol.frames import data_payload
from alor_sync.wire import Format, Opcode, parse_format, parse_opcode

__all__ = [
    "STOP_ORDERS_V1",
    "Decoder",
    "FrameDecoder",
    "decode",
    "decoder_for",
    "encode",
    "frame_decoder_for",
    "model_for",
    "wire_names",
]

STOP_ORDERS_V1 = "StopOrdersGetAndSubscribe"
"""The deprecated v1 stop-orders opcode (not an :class:`~alor_sync.wire.Opcode`); decodes too."""

# --- wire tables -----------------------------------------------------------------------------
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


_LEVEL = _table("""
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
# Nested objects; order book sides (lists of _LEVEL rows) have hand-written hooks.
_NESTED: dict[type, tuple[Row, ...]] = {
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

_STREAMS: dict[str, tuple[type, tuple[Row, ...]]] = {
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
_ALIASES: dict[tuple[str, Format], dict[str, str]] = {
    (Opcode.SUMMARIES, Format.SLIM): {"bp2v": "bpv2"},
}
# Opcodes the server accepts besides the documented ones, by lowercased name.
_OPCODE_ALIASES: dict[str, str] = {
    "alltradessubscribe": Opcode.ALL_TRADES,
    STOP_ORDERS_V1.lower(): STOP_ORDERS_V1,
}
_FAST_STREAMS = frozenset({Opcode.ORDER_BOOK, Opcode.QUOTES, Opcode.ALL_TRADES, Opcode.BARS})
_FORMAT_COLUMN = {Format.SIMPLE: 1, Format.SLIM: 2, Format.HEAVY: 3}


def _names(rows: tuple[Row, ...], fmt: Format) -> dict[str, str]:
    """Model field -> wire name, for the fields ``fmt`` carries."""
    column = _FORMAT_COLUMN[fmt]
    return {row[0]: wire for row in rows if (wire := row[column]) is not None}


# --- building, once per stream, format and mode ---------------------------------------------
_build_lock = threading.RLock()
_built: dict[tuple[Any, ...], Any] = {}


def _once(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The value built for ``key``: built at most once (under the lock), then only read."""
    found = _built.get(key)
    if found is None:
        with _build_lock:
            found = _built.get(key)
            if found is None:
                found = build()
                _built[key] = found
    return found


def _converter(fmt: Format, exact: bool, strict: bool) -> cattrs.Converter:
    """The cattrs converter of one wire format and mode."""
    converter: cattrs.Converter = _once(
        ("converter", fmt, exact, strict),
        lambda: build_converter(
            nested={model: _names(rows, fmt) for model, rows in _NESTED.items()},
            level_names=_names(_LEVEL, fmt),
            exact=exact,
            strict=strict,
        ),
    )
    return converter


def _with_present_fields(decoder: Decoder, names: Mapping[str, str]) -> Decoder:
    """Instruments: record which fields the frame carried (updates carry only changed ones)."""
    pairs = tuple(names.items())

    def decode(data: dict[str, Any]) -> Instrument:
        instrument: Instrument = decoder(data)
        present = frozenset(field for field, wire in pairs if wire in data)
        return attrs.evolve(instrument, fields=present)

    return decode


def _with_aliases(decoder: Decoder, aliases: Mapping[str, str]) -> Decoder:
    def decode(data: dict[str, Any]) -> Any:
        for alias, name in aliases.items():
            if alias in data and name not in data:
                data = {(name if key == alias else key): value for key, value in data.items()}
        return decoder(data)

    return decode


def _guarded(decoder: Decoder, stream: str, fmt: Format, names: Mapping[str, str]) -> Decoder:
    """The one boundary where decoding failures become :class:`DecodeError`."""

    def decode_payload(data: Any) -> Any:
        if not isinstance(data, dict):
            raise DecodeError(
                f"a data payload must be a JSON object, not {type(data).__name__}",
                opcode=stream,
                format=fmt.value,
            )
        try:
            return decoder(data)
        except Exception as exc:
            raise DecodeError(_reason(exc, names), opcode=stream, format=fmt.value) from exc

    return decode_payload


def _reason(exc: Exception, names: Mapping[str, str]) -> str:
    """One line saying what is wrong and where (model field path and wire key)."""
    if isinstance(exc, cattrs.BaseValidationError):
        problems = cattrs.transform_error(exc, format_exception=_describe)
        return "invalid payload: " + "; ".join(_with_wire_key(p, names) for p in problems)
    if isinstance(exc, FieldDecodeError):
        return f"invalid payload: {exc}"
    return f"invalid payload: {type(exc).__name__}: {exc}"


def _describe(exc: BaseException, tp: Any) -> str:
    if isinstance(exc, TypeError | ValueError | ArithmeticError) and str(exc):
        return str(exc)  # the coercers' messages say what was expected and what came
    return cattrs.v.format_exception(exc, tp)


def _with_wire_key(problem: str, names: Mapping[str, str]) -> str:
    head, _, path = problem.rpartition(" @ $.")
    field = path.split(".", 1)[0].split("[", 1)[0]
    if head and field in names:
        return f"{problem} ({names[field]!r})"
    return problem


def _build_decoder(stream: str, fmt: Format, exact: bool, strict: bool) -> Decoder:
    model, rows = _STREAMS[stream]
    names = _names(rows, fmt)
    if stream in _FAST_STREAMS and not strict:
        decoder = fast_decoder(model, names, _names(_LEVEL, fmt), exact=exact)
    else:
        decoder = cattrs_decoder(model, names, _converter(fmt, exact, strict))
    if model is Instrument:
        decoder = _with_present_fields(decoder, names)
    aliases = _ALIASES.get((stream, fmt))
    if aliases:
        decoder = _with_aliases(decoder, aliases)
    return _guarded(decoder, stream, fmt, names)


def _stream(opcode: str) -> str:
    alias = _OPCODE_ALIASES.get(str(opcode).lower())
    if alias is not None:
        return alias
    parsed = parse_opcode(opcode)
    if parsed not in _STREAMS:
        raise InvalidArgumentError(f"opcode {parsed.value!r} carries no data payload")
    return parsed


def _decoder(opcode: str, format: str, exact: bool, strict: bool) -> Decoder:
    stream, fmt = _stream(opcode), parse_format(format)
    decoder: Decoder = _once(
        ("decoder", stream, fmt, exact, strict),
        partial(_build_decoder, stream, fmt, exact, strict),
    )
    return decoder


# --- public interface -------------------------------------------------------------------------
def decoder_for(opcode: str, format: str, *, exact: bool = False) -> Decoder:
    """The lenient decoder of one stream and format: call it with each frame's ``data`` object.

    Look it up once per subscription and call it per frame (the lookup is the slow part). Any
    thread may call it, concurrently. It raises only :class:`DecodeError`. ``opcode`` and
    ``format`` are accepted in any casing, as are the aliases ``AllTradesSubscribe`` and the
    deprecated ``StopOrdersGetAndSubscribe``; an unknown one raises ``InvalidArgumentError``.

    With ``exact=True`` prices and money are ``Decimal`` (from a float: ``Decimal(repr(x))``,
    the shortest digits that round-trip, equal to the wire digits for up to 15 significant
    digits; numbers given as strings or ``Decimal`` keep their digits).
    """
    return _decoder(opcode, format, exact, False)


def decode(
    opcode: str, format: str, data: Any, *, exact: bool = False, strict: bool = False
) -> Any:
    """Decode one ``data`` payload of stream ``opcode`` in ``format`` into its model.

    Lenient by default (see the module docs). ``strict=True`` also fails on a key that no model
    field takes and on an enum value this library does not know: for tests against sample
    payloads, to catch drift between the models and the API. Raises :class:`DecodeError`.
    """
    return _decoder(opcode, format, exact, strict)(data)


def model_for(opcode: str) -> type:
    """The model class the payloads of ``opcode`` decode into."""
    return _STREAMS[_stream(opcode)][0]


def encode(opcode: str, format: str, model: Any) -> dict[str, Any]:
    """The payload of ``format`` that decodes back to ``model`` (for tests and tools).

    Writes every field the format carries (``None`` as null), instruments only their
    ``fields``; times with seven fractional digits and ``Z``, ``Decimal`` as float. Fields the
    format lacks are left out.
    """
    stream, fmt = _stream(opcode), parse_format(format)
    expected = _STREAMS[stream][0]
    if not isinstance(model, expected):
        raise InvalidArgumentError(
            f"{stream} payloads are {expected.__name__}, not {type(model).__name__}"
        )
    encoder: Encoder = _once(("encoder", stream, fmt), partial(_build_encoder, stream, fmt))
    return encoder(model)


def _build_encoder(stream: str, fmt: Format) -> Encoder:
    model, rows = _STREAMS[stream]
    names = _names(rows, fmt)
    encoder = cattrs_encoder(model, names, _converter(fmt, False, False))
    if model is not Instrument:
        return encoder

    def encode_instrument(instrument: Instrument) -> dict[str, Any]:
        present = {names[f] for f in instrument.fields if f in names}
        return {k: v for k, v in encoder(instrument).items() if k in present}

    return encode_instrument


def wire_names(opcode: str, format: str) -> dict[str, str]:
    """Model field -> wire name of one stream and format (introspection, for tests and tools)."""
    return _names(_STREAMS[_stream(opcode)][1], parse_format(format))


def frame_decoder_for(opcode: str, format: str, *, exact: bool = False) -> FrameDecoder:
    """The lenient decoder of whole data frames: ``decode(raw, guid) -> model``.

    ``raw`` is the frame as the server sent it (``str`` or ``bytes``), ``guid`` the subscription
    it was routed to. Equal in result to ``decoder_for(...)(data_payload(raw, guid))`` and
    raising the same errors (:class:`~alor_sync.errors.MalformedFrameError` for a frame that is
    not this subscription's data, :class:`DecodeError` for a payload that does not decode), but
    for most streams in one pass from bytes to model (about 3x faster for a depth-20 book).
    Any thread may call it, concurrently.
    """
    stream, fmt = _stream(opcode), parse_format(format)
    decoder: FrameDecoder = _once(
        ("frame decoder", stream, fmt, exact),
        partial(_build_frame_decoder, stream, fmt, exact),
    )
    return decoder


def _build_frame_decoder(stream: str, fmt: Format, exact: bool) -> FrameDecoder:
    payload_decoder = _decoder(stream, fmt.value, exact, False)

    def general(raw: Any, guid: str) -> Any:
        return payload_decoder(data_payload(raw, guid))

    model, rows = _STREAMS[stream]
    if model is Instrument or (stream, fmt) in _ALIASES or not supports_one_pass(model):
        return general  # presence of keys, renamed keys, nested objects: the general path only
    return one_pass_decoder(
        model, _names(rows, fmt), _names(_LEVEL, fmt), exact=exact, fallback=general
    )
