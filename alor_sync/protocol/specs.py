"""One spec per ``/ws`` subscription opcode: its parameters, its key, its payload model and its
stream policy. Request builders, the ``subscribe_*`` methods, the ``get_*`` reads, the CLI's
``stream`` options and the session's delivery policy are all read from here.

Rules of this module:

* Data only: a parameter is named once (python name, wire name, type, default, check, doc line)
  and every layer derives from it; nothing here sends, threads or decides delivery.
* ``default`` is the builder's: :data:`REQUIRED`, or ``None`` (left out, the server applies its
  documented default), or a value always sent (``format``). ``facade_default`` is what the
  ``subscribe_*`` methods default to when it differs (``exchange="MOEX"``).
* ``annotation`` is the type the methods declare; the generator writes it into the typed
  modules (:mod:`alor_sync.data.generate`), so it must be built from names it knows how to write.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

import attrs

from alor_sync.errors import InvalidArgumentError
from alor_sync.models import (
    AllTrade,
    Bar,
    Instrument,
    Order,
    OrderBook,
    Position,
    Quote,
    Risk,
    SpectraRisk,
    StopOrder,
    Summary,
    Trade,
)
from alor_sync.protocol._checks import (
    check_flag,
    check_integer,
    check_order_statuses,
    check_text,
    check_timeframe,
    check_unix_seconds,
)
from alor_sync.wire import Format, Opcode, parse_format

__all__ = [
    "ALL_TRADES_MAX_DEPTH",
    "ORDER_BOOK_MAX_DEPTH",
    "REQUIRED",
    "SLICE_MODES",
    "SPECS",
    "Param",
    "ReplayRule",
    "StreamSpec",
]

ORDER_BOOK_MAX_DEPTH = 50
ALL_TRADES_MAX_DEPTH = 5000


class _Marker(enum.Enum):
    REQUIRED = "required"
    SAME = "same"


REQUIRED = _Marker.REQUIRED
"""The default of a parameter the request cannot go without."""
_SAME = _Marker.SAME

Check = Callable[[str, Any], Any]  # (python name, value) -> the wire form, or InvalidArgumentError


class ReplayRule(enum.Enum):
    """How a stream's renewed subscription is joined to what its callback already had."""

    IDS = "ids"  # all trades, own trades: items with growing ids; drop ids already delivered
    BAR_TIMES = "bar_times"  # bars: re-requested from the last bar; its re-send is an update
    SNAPSHOT = "snapshot"  # the whole state again (orders, positions, instruments, books...)


@attrs.frozen
class Param:
    """One parameter of one subscription request."""

    name: str  # python (snake_case) name
    wire: str  # JSON name in the request
    annotation: Any  # the type the methods declare
    check: Check
    doc: str
    default: object = None
    facade_default: object = _SAME  # the methods' default where it is not ``default``
    server_default: object = None  # what the server assumes when it is left out (for the CLI)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def method_default(self) -> object:
        """The default of the ``subscribe_*`` methods (REQUIRED: none)."""
        return self.default if self.facade_default is _SAME else self.facade_default


@attrs.frozen
class StreamSpec:
    """Everything about one subscription opcode that is not a frame's content."""

    opcode: Opcode
    name: str  # ``subscribe_<name>``, ``<name>_request``, CLI kind ``<name with dashes>``
    key: Literal["symbol", "portfolio"]
    params: tuple[Param, ...]  # signature order; the key and exchange first, format last
    model: type  # the payload model (its price type is the client's)
    latest_wins: bool  # every frame a full state: a slow callback gets the newest (conflate)
    replay: ReplayRule
    doc: str  # the subscribe method's docstring
    request_doc: str  # the request builder's docstring
    summary: str  # one line for the CLI's list of kinds

    @property
    def shareable(self) -> bool:
        """Identical requests share one server subscription: only full-state streams, since a
        handle joining an event stream late would miss the history sent before."""
        return self.latest_wins

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def _bounded(low: int, high: int | None = None) -> Check:
    return lambda name, value: check_integer(name, value, low, high)


def _format(name: str, value: Any) -> str:
    return parse_format(value).value


def _timeframe(name: str, value: Any) -> str:
    return check_timeframe(value)


def _statuses(name: str, value: Any) -> list[str]:
    return check_order_statuses(value)


