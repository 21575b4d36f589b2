"""The one-pass frame decoder gives what the general path gives, for everything it may meet.

``frame_decoder_for(op, fmt)(raw, guid)`` must equal ``decoder_for(op, fmt)(data_payload(raw,
guid))`` on every sample, on generated models of every stream and format, and on payloads made
hostile the way the reference allows (numbers as strings, integral floats, enum casing, nulls,
extra keys), and must fail with the same error and message where the general path fails.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alor_sync.codec import decimal_cache, wire_tables
from alor_sync.codec import struct_decoding as one_pass
from alor_sync.codec.converter import (
    decoder_for,
    encode,
    frame_decoder_for,
    model_for,
)
from alor_sync.data import session as session_module
from alor_sync.emulator import Emulator
from alor_sync.errors import AlorError
from alor_sync.models import BookSide, OrderBook, OrderBookLevel
from alor_sync.protocol.frames import data_payload
from alor_sync.wire import Format, Opcode
from tests.client_helpers import WAIT, Recorder, running
from tests.test_converter_roundtrip import FORMATS, STREAMS, _expected, _strategy

SAMPLES = sorted((Path(__file__).resolve().parent / "samples").glob("*.data.json"))
GUID = "c328fcf1-e495-408a-a0ed-e20f95d6b813"


def _types(value: Any) -> Any:
    """The type of ``value`` and, within models and tuples, of every part: what ``==`` ignores."""
    if attrs.has(type(value)):
        return type(value), tuple(_types(getattr(value, a.name)) for a in attrs.fields(type(value)))
    if isinstance(value, BookSide):  # its columns, and its rows as indexing gives them
        columns = (value.prices, value.volumes, value.yields)
        return BookSide, _types(columns), _types([value[i] for i in range(len(value))])
    if isinstance(value, tuple | list | frozenset):
        return type(value), tuple(_types(item) for item in value)
    return type(value)


class _Same:
    """A decoded model that equals another only if every field's type is the same too: ``==``
    alone takes ``Decimal("257") == 257.0``, so an accelerated path could build a look-alike.

    Not the repr: exact mode's cache gives an integral float such as ``258.0`` the Decimal of an
    int ``258`` seen before (``Decimal("258")``, equal, same type; documented in
    ``alor_sync/codec/struct_decoding.py``).
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, model: Any) -> None:
        self.model = model

    def __eq__(self, other: object) -> bool:
        theirs = other.model if isinstance(other, _Same) else other
        return self.model == theirs and _types(self.model) == _types(theirs)

    def __repr__(self) -> str:
        return repr(self.model)


def _outcome(decode: Callable[[], Any]) -> tuple[Any, Any]:
    """("ok", model) or (error class, message): what a caller of either path observes."""
    try:
        return "ok", _Same(decode())
    except AlorError as exc:
        return type(exc), str(exc)


def _both(opcode: str, fmt: str, raw: bytes | str, guid: str, exact: bool) -> tuple[Any, Any]:
    general = decoder_for(opcode, fmt, exact=exact)
    new = _outcome(lambda: frame_decoder_for(opcode, fmt, exact=exact)(raw, guid))
    old = _outcome(lambda: general(data_payload(raw, guid)))
    return new, old


