"""Property-based fuzzing of everything that reads server bytes: the WebSocket frame reader, the
frame classifier and the payload decoders.

The broker's sample frames are the seeds: they are truncated, corrupted, blown up and given
wrongly typed fields. The properties are the ones the reading thread relies on:

* the frame reader returns whole messages in order however the bytes are cut into reads, and on
  garbage raises only its own protocol errors (which drop the connection), nothing else;
* ``classify`` never raises, whatever arrives, and tells data from confirmations exactly;
* a decoder returns its model or raises ``DecodeError`` naming the opcode and format, never a
  raw ``TypeError``/``KeyError``/``ValueError`` from cattrs or the models.
"""

from __future__ import annotations

import itertools
import json
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alor_sync.codec.converter import decode, decoder_for
from alor_sync.errors import DecodeError
from alor_sync.protocol import Confirmation, DataFrame, MalformedFrame, classify
from alor_sync.transport.frame_reader import (
    MAX_FRAME_BYTES,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    FrameProtocolError,
    FrameReader,
    PeerClosedError,
)

SAMPLES = sorted((Path(__file__).resolve().parent / "samples").glob("*.data.json"))
RAW_FRAMES = [path.read_bytes() for path in SAMPLES]
PAYLOADS = [
    (path.name.split(".")[0], path.name.split(".")[1], orjson.loads(raw)["data"])
    for path, raw in zip(SAMPLES, RAW_FRAMES, strict=True)
]

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- JSON values of every type, including the awkward ones -------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["", "NaN", "1e999", "-0", "2024-13-45T99:99:99Z", "buy", "0x10", "１２"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


# --- the frame reader ------------------------------------------------------------------------


class _ScriptedSocket:
    """A socket whose reads return the given chunks (a read never spans two), then EOF."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        if not self._chunks:
            return b""
        chunk = self._chunks.pop(0)
        if len(chunk) > size:
            self._chunks.insert(0, chunk[size:])
            chunk = chunk[:size]
        return chunk

    def recv_into(self, buffer: memoryview, nbytes: int = 0) -> int:
        chunk = self.recv(nbytes or len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _encode_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A server frame (unmasked), with the shortest length encoding."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        return head + bytes([size]) + payload
    if size < 1 << 16:
        return head + bytes([126]) + struct.pack("!H", size) + payload
    return head + bytes([127]) + struct.pack("!Q", size) + payload


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def _read_all(chunks: list[bytes], read_size: int = 1 << 16) -> tuple[list[Any], BaseException]:
    """Every frame and the error that ended the reading; ``whole_frames()`` (the transport's
    loop) must see exactly what ``next_frame()`` one by one sees."""
    one_by_one = _read_with(chunks, read_size, whole=False)
    whole = _read_with(chunks, read_size, whole=True)
    assert whole[0] == one_by_one[0]
    assert (type(whole[1]), str(whole[1])) == (type(one_by_one[1]), str(one_by_one[1]))
    return one_by_one


def _read_with(
    chunks: list[bytes], read_size: int, *, whole: bool
) -> tuple[list[Any], BaseException]:
    reader = FrameReader(_ScriptedSocket(list(chunks)), read_size=read_size)  # type: ignore[arg-type]
    frames: list[Any] = []
    while True:
        try:
            reader.fill()
            if whole:
                for frame in reader.whole_frames():
                    frames.append(frame)
            else:
                while (frame := reader.next_frame()) is not None:
                    frames.append(frame)
        except (FrameProtocolError, PeerClosedError) as end:
            return frames, end


messages = st.lists(
    st.tuples(
        st.sampled_from([OP_TEXT, OP_BINARY]),
        st.sampled_from(RAW_FRAMES) | st.binary(max_size=300),
        st.integers(min_value=1, max_value=3),  # fragments
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(
    messages,
    st.lists(st.integers(min_value=0, max_value=20_000), max_size=12),
    st.sampled_from([7, 512, 1 << 16]),
    st.booleans(),
)
def test_frame_reader_returns_whole_messages_however_the_reads_are_cut(
    plan: list[tuple[int, bytes, int]], cuts: list[int], read_size: int, pings: bool
) -> None:
    wire = b""
    expected: list[tuple[int, bytes]] = []
    for opcode, payload, fragments in plan:
        step = max(1, -(-len(payload) // fragments))
        parts = [payload[i : i + step] for i in range(0, len(payload), step)] or [b""]
        for index, part in enumerate(parts):
            first = opcode if index == 0 else OP_CONTINUATION
            wire += _encode_frame(first, part, fin=index == len(parts) - 1)
            if pings and index == 0 and len(parts) > 1:
                wire += _encode_frame(OP_PING, b"hb")  # control frames may interleave
                expected.append((OP_PING, b"hb"))
        expected.append((opcode, payload))
    wire += _encode_frame(OP_CLOSE, struct.pack("!H", 1000))
    expected.append((OP_CLOSE, struct.pack("!H", 1000)))

    frames, end = _read_all(_cut(wire, cuts), read_size)

    assert frames == expected
    assert isinstance(end, PeerClosedError)


@FUZZ
@given(
    st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=8)
    | st.lists(st.sampled_from(RAW_FRAMES), min_size=1, max_size=3)
)
def test_frame_reader_on_garbage_raises_only_its_own_errors(chunks: list[bytes]) -> None:
    frames, end = _read_all(chunks, read_size=33)
    assert isinstance(end, FrameProtocolError | PeerClosedError)
    for opcode, payload in frames:
        assert opcode in (OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, 0xA)
        assert isinstance(payload, bytes)


def test_frame_reader_on_a_truncated_stream_waits_instead_of_inventing_frames() -> None:
    wire = _encode_frame(OP_TEXT, RAW_FRAMES[0])
    for stop in range(len(wire)):
        frames, end = _read_all([wire[:stop]])
        assert frames == [] and isinstance(end, PeerClosedError)


@pytest.mark.parametrize("size", [MAX_FRAME_BYTES + 1, 2**40, 2**63, 2**64 - 1])
def test_frame_reader_refuses_an_absurd_length_before_allocating_it(size: int) -> None:
    header = bytes([0x80 | OP_TEXT, 127]) + size.to_bytes(8, "big")
    frames, end = _read_all([header + b"x" * 100])
    assert frames == [] and isinstance(end, FrameProtocolError)
    assert str(size) in str(end)


# --- the classifier --------------------------------------------------------------------------


def _assert_one_of_three(raw: str | bytes) -> Any:
    frame = classify(raw)
    assert isinstance(frame, DataFrame | Confirmation | MalformedFrame)
    if isinstance(frame, DataFrame):
        assert isinstance(frame.guid, str) and frame.guid and isinstance(frame.data, dict)
    elif isinstance(frame, Confirmation):
        assert isinstance(frame.http_code, int) and isinstance(frame.request_guid, str)
    else:
        assert frame.reason and len(frame.raw_preview) <= 200
    return frame


@FUZZ
@given(st.sampled_from(RAW_FRAMES), st.data())
def test_classify_survives_truncated_and_corrupted_sample_frames(raw: bytes, data: Any) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(raw.rstrip()) - 1))
    _assert_one_of_three(raw[:cut])  # truncated: never valid JSON of the same object
    assert isinstance(classify(raw[:cut]), MalformedFrame) or raw[:cut].strip() == b""
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    byte = data.draw(st.integers(min_value=0, max_value=255))
    corrupted = raw[:position] + bytes([byte]) + raw[position + 1 :]
    _assert_one_of_three(corrupted)
    _assert_one_of_three(corrupted.decode("utf-8", "replace"))


@FUZZ
@given(st.sampled_from(RAW_FRAMES), json_values, json_values)
def test_classify_on_frames_with_wrongly_typed_envelopes(raw: bytes, data: Any, guid: Any) -> None:
    frame = orjson.loads(raw)
    _assert_one_of_three(json.dumps({"data": data, "guid": frame["guid"]}))
    _assert_one_of_three(json.dumps({"data": frame["data"], "guid": guid}))
    _assert_one_of_three(json.dumps({"requestGuid": guid, "httpCode": data, "message": guid}))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"data": {"a": "' + b"x" * 4_000_000 + b'"}, "guid": "big"}',  # 4 MB: still data
        b"[" * 100_000 + b"]" * 100_000,  # deeper than any parser's recursion limit
        b'{"data": {"p": 1' + b"0" * 5000 + b'}, "guid": "g"}',  # a number of 5,000 digits
        b'{"data": {"p": NaN}, "guid": "g"}',
        b'{"data": {"p": 18446744073709551616}, "guid": "g"}',  # 2**64
        b'{"data": {}, "guid": "g"} trailing',
        '{"data": {"s": "\ud800"}, "guid": "g"}'.encode("utf-8", "surrogatepass"),
        b"\xef\xbb\xbf" + RAW_FRAMES[0],  # a byte-order mark
        b"",
        b"   ",
    ],
    ids=["4MB", "deep", "long-number", "nan", "2**64", "trailing", "surrogate", "bom", "empty",
         "blank"],
)  # fmt: skip
def test_classify_survives_pathological_frames(raw: bytes) -> None:
    frame = _assert_one_of_three(raw)
    if raw.startswith(b'{"data": {"a"'):
        assert isinstance(frame, DataFrame) and len(frame.data["a"]) == 4_000_000


# --- the decoders ----------------------------------------------------------------------------


def _mutated(payload: dict[str, Any], draw: Any) -> dict[str, Any]:
    """The sample with some fields wrongly typed, some removed and some added."""
    result = dict(payload)
    keys = sorted(result)
    for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)) if keys else []:
        result[key] = draw(json_values)
    for key in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)) if keys else []:
        result.pop(key, None)
    result.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    return result


def _assert_decodes_or_decode_error(opcode: str, fmt: str, payload: Any, **options: Any) -> None:
    try:
        if options:
            decode(opcode, fmt, payload, **options)
        else:
            decoder_for(opcode, fmt)(payload)
    except DecodeError as error:
        assert error.opcode and error.format, f"DecodeError without opcode/format: {error!r}"
        assert str(error)


@FUZZ
@given(st.sampled_from(PAYLOADS), st.data())
def test_decoders_raise_only_decode_error_on_wrongly_typed_fields(
    sample: tuple[str, str, dict[str, Any]], data: Any
) -> None:
    opcode, fmt, payload = sample
    mutated = _mutated(payload, data.draw)
    _assert_decodes_or_decode_error(opcode, fmt, mutated)
    _assert_decodes_or_decode_error(opcode, fmt, mutated, exact=True)
    _assert_decodes_or_decode_error(opcode, fmt, mutated, strict=True)


@FUZZ
@given(st.sampled_from(PAYLOADS), json_values)
def test_decoders_raise_only_decode_error_on_payloads_that_are_not_objects(
    sample: tuple[str, str, dict[str, Any]], value: Any
) -> None:
    opcode, fmt, _ = sample
    assume(not isinstance(value, dict))
    with pytest.raises(DecodeError):
        decoder_for(opcode, fmt)(value)


@FUZZ
@given(st.sampled_from([p for p in PAYLOADS if p[0] == "OrderBookGetAndSubscribe"]), json_values)
def test_order_book_levels_of_the_wrong_shape_are_decode_errors(
    sample: tuple[str, str, dict[str, Any]], level: Any
) -> None:
    opcode, fmt, payload = sample
    side = "bids" if "bids" in payload else "b"
    _assert_decodes_or_decode_error(opcode, fmt, {**payload, side: [level, *payload[side]]})
    _assert_decodes_or_decode_error(opcode, fmt, {**payload, side: level})
