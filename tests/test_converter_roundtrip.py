"""Property: any model, encoded to any format and sent through JSON, decodes back equal.

Models are generated from their own type hints, so a field added to a model is covered without
touching this file. Fields a format does not carry are expected back as their default.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alor_sync.codec.converter import (
    STOP_ORDERS_V1,
    decode,
    decoder_for,
    encode,
    model_for,
    wire_names,
)
from alor_sync.errors import DecodeError
from alor_sync.models import BookSide, Instrument, OrderBookLevel
from alor_sync.models.values import model_hints
from alor_sync.wire import SUBSCRIPTION_OPCODES

STREAMS = [*(str(op) for op in SUBSCRIPTION_OPCODES), STOP_ORDERS_V1]
FORMATS = ["Simple", "Slim", "Heavy"]

# At most 15 significant digits: the precision exact mode promises to keep through a float.
_DECIMALS = st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent),
    st.integers(-(10**15 - 1), 10**15 - 1),
    st.integers(-8, 4),
)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_INT64 = st.integers(-(2**63), 2**63 - 1)


def _number(exact: bool) -> st.SearchStrategy[Any]:
    return _DECIMALS if exact else _FLOATS


def _unknown_value(enum: type[StrEnum]) -> st.SearchStrategy[str]:
    known = {member.value.casefold() for member in enum}
    return st.text(max_size=12).filter(lambda text: text.casefold() not in known)


def _book_side(exact: bool, with_yields: bool) -> st.SearchStrategy[BookSide]:
    yields = st.none() | _number(exact) if with_yields else st.none()
    level = st.builds(OrderBookLevel, _number(exact), _INT64, yields)
    return st.lists(level, max_size=4).map(BookSide.from_levels)


def _for_type(tp: Any, exact: bool, with_yields: bool) -> st.SearchStrategy[Any]:
    if get_origin(tp) in (Union, UnionType):
        args = set(get_args(tp))
        optional = NoneType in args
        args.discard(NoneType)
        if args == {float, Decimal}:
            base = _number(exact)
        elif len(args) == 1:
            base = _for_type(args.pop(), exact, with_yields)
        else:
            (enum,) = (a for a in args if isinstance(a, type) and issubclass(a, StrEnum))
            base = st.sampled_from(list(enum)) | _unknown_value(enum)
        return st.none() | base if optional else base
    if get_origin(tp) is tuple:
        element = _for_type(get_args(tp)[0], exact, with_yields)
        return st.lists(element, max_size=3).map(tuple)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        int: _INT64,
        str: st.text(max_size=12),
        bool: st.booleans(),
        datetime: st.datetimes(timezones=st.just(UTC)),
    }
    if tp in simple:
        return simple[tp]
    if tp is BookSide:
        return _book_side(exact, with_yields)
    assert attrs.has(tp), tp
    return _model(tp, exact, with_yields)


def _model(model: type, exact: bool, with_yields: bool) -> st.SearchStrategy[Any]:
    hints = model_hints(model)
    fields = {
        a.name: _for_type(hints[a.name], exact, with_yields)
        for a in attrs.fields(model)
        if a.name != "fields"
    }
    return st.builds(model, **fields)


@st.composite
def _instrument(draw: st.DrawFn, exact: bool) -> Instrument:
    """An instrument frame: full or partial, ``fields`` naming exactly what it carries."""
    hints = model_hints(Instrument)
    optional = [a.name for a in attrs.fields(Instrument) if a.name not in ("symbol", "fields")]
    present = draw(st.sets(st.sampled_from(optional)))
    values = {name: draw(_for_type(hints[name], exact, False)) for name in present}
    symbol = draw(st.text(max_size=12))
    return Instrument(symbol=symbol, **values, fields=frozenset({"symbol", *present}))


def _expected(model: Any, opcode: str, fmt: str) -> Any:
    """``model`` as ``fmt`` can carry it: other fields back at their defaults."""
    carried = wire_names(opcode, fmt)
    changes: dict[str, Any] = {}
    for a in attrs.fields(type(model)):
        value = getattr(model, a.name)
        if a.name not in carried and a.name != "fields":
            changes[a.name] = a.default
        elif isinstance(value, BookSide) and fmt != "Slim":
            changes[a.name] = BookSide(value.prices, value.volumes)  # only Slim carries yields
    return attrs.evolve(model, **changes)


@functools.cache
def _strategy(opcode: str, exact: bool) -> st.SearchStrategy[Any]:
    model = model_for(opcode)
    if model is Instrument:
        return _instrument(exact)
    return _model(model, exact, with_yields=True)


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("opcode", STREAMS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_encode_then_decode_gives_the_model_back(
    opcode: str, exact: bool, data: st.DataObject
) -> None:
    model = data.draw(_strategy(opcode, exact))
    for fmt in FORMATS:
        payload = orjson.loads(orjson.dumps(encode(opcode, fmt, model)))
        expected = _expected(model, opcode, fmt)
        assert decoder_for(opcode, fmt, exact=exact)(payload) == expected
        if _has_unknown_enum_value(expected):
            with pytest.raises(DecodeError, match="unknown"):
                decode(opcode, fmt, payload, exact=exact, strict=True)
        else:
            assert decode(opcode, fmt, payload, exact=exact, strict=True) == expected


def _has_unknown_enum_value(model: Any) -> bool:
    """True when an enum field holds a raw string (which strict decoding refuses)."""
    hints = model_hints(type(model))
    for a in attrs.fields(type(model)):
        value = getattr(model, a.name)
        enum_field = any(
            isinstance(t, type) and issubclass(t, StrEnum) for t in get_args(hints[a.name])
        )
        if enum_field and isinstance(value, str) and not isinstance(value, StrEnum):
            return True
    return False
