"""Enumerations of the ALOR data streams.

Rules of this module:

* Values are spelled as the API schema spells them (lowercase for order attributes, PascalCase for
  risk attributes); parsing is case-insensitive (``Condition("LessOrEqual")`` is
  ``Condition.LESS_OR_EQUAL``) because the server's casing is inconsistent.
* A model field that holds one of these enums is typed ``<Enum> | str``: when the server sends a
  value this library does not know yet, lenient decoding keeps the server's raw string instead of
  failing (strict decoding raises). Compare with ``==`` (members are ``str``), or test membership
  with ``isinstance(value, Side)``.
* The exchange stays a plain ``str`` in the models (new exchanges appear); :class:`Exchange` only
  names the known ones.

Members are immutable and safe to share between threads.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

__all__ = [
    "ClientType",
    "Condition",
    "Exchange",
    "OrderStatus",
    "OrderType",
    "RiskStatus",
    "Side",
    "StopOrderType",
    "TimeInForce",
    "TradingStatus",
]


class _CaseInsensitiveEnum(StrEnum):
    """A ``StrEnum`` whose constructor also accepts its values in any casing."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            folded = value.casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return None


class Exchange(_CaseInsensitiveEnum):
    """Exchanges the API names today (model fields keep the exchange as ``str``)."""

    MOEX = "MOEX"
    SPBX = "SPBX"


class Side(_CaseInsensitiveEnum):
    """Side of an order or trade."""

    BUY = "buy"
    SELL = "sell"


class OrderStatus(_CaseInsensitiveEnum):
    """Status of an order or a stop order."""

    WORKING = "working"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"


class OrderType(_CaseInsensitiveEnum):
    """Type of an exchange order."""

    LIMIT = "limit"
    MARKET = "market"


class StopOrderType(_CaseInsensitiveEnum):
    """Type of a conditional order: a stop (market) or a stop-limit order."""

    STOP = "stop"
    STOP_LIMIT = "stoplimit"


class Condition(_CaseInsensitiveEnum):
    """How a stop order's trigger compares the last price with its stop price."""

    MORE = "more"
    LESS = "less"
    MORE_OR_EQUAL = "moreorequal"
    LESS_OR_EQUAL = "lessorequal"


class TimeInForce(_CaseInsensitiveEnum):
    """How long an order stays active."""

    ONE_DAY = "oneday"
    IMMEDIATE_OR_CANCEL = "immediateorcancel"
    FILL_OR_KILL = "fillorkill"
    AT_THE_CLOSE = "attheclose"
    GOOD_TILL_CANCELLED = "goodtillcancelled"
    BOOK_OR_CANCEL = "bookorcancel"


class ClientType(_CaseInsensitiveEnum):
    """Risk category of the client (risks stream)."""

    LOW_RISK = "LowRisk"
    STANDARD_RISK = "StandardRisk"
    HIGH_RISK = "HighRisk"
    SPECIAL = "Special"


class RiskStatus(_CaseInsensitiveEnum):
    """Margin state of a portfolio (risks stream)."""

    OK = "Ok"
    DEMAND = "Demand"
    TO_CLOSE = "ToClose"


class TradingStatus(IntEnum):
    """Known trading-status codes of the instruments stream.

    :attr:`alor_sync.models.Instrument.trading_status` stays a plain ``int`` (codes may be added);
    compare it with these members.
    """

    BREAK = 2
    NORMAL_TRADING = 17
    CLOSED = 18
    CLOSING_AUCTION = 102
    CLOSING_PERIOD = 103
    LARGE_LOT_AUCTION = 106
    DISCRETE_AUCTION = 107
    OPENING_PERIOD = 118
    OPENING_AUCTION = 119
    CLOSING_AUCTION_PRICE_TRADING = 120
