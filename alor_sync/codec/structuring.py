"""Machinery that turns JSON objects into models and back, given each field's key.

:mod:`alor_sync.codec.converter` owns the wire names and calls this module with them; this module
builds cattrs converters (the general path, with strict key checking) and generated straight-line
decoders (the fast path for the hot market-data streams).

Rules of this module:

* No wire name appears here: every builder takes ``names`` (model field -> JSON key). A field
  missing from ``names`` is one the format does not carry: decoding leaves its default, encoding
  leaves it out.
* Builders run once per stream, format and mode; what they return is immutable and may be called
  from any thread concurrently.
* Decoders raise whatever the coercers raise (``TypeError``, ``ValueError``, ``KeyError``, cattrs
  validation errors); the converter translates them into ``DecodeError`` at its boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from itertools import repeat
from operator import itemgetter
from types import NoneType
from typing import Any, TypeAlias, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from alor_sync.models.market import BookSide
from alor_sync.models.values import (
    Coercer,
    ScalarDecoding,
    model_hints,
    model_type,
    scalar_decoding,
    to_decimal,
    to_float,
    to_int,
    to_wire_time,
)

__all__ = [
    "Decoder",
    "Encoder",
    "FieldDecodeError",
    "Names",
    "build_converter",
    "cattrs_decoder",
    "cattrs_encoder",
    "fast_decoder",
]

Names: TypeAlias = Mapping[str, str]
"""Model field -> JSON key, for the fields one format carries."""
Decoder: TypeAlias = Callable[[Any], Any]
"""A function from one JSON object (a ``dict``) to its model."""
Encoder: TypeAlias = Callable[[Any], dict[str, Any]]
StructureHook: TypeAlias = Callable[[Any, Any], Any]


@attrs.frozen
class _Field:
    name: str
    type: Any
    default: Any


def _fields_of(model: type) -> list[_Field]:
    """Init fields of an attrs class, in order, with resolved types."""
    hints = model_hints(model)
    return [_Field(a.name, hints[a.name], a.default) for a in attrs.fields(model)]


def _tuple_element(tp: Any) -> Any:
    """``X`` for ``tuple[X, ...]``, else None."""
    if get_origin(tp) is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
    return None


# --- cattrs converters ------------------------------------------------------------------------
def build_converter(
    *, nested: Mapping[type, Names], level_names: Names, exact: bool, strict: bool
) -> cattrs.Converter:
    """A converter for one format and mode: scalar, nested-model and order-book-side hooks.

    ``strict`` forbids keys no field takes and enum values no member matches.
    """
    converter = cattrs.Converter(
        detailed_validation=True,
        forbid_extra_keys=strict,
        unstruct_collection_overrides={tuple: list},
    )

    def scalar_hook(tp: Any) -> StructureHook:
        scalar = scalar_decoding(tp, exact=exact, strict=strict)
        assert scalar is not None
        return _scalar_hook(scalar)

    converter.register_structure_hook_factory(
        lambda tp: scalar_decoding(tp, exact=exact, strict=strict) is not None, scalar_hook
    )
    for plain in (str, int, bool, datetime):
        # cattrs dispatches these classes before any factory; its own hooks would accept
        # anything (``str({})``, ``bool("no")``), so replace them.
        converter.register_structure_hook(plain, scalar_hook(plain))
    converter.register_structure_hook_factory(
        lambda tp: _tuple_element(tp) is not None,
        lambda tp: _list_of(converter.get_structure_hook(_tuple_element(tp)), _tuple_element(tp)),
    )
    converter.register_unstructure_hook_func(
        lambda tp: isinstance(tp, type) and issubclass(tp, StrEnum), lambda member: member.value
    )
    converter.register_unstructure_hook(Decimal, float)
    converter.register_unstructure_hook(datetime, to_wire_time)
    for model, names in nested.items():
        _register_nested(converter, model, names)
    side_decoder = book_side_decoder(level_names, exact=exact, strict=strict)
    converter.register_structure_hook_func(
        _is_model(BookSide), lambda value, _: side_decoder(value)
    )
    converter.register_unstructure_hook_func(_is_model(BookSide), book_side_encoder(level_names))
    return converter


def _scalar_hook(scalar: ScalarDecoding) -> StructureHook:
    coerce = scalar.coerce
    if scalar.optional:
        return lambda value, _: None if value is None else coerce(value)
    return lambda value, _: coerce(value)


def _list_of(element: StructureHook, element_type: Any) -> StructureHook:
    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if value.__class__ is not list:
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")
        return tuple([element(item, element_type) for item in value])

    return structure


def _only_dicts(hook: StructureHook, what: str) -> StructureHook:
    def structure(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object for {what}, got {type(value).__name__}")
        return hook(value, tp)

    return structure


def _overrides(model: type, names: Names) -> dict[str, Any]:
    return {
        f.name: override(rename=names[f.name]) if f.name in names else override(omit=True)
        for f in _fields_of(model)
    }


def _is_model(model: type) -> Callable[[Any], bool]:
    """A cattrs predicate for ``model`` and its parameterisations: a parent's field
    ``RepoFields[P]`` reaches cattrs as ``RepoFields[Number]``, which must get the same hooks."""
    return lambda tp: tp is model or get_origin(tp) is model


def _register_nested(converter: cattrs.Converter, model: type, names: Names) -> None:
    overrides = _overrides(model, names)
    typed = model_type(model)
    structure: StructureHook = make_dict_structure_fn(typed, converter, **overrides)
    unstructure: Callable[[Any], Any] = make_dict_unstructure_fn(typed, converter, **overrides)
    structure = _only_dicts(structure, model.__name__)
    converter.register_structure_hook_func(_is_model(model), structure)
    converter.register_unstructure_hook_func(_is_model(model), unstructure)


def cattrs_decoder(model: type, names: Names, converter: cattrs.Converter) -> Decoder:
    """The converter's decoder of ``model`` with keys ``names`` (detailed validation errors)."""
    overrides = _overrides(model, names)
    for field in _fields_of(model):
        if field.name in names and field.default == () and _tuple_element(field.type):
            # A list with an empty default: null means "none", not an error.
            hook = converter.get_structure_hook(field.type)
            overrides[field.name] = override(
                rename=names[field.name], struct_hook=_null_as_empty(hook)
            )
    structure: StructureHook = make_dict_structure_fn(model_type(model), converter, **overrides)

    def decode(data: Any) -> Any:
        return structure(data, model)

    return decode


