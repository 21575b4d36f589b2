"""The REST calls WebSocket users' scripts make around the streams: time, instrument, bar history.

``GET /md/v2/time``, ``GET /md/v2/Securities/{exchange}/{symbol}`` and ``GET /md/v2/history``,
shaped as the broker's OpenAPI file (``WarpOpenAPIv2.json``) and its examples say; nothing else
of REST is served.

Rules of this module:

* Pure request -> response: a path and query in, ``(status, JSON bytes)`` out; the server writes
  it. Market state is read under the venue lock, like every ``/ws`` snapshot.
* The wire names of these responses live here (the candles reuse ``wire_market.bar``, whose
  names are those of the history examples).
* Authorisation as the OpenAPI file has it: a ``Bearer`` JWT of this emulator; ``Securities``
  answers 401 without one (its documented reply), the other two accept anonymous requests, and a
  token that is given must be valid. Error bodies ``{"message": ...}`` are ours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from alor_sync.emulator import wire_market
from alor_sync.emulator.bars import parse_timeframe
from alor_sync.emulator.market import InstrumentState, Market
from alor_sync.wire import Format

__all__ = ["RestApi"]

Response = tuple[int, bytes]

_FORMATS = {f.value.lower(): f for f in Format}
_NO_EXPIRY = "2099-12-31T00:00:00.0000000"
_FUTURE_EXPIRY = "2026-12-17T00:00:00.0000000"  # SiZ6: the third Thursday of December 2026
_CFI = {"share": "ESVUFR", "bond": "DBFUFR", "future": "FFXCSX"}
_BOND_TYPES = {"TQOB": "EUSOV", "TQCB": "CORP"}


def _error(status: int, message: str) -> Response:
    return status, orjson.dumps({"message": message})


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class RestApi:
    """Answers the three REST calls; ``answer`` runs on the connection's thread."""

    def __init__(
        self,
        market: Market,
        lock: threading.RLock,
        clock: Callable[[], float],
        verify: Callable[[str], bool],
    ) -> None:
        self._market = market
        self._lock = lock
        self._clock = clock
        self._verify = verify

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """The response to ``method target`` (``headers`` with lower-cased names)."""
        if method != "GET":
            return _error(405, f"Use GET {urlsplit(target).path}")
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        token = headers.get("authorization", "")
        if token and not (token.startswith("Bearer ") and self._verify(token[7:].strip())):
            return _error(401, "Invalid JWT token!")
        if path == "/md/v2/time":
            return 200, orjson.dumps(int(self._clock()))
        if path == "/md/v2/history":
            return self._history(query)
        segments = path.split("/")
        if len(segments) == 6 and segments[3].lower() == "securities":
            if not token:
                return _error(401, "This request needs 'Authorization: Bearer <JWT>'")
            return self._security(unquote(segments[4]), unquote(segments[5]), query)
        return _error(404, f"No such endpoint: {parts.path} (the emulator serves /md/v2/time, "
                      "/md/v2/Securities/{exchange}/{symbol} and /md/v2/history)")  # fmt: skip

    # -- instrument info -----------------------------------------------------------------------

    def _security(self, exchange: str, symbol: str, query: Mapping[str, str]) -> Response:
        fmt = _FORMATS.get(query.get("format", "simple").lower())
        if fmt is None:
            return _error(
                400, f"Unknown format {query['format']!r}: expected Simple, Slim or Heavy"
            )
        with self._lock:
            state = self._market.lookup(exchange, symbol)
            if state is None:
                return _error(404, f"Unknown instrument '{symbol}' on exchange {exchange.upper()}")
            board = query.get("instrumentGroup")
            if board is not None and board.upper() != state.listing.info.board:
                return _error(404, f"{symbol} is traded on board {state.listing.info.board}")
            values = self._security_values(state)
        return 200, orjson.dumps(_security_body(values, fmt))

    def _security_values(self, state: InstrumentState) -> dict[str, Any]:
        listing, info = state.listing, state.listing.info
        future = info.kind == "future"
        margin = _num(state.margin) if state.margin is not None else 0
        if info.exchange == "SPBX":
            market, kind = "SPBX", "t"  # SPBX answers its one type for every instrument
        elif future:
            market, kind = "FORTS", f"Фьючерсный контракт {(listing.aliases or (info.symbol,))[0]}"
        else:
            market, kind = "FOND", _BOND_TYPES.get(info.board, listing.quote_type)
        step = _num(info.price_step)
        return {
            "symbol": info.symbol,
            "shortname": listing.aliases[0] if listing.aliases else info.symbol,
            "description": info.description,
            "exchange": info.exchange,
            "market": market,
            "type": kind,
            "lotsize": info.lot_size,
            "facevalue": _num(info.face_value),
            "cfiCode": _CFI[info.kind],
            "cancellation": _FUTURE_EXPIRY if future else _NO_EXPIRY,
            "minstep": step,
            "roundTo": max(0, -int(info.price_step.normalize().as_tuple().exponent)),
            "rating": 0,
            "marginbuy": margin,
            "marginsell": margin,
            "marginrate": 0,
            "pricestep": step,
            "priceMax": _num(state.price(state.price_max_tick)),
            "priceMin": _num(state.price(state.price_min_tick)),
            "currency": info.currency,
            "ISIN": info.symbol if listing.bond is not None else None,
            "yield": None,
            "board": info.board,
            "tradingStatus": state.trading_status,
            "tradingStatusInfo": state.trading_status_info,
            "complexProductCategory": "2" if future else "",
        }

    # -- bar history ---------------------------------------------------------------------------

    def _history(self, query: Mapping[str, str]) -> Response:
        for field in ("symbol", "exchange", "tf", "from", "to"):
            if not query.get(field):
                return _error(400, f"Query parameter '{field}' is required")
        tf = parse_timeframe(query["tf"])
        fmt = _FORMATS.get(query.get("format", "simple").lower())
        try:
            since, until = int(query["from"]), int(query["to"])
            count_back = int(query.get("countBack", "0"))
        except ValueError:
            return _error(400, "'from', 'to' and 'countBack' must be integers (unix seconds)")
        if tf is None or fmt is None:
            return _error(400, f"Bad 'tf' {query['tf']!r} or 'format' {query.get('format')!r}")
        with self._lock:
            state = self._market.lookup(query["exchange"], query["symbol"])
            if state is None:
                return _error(404, f"Unknown instrument '{query['symbol']}'")
            everything = state.history.candles(tf, 0)
            in_range = [c for c in everything if since <= c[0] <= until]
            if len(in_range) < count_back:  # countBack moves 'from' back until there are enough
                in_range = [c for c in everything if c[0] <= until][-count_back:]
            bars = [wire_market.bar(state, candle, fmt) for candle in in_range]
        first, last = (in_range[0][0], in_range[-1][0]) if in_range else (since, until)
        prev = max((c[0] for c in everything if c[0] < first), default=None)
        following = min((c[0] for c in everything if c[0] > last), default=None)
        key = b'"h"' if fmt is Format.SLIM else b'"history"'
        body = b"{" + key + b":[" + b",".join(bars) + b"],"
        tail = orjson.dumps({"next": following, "prev": prev})
        return 200, body + tail[1:]