CODE = Param("code", "code", str, check_text, "the instrument's ticker (wire ``code``)", REQUIRED)
PORTFOLIO = Param("portfolio", "portfolio", str, check_text, "the portfolio, e.g. D39004", REQUIRED)
EXCHANGE = Param(
    "exchange", "exchange", str, check_text, "MOEX or SPBX", REQUIRED, facade_default="MOEX"
)
GROUP = Param(
    "instrument_group",
    "instrumentGroup",
    str | None,
    check_text,
    "instrument group (board), e.g. TQBR",
)
FORMAT = Param(
    "format", "format", Format | str, _format, "wire format: Simple, Slim or Heavy", Format.SIMPLE
)
FREQUENCY = Param(
    "frequency", "frequency", int | None, _bounded(0), "at most one frame per this many ms"
)
SKIP_HISTORY = Param(
    "skip_history", "skipHistory", bool | None, check_flag, "only new data, no history/snapshot"
)
ORDER_STATUSES = Param(
    "order_statuses",
    "orderStatuses",
    Iterable[str] | None,
    _statuses,
    "filter the history by status, e.g. working, filled",
)


def _market(*params: Param) -> tuple[Param, ...]:
    required = tuple(p for p in params if p.required)
    optional = tuple(p for p in params if not p.required)
    return (CODE, *required, EXCHANGE, GROUP, *optional, FORMAT)


def _portfolio(*params: Param) -> tuple[Param, ...]:
    return (PORTFOLIO, EXCHANGE, SKIP_HISTORY, *params, FORMAT)


_BOOK_DEPTH = Param(
    "depth",
    "depth",
    int | None,
    _bounded(1, ORDER_BOOK_MAX_DEPTH),
    "levels a side (1-50, server default 20)",
)
_TRADES_DEPTH = Param(
    "depth",
    "depth",
    int | None,
    _bounded(0, ALL_TRADES_MAX_DEPTH),
    "past trades sent first (max 5000)",
)
_TF = Param("tf", "tf", int | str, _timeframe, "candle length: seconds, or D, W, M, Y", REQUIRED)
_FROM = Param(
    "from_time",
    "from",
    int | datetime,
    check_unix_seconds,
    "open of the first candle: unix seconds or an aware datetime",
    REQUIRED,
)
_SPLIT_ADJUST = Param(
    "split_adjust",
    "splitAdjust",
    bool | None,
    check_flag,
    "adjust the history for splits",
    server_default=True,
)
# Not in the documentation: the spellings of the broker's SDK enum (reference 2, bars).
SLICE_MODES = ("EqualIntervals", "DailyIntervals")


def _slice_mode(name: str, value: Any) -> str:
    raw = value.value if isinstance(value, enum.Enum) else value
    for mode in SLICE_MODES:
        if isinstance(raw, str) and raw.lower() == mode.lower():
            return mode
    raise InvalidArgumentError(
        f"{name} must be one of {', '.join(SLICE_MODES)} (any casing), got {value!r}"
    )


_SLICE_MODE = Param(
    "slice_mode",
    "sliceMode",
    str | None,
    _slice_mode,
    "how candles are cut: EqualIntervals or DailyIntervals (SDK only, undocumented)",
)
_VIRTUAL = Param(
    "include_virtual_trades",
    "includeVirtualTrades",
    bool | None,
    check_flag,
    "include virtual trades",
)


def _portfolio_spec(
    opcode: Opcode,
    name: str,
    model: type,
    doc: tuple[str, str, str],
    *extra: Param,
    latest_wins: bool = False,
    replay: ReplayRule = ReplayRule.SNAPSHOT,
) -> StreamSpec:
    method_doc, request_doc, summary = doc
    params = _portfolio(*extra)
    return StreamSpec(
        opcode, name, "portfolio", params, model, latest_wins, replay, method_doc, request_doc,
        summary,
    )  # fmt: skip


