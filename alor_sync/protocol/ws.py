"""Requests of the ``/ws`` data channel: one builder per subscription, plus unsubscribe and ping.

Rules of this module:

* Builders return a plain dict with the documented wire names and no token; :func:`with_token`
  adds the token at send time, so a stored request can be re-sent after a reconnect.
* Optional parameters left at ``None`` stay out of the request (the server applies its documented
  default); ``format`` is always sent because the decoder depends on it.
* ``frequency`` is sent as given (negative values are refused): the server raises values below
  the per-format minimum (:data:`MIN_FREQUENCY_MS`) itself, and clamping here would hide that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from alor_sync.errors import InvalidArgumentError
from alor_sync.protocol._checks import (
    EnumLike,
    JsonDict,
    UnixTime,
    call_with_checked_params,
    check_flag,
    check_guid,
    check_integer,
    check_order_statuses,
    check_text,
    check_timeframe,
    check_unix_seconds,
)
from alor_sync.wire import Format, Opcode, parse_format, parse_opcode

__all__ = [
    "ALL_TRADES_MAX_DEPTH",
    "MIN_FREQUENCY_MS",
    "ORDER_BOOK_MAX_DEPTH",
    "all_trades_request",
    "bars_request",
    "instruments_request",
    "order_book_request",
    "orders_request",
    "ping_request",
    "positions_request",
    "quotes_request",
    "risks_request",
    "spectra_risks_request",
    "stop_orders_request",
    "subscription_request",
    "summaries_request",
    "trades_request",
    "unsubscribe_request",
    "with_token",
]

ORDER_BOOK_MAX_DEPTH = 50
ALL_TRADES_MAX_DEPTH = 5000
# The server raises a smaller ``frequency`` to these (ms); we send what the caller chose.
MIN_FREQUENCY_MS: Mapping[Format, int] = {Format.SIMPLE: 25, Format.SLIM: 10, Format.HEAVY: 500}


def _market_request(
    opcode: Opcode, guid: str, code: str, exchange: str, group: str | None, fmt: Format | str
) -> JsonDict:
    request: JsonDict = {
        "opcode": opcode.value,
        "guid": check_guid(guid),
        "code": check_text("code", code),
        "exchange": check_text("exchange", exchange),
        "format": parse_format(fmt).value,
    }
    if group is not None:
        request["instrumentGroup"] = check_text("instrument_group", group)
    return request


def _portfolio_request(
    opcode: Opcode,
    guid: str,
    portfolio: str,
    exchange: str,
    skip_history: bool | None,
    fmt: Format | str,
) -> JsonDict:
    request: JsonDict = {
        "opcode": opcode.value,
        "guid": check_guid(guid),
        "portfolio": check_text("portfolio", portfolio),
        "exchange": check_text("exchange", exchange),
        "format": parse_format(fmt).value,
    }
    if skip_history is not None:
        request["skipHistory"] = check_flag("skip_history", skip_history)
    return request


def _put_frequency(request: JsonDict, frequency: int | None) -> JsonDict:
    if frequency is not None:
        request["frequency"] = check_integer("frequency", frequency, 0)
    return request


def order_book_request(
    guid: str,
    *,
    code: str,
    exchange: str,
    instrument_group: str | None = None,
    depth: int | None = None,
    format: Format | str = Format.SIMPLE,
    frequency: int | None = None,
) -> JsonDict:
    """``OrderBookGetAndSubscribe``: the whole book up to ``depth`` (1..50, server default 20).

    ``frequency`` is the conflation interval in ms (server default 175); values below the
    per-format minimum (:data:`MIN_FREQUENCY_MS`) are sent as given and raised by the server.
    """
    request = _market_request(Opcode.ORDER_BOOK, guid, code, exchange, instrument_group, format)
    if depth is not None:
        request["depth"] = check_integer("depth", depth, 1, ORDER_BOOK_MAX_DEPTH)
    return _put_frequency(request, frequency)


def bars_request(
    guid: str,
    *,
    code: str,
    exchange: str,
    tf: int | str,
    from_time: UnixTime,
    instrument_group: str | None = None,
    skip_history: bool | None = None,
    split_adjust: bool | None = None,
    format: Format | str = Format.SIMPLE,
    frequency: int | None = None,
) -> JsonDict:
    """``BarsGetAndSubscribe``: candles of ``tf`` (seconds, or ``D``/``W``/``M``/``Y``).

    ``from_time`` (wire ``from``) is the open of the first candle wanted, unix seconds or an
    aware datetime. ``split_adjust`` defaults to true on the server.
    """
    request = _market_request(Opcode.BARS, guid, code, exchange, instrument_group, format)
    request["tf"] = check_timeframe(tf)
    request["from"] = check_unix_seconds("from_time", from_time)
    if skip_history is not None:
        request["skipHistory"] = check_flag("skip_history", skip_history)
    if split_adjust is not None:
        request["splitAdjust"] = check_flag("split_adjust", split_adjust)
    return _put_frequency(request, frequency)


def quotes_request(
    guid: str,
    *,
    code: str,
    exchange: str,
    instrument_group: str | None = None,
    format: Format | str = Format.SIMPLE,
    frequency: int | None = None,
) -> JsonDict:
    """``QuotesSubscribe``: a full quote object per frame, conflated to ``frequency`` ms."""
    request = _market_request(Opcode.QUOTES, guid, code, exchange, instrument_group, format)
    return _put_frequency(request, frequency)


def all_trades_request(
    guid: str,
    *,
    code: str,
    exchange: str,
    instrument_group: str | None = None,
    depth: int | None = None,
    include_virtual_trades: bool | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``AllTradesGetAndSubscribe``: the trade tape; ``depth`` (0..5000) past trades first."""
    request = _market_request(Opcode.ALL_TRADES, guid, code, exchange, instrument_group, format)
    if depth is not None:
        request["depth"] = check_integer("depth", depth, 0, ALL_TRADES_MAX_DEPTH)
    if include_virtual_trades is not None:
        request["includeVirtualTrades"] = check_flag(
            "include_virtual_trades", include_virtual_trades
        )
    return request


