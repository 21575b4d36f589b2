"""Whole data frames (bytes or text) -> models in one pass: msgspec structs, then generated code.

:mod:`alor_sync.codec.converter` calls this module with each stream's wire names; this module
builds, per stream, format and mode, a ``msgspec`` struct of the frame
(``{"data": {...}, "guid": ...}``) and a generated function that turns the decoded struct into
the model. It skips the ``orjson`` dict, which costs as much as the whole struct decode (measured in
``benchmarks/decode_paths.py``), and builds the frozen attrs models through their slots
(``object.__new__`` and each slot's setter) wherever their ``__init__`` would do nothing more.

Rules of this module:

* This path is an accelerator, never a second set of rules: the structs accept exactly the JSON
  types the models hold (a float for a price, an int for a volume, a string for a time or an
  enum); anything else, and any error at all, goes to ``fallback`` (the general lenient path,
  which decodes it or raises the error it always raised). So a frame decodes to an equal model
  through either path, and a malformed one fails the same way.
* No wire name appears here: every builder takes ``names`` (model field -> JSON key).
* Builders run once per stream, format and mode; what they return is immutable and may be called
  from any thread concurrently (the decimal cache is a dict whose races only recompute a value,
  or clear it while another thread reads: that read misses and fills it again).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MemberDescriptorType, NoneType, UnionType
from typing import Any, TypeAlias, Union, get_args, get_origin

import attrs
import msgspec

from alor_sync.codec.book_levels import SIDE_NAMESPACE, level_struct, side_lines
from alor_sync.models.market import BookSide
from alor_sync.models.values import enum_coercer, model_hints, to_datetime, to_str

__all__ = ["FrameDecoder", "frame_decoder", "supports"]

Names: TypeAlias = Mapping[str, str]
FrameDecoder: TypeAlias = Callable[[Any, str], Any]
"""``decode(raw, guid) -> model`` for one whole data frame (``str`` or ``bytes``)."""


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
    convert: str  # a format string over the value's expression, e.g. "decimal({})"
    optional: bool


def _plan(tp: Any, exact: bool) -> _Plan | None:
    members, optional = _union_members(tp)
    if members == {float, Decimal}:
        # Exact: keep ints as ints (Decimal(int) is exact; a float would round big ones).
        if exact:
            return _Plan(int | float, "decimal({})", optional)
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


def _slot_setters(cls: type) -> list[Callable[[Any, Any], None]] | None:
    """The setters of ``cls``'s field slots, in field order, when an instance may be built as
    ``object.__new__(cls)`` plus one setter call per field; else None (use ``cls(...)``).

    That is what a frozen slotted attrs ``__init__`` does, minus its per-field
    ``object.__setattr__`` lookups: about half the cost (``benchmarks/decode_paths.py``). Only
    for classes whose ``__init__`` does nothing else: no validator, converter or init hooks.
    """
    if not attrs.has(cls) or any("cached_hash" in name for name in getattr(cls, "__slots__", ())):
        return None  # a cached hash is one more slot that __init__ fills
    fields = attrs.fields(cls)
    if any(a.validator is not None or a.converter is not None or not a.init for a in fields):
        return None
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        return None
    slots = [inspect.getattr_static(cls, a.name, None) for a in fields]
    if not all(isinstance(slot, MemberDescriptorType) for slot in slots):
        return None  # not slotted (a dict class): its __init__ is the only way
    return [slot.__set__ for slot in slots]


@attrs.frozen
class _FieldCode:
    """One model field in the generated decoder: its struct field, lines and constructor arg."""

    struct_field: tuple[Any, ...] | None  # None: the format lacks it, the model default is used
    lines: tuple[str, ...]
    arg: str


def _field_code(
    i: int, attribute: Any, tp: Any, key: str | None, level_names: Names, *, exact: bool,
    namespace: dict[str, Any], sides: str, columns: str, construct: str,
) -> _FieldCode:  # fmt: skip
    """The code of model field ``i`` (struct field ``f{i}``, local ``v{i}``)."""
    if key is None:
        namespace[f"default{i}"] = attribute.default
        return _FieldCode(None, (), f"default{i}")
    required = attribute.default is attrs.NOTHING
    if tp is BookSide:
        level = level_struct(level_names, exact)
        levels: Any = tuple[level, ...]  # type: ignore[valid-type]  # a plain tuple: kept rows
        with_yields = "yield_" in level_names
        built = side_lines(i, exact, with_yields, sides=sides, columns=columns, construct=construct)
        lines = (f"v{i} = data.f{i}", *built)
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
    model: type, names: Names, level_names: Names, *, exact: bool, fallback: FrameDecoder,
    sides: str = "rows", construct: str = "slots", columns: str = "comprehension",
) -> FrameDecoder:  # fmt: skip
    """Generate the one-pass decoder of ``model``'s frames (see :func:`supports`).

    ``fallback(raw, guid)`` handles every frame the structs do not take as they are: a guid that
    names another subscription, a value of another JSON type than the model's, a missing field,
    anything that is not a data frame.

    ``sides``, ``construct`` and ``columns`` choose between ways of building the same model,
    for ``benchmarks/decode_paths.py`` to measure against each other: book sides that keep the
    decoded ``"rows"`` or gather their ``"columns"`` at once (see
    :func:`~alor_sync.codec.book_levels.side_lines`); the models through ``"slots"``
    (object.__new__ and slot setters) or ``"init"`` (the class's ``__init__``); eager columns by
    ``"comprehension"`` or one ``"loop"`` per side. The defaults are the fastest measured.
    """
    hints = model_hints(model)
    namespace: dict[str, Any] = {
        **SIDE_NAMESPACE, "model": model,  # with dec, decimal and new: scalars use them too
        "fallback": fallback, "to_datetime": to_datetime, "to_str": to_str,
    }  # fmt: skip
    codes = [
        _field_code(i, a, hints[a.name], names.get(a.name), level_names, exact=exact,
                    namespace=namespace, sides=sides, columns=columns, construct=construct)
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
        *(f"            {line}" for line in _construction(model, codes, construct, namespace)),
        "    except Exception:",
        "        pass  # the general path decodes it, or raises what it always raised",
        "    return fallback(raw, guid)",
    ]
    source = "\n".join(lines)
    namespace["__source__"] = source  # for a reader of a traceback or a profile
    exec(compile(source, f"<alor_sync frame decoder of {model.__name__}>", "exec"), namespace)
    decoder: FrameDecoder = namespace["decode"]
    return decoder


def _struct_field(name: str, tp: Any, required: bool) -> tuple[Any, ...]:
    return (name, tp) if required else (name, tp, None)


def _construction(
    model: type, codes: list[_FieldCode], construct: str, namespace: dict[str, Any]
) -> list[str]:
    """The lines that build and return the model from the fields' expressions."""
    args = [code.arg for code in codes]
    setters = _slot_setters(model) if construct == "slots" else None
    if setters is None:
        return [f"return model({', '.join(args)})"]
    for i, setter in enumerate(setters):
        namespace[f"set{i}"] = setter
    return [
        "obj = new(model)",
        *(f"set{i}(obj, {arg})" for i, arg in enumerate(args)),
        "return obj",
    ]