_SLIM_NAMES = {
    "symbol": "sym", "shortname": "n", "description": "desc", "exchange": "ex", "type": "t",
    "lotsize": "lot", "facevalue": "fv", "cfiCode": "cfi", "minstep": "stp",
    "cancellation": "cncl", "rating": "rt", "marginbuy": "mgb", "marginsell": "mgs",
    "marginrate": "mgrt", "pricestep": "stppx", "priceMax": "pxmx", "priceMin": "pxmn",
    "theorPrice": "pxt", "theorPriceLimit": "pxtl", "priceMultiplier": "pxmu",
    "priceShownUnits": "pxu", "volatility": "vl", "currency": "cur", "ISIN": "isin",
    "yield": "yld", "board": "bd", "primary_board": "pbd", "tradingStatus": "st",
    "tradingStatusInfo": "sti", "complexProductCategory": "cpct",
}  # fmt: skip
_HEAVY_NAMES = {
    "shortname": "shortName", "lotsize": "lotSize", "facevalue": "faceValue",
    "minstep": "minStep", "marginbuy": "marginBuy", "marginsell": "marginSell",
    "marginrate": "marginRate", "pricestep": "priceStep",
}  # fmt: skip
_OPTION_VALUES = {"theorPrice": 0, "theorPriceLimit": 0, "volatility": 0}


def _security_body(v: dict[str, Any], fmt: Format) -> dict[str, Any]:
    """The instrument object in ``fmt``, keys in the order of the broker's examples."""
    if fmt is Format.SLIM:
        simple = _security_body(v, Format.SIMPLE)
        return {slim: simple[name] for name, slim in _SLIM_NAMES.items()}
    heavy = fmt is Format.HEAVY
    order = (
        "symbol", "shortname", "description", "exchange", "market", "type", "lotsize",
        "facevalue", "cfiCode", "cancellation", "minstep", *(("roundTo",) if heavy else ()),
        "rating", "marginbuy", "marginsell", "marginrate", "pricestep", "priceMax", "priceMin",
    )  # fmt: skip
    body = {(_HEAVY_NAMES.get(k, k) if heavy else k): v[k] for k in order}
    body.update(_OPTION_VALUES)
    body["currency"] = v["currency"]
    if heavy:
        body.update(nominalCurrency=v["currency"], settlementCurrency=None, underlyingCurrency=None)
    body["ISIN"], body["yield"], body["board"] = v["ISIN"], v["yield"], v["board"]
    body["primaryBoard" if heavy else "primary_board"] = v["board"]
    body.update(
        tradingStatus=v["tradingStatus"], tradingStatusInfo=v["tradingStatusInfo"],
        complexProductCategory=v["complexProductCategory"], priceMultiplier=1, priceShownUnits=1,
    )  # fmt: skip
    if heavy:  # one initial margin for every risk category and side (the simulation has one)
        for risk in ("LowRisk", "StandardRisk", "HighRisk", "SpecialRisk"):
            body[f"initialMargin{risk}Long"] = body[f"initialMargin{risk}Short"] = v["marginbuy"]
    return body