def instruments_request(
    guid: str,
    *,
    code: str,
    exchange: str,
    instrument_group: str | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``InstrumentsGetAndSubscribeV2``: the full instrument, then only changed fields."""
    return _market_request(Opcode.INSTRUMENTS, guid, code, exchange, instrument_group, format)


def positions_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``PositionsGetAndSubscribeV2``: every position (unless ``skip_history``), then changes."""
    return _portfolio_request(Opcode.POSITIONS, guid, portfolio, exchange, skip_history, format)


def summaries_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``SummariesGetAndSubscribeV2``: the portfolio summary, resent when it changes."""
    return _portfolio_request(Opcode.SUMMARIES, guid, portfolio, exchange, skip_history, format)


def risks_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``RisksGetAndSubscribe``: the portfolio's risk figures."""
    return _portfolio_request(Opcode.RISKS, guid, portfolio, exchange, skip_history, format)


def spectra_risks_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``SpectraRisksGetAndSubscribe``: FORTS (derivatives) risk figures."""
    opcode = Opcode.SPECTRA_RISKS
    return _portfolio_request(opcode, guid, portfolio, exchange, skip_history, format)


def trades_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``TradesGetAndSubscribeV2``: the portfolio's own trades."""
    return _portfolio_request(Opcode.TRADES, guid, portfolio, exchange, skip_history, format)


def orders_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    order_statuses: Iterable[EnumLike] | EnumLike | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``OrdersGetAndSubscribeV2``; ``order_statuses`` filters the initial history only."""
    request = _portfolio_request(Opcode.ORDERS, guid, portfolio, exchange, skip_history, format)
    if order_statuses is not None:
        request["orderStatuses"] = check_order_statuses(order_statuses)
    return request


def stop_orders_request(
    guid: str,
    *,
    portfolio: str,
    exchange: str,
    skip_history: bool | None = None,
    order_statuses: Iterable[EnumLike] | EnumLike | None = None,
    format: Format | str = Format.SIMPLE,
) -> JsonDict:
    """``StopOrdersGetAndSubscribeV2``: conditional orders; same parameters as orders."""
    opcode = Opcode.STOP_ORDERS
    request = _portfolio_request(opcode, guid, portfolio, exchange, skip_history, format)
    if order_statuses is not None:
        request["orderStatuses"] = check_order_statuses(order_statuses)
    return request


def unsubscribe_request(guid: str) -> JsonDict:
    """``unsubscribe``: ``guid`` is the subscription's own guid (the reply echoes it)."""
    return {"opcode": Opcode.UNSUBSCRIBE.value, "guid": check_guid(guid)}


def ping_request(guid: str, confirm: bool = True) -> JsonDict:
    """``ping`` (undocumented, used by the broker's terminal on ``/ws`` and ``/cws``)."""
    return {
        "opcode": Opcode.PING.value,
        "guid": check_guid(guid),
        "confirm": check_flag("confirm", confirm),
    }


def with_token(request: Mapping[str, Any], token: str) -> JsonDict:
    """A copy of ``request`` carrying ``token`` (the transport calls this at send time)."""
    if not isinstance(token, str) or not token:
        raise InvalidArgumentError("token must be a non-empty string")
    return {**request, "token": token}


_SUBSCRIPTION_BUILDERS: Mapping[Opcode, Callable[..., JsonDict]] = {
    Opcode.ORDER_BOOK: order_book_request,
    Opcode.BARS: bars_request,
    Opcode.QUOTES: quotes_request,
    Opcode.ALL_TRADES: all_trades_request,
    Opcode.INSTRUMENTS: instruments_request,
    Opcode.POSITIONS: positions_request,
    Opcode.SUMMARIES: summaries_request,
    Opcode.RISKS: risks_request,
    Opcode.SPECTRA_RISKS: spectra_risks_request,
    Opcode.TRADES: trades_request,
    Opcode.ORDERS: orders_request,
    Opcode.STOP_ORDERS: stop_orders_request,
}


def subscription_request(opcode: Opcode | str, guid: str, **params: Any) -> JsonDict:
    """Build the subscription named by ``opcode`` (any casing) from snake_case ``params``.

    Unknown or missing parameters raise :class:`InvalidArgumentError` listing what the opcode
    takes (handy for a CLI ``stream <kind>``).
    """
    op = parse_opcode(opcode)
    builder = _SUBSCRIPTION_BUILDERS.get(op)
    if builder is None:
        raise InvalidArgumentError(
            f"{op.value} is not a subscription; use unsubscribe_request or ping_request"
        )
    return call_with_checked_params(op.value, builder, guid, params)
