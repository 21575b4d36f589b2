"""Market-data payloads (order book, quote, all-trades, bar, instrument) in the three formats.

Rules of this module:

* This module owns the wire names of market data; field names and key order follow the broker's
  examples in ``tests/samples`` (Appendix A of the reference), format by format.
* Every function returns the serialised ``data`` payload as bytes, built once and reused for every
  subscriber with the same parameters; the frame around it is ``frames.py``'s job.
* Prices leave as the shortest JSON number of the decimal price (``257.7``, never
  ``257.70000000000002``); integral prices and money leave as JSON integers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from alor_sync.emulator.bars import Candle
from alor_sync.emulator.market import InstrumentState, PublicTrade
from alor_sync.wire import Format

__all__ = ["all_trade", "bar", "instrument", "iso_time", "order_book", "quote"]

Number = int | float

# Instrument fields: neutral name (as the market announces a change) -> (Simple/Heavy, Slim).
_INSTRUMENT_FIELDS: dict[str, tuple[str, str]] = {
    "trading_status": ("tradingStatus", "st"),
    "trading_status_info": ("tradingStatusInfo", "sti"),
    "price_min": ("priceMin", "pxmn"),
    "price_max": ("priceMax", "pxmx"),
    "margin_buy": ("marginBuy", "mgb"),
    "margin_sell": ("marginSell", "mgs"),
}


@lru_cache(maxsize=64)
def _step_float(step: Decimal) -> tuple[float, int]:
    exponent = step.normalize().as_tuple().exponent
    return float(step), max(0, -int(exponent))


def _px(state: InstrumentState, tick: int) -> Number:
    step, decimals = _step_float(state.step)
    if decimals == 0:
        return int(tick * step)
    return round(tick * step, decimals)


def _num(value: Decimal) -> Number:
    return int(value) if value == value.to_integral_value() else float(value)


def iso_time(ts: float) -> str:
    """ISO-8601 with 7 fractional digits and ``Z``, as the broker writes times."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _yield(state: InstrumentState, tick: int) -> float | None:
    """Approximate yield to maturity (% a year) of a bond price in % of face value."""
    bond = state.listing.bond
    if bond is None:
        return None
    price = float(state.price(tick))
    years = float(bond.years_to_maturity)
    ytm = (float(bond.coupon_rate) + (100.0 - price) / years) / ((100.0 + price) / 2.0) * 100.0
    return round(ytm, 2)


def order_book(state: InstrumentState, depth: int, fmt: Format, existing: bool) -> bytes:
    """The whole visible book up to ``depth`` levels a side, best price first."""
    bids, asks = state.bids[:depth], state.asks[:depth]
    ms = state.book_ms
    if fmt is Format.SLIM:
        if state.listing.bond is not None:
            b = [{"p": _px(state, t), "v": v, "y": _yield(state, t)} for t, v in bids]
            a = [{"p": _px(state, t), "v": v, "y": _yield(state, t)} for t, v in asks]
        else:
            b = [{"p": _px(state, t), "v": v} for t, v in bids]
            a = [{"p": _px(state, t), "v": v} for t, v in asks]
        return orjson.dumps({"b": b, "a": a, "t": ms, "h": existing})
    bid_rows = [{"price": _px(state, t), "volume": v} for t, v in bids]
    ask_rows = [{"price": _px(state, t), "volume": v} for t, v in asks]
    if fmt is Format.HEAVY:
        return orjson.dumps(
            {"bids": bid_rows, "asks": ask_rows, "msTimestamp": ms, "existing": existing}
        )
    return orjson.dumps(
        {
            "snapshot": existing,
            "bids": bid_rows,
            "asks": ask_rows,
            "timestamp": ms // 1000,
            "ms_timestamp": ms,
            "existing": existing,
        }
    )


def _quote_values(state: InstrumentState) -> dict[str, Any]:
    info, listing = state.listing.info, state.listing
    last = state.price(state.last_tick)
    prev = state.price(state.prev_close_tick)
    change = last - prev
    lot_value = last * info.lot_size
    if listing.bond is not None:
        lot_value = last * info.face_value / 100 * info.lot_size
    accrued = listing.bond.accrued_interest if listing.bond is not None else Decimal(0)
    return {
        "prev": _px(state, state.prev_close_tick),
        "last": _px(state, state.last_tick),
        "last_s": int(state.last_ts),
        "high": _px(state, state.high_tick),
        "low": _px(state, state.low_tick),
        "accrued": _num(accrued),
        "volume": state.session_lots,
        "oi": state.open_interest,
        "ask": _px(state, state.asks[0][0]) if state.asks else None,
        "bid": _px(state, state.bids[0][0]) if state.bids else None,
        "ask_vol": state.asks[0][1] if state.asks else 0,
        "bid_vol": state.bids[0][1] if state.bids else 0,
        "ob_ms": state.book_ms,
        "open": _px(state, state.open_tick),
        "yield": _yield(state, state.last_tick),
        "lot": info.lot_size,
        "lot_value": _num(lot_value.quantize(Decimal("0.01"))),
        "face": _num(info.face_value),
        "type": listing.quote_type,
        "total_bid": sum(v for _, v in state.bids),
        "total_ask": sum(v for _, v in state.asks),
        "change": _num(change),
        "change_pct": round(float(change / prev * 100), 2) if prev else 0,
    }