def _null_as_empty(hook: StructureHook) -> StructureHook:
    return lambda value, tp: () if value is None else hook(value, tp)


def cattrs_encoder(model: type, names: Names, converter: cattrs.Converter) -> Encoder:
    """``model`` -> JSON object with keys ``names``; fields not in ``names`` are left out."""
    unstructure: Encoder = make_dict_unstructure_fn(
        model_type(model), converter, **_overrides(model, names)
    )
    return unstructure


# --- the fast path ----------------------------------------------------------------------------
class FieldDecodeError(ValueError):
    """One field of a JSON object could not be decoded; the message names the field and key."""


@attrs.frozen
class _Slot:
    """How the fast decoder fills one model field."""

    field: str
    key: str
    coerce: Coercer
    fast: type | None
    optional: bool
    required: bool


def fast_decoder(model: type, names: Names, level_names: Names, *, exact: bool) -> Decoder:
    """Generate a straight-line lenient decoder for a flat ``model`` (no nested models).

    Each field costs one dict lookup and one class test; a coercer runs only for a value that is
    not already of the model's type (or null), so a typical frame calls no Python function but
    the model's constructor (and the order-book side decoders). When anything fails, the
    fields are checked one by one to raise a :class:`FieldDecodeError` naming the culprit.
    """
    namespace: dict[str, Any] = {"model": model}
    body, args, slots = [], [], []
    for i, field in enumerate(_fields_of(model)):
        key = names.get(field.name)
        if key is None:
            namespace[f"default{i}"] = field.default
            args.append(f"default{i}")
            continue
        slot = _slot(field, key, level_names, exact)
        slots.append(slot)
        namespace[f"coerce{i}"] = slot.coerce
        body.append(f"v{i} = d[{key!r}]" if slot.required else f"v{i} = get({key!r})")
        tests = [f"v{i} is not None"] if slot.optional else []
        if slot.fast is not None:
            namespace[f"class{i}"] = slot.fast
            tests.append(f"v{i}.__class__ is not class{i}")
        if tests:
            body.append(f"if {' and '.join(tests)}:")
            body.append(f"    v{i} = coerce{i}(v{i})")
        else:
            body.append(f"v{i} = coerce{i}(v{i})")
        args.append(f"v{i}")
    body.append(f"return model({', '.join(args)})")
    namespace["diagnose"] = partial(_diagnose, tuple(slots))
    lines = ["def decode(d):", "    try:", "        get = d.get"]
    lines += [f"        {line}" for line in body]
    lines += ["    except Exception:", "        diagnose(d)", "        raise"]
    source = "\n".join(lines)
    exec(compile(source, f"<alor_sync fast decoder of {model.__name__}>", "exec"), namespace)
    decoder: Decoder = namespace["decode"]
    return decoder


