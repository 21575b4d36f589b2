"""Validation of ``/ws`` subscription requests: a request dict in, a checked request or a 4xx out.

Rules of this module:

* This module owns the request-side wire names of ``/ws``; everything downstream sees
  :class:`MarketRequest` / :class:`AccountRequest` with resolved instruments and clamped numbers.
* A bad request raises :class:`Rejected` with the HTTP code and a message that says what to fix;
  production's exact texts are used where the reference gives them. Unknown extra keys are ignored.
* Casing is lenient where production is: opcodes, ``format``, ``exchange``, enum values.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

from alor_sync.emulator.bars import Timeframe, parse_timeframe
from alor_sync.emulator.market import InstrumentState
from alor_sync.wire import Format, Opcode

__all__ = [
    "ACCOUNT_OPCODES",
    "MARKET_OPCODES",
    "STOP_ORDERS_V1",
    "AccountRequest",
    "MarketRequest",
    "Rejected",
    "ReplayRequest",
    "canonical_opcode",
    "parse_replay_subscription",
    "parse_subscription",
]

STOP_ORDERS_V1 = "StopOrdersGetAndSubscribe"

MARKET_OPCODES = frozenset(
    {Opcode.ORDER_BOOK, Opcode.BARS, Opcode.QUOTES, Opcode.ALL_TRADES, Opcode.INSTRUMENTS}
)
ACCOUNT_OPCODES = frozenset(
    {
        Opcode.POSITIONS.value,
        Opcode.SUMMARIES.value,
        Opcode.RISKS.value,
        Opcode.SPECTRA_RISKS.value,
        Opcode.TRADES.value,
        Opcode.ORDERS.value,
        Opcode.STOP_ORDERS.value,
        STOP_ORDERS_V1,
    }
)
_CONFLATED = frozenset({Opcode.ORDER_BOOK.value, Opcode.BARS.value, Opcode.QUOTES.value})
_WITH_STATUSES = frozenset({Opcode.ORDERS.value, Opcode.STOP_ORDERS.value})
_BY_LOWER: dict[str, str] = {
    name.lower(): name for name in (*(o.value for o in MARKET_OPCODES), *ACCOUNT_OPCODES)
}
_BY_LOWER["alltradessubscribe"] = Opcode.ALL_TRADES.value  # undocumented alias (ASTRAS)

DEFAULT_FREQUENCY_MS = 175
MIN_FREQUENCY_MS = {Format.SIMPLE: 25, Format.SLIM: 10, Format.HEAVY: 500}
BOOK_DEPTH_DEFAULT, BOOK_DEPTH_MAX = 20, 50
TRADES_DEPTH_MAX = 5000
ORDER_STATUSES = ("working", "filled", "canceled", "rejected")
_FORMATS = {f.value.lower(): f for f in Format}
_EXCHANGES = ("MOEX", "SPBX")

Lookup = Callable[[str, str], InstrumentState | None]


class Rejected(Exception):
    """A request the server answers with an error confirmation and no data."""

    def __init__(self, http_code: int, message: str) -> None:
        super().__init__(message)
        self.http_code = http_code
        self.message = message


@attrs.frozen
class MarketRequest:
    """A checked market-data subscription."""

    opcode: str
    state: InstrumentState
    fmt: Format
    depth: int  # order book levels, or all-trades history count
    interval: float  # conflation interval, seconds (0: every change is sent)
    skip_history: bool
    tf: Timeframe | None = None
    since: int = 0


@attrs.frozen
class AccountRequest:
    """A checked portfolio subscription."""

    opcode: str
    portfolio: str
    exchange: str
    fmt: Format
    skip_history: bool
    order_statuses: tuple[str, ...] | None


@attrs.frozen
class ReplayRequest:
    """A subscription to a stream of a recording being replayed (``replay.py``)."""

    opcode: str
    key: str  # the symbol or the portfolio
    exchange: str
    fmt: Format


def canonical_opcode(opcode: str) -> str | None:
    """The documented spelling of a subscription opcode (aliases resolved), or None."""
    return _BY_LOWER.get(opcode.lower())


def _missing(field: str) -> Rejected:
    return Rejected(400, f"Request message should contain '{field}' field!")


def _int(msg: Mapping[str, Any], field: str, default: int, low: int, high: int | None) -> int:
    value = msg.get(field)
    if value is None:
        return default
    valid = not isinstance(value, bool) and isinstance(value, int) and value >= low
    if valid and (high is None or value <= high):
        return int(value)
    expected = f"from {low} to {high}" if high is not None else f">= {low}"
    raise Rejected(400, f"'{field}' must be an integer {expected}, not {value!r}")


def _bool(msg: Mapping[str, Any], field: str, default: bool) -> bool:
    value = msg.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Rejected(400, f"'{field}' must be true or false, not {value!r}")
    return value


def _format(msg: Mapping[str, Any]) -> Format:
    value = msg.get("format")
    if value is None:
        return Format.SIMPLE
    found = _FORMATS.get(value.lower()) if isinstance(value, str) else None
    if found is None:
        raise Rejected(400, f"Unknown format {value!r}: expected Simple, Slim or Heavy")
    return found


def _exchange(msg: Mapping[str, Any]) -> str:
    value = msg.get("exchange")
    if value is None:
        raise _missing("exchange")
    if not isinstance(value, str) or value.upper() not in _EXCHANGES:
        raise Rejected(400, f"Unknown exchange {value!r}: expected MOEX or SPBX")
    return value.upper()


def _interval(msg: Mapping[str, Any], opcode: str, fmt: Format, conflation: bool) -> float:
    if opcode not in _CONFLATED:
        return 0.0
    frequency = _int(msg, "frequency", DEFAULT_FREQUENCY_MS, 0, None)
    if not conflation:
        return 0.0
    # Below the format's minimum the value is clamped, not rejected (clients send 0 by default).
    return max(frequency, MIN_FREQUENCY_MS[fmt]) / 1000.0


def _instrument(msg: Mapping[str, Any], lookup: Lookup) -> InstrumentState:
    exchange = _exchange(msg)
    code = msg.get("code")
    if code is None:
        raise _missing("code")
    state = lookup(exchange, code) if isinstance(code, str) else None
    if state is None:
        raise Rejected(400, f"Unknown instrument {code!r} on exchange {exchange}")
    board = msg.get("instrumentGroup")
    if board is not None and str(board).upper() != state.listing.info.board:
        raise Rejected(
            400,
            f"Instrument {state.listing.info.symbol} is traded on board "
            f"{state.listing.info.board}, not {board!r}",
        )
    return state


def _market(msg: Mapping[str, Any], opcode: str, lookup: Lookup, conflation: bool) -> MarketRequest:
    state = _instrument(msg, lookup)
    fmt = _format(msg)
    interval = _interval(msg, opcode, fmt, conflation)
    skip = _bool(msg, "skipHistory", False)
    if opcode == Opcode.ORDER_BOOK:
        depth = _int(msg, "depth", BOOK_DEPTH_DEFAULT, 1, BOOK_DEPTH_MAX)
        return MarketRequest(opcode, state, fmt, depth, interval, skip)
    if opcode == Opcode.ALL_TRADES:
        depth = _int(msg, "depth", 0, 0, TRADES_DEPTH_MAX)
        _bool(msg, "includeVirtualTrades", True)
        return MarketRequest(opcode, state, fmt, depth, interval, skip)
    if opcode != Opcode.BARS:
        return MarketRequest(opcode, state, fmt, 0, interval, skip)
    if msg.get("tf") is None:
        raise _missing("tf")
    tf = parse_timeframe(msg["tf"])
    if tf is None:
        raise Rejected(
            400, f"'tf' must be a number of seconds or one of D, W, M, Y, not {msg['tf']!r}"
        )
    since = msg.get("from")
    if since is None:
        raise _missing("from")
    if isinstance(since, bool) or not isinstance(since, int | float) or since < 0:
        raise Rejected(400, f"'from' must be unix seconds (a non-negative number), not {since!r}")
    _bool(msg, "splitAdjust", True)
    return MarketRequest(opcode, state, fmt, 0, interval, skip, tf, int(since))


def _statuses(msg: Mapping[str, Any], opcode: str) -> tuple[str, ...] | None:
    value = msg.get("orderStatuses")
    if value is None or opcode not in _WITH_STATUSES:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v.lower() in ORDER_STATUSES for v in value
    ):
        raise Rejected(
            400, f"'orderStatuses' must be a list of {', '.join(ORDER_STATUSES)}, not {value!r}"
        )
    return tuple(v.lower() for v in value)


def _account(
    msg: Mapping[str, Any],
    opcode: str,
    served: Collection[tuple[str, str]],
    allowed: Collection[str],
) -> AccountRequest:
    portfolio = msg.get("portfolio")
    if portfolio is None:
        raise _missing("portfolio")
    exchange = _exchange(msg)
    if not isinstance(portfolio, str) or (portfolio, exchange) not in served:
        raise Rejected(400, f"Unknown portfolio {portfolio!r} on exchange {exchange}")
    if portfolio not in allowed:
        raise Rejected(403, f"Portfolio {portfolio!r} is not allowed by this token")
    fmt = _format(msg)
    skip = _bool(msg, "skipHistory", False)
    return AccountRequest(opcode, portfolio, exchange, fmt, skip, _statuses(msg, opcode))


def parse_subscription(
    msg: Mapping[str, Any],
    opcode: str,
    *,
    lookup: Lookup,
    served: Collection[tuple[str, str]],
    allowed_portfolios: Collection[str],
    conflation: bool = True,
) -> MarketRequest | AccountRequest:
    """Check a subscription request whose token was already verified.

    ``opcode`` is the canonical opcode (see :func:`canonical_opcode`); ``served`` lists the
    (portfolio, exchange) pairs of the account; ``allowed_portfolios`` those the token covers.
    """
    if opcode in ACCOUNT_OPCODES:
        return _account(msg, opcode, served, allowed_portfolios)
    return _market(msg, opcode, lookup, conflation)


def parse_replay_subscription(msg: Mapping[str, Any], opcode: str) -> ReplayRequest:
    """Check a subscription to be served from a recording: only what names the stream matters
    (a recorded instrument need not be one the simulated market lists)."""
    field = "portfolio" if opcode in ACCOUNT_OPCODES else "code"
    key = msg.get(field)
    if not isinstance(key, str) or not key:
        raise _missing(field)
    return ReplayRequest(opcode, key, _exchange(msg), _format(msg))
