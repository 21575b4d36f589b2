"""Reading ``/cws`` order commands: from a JSON body to a checked request, or a 400 with a reason.

Rules of this module:

* Everything a command body can get wrong is found here, before the account changes any state:
  a rejected command has no effect at all.
* Enum-like strings (order type, ``side``, ``timeInForce``, ``condition``, exchange) are read in any
  casing; requests carry them lower-cased (exchange upper-cased).
* Every reply text of the account is a module constant here, so that the documentation can quote
  them and tests can compare against them.

Pure functions; no state, no clock of its own (``now`` is passed in).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast, get_args

import attrs

from alor_sync.emulator.orders import Condition, TimeInForce
from alor_sync.emulator.venue import InstrumentInfo, MarketView, Side

__all__ = [
    "CREATED_MESSAGE",
    "DELETED_MESSAGE",
    "FX_BOARDS",
    "INSUFFICIENT_FUNDS_MESSAGE",
    "INSUFFICIENT_MARGIN_MESSAGE",
    "INSUFFICIENT_POSITION_MESSAGE",
    "NOT_FOUND_HTTP_CODE",
    "NOT_WORKING_MESSAGE",
    "ORDER_NOT_FOUND_MESSAGE",
    "PRICE_STEP_MESSAGE",
    "QUANTITY_MESSAGE",
    "UNKNOWN_OPCODE_MESSAGE",
    "UPDATED_MESSAGE",
    "CancelRequest",
    "CommandRejected",
    "MarketKind",
    "OrderKind",
    "OrderRequest",
    "market_of",
    "parse_cancel",
    "parse_command_opcode",
    "parse_order",
    "parse_order_id",
]

MarketKind = Literal["stock", "fx", "derivatives"]
OrderKind = Literal["market", "limit", "stop", "stoplimit"]
Action = Literal["create", "update", "delete"]

# Texts of the reference (SWG field examples), with the real number in place of '12345'.
CREATED_MESSAGE = "An order '{}' has been created."
UPDATED_MESSAGE = "An order has been updated. New order Id is '{}'."
DELETED_MESSAGE = "An order '{}' has been deleted."
QUANTITY_MESSAGE = "Invalid or unsupported quantity"
# The broker's own text (SWG stop-order ``error`` example); used for price and triggerPrice.
PRICE_STEP_MESSAGE = "Цена не кратна минимальному шагу цены."
# Our choices: the reference knows no texts for these.
NOT_FOUND_HTTP_CODE = 404
ORDER_NOT_FOUND_MESSAGE = "Order '{}' not found in portfolio {} on {}"
INSUFFICIENT_FUNDS_MESSAGE = (
    "Insufficient buying power: the order needs {needed} {currency}, {available} available "
    "(allowMargin=true trades on margin)"
)
INSUFFICIENT_POSITION_MESSAGE = (
    "Insufficient position: selling {lots} lots of {symbol}, {available} available "
    "(allowMargin=true sells short)"
)
INSUFFICIENT_MARGIN_MESSAGE = (
    "Insufficient free money for the initial margin: the order needs {needed}, {free} free"
)
NOT_WORKING_MESSAGE = "Order '{}' is already {} and cannot be changed"
UNKNOWN_OPCODE_MESSAGE = (
    "Unknown command '{}': expected create|update|delete:market|limit|stop|stopLimit"
)

# Boards of the MOEX currency market: their instruments are traded on "G" portfolios.
FX_BOARDS = frozenset({"CETS", "CNGD"})
MAX_COMMENT_LENGTH = 100
MAX_PROTECTING_SECONDS = 300

_KINDS: dict[str, OrderKind] = {k: k for k in get_args(OrderKind)}
_ACTIONS: dict[str, Action] = {a: a for a in get_args(Action)}
_TIME_IN_FORCE = frozenset(get_args(TimeInForce))
_CONDITIONS = frozenset(get_args(Condition))


class CommandRejected(Exception):
    """A command cannot be executed; becomes a reply with ``http_code`` and ``message``."""

    def __init__(self, message: str, http_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.http_code = http_code


@attrs.frozen(kw_only=True)
class OrderRequest:
    """A checked create/update body (an update also carries ``order_id``)."""

    kind: OrderKind
    portfolio: str
    instrument: InstrumentInfo
    side: Side
    lots: int
    price: Decimal | None  # limit and stop-limit only
    time_in_force: TimeInForce
    allow_margin: bool
    comment: str | None
    iceberg_fixed: int | None
    iceberg_variance: int | None
    condition: Condition | None  # stop kinds only, as are the fields below
    trigger_price: Decimal | None
    expires_at: float | None
    protecting_seconds: int | None
    activate: bool


@attrs.frozen
class CancelRequest:
    """A checked delete body."""

    order_id: str
    portfolio: str
    exchange: str


def parse_command_opcode(opcode: str) -> tuple[Action, OrderKind]:
    """``create:stopLimit`` -> ("create", "stoplimit"); the type part in any casing."""
    action, _, kind = str(opcode).partition(":")
    found_action = _ACTIONS.get(action.lower())
    found_kind = _KINDS.get(kind.lower())
    if found_action is None or found_kind is None:
        raise CommandRejected(UNKNOWN_OPCODE_MESSAGE.format(opcode))
    return found_action, found_kind


def market_of(instrument: InstrumentInfo) -> MarketKind:
    """Which kind of portfolio trades this instrument (prefixes D, G, 75 of the reference)."""
    if instrument.kind == "future":
        return "derivatives"
    if instrument.board in FX_BOARDS:
        return "fx"
    return "stock"


def parse_order(
    kind: OrderKind,
    command: Mapping[str, Any],
    *,
    market: MarketView,
    portfolio_market: Callable[[str, str], MarketKind | None],
    now: float,
) -> OrderRequest:
    """Check a create/update body of order type ``kind``; raise :class:`CommandRejected`."""
    portfolio = _portfolio(command)
    instrument = _instrument(command, market)
    _check_portfolio_trades(portfolio, instrument, portfolio_market)
    stop_kind = kind in ("stop", "stoplimit")
    price = _price(command, "price", instrument) if kind in ("limit", "stoplimit") else None
    time_in_force = _time_in_force(command, instrument)
    iceberg_fixed = _optional_int(command, "icebergFixed", minimum=1)
    return OrderRequest(
        kind=kind,
        portfolio=portfolio,
        instrument=instrument,
        side=_side(command),
        lots=_quantity(command),
        price=price,
        time_in_force=time_in_force,
        allow_margin=_flag(command, "allowMargin", default=False),
        comment=_comment(command),
        iceberg_fixed=iceberg_fixed if kind in ("limit", "stoplimit") else None,
        iceberg_variance=_optional_int(command, "icebergVariance", minimum=0)
        if iceberg_fixed is not None and kind in ("limit", "stoplimit")
        else None,
        condition=_condition(command) if stop_kind else None,
        trigger_price=_price(command, "triggerPrice", instrument) if stop_kind else None,
        expires_at=_expiry(command, now) if stop_kind else None,
        protecting_seconds=_optional_int(
            command, "protectingSeconds", minimum=1, maximum=MAX_PROTECTING_SECONDS
        )
        if stop_kind
        else None,
        activate=_flag(command, "activate", default=True),
    )


def parse_order_id(command: Mapping[str, Any]) -> str:
    """The ``orderId`` of an update or delete, as a string of digits."""
    value = command.get("orderId")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise CommandRejected("Field 'orderId' is required (the order number as a string)")
    return value.strip()


def parse_cancel(command: Mapping[str, Any]) -> CancelRequest:
    """Check a delete body: ``orderId``, ``exchange``, ``user.portfolio``."""
    exchange = command.get("exchange")
    if not isinstance(exchange, str) or not exchange:
        raise CommandRejected("Field 'exchange' is required (MOEX or SPBX)")
    return CancelRequest(parse_order_id(command), _portfolio(command), exchange.upper())


# -- fields ------------------------------------------------------------------------------------


def _portfolio(command: Mapping[str, Any]) -> str:
    user = command.get("user")
    portfolio = user.get("portfolio") if isinstance(user, Mapping) else None
    if not isinstance(portfolio, str) or not portfolio:
        raise CommandRejected("Field 'user.portfolio' is required")
    return portfolio


def _instrument(command: Mapping[str, Any], market: MarketView) -> InstrumentInfo:
    spec = command.get("instrument")
    if not isinstance(spec, Mapping):
        raise CommandRejected(
            "Field 'instrument' is required: {symbol, exchange[, instrumentGroup]}"
        )
    symbol, exchange = spec.get("symbol"), spec.get("exchange")
    if not isinstance(symbol, str) or not symbol or not isinstance(exchange, str) or not exchange:
        raise CommandRejected("Fields 'instrument.symbol' and 'instrument.exchange' are required")
    board = spec.get("instrumentGroup") or command.get("board")
    found = market.instrument(exchange.upper(), symbol)
    if found is None or (isinstance(board, str) and board.upper() != found.board.upper()):
        where = f"{exchange.upper()}" + (f" board {board}" if board else "")
        raise CommandRejected(f"Unknown instrument {symbol} on {where}")
    return found


def _check_portfolio_trades(
    portfolio: str,
    instrument: InstrumentInfo,
    portfolio_market: Callable[[str, str], MarketKind | None],
) -> None:
    served = portfolio_market(portfolio, instrument.exchange)
    if served is None:
        raise CommandRejected(f"Unknown portfolio {portfolio} on {instrument.exchange}")
    wanted = market_of(instrument)
    if served != wanted:
        raise CommandRejected(
            f"Portfolio {portfolio} ({served} market) cannot trade {instrument.symbol} "
            f"({wanted} market)"
        )


def _side(command: Mapping[str, Any]) -> Side:
    side = command.get("side")
    if isinstance(side, str) and side.lower() in ("buy", "sell"):
        return cast(Side, side.lower())
    raise CommandRejected(f"Field 'side' must be 'buy' or 'sell', not {side!r}")


def _quantity(command: Mapping[str, Any]) -> int:
    value = command.get("quantity")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CommandRejected(QUANTITY_MESSAGE)
    return value


def _price(command: Mapping[str, Any], field: str, instrument: InstrumentInfo) -> Decimal:
    value = command.get(field)
    if value is None:
        raise CommandRejected(f"Field '{field}' is required")
    try:
        price = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite() or price <= 0:
        raise CommandRejected(f"Field '{field}' must be a positive number, not {value!r}")
    if price % instrument.price_step != 0:
        raise CommandRejected(PRICE_STEP_MESSAGE)
    return price


def _time_in_force(command: Mapping[str, Any], instrument: InstrumentInfo) -> TimeInForce:
    value = command.get("timeInForce")
    if value is None:
        return "oneday"
    lowered = value.lower() if isinstance(value, str) else None
    if lowered not in _TIME_IN_FORCE:
        allowed = ", ".join(sorted(_TIME_IN_FORCE))
        raise CommandRejected(f"Field 'timeInForce' must be one of {allowed}, not {value!r}")
    if lowered == "goodtillcancelled" and instrument.kind != "future":
        raise CommandRejected("timeInForce 'goodtillcancelled' is only for derivatives")
    if lowered == "attheclose" and instrument.exchange == "MOEX":
        return "fillorkill"  # documented: MOEX turns at-the-close into fill-or-kill
    return cast(TimeInForce, lowered)


def _condition(command: Mapping[str, Any]) -> Condition:
    value = command.get("condition")
    lowered = value.lower() if isinstance(value, str) else None
    if lowered not in _CONDITIONS:
        raise CommandRejected(
            f"Field 'condition' must be More, Less, MoreOrEqual or LessOrEqual, not {value!r}"
        )
    return cast(Condition, lowered)


def _expiry(command: Mapping[str, Any], now: float) -> float | None:
    value = command.get("stopEndUnixTime")
    if value is None or value == 0:
        return None  # AlorPy sends 0 for "no expiry"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CommandRejected(f"Field 'stopEndUnixTime' must be unix seconds, not {value!r}")
    if value <= now:
        raise CommandRejected(f"Field 'stopEndUnixTime' ({value}) is in the past")
    return float(value)


def _comment(command: Mapping[str, Any]) -> str | None:
    value = command.get("comment")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_COMMENT_LENGTH:
        raise CommandRejected(
            f"Field 'comment' must be a string of at most {MAX_COMMENT_LENGTH} chars"
        )
    return value


def _flag(command: Mapping[str, Any], field: str, *, default: bool) -> bool:
    value = command.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise CommandRejected(f"Field '{field}' must be true or false, not {value!r}")
    return value


def _optional_int(
    command: Mapping[str, Any], field: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    value = command.get(field)
    if value is None:
        return None
    too_big = maximum is not None and isinstance(value, int) and value > maximum
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or too_big:
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise CommandRejected(f"Field '{field}' must be an integer {bounds}, not {value!r}")
    return value