_ALL: tuple[StreamSpec, ...] = (
    StreamSpec(
        Opcode.ORDER_BOOK,
        "order_book",
        "symbol",
        _market(_BOOK_DEPTH, FREQUENCY),
        OrderBook,
        latest_wins=True,
        replay=ReplayRule.SNAPSHOT,
        doc="Order book of ``symbol``: every frame the whole book up to ``depth`` (1..50, default"
        "\n20); a slow callback gets the latest book (older ones are conflated, never queued).",
        request_doc="``OrderBookGetAndSubscribe``: the whole book up to ``depth`` (1..50, server "
        "default 20).\n\n``frequency`` is the conflation interval in ms (server default 175); "
        "values below the\nper-format minimum (:data:`MIN_FREQUENCY_MS`) are sent as given and "
        "raised by the server.",
        summary="order book (whole book each frame)",
    ),
    StreamSpec(
        Opcode.BARS,
        "bars",
        "symbol",
        _market(_TF, _FROM, SKIP_HISTORY, _SPLIT_ADJUST, _SLICE_MODE, FREQUENCY),
        Bar,
        latest_wins=False,
        replay=ReplayRule.BAR_TIMES,
        doc="Candles of ``tf`` (seconds or ``D``/``W``/``M``/``Y``) from ``from_time``, then "
        "live;\nthe current candle is re-sent with the same ``time`` until a new one starts.",
        request_doc="``BarsGetAndSubscribe``: candles of ``tf`` (seconds, or "
        "``D``/``W``/``M``/``Y``).\n\n``from_time`` (wire ``from``) is the open of the first "
        "candle wanted, unix seconds or an\naware datetime. ``split_adjust`` defaults to true on "
        "the server.",
        summary="candles from --from, then live",
    ),
    StreamSpec(
        Opcode.QUOTES,
        "quotes",
        "symbol",
        _market(FREQUENCY),
        Quote,
        latest_wins=True,
        replay=ReplayRule.SNAPSHOT,
        doc="Quote (ticker summary) of ``symbol``; latest-wins when the callback is slow.",
        request_doc="``QuotesSubscribe``: a full quote object per frame, conflated to "
        "``frequency`` ms.",
        summary="quote summary",
    ),
    StreamSpec(
        Opcode.ALL_TRADES,
        "all_trades",
        "symbol",
        _market(_TRADES_DEPTH, _VIRTUAL),
        AllTrade,
        latest_wins=False,
        replay=ReplayRule.IDS,
        doc="The anonymous trade tape of ``symbol``; ``depth`` last trades (max 5000) come first.",
        request_doc="``AllTradesGetAndSubscribe``: the trade tape; ``depth`` (0..5000) past "
        "trades first.",
        summary="the exchange's trade tape",
    ),
    StreamSpec(
        Opcode.INSTRUMENTS,
        "instruments",
        "symbol",
        _market(),
        Instrument,
        latest_wins=False,
        replay=ReplayRule.SNAPSHOT,
        doc="Instrument attributes: the full object first, then partial updates (changed fields).",
        request_doc="``InstrumentsGetAndSubscribeV2``: the full instrument, then only changed "
        "fields.",
        summary="instrument attributes (full, then changes)",
    ),
    _portfolio_spec(
        Opcode.POSITIONS,
        "positions",
        Position,
        (
            "Positions of ``portfolio`` (money included): all first, then every change.",
            "``PositionsGetAndSubscribeV2``: every position (unless ``skip_history``), then "
            "changes.",
            "positions, money included",
        ),
    ),
    _portfolio_spec(
        Opcode.SUMMARIES,
        "summaries",
        Summary,
        (
            "Portfolio summary (buying power, evaluation, P&L); latest-wins.",
            "``SummariesGetAndSubscribeV2``: the portfolio summary, resent when it changes.",
            "portfolio summary (buying power, P&L)",
        ),
        latest_wins=True,
    ),
    _portfolio_spec(
        Opcode.RISKS,
        "risks",
        Risk,
        (
            "Portfolio risk figures; latest-wins.",
            "``RisksGetAndSubscribe``: the portfolio's risk figures.",
            "portfolio risk figures",
        ),
        latest_wins=True,
    ),
    _portfolio_spec(
        Opcode.SPECTRA_RISKS,
        "spectra_risks",
        SpectraRisk,
        (
            "Derivatives (FORTS) risks of a ``75...`` portfolio; latest-wins.",
            "``SpectraRisksGetAndSubscribe``: FORTS (derivatives) risk figures.",
            "derivatives (FORTS) risks",
        ),
        latest_wins=True,
    ),
    _portfolio_spec(
        Opcode.TRADES,
        "trades",
        Trade,
        (
            "Own trades of ``portfolio``: the session's first, then each new one.",
            "``TradesGetAndSubscribeV2``: the portfolio's own trades.",
            "own trades",
        ),
        replay=ReplayRule.IDS,
    ),
    _portfolio_spec(
        Opcode.ORDERS,
        "orders",
        Order,
        (
            "Market and limit orders of ``portfolio``; ``order_statuses`` filters the history.",
            "``OrdersGetAndSubscribeV2``; ``order_statuses`` filters the initial history only.",
            "market and limit orders",
        ),
        ORDER_STATUSES,
    ),
    _portfolio_spec(
        Opcode.STOP_ORDERS,
        "stop_orders",
        StopOrder,
        (
            "Stop and stop-limit orders of ``portfolio``; ``order_statuses`` filters the history.",
            "``StopOrdersGetAndSubscribeV2``: conditional orders; same parameters as orders.",
            "stop and stop-limit orders",
        ),
        ORDER_STATUSES,
    ),
)

SPECS: dict[Opcode, StreamSpec] = {spec.opcode: spec for spec in _ALL}
"""The twelve subscriptions, in the order of :class:`~alor_sync.wire.Opcode`."""
