"""Value types shared by the models, and their lenient coercion from JSON values.

Rules of this module:

* A coercer takes one value as ``orjson`` produced it (or as a caller typed it) and returns the
  model's type, or raises ``TypeError``/``ValueError``/``ArithmeticError``. Turning those into
  :class:`~alor_sync.errors.DecodeError` is the converter's job, at one boundary.
* Nothing here knows a wire (JSON) name; only value shapes: numbers, ids, ISO-8601 and unix times.
* Integers never pass through ``float`` (ids above 2**53 must stay exact).

Everything here is stateless and safe to call from any thread.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import reduce
from operator import or_
from types import NoneType, UnionType
from typing import Any, TypeAlias, TypeVar, Union, get_args, get_origin, get_type_hints

import attrs
import typing_extensions

__all__ = [
    "UTC",
    "Coercer",
    "Number",
    "P",
    "ScalarDecoding",
    "datetime_from_unix_ms",
    "datetime_from_unix_seconds",
    "enum_coercer",
    "model_hints",
    "model_type",
    "property_hint",
    "scalar_decoding",
    "to_bool",
    "to_datetime",
    "to_decimal",
    "to_float",
    "to_int",
    "to_str",
    "to_wire_time",
]

Number: TypeAlias = float | Decimal
"""Prices and money: ``float`` by default, ``decimal.Decimal`` when decoded with ``exact=True``."""

P = typing_extensions.TypeVar("P", float, Decimal, default=float)
"""The price type a model is generic in: ``Quote[float]`` (or plain ``Quote``) from a default
client, ``Quote[Decimal]`` from ``AlorClient(..., exact=True)``. Type-level only: the runtime
classes are the same in both modes, and decoders see every ``P`` as :data:`Number` (see
:func:`model_hints`). The default (PEP 696) lets ``def on_quote(q: Quote)`` mean the float mode.
"""

E = TypeVar("E", bound=StrEnum)
Coercer: TypeAlias = Callable[[Any], Any]


def _type_error(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {value!r:.60}")


def to_float(value: object) -> float:
    """A JSON number (or numeric string, or Decimal) as ``float``; booleans are refused."""
    if type(value) is float:
        return value
    if isinstance(value, int | str | Decimal) and not isinstance(value, bool):
        result = float(value)
        if not math.isfinite(result):
            raise ValueError(f"expected a finite number, got {value!r:.60}")
        return result
    raise _type_error("a number", value)


def to_decimal(value: object) -> Decimal:
    """A JSON number (or numeric string, or Decimal) as ``Decimal``.

    A float becomes ``Decimal(repr(value))``: the shortest text that round-trips to the same
    float, which equals the digits the server printed for any value of at most 15 significant
    digits (every price and amount the API sends). Strings keep their exact digits.
    """
    if isinstance(value, Decimal):
        return value
    if type(value) is float:
        return Decimal(repr(value))
    if isinstance(value, int | str) and not isinstance(value, bool):
        result = Decimal(value)
        if not result.is_finite():
            raise ValueError(f"expected a finite number, got {value!r:.60}")
        return result
    raise _type_error("a number", value)


def to_int(value: object) -> int:
    """A JSON integer; also an integral float, a decimal-digit string or an integral Decimal."""
    if type(value) is int:
        return value
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise _type_error("an integer", value)


def to_str(value: object) -> str:
    """A JSON string; an integer is accepted too and printed exactly (ids sent as numbers)."""
    if type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return str(value)
    raise _type_error("a string", value)


def to_bool(value: object) -> bool:
    """A JSON boolean (nothing else: ``bool("false")`` would be True)."""
    if value is True or value is False:
        return value
    raise _type_error("a boolean", value)


def to_datetime(value: object) -> datetime:
    """An ISO-8601 text (any number of fractional digits, ``Z``/offset or none) as aware UTC.

    Input without an offset means UTC (the server omits ``Z`` on some frames). Digits beyond the
    sixth fractional one (the server prints seven) are truncated: ``datetime`` holds microseconds.
    """
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise _type_error("an ISO-8601 date-time string", value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def datetime_from_unix_seconds(seconds: int) -> datetime:
    """Unix seconds as an aware UTC ``datetime``."""
    return datetime.fromtimestamp(seconds, UTC)


def datetime_from_unix_ms(milliseconds: int) -> datetime:
    """Unix milliseconds as an aware UTC ``datetime`` (exact: no float rounding)."""
    seconds, ms = divmod(milliseconds, 1000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=ms * 1000)


def enum_coercer(enum_type: type[E], *, strict: bool) -> Callable[[object], E | str]:
    """A coercer from a JSON string to a member of ``enum_type``, matching in any casing.

    An unknown value is returned as the raw string when ``strict`` is false (the server adds
    values over time) and raises ``ValueError`` when it is true.
    """
    by_value: dict[str, E] = {member.value: member for member in enum_type}
    by_folded: dict[str, E] = {member.value.casefold(): member for member in enum_type}

    def coerce(value: object) -> E | str:
        if not isinstance(value, str):
            raise _type_error(f"a {enum_type.__name__} string", value)
        member = by_value.get(value) or by_folded.get(value.casefold())
        if member is not None:
            return member
        if strict:
            raise ValueError(f"unknown {enum_type.__name__} value {value!r:.60}")
        return value

    return coerce


def to_wire_time(value: datetime) -> str:
    """ISO-8601 in UTC with seven fractional digits and ``Z``, as the server prints times."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "0Z"


