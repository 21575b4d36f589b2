"""Argument checks shared by the request builders (private to :mod:`alor_sync.protocol`).

Rules of this module:

* Every check either returns the value in its wire form or raises
  :class:`~alor_sync.errors.InvalidArgumentError` whose message names the argument, says what is
  accepted and shows what was given (never a token: tokens are checked by ``with_token`` alone).
* Enum-like arguments accept any casing, underscores and ``enum.Enum`` members; they come out in
  the lowercase spelling of the reference's schema enums.
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias

from alor_sync.errors import InvalidArgumentError

JsonDict: TypeAlias = dict[str, Any]
EnumLike: TypeAlias = str | enum.Enum
Price: TypeAlias = int | float | Decimal
UnixTime: TypeAlias = int | datetime

COMMENT_MAX_LENGTH = 100
SIDES = ("buy", "sell")
TIMES_IN_FORCE = (
    "oneday",
    "immediateorcancel",
    "fillorkill",
    "attheclose",
    "goodtillcancelled",
    "bookorcancel",
)
CONDITIONS = ("more", "less", "moreorequal", "lessorequal")
ORDER_STATUSES = ("working", "filled", "canceled", "rejected")
TIMEFRAME_LETTERS = ("D", "W", "M", "Y")
PROTECTING_SECONDS = (1, 300)


def check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_guid(value: object) -> str:
    return check_text("guid", value)


def check_integer(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool | float) or not hasattr(value, "__index__"):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    number = operator.index(value)
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgumentError(f"{name} must be {bounds}, got {number}")
    return number


def check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    raw = value.value if isinstance(value, enum.Enum) else value
    if isinstance(raw, str):
        key = raw.lower().replace("_", "")
        if key in allowed:
            return key
    raise InvalidArgumentError(
        f"{name} must be one of {', '.join(allowed)} (any casing), got {value!r}"
    )


def check_price(name: str, value: object) -> Price:
    if value is None:
        raise InvalidArgumentError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidArgumentError(
            f"{name} must be a number (int, float or Decimal), got {value!r}"
        )
    if isinstance(value, Decimal):
        if not value.is_finite() or value <= 0:
            raise InvalidArgumentError(f"{name} must be a positive finite number, got {value}")
        if Decimal(repr(float(value))) != value:
            raise InvalidArgumentError(
                f"{name}={value} has more significant digits than a JSON number carries "
                "exactly (about 15); round it"
            )
        return value
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name} must be a positive finite number, got {value!r}")
    return value


def check_unix_seconds(name: str, value: object) -> int:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise InvalidArgumentError(
                f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc)); "
                "a naive datetime is ambiguous"
            )
        seconds = math.floor(value.timestamp())
        if seconds < 0:
            raise InvalidArgumentError(f"{name} must not be before 1970, got {value.isoformat()}")
        return seconds
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"{name} must be unix seconds (int) or an aware datetime, got {value!r}"
        )
    return check_integer(name, value, 0)


def check_timeframe(value: object) -> str:
    if isinstance(value, str):
        text = value.strip().upper()
        if text in TIMEFRAME_LETTERS:
            return text
        if text.isascii() and text.isdigit() and int(text) > 0:
            return str(int(text))
    elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(int(value))
    raise InvalidArgumentError(
        "tf must be a positive number of seconds (int or numeric string) or one of "
        f"D, W, M, Y; got {value!r}"
    )


def check_order_statuses(value: Iterable[EnumLike] | EnumLike) -> list[str]:
    items: Iterable[object] = [value] if isinstance(value, str | enum.Enum) else value
    if not isinstance(items, Iterable):
        raise InvalidArgumentError(f"order_statuses must be a list of statuses, got {value!r}")
    statuses: list[str] = []
    for item in items:
        status = check_choice("order_statuses", item, ORDER_STATUSES)
        if status not in statuses:
            statuses.append(status)
    if not statuses:
        raise InvalidArgumentError(
            "order_statuses must name at least one status; pass None for every status"
        )
    return statuses


def check_order_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(check_integer("order_id", value, 1))
    return check_text("order_id", value)


def check_comment(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"comment must be a string, got {value!r}")
    if len(value) > COMMENT_MAX_LENGTH:
        raise InvalidArgumentError(
            f"comment must be at most {COMMENT_MAX_LENGTH} characters, got {len(value)}"
        )
    return value


@functools.cache
def _keywords(builder: Callable[..., JsonDict]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(every keyword, required keywords) of a builder, in signature order."""
    params = [p for p in inspect.signature(builder).parameters.values() if p.kind is p.KEYWORD_ONLY]
    required = frozenset(p.name for p in params if p.default is p.empty)
    return tuple(p.name for p in params), required


def call_with_checked_params(
    name: str, builder: Callable[..., JsonDict], guid: str, params: Mapping[str, Any]
) -> JsonDict:
    accepted, required = _keywords(builder)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidArgumentError(
            f"{name} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )
    missing = [p for p in accepted if p in required and p not in params]
    if missing:
        raise InvalidArgumentError(f"{name} needs {', '.join(missing)}")
    return builder(guid, **params)