def _frame(data: Any, guid: str = GUID) -> bytes:
    return json.dumps({"data": data, "guid": guid}).encode()  # json: ints beyond 64 bits too


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_decodes_equally_through_both_paths(path: Path, exact: bool) -> None:
    opcode, fmt = path.name.split(".")[:2]
    raw = path.read_bytes()
    new, old = _both(opcode, fmt, raw, orjson.loads(raw)["guid"], exact)
    assert new[0] == "ok"
    assert new == old
    text_new, _ = _both(opcode, fmt, raw.decode(), orjson.loads(raw)["guid"], exact)
    assert text_new == new  # the network thread hands over text, tests often bytes


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("opcode", STREAMS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_generated_payloads_decode_equally_through_both_paths(
    opcode: str, exact: bool, data: st.DataObject
) -> None:
    model = data.draw(_strategy(opcode, exact))
    for fmt in FORMATS:
        raw = _frame(encode(opcode, fmt, model))
        new, old = _both(opcode, fmt, raw, GUID, exact)
        assert new == old == ("ok", _expected(model, opcode, fmt))


# --- hostile payloads -----------------------------------------------------------------------
_HOT = [(op, fmt) for op in ("OrderBookGetAndSubscribe", "QuotesSubscribe",
        "AllTradesGetAndSubscribe", "BarsGetAndSubscribe") for fmt in FORMATS]  # fmt: skip


def _sample_data(opcode: str, fmt: str) -> dict[str, Any]:
    path = next(p for p in SAMPLES if p.name.startswith(f"{opcode}.{fmt}."))
    data: dict[str, Any] = orjson.loads(path.read_bytes())["data"]
    return data


_HUGE = 2**70 + 1  # beyond 64 bits: orjson reads it as a float, msgspec as the exact int


def _mutations(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The sample with one thing made the way a lenient decoder must still take (or refuse)."""
    out = [("unknown key", {**data, "someNewField": {"x": [1, None]}})]
    for key, value in data.items():
        if isinstance(value, bool):
            out.append((f"{key} as string", {**data, key: str(value).lower()}))
        elif isinstance(value, int):
            out += [(f"{key} as float", {**data, key: float(value)}),
                    (f"{key} as string", {**data, key: str(value)}),
                    (f"{key} huge", {**data, key: _HUGE})]  # fmt: skip
        elif isinstance(value, float):
            out += [(f"{key} as string", {**data, key: repr(value)}),
                    (f"{key} integral", {**data, key: 7})]  # fmt: skip
        elif isinstance(value, str):
            out += [(f"{key} upper", {**data, key: value.upper()}),
                    (f"{key} as number", {**data, key: 12})]  # fmt: skip
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            level = value[0]
            first = next(iter(level))
            spelled = {**level, first: str(level[first])}
            without = {k: v for k, v in level.items() if k != first}
            out += [(f"{key} level as string", {**data, key: [spelled]}),
                    (f"{key} level without {first}", {**data, key: [without]}),
                    (f"{key} level null", {**data, key: [None]}),
                    (f"{key} level extra", {**data, key: [{**level, "zz": 1}]}),
                    (f"{key} null", {**data, key: None})]  # fmt: skip
        out += [(f"{key} null", {**data, key: None}),
                (f"{key} missing", {k: v for k, v in data.items() if k != key}),
                (f"{key} object", {**data, key: {"a": 1}})]  # fmt: skip
    return out


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize(("opcode", "fmt"), _HOT)
def test_hostile_payloads_decode_or_fail_alike_through_both_paths(
    opcode: str, fmt: str, exact: bool
) -> None:
    mismatches = []
    for what, data in _mutations(_sample_data(opcode, fmt)):
        new, old = _both(opcode, fmt, _frame(data), GUID, exact)
        if what.endswith("huge") and new != old:
            # The one difference, on the one-pass side's favour: the general path gets orjson's
            # float of the number; the one-pass path keeps every digit (an int, or its Decimal).
            exact_forms = {_HUGE, str(_HUGE)}  # a number, its Decimal, or an id string
            assert new[0] == "ok" and exact_forms & set(vars_of(new[1]).values()), what
            assert old[0] != "ok" or not exact_forms & set(vars_of(old[1]).values()), what
            continue
        if new != old:
            mismatches.append((what, new, old))
    assert not mismatches


def vars_of(model: Any) -> dict[str, Any]:
    return attrs.asdict(model.model if isinstance(model, _Same) else model, recurse=False)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"data": [], "guid": "' + GUID.encode() + b'"}',
        b'{"data": {"bids": [], "asks": []}, "guid": "another"}',
        b'{"data": {"bids": [], "asks": []}}',
        b'{"httpCode": 200, "requestGuid": "x", "message": "ok"}',
        b'{"data": {"bids": [], "asks": []}, "guid": "' + GUID.encode() + b'"',
    ],
)
def test_frames_that_are_not_this_subscriptions_data_fail_alike(raw: bytes) -> None:
    new, old = _both("OrderBookGetAndSubscribe", "Simple", raw, GUID, False)
    assert new[0] != "ok"
    assert new == old


# --- the one-pass path is the one taken ---------------------------------------------------
def _refusing(raw: Any, guid: str) -> Any:
    raise AssertionError("the general path was taken")


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize(("opcode", "fmt"), _HOT)
def test_samples_of_hot_streams_never_need_the_general_path(
    opcode: str, fmt: str, exact: bool
) -> None:
    model, rows = wire_tables.STREAMS[opcode]
    fmt_ = Format(fmt)
    decode = one_pass.frame_decoder(
        model,
        wire_tables.field_names(rows, fmt_),
        wire_tables.field_names(wire_tables.LEVEL, fmt_),
        exact=exact,
        fallback=_refusing,
    )
    data = _sample_data(opcode, fmt)
    expected = decoder_for(opcode, fmt, exact=exact)(data)
    assert decode(_frame(data), GUID) == expected
    assert decode(_frame(data).decode(), GUID) == expected


def test_streams_whose_models_the_structs_cannot_hold_use_the_general_path() -> None:
    for opcode, fmt in itertools.product(STREAMS, FORMATS):
        model = model_for(opcode)
        takes = one_pass.supports(model)
        assert takes == (model.__name__ not in {"Instrument", "Summary", "Trade", "Order",
                                                "StopOrder"}), model  # fmt: skip
        assert callable(frame_decoder_for(opcode, fmt))


def test_exact_mode_prices_are_decimals_of_the_wire_digits() -> None:
    frame = _frame({"b": [{"p": 0.1, "v": 1}, {"p": 257, "v": 2}], "a": [], "t": 1, "h": False})
    book = frame_decoder_for(Opcode.ORDER_BOOK, "Slim", exact=True)(frame, GUID)
    assert isinstance(book, OrderBook)
    assert book.bids.prices == (Decimal("0.1"), Decimal("257"))
    assert all(type(price) is Decimal for price in book.bids.prices)
    assert book.bids.yields is None


def test_the_decimal_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: dict[Any, Decimal] = {}
    monkeypatch.setattr(decimal_cache, "DECIMALS", cache)
    monkeypatch.setattr(decimal_cache, "LIMIT", 8)
    values = [decimal_cache.cached_decimal(n / 4) for n in range(20)]
    assert values == [Decimal(repr(n / 4)) for n in range(20)]
    assert 0 < len(cache) <= 8


def test_exact_mode_fills_the_decimal_cache_on_a_miss() -> None:
    price = 123456.015625  # a float no other test decodes: not cached yet
    decimal_cache.DECIMALS.pop(price, None)
    frame = _frame({"b": [{"p": price, "v": 1}], "a": [{"p": price, "v": 2}], "t": 1, "h": False})
    decode = frame_decoder_for(Opcode.ORDER_BOOK, "Slim", exact=True)
    for _ in range(2):  # the miss, then the hit
        book = decode(frame, GUID)
        assert book == decoder_for(Opcode.ORDER_BOOK, "Slim", exact=True)(
            orjson.loads(frame)["data"]
        )
        assert book.bids.prices == (Decimal("123456.015625"),)
        assert decimal_cache.DECIMALS[price] == Decimal("123456.015625")


# --- the client's workers use it ----------------------------------------------------------
def test_the_client_decodes_routed_frames_through_the_one_pass_decoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def counting(opcode: str, fmt: str, *, exact: bool = False) -> Any:
        decode = frame_decoder_for(opcode, fmt, exact=exact)

        def decode_counted(raw: Any, guid: str) -> Any:
            calls.append(guid)
            return decode(raw, guid)

        return decode_counted

    monkeypatch.setattr(session_module, "frame_decoder_for", counting)
    with Emulator(speed=0) as emu, running(emu) as client:
        books = Recorder()
        handle = client.subscribe_order_book("SBER", books, depth=5)
        handle.wait_active(WAIT)
        assert books.wait_count(1)
        assert all(isinstance(book, OrderBook) for book in books.items)
        assert calls and set(calls) == {handle.guid}


# --- building models through their slots ----------------------------------------------------
@attrs.frozen
class _Plain:
    a: int
    b: str | None = None


@attrs.frozen
class _Checked:
    a: int = attrs.field(validator=attrs.validators.gt(0))


@attrs.frozen(cache_hash=True)
class _CachedHash:
    a: int


@attrs.frozen(slots=False)
class _DictClass:
    a: int


def test_slot_setters_build_what_the_constructor_builds() -> None:
    setters = one_pass._slot_setters(_Plain)
    assert setters is not None
    built = object.__new__(_Plain)
    for setter, value in zip(setters, (1, "x"), strict=True):
        setter(built, value)
    assert built == _Plain(1, "x") and hash(built) == hash(_Plain(1, "x"))
    assert repr(built) == repr(_Plain(1, "x"))


@pytest.mark.parametrize("cls", [_Checked, _CachedHash, _DictClass, OrderBookLevel])
def test_classes_whose_init_does_more_are_built_by_their_init(cls: type) -> None:
    assert one_pass._slot_setters(cls) is None


def test_every_one_pass_model_is_built_through_its_slots() -> None:
    for opcode in STREAMS:
        model = model_for(opcode)
        if one_pass.supports(model):
            assert one_pass._slot_setters(model) is not None, model