@attrs.frozen
class ScalarDecoding:
    """How a scalar field type decodes: ``coerce`` converts a JSON value; a value whose class is
    ``fast`` already has the model's type and needs no call; ``optional`` fields accept null."""

    coerce: Coercer
    fast: type | None
    optional: bool


_PLAIN_SCALARS: dict[type, tuple[Coercer, type | None]] = {
    int: (to_int, int),
    str: (to_str, str),
    bool: (to_bool, bool),
    datetime: (to_datetime, None),
}


def _concrete(tp: Any) -> Any:
    """``tp`` with the price variable replaced by :data:`Number` and generic models by their
    runtime class: ``P | None`` -> ``float | Decimal | None``, ``RepoFields[P]`` ->
    ``RepoFields``."""
    if tp is P:
        return Number
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, UnionType):
        return reduce(or_, [_concrete(arg) for arg in args])
    if origin is not None and (attrs.has(origin) or _is_own_class(origin)):
        return origin
    if origin is not None and args:
        return origin[tuple(_concrete(arg) for arg in args)]
    return tp


def _is_own_class(tp: Any) -> bool:
    """A class of this package (``BookSide``, a generic that is not an attrs class), as opposed
    to a parameterised builtin such as ``tuple[int, ...]``."""
    return isinstance(tp, type) and tp.__module__.startswith("alor_sync.")


def model_hints(model: type) -> dict[str, Any]:
    """The resolved field types of ``model`` as decoders see them: no type variable left."""
    return {name: _concrete(tp) for name, tp in get_type_hints(model).items()}


def property_hint(model: type, name: str) -> Any:
    """The resolved type of property ``name`` of ``model`` (what its getter returns)."""
    getter = getattr(model, name).fget
    return _concrete(get_type_hints(getter, vars(sys.modules[model.__module__]))["return"])


def model_type(model: type) -> Any:
    """``model`` as cattrs must be handed it: generic models parameterised with
    :data:`Number` (cattrs refuses an unbound type variable), others unchanged."""
    return model[Number] if getattr(model, "__parameters__", ()) else model  # type: ignore[index]


def _union_members(tp: Any) -> tuple[frozenset[Any], bool]:
    if get_origin(tp) in (Union, UnionType):
        args = get_args(tp)
        return frozenset(a for a in args if a is not NoneType), NoneType in args
    return frozenset({tp}), False


def scalar_decoding(tp: Any, *, exact: bool, strict: bool) -> ScalarDecoding | None:
    """The decoding of a model field type (``Number``, ``int``, ``Side | str``... optionally
    ``| None``), or None when ``tp`` is not a scalar (a nested model, a tuple...)."""
    members, optional = _union_members(tp)
    if members == {float, Decimal}:
        return ScalarDecoding(to_decimal if exact else to_float, None if exact else float, optional)
    if len(members) == 1:
        (only,) = members
        if only in _PLAIN_SCALARS:
            coerce, fast = _PLAIN_SCALARS[only]
            return ScalarDecoding(coerce, fast, optional)
    enums = [m for m in members if isinstance(m, type) and issubclass(m, StrEnum)]
    if len(members) == 2 and str in members and len(enums) == 1:
        return ScalarDecoding(enum_coercer(enums[0], strict=strict), None, optional)
    return None