def quote(state: InstrumentState, fmt: Format) -> bytes:
    """The complete quote of an instrument (every field, every frame)."""
    info = state.listing.info
    q = _quote_values(state)
    if fmt is Format.SLIM:
        return orjson.dumps(
            {
                "sym": info.symbol, "ex": info.exchange, "desc": info.description,
                "tst": q["last_s"], "tso": q["ob_ms"], "o": q["open"], "h": q["high"],
                "l": q["low"], "c": q["last"], "v": q["volume"], "acci": q["accrued"],
                "oi": q["oi"], "y": q["yield"], "ask": q["ask"], "bid": q["bid"],
                "av": q["ask_vol"], "bv": q["bid_vol"], "tbv": q["total_bid"],
                "tav": q["total_ask"], "lot": q["lot"], "lotv": q["lot_value"], "fv": q["face"],
                "t": q["type"],
            }
        )  # fmt: skip
    if fmt is Format.HEAVY:
        return orjson.dumps(
            {
                "symbol": info.symbol, "exchange": info.exchange,
                "description": info.description, "currency": info.currency,
                "prevClosePrice": q["prev"], "lastPrice": q["last"],
                "lastPriceTimestamp": q["last_s"], "highPrice": q["high"], "lowPrice": q["low"],
                "accruedInterest": q["accrued"], "volume": q["volume"], "openInterest": q["oi"],
                "ask": q["ask"], "bid": q["bid"], "askVol": q["ask_vol"], "bidVol": q["bid_vol"],
                "obMsTimestamp": q["ob_ms"], "openPrice": q["open"], "yield": q["yield"],
                "lotSize": q["lot"], "lotValue": q["lot_value"], "faceValue": q["face"],
                "type": q["type"], "totalBidVol": q["total_bid"], "totalAskVol": q["total_ask"],
                "change": q["change"], "changePercent": q["change_pct"],
            }
        )  # fmt: skip
    return orjson.dumps(
        {
            "symbol": info.symbol, "exchange": info.exchange, "description": info.description,
            "prev_close_price": q["prev"], "last_price": q["last"],
            "last_price_timestamp": q["last_s"], "high_price": q["high"], "low_price": q["low"],
            "accruedInt": q["accrued"], "volume": q["volume"], "open_interest": q["oi"],
            "ask": q["ask"], "bid": q["bid"], "ask_vol": q["ask_vol"], "bid_vol": q["bid_vol"],
            "ob_ms_timestamp": q["ob_ms"], "open_price": q["open"], "yield": q["yield"],
            "lotsize": q["lot"], "lotvalue": q["lot_value"], "facevalue": q["face"],
            "type": q["type"], "total_bid_vol": q["total_bid"], "total_ask_vol": q["total_ask"],
            "accrued_interest": q["accrued"], "change": q["change"],
            "change_percent": q["change_pct"],
        }
    )  # fmt: skip


def all_trade(state: InstrumentState, trade: PublicTrade, fmt: Format, existing: bool) -> bytes:
    """One print of the anonymous tape."""
    info = state.listing.info
    price = _px(state, trade.tick)
    ms = round(trade.ts * 1000)
    if fmt is Format.SLIM:
        return orjson.dumps(
            {
                "id": trade.id, "sym": info.symbol, "bd": info.board, "q": trade.lots,
                "px": price, "t": ms, "oi": trade.open_interest, "h": existing, "s": trade.side,
            }
        )  # fmt: skip
    body: dict[str, Any] = {"id": trade.id}
    if fmt is Format.SIMPLE:
        body["orderno"] = 0  # a number, as captured from prod (the schema says string)
    body.update(
        symbol=info.symbol,
        board=info.board,
        qty=trade.lots,
        price=price,
        time=iso_time(trade.ts),
        timestamp=ms,
        oi=trade.open_interest,
        existing=existing,
        side=trade.side,
    )
    return orjson.dumps(body)


def bar(state: InstrumentState, candle: Candle, fmt: Format) -> bytes:
    """One candle (no ``existing`` flag on bars)."""
    t, o, h, low, c, v = candle
    if fmt is Format.SLIM:
        return orjson.dumps(
            {
                "t": t, "c": _px(state, c), "o": _px(state, o), "h": _px(state, h),
                "l": _px(state, low), "v": v,
            }
        )  # fmt: skip
    return orjson.dumps(
        {
            "time": t, "close": _px(state, c), "open": _px(state, o), "high": _px(state, h),
            "low": _px(state, low), "volume": v,
        }
    )  # fmt: skip


def _instrument_value(state: InstrumentState, field: str) -> Any:
    if field == "trading_status":
        return state.trading_status
    if field == "trading_status_info":
        return state.trading_status_info
    if field == "price_min":
        return _px(state, state.price_min_tick)
    if field == "price_max":
        return _px(state, state.price_max_tick)
    return None if state.margin is None else _num(state.margin)


def instrument(state: InstrumentState, fmt: Format, fields: tuple[str, ...] | None) -> bytes:
    """The full instrument object (``fields`` None), or the symbol plus the changed fields."""
    info = state.listing.info
    slim = fmt is Format.SLIM
    body: dict[str, Any] = {"sym" if slim else "symbol": info.symbol}
    if fields is None:
        body["ex" if slim else "exchange"] = info.exchange
        body["bd" if slim else "board"] = info.board
        fields = ("trading_status", "trading_status_info", "price_min", "price_max")
        if state.margin is not None:
            fields += ("margin_buy", "margin_sell")
    for field in fields:
        body[_INSTRUMENT_FIELDS[field][1 if slim else 0]] = _instrument_value(state, field)
    return orjson.dumps(body)
