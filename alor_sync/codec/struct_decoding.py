"""Whole data frames (bytes or text) -> models in one pass: msgspec structs, then generated code.

:mod:`alor_sync.codec.converter` calls this module with each stream's wire names; this module
builds, per stream, format and mode, a ``msgspec`` struct of the frame
(``{"data": {...}, "guid": ...}``) and a generated function that turns the decoded struct into
the model. It skips the ``orjson`` dict, which costs as much as the whole struct decode (measured in
``benchmarks/decode_paths.py``).

Rules of this module:

* This path is an accelerator, never a second set of rules: the structs accept exactly the JSON
  types the models hold (a float for a price, an int for a volume, a string for a time or an
  enum); anything else, and any error at all, goes to ``fallback`` (the general lenient path,
  which decodes it or raises the error it always raised). So a frame decodes to an equal model
  through either path, and a malformed one fails the same way.
* No wire name appears here: every builder takes ``names`` (model field -> JSON key).
* Builders run once per stream, format and mode; what they return is immutable and may be called
  from any thread concurrently (the decimal cache is a dict whose races only recompute a value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, TypeAlias, Union, get_args, get_origin

import attrs
import msgspec

from alor_sync.models.market import BookSide
from alor_sync.models.values import enum_coercer, model_hints, to_datetime, to_decimal, to_str

__all__ = ["FrameDecoder", "frame_decoder", "supports"]

Names: TypeAlias = Mapping[str, str]
FrameDecoder: TypeAlias = Callable[[Any, str], Any]
"""``decode(raw, guid) -> model`` for one whole data frame (``str`` or ``bytes``)."""

_DECIMAL_CACHE_LIMIT = 1 << 16


class _DecimalCache(dict[Any, Decimal]):
    """float (or int) -> the Decimal the general path makes of it, built on first sight.

    Exact mode: ``Decimal(repr(x))`` costs about 300 ns and a depth-20 book carries 40 prices,
    most of them repeated from the book before; a dict lookup costs a tenth of that. Bounded:
    cleared when full. An int and an equal float share an entry: their Decimals are equal.
    """

    def __missing__(self, key: Any) -> Decimal:
        if len(self) >= _DECIMAL_CACHE_LIMIT:
            self.clear()
        value = to_decimal(key)
        self[key] = value
        return value


_decimals = _DecimalCache()


def _union_members(tp: Any) -> tuple[set[Any], bool]:
    if get_origin(tp) in (Union, UnionType):
        args = set(get_args(tp))
        optional = NoneType in args
        args.discard(NoneType)
        return args, optional
    return {tp}, False


@attrs.frozen
class _Plan:
    """How one model field is decoded: its struct type and the expression that converts it."""

    struct_type: Any
    convert: str  # a format string over the value's expression, e.g. "dec[{}]"
    optional: bool


def _plan(tp: Any, exact: bool) -> _Plan | None:
    members, optional = _union_members(tp)
    if members == {float, Decimal}:
        # Exact: keep ints as ints (Decimal(int) is exact; a float would round big ones).
        if exact:
            return _Plan(int | float, "dec[{}]", optional)
        return _Plan(float, "{}", optional)
    if len(members) == 1:
        (only,) = members
        if only in (int, bool):
            return _Plan(only, "{}", optional)
        if only is str:  # ids sent as numbers ("orderno": 0) are printed exactly
            return _Plan(str | int, "{0} if {0}.__class__ is str else to_str({0})", optional)
        if only is datetime:
            return _Plan(str, "to_datetime({})", optional)
    enums = [m for m in members if isinstance(m, type) and issubclass(m, StrEnum)]
    if len(members) == 2 and str in members and len(enums) == 1:
        return _Plan(str, f"enum_{enums[0].__name__}({{}})", optional)
    return None


def supports(model: type) -> bool:
    """True when every field of ``model`` is a scalar this module decodes, or a book side, and
    every default is None (a missing key decodes to the struct's None)."""
    hints = model_hints(model)
    return all(
        (hints[a.name] is BookSide or _plan(hints[a.name], False) is not None)
        and (a.default is attrs.NOTHING or a.default is None)
        for a in attrs.fields(model)
    )


def _level_struct(level_names: Names, exact: bool) -> type:
    number: Any = int | float if exact else float
    fields: list[Any] = [("price", number), ("volume", int)]
    if "yield_" in level_names:
        fields.append(("yield_", number | None, None))
    rename = {f[0]: level_names[f[0]] for f in fields}
    return msgspec.defstruct("Level", fields, kw_only=True, gc=False, rename=rename)


def _side_expression(i: int, exact: bool, with_yields: bool) -> list[str]:
    """Lines that build ``side{i}`` (a BookSide) from the level structs in ``v{i}``."""
    price = "dec[x.price]" if exact else "x.price"
    lines = [
        f"side{i} = BookSide(tuple([{price} for x in v{i}]), tuple([x.volume for x in v{i}]),"
        + (f" yields{i})" if with_yields else " None)")
    ]
    if with_yields:
        value = "None if x.yield_ is None else dec[x.yield_]" if exact else "x.yield_"
        lines[:0] = [
            f"yields{i} = tuple([{value} for x in v{i}])",
            f"if yields{i}.count(None) == len(yields{i}): yields{i} = None",
        ]
    return lines


@attrs.frozen
class _FieldCode:
    """One model field in the generated decoder: its struct field, lines and constructor arg."""

    struct_field: tuple[Any, ...] | None  # None: the format lacks it, the model default is used
    lines: tuple[str, ...]
    arg: str


def _field_code(
    i: int, attribute: Any, tp: Any, key: str | None, level_names: Names, *, exact: bool,
    namespace: dict[str, Any],
) -> _FieldCode:  # fmt: skip
    """The code of model field ``i`` (struct field ``f{i}``, local ``v{i}``)."""
    if key is None:
        namespace[f"default{i}"] = attribute.default
        return _FieldCode(None, (), f"default{i}")
    required = attribute.default is attrs.NOTHING
    if tp is BookSide:
        level = _level_struct(level_names, exact)
        levels: Any = list[level]  # type: ignore[valid-type]
        lines = (f"v{i} = data.f{i}", *_side_expression(i, exact, "yield_" in level_names))
        return _FieldCode(_struct_field(f"f{i}", levels, required), lines, f"side{i}")
    plan = _plan(tp, exact)
    if plan is None:
        raise TypeError(f"{attribute.name}: {tp} is not supported; check supports() first")
    for enum in _union_members(tp)[0]:
        if isinstance(enum, type) and issubclass(enum, StrEnum):
            namespace[f"enum_{enum.__name__}"] = enum_coercer(enum, strict=False)
    struct_type = plan.struct_type | None if plan.optional else plan.struct_type
    field = _struct_field(f"f{i}", struct_type, required)
    if plan.convert == "{}":
        return _FieldCode(field, (), f"data.f{i}")  # already the model's type: no code at all
    converted = plan.convert.format(f"v{i}")
    if plan.optional:
        converted = f"None if v{i} is None else {converted}"
    return _FieldCode(field, (f"v{i} = data.f{i}", f"v{i} = {converted}"), f"v{i}")


def frame_decoder(
    model: type, names: Names, level_names: Names, *, exact: bool, fallback: FrameDecoder
) -> FrameDecoder:
    """Generate the one-pass decoder of ``model``'s frames (see :func:`supports`).

    ``fallback(raw, guid)`` handles every frame the structs do not take as they are: a guid that
    names another subscription, a value of another JSON type than the model's, a missing field,
    anything that is not a data frame.
    """
    hints = model_hints(model)
    namespace: dict[str, Any] = {
        "model": model, "BookSide": BookSide, "dec": _decimals, "fallback": fallback,
        "to_datetime": to_datetime, "to_str": to_str,
    }  # fmt: skip
    codes = [
        _field_code(i, a, hints[a.name], names.get(a.name), level_names, exact=exact,
                    namespace=namespace)
        for i, a in enumerate(attrs.fields(model))
    ]  # fmt: skip
    fields = [code.struct_field for code in codes if code.struct_field is not None]
    rename = {f"f{i}": names[a.name] for i, a in enumerate(attrs.fields(model)) if a.name in names}
    # gc=False: these structs hold only scalars and lists of level structs, never a cycle.
    data_struct = msgspec.defstruct(
        f"{model.__name__}Data", fields, kw_only=True, gc=False, rename=rename
    )
    frame_struct = msgspec.defstruct(
        f"{model.__name__}Frame", [("data", data_struct), ("guid", str)], gc=False
    )
    namespace["decode_frame"] = msgspec.json.Decoder(frame_struct).decode
    lines = [
        "def decode(raw, guid):",
        "    try:",
        "        frame = decode_frame(raw)",
        "        if frame.guid == guid:",
        "            data = frame.data",
        *(f"            {line}" for code in codes for line in code.lines),
        f"            return model({', '.join(code.arg for code in codes)})",
        "    except Exception:",
        "        pass  # the general path decodes it, or raises what it always raised",
        "    return fallback(raw, guid)",
    ]
    source = "\n".join(lines)
    exec(compile(source, f"<alor_sync frame decoder of {model.__name__}>", "exec"), namespace)
    decoder: FrameDecoder = namespace["decode"]
    return decoder


def _struct_field(name: str, tp: Any, required: bool) -> tuple[Any, ...]:
    return (name, tp) if required else (name, tp, None)
