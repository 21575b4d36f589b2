"""Every broker sample payload decodes strictly, and nothing in it is silently dropped.

Strict decoding fails on any key no model field takes; re-encoding the model to the sample's
format must then give back the same keys and (after normalising what the wire spells loosely:
id types, enum casing, the seventh fractional digit of times) the same values.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from alor_sync.codec.converter import _stream, decode, decoder_for, encode, model_for
from alor_sync.codec.wire_tables import ALIASES
from alor_sync.models import BookSide, Number
from alor_sync.models.values import to_datetime
from alor_sync.wire import parse_format

# The same directory as conftest's ``samples_dir`` fixture; needed here at collection time.
SAMPLES = sorted((Path(__file__).resolve().parent / "samples").glob("*.data.json"))
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _sample(path: Path) -> tuple[str, str, dict[str, Any]]:
    opcode, fmt = path.name.split(".")[:2]
    frame = orjson.loads(path.read_bytes())
    assert set(frame) == {"data", "guid"}, "a data sample is a whole frame"
    return opcode, fmt, frame["data"]


def _normalised(value: Any) -> Any:
    """What a value means, regardless of how loosely the wire spells it."""
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    if isinstance(value, str):
        if _ISO_TIME.match(value):
            return to_datetime(value)
        if value.isdigit():
            return int(value)
        return value.casefold()
    return value


def _with_canonical_keys(opcode: str, fmt: str, data: dict[str, Any]) -> dict[str, Any]:
    aliases = ALIASES.get((_stream(opcode), parse_format(fmt)), {})
    return {aliases.get(key, key): value for key, value in data.items()}


def test_samples_cover_every_stream_in_every_format() -> None:
    covered = {(_stream(path.name.split(".")[0]), path.name.split(".")[1]) for path in SAMPLES}
    streams = {stream for stream, _ in covered}
    assert len(streams) == 13, "12 subscriptions plus the deprecated v1 stop orders"
    assert covered == {(s, f) for s in streams for f in ("Simple", "Slim", "Heavy")}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_decodes_strictly_into_its_model(path: Path) -> None:
    opcode, fmt, data = _sample(path)
    model = decode(opcode, fmt, data, strict=True)
    assert type(model) is model_for(opcode)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_reencodes_to_the_same_keys_and_values(path: Path) -> None:
    opcode, fmt, data = _sample(path)
    model = decode(opcode, fmt, data, strict=True)
    encoded = encode(opcode, fmt, model)
    assert _normalised(encoded) == _normalised(_with_canonical_keys(opcode, fmt, data))
    assert decode(opcode, fmt, encoded, strict=True) == model


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_fast_and_strict_decoders_agree_on_samples(path: Path) -> None:
    opcode, fmt, data = _sample(path)
    assert decoder_for(opcode, fmt)(data) == decode(opcode, fmt, data, strict=True)
    exact = decoder_for(opcode, fmt, exact=True)(data)
    assert exact == decode(opcode, fmt, data, exact=True, strict=True)


def _numbers(model: Any) -> list[Number]:
    """Every price/money value of a model, nested ones included."""
    found: list[Number] = []
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        if isinstance(value, BookSide):
            found.extend(value.prices)
            found.extend(y for y in value.yields or () if y is not None)
        elif attrs.has(type(value)):
            found.extend(_numbers(value))
        elif isinstance(value, tuple) and value and attrs.has(type(value[0])):
            for item in value:
                found.extend(_numbers(item))
        elif isinstance(value, float | Decimal) and "Number" in str(field.type):
            found.append(value)
    return found


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_exact_mode_gives_decimals_with_the_wire_digits(path: Path) -> None:
    opcode, fmt, data = _sample(path)
    raw = path.read_text(encoding="utf-8")
    exact = decode(opcode, fmt, data, exact=True)
    numbers = _numbers(exact)
    assert all(type(n) is Decimal for n in numbers)
    for number in numbers:
        # The digits the sample's JSON text shows (trailing ".0" aside) are kept.
        assert re.search(rf"[:\s]{re.escape(str(number))}[,\s}}]", raw), number
    assert all(type(n) is float for n in _numbers(decode(opcode, fmt, data)))


def test_samples_keep_their_times_aware_utc() -> None:
    for path in SAMPLES:
        opcode, fmt, data = _sample(path)
        model = decode(opcode, fmt, data)
        for field in attrs.fields(type(model)):
            value = getattr(model, field.name)
            if isinstance(value, datetime):
                assert value.utcoffset() is not None and value.utcoffset().total_seconds() == 0