def _diagnose(slots: tuple[_Slot, ...], data: Mapping[str, Any]) -> None:
    """Raise a :class:`FieldDecodeError` for the first field of ``data`` that fails, if any."""
    for slot in slots:
        where = f"@ $.{slot.field} ({slot.key!r})"
        if slot.key not in data:
            if slot.required:
                raise FieldDecodeError(f"required field missing {where}")
            continue
        value = data[slot.key]
        if value is None and slot.optional:
            continue
        try:
            slot.coerce(value)
        except Exception as exc:
            raise FieldDecodeError(f"{str(exc) or type(exc).__name__} {where}") from exc


def _slot(field: _Field, key: str, level_names: Names, exact: bool) -> _Slot:
    required = field.default is attrs.NOTHING
    if field.type is BookSide:
        side = book_side_decoder(level_names, exact=exact, strict=False)
        return _Slot(field.name, key, side, None, False, required)
    scalar = scalar_decoding(field.type, exact=exact, strict=False)
    if scalar is None:
        raise TypeError(f"{field.name}: {field.type} is not a scalar; use cattrs_decoder")
    return _Slot(field.name, key, scalar.coerce, scalar.fast, scalar.optional, required)


# --- order book sides: the hot spot, hand-written ---------------------------------------------
_ONLY_FLOAT = frozenset({float})
_ONLY_INT = frozenset({int})
_ONLY_NONE = frozenset({NoneType})
_FLOAT_OR_NONE = frozenset({float, NoneType})


def book_side_decoder(
    level_names: Names, *, exact: bool, strict: bool
) -> Callable[[Any], BookSide]:
    """Decode a JSON array of price levels column by column, with C-level loops.

    Each column is gathered with ``map`` and type-checked as a whole; only a column holding
    something other than the usual JSON type (an integer price, a string...) is coerced item by
    item. No row object is built: :class:`BookSide` keeps the columns.
    """
    get_price = itemgetter(level_names["price"])
    get_volume = itemgetter(level_names["volume"])
    yield_key = level_names.get("yield_")
    allowed = frozenset(level_names.values())
    number = to_decimal if exact else to_float

    def decode_side(rows: Any) -> BookSide:
        if rows.__class__ is not list:
            raise TypeError(f"expected a JSON array of price levels, got {type(rows).__name__}")
        if strict:
            _check_level_keys(rows, allowed)
        try:
            prices = tuple(map(get_price, rows))
            volumes = tuple(map(get_volume, rows))
        except KeyError as exc:
            raise ValueError(f"a price level lacks {exc.args[0]!r}") from exc
        if exact or not _ONLY_FLOAT.issuperset(map(type, prices)):
            prices = tuple(map(number, prices))
        if not _ONLY_INT.issuperset(map(type, volumes)):
            volumes = tuple(map(to_int, volumes))
        yields = None
        if yield_key is not None:
            yields = tuple(map(dict.get, rows, repeat(yield_key)))
            if _ONLY_NONE.issuperset(map(type, yields)):
                yields = None
            elif exact or not _FLOAT_OR_NONE.issuperset(map(type, yields)):
                yields = tuple([None if y is None else number(y) for y in yields])
        return BookSide(prices, volumes, yields)

    return decode_side


def _check_level_keys(rows: list[Any], allowed: frozenset[str]) -> None:
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"expected a JSON object for a price level, got {type(row).__name__}")
        extra = row.keys() - allowed
        if extra:
            raise ValueError(f"unknown price-level fields: {', '.join(sorted(extra))}")


def book_side_encoder(level_names: Names) -> Callable[[BookSide], list[dict[str, Any]]]:
    """:class:`BookSide` -> JSON array of price levels (a yield only where a level has one)."""
    price, volume = level_names["price"], level_names["volume"]
    yield_key = level_names.get("yield_")

    def encode_side(side: BookSide) -> list[dict[str, Any]]:
        rows = []
        for level in side:
            row = {price: float(level.price), volume: level.volume}
            if yield_key is not None and level.yield_ is not None:
                row[yield_key] = float(level.yield_)
            rows.append(row)
        return rows

    return encode_side
