"""The inbound classifier on every sample frame, on odd-but-real frames and on garbage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alor_sync.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InvalidArgumentError,
    MalformedFrameError,
    ServerError,
)
from alor_sync.protocol import (
    Confirmation,
    DataFrame,
    MalformedFrame,
    classify,
    parse_json,
)

SAMPLE_GUID = "c328fcf1-e495-408a-a0ed-e20f95d6b813"


def data_samples(samples_dir: Path) -> list[Path]:
    return sorted(samples_dir.glob("*.data.json"))


def test_every_data_sample_is_a_data_frame(samples_dir: Path) -> None:
    paths = data_samples(samples_dir)
    assert len(paths) >= 40
    for path in paths:
        raw = path.read_bytes()
        frame = classify(raw)
        expected = orjson.loads(raw)
        assert frame == DataFrame(expected["guid"], expected["data"]), path.name
        assert classify(raw.decode("utf-8")) == frame


@pytest.mark.parametrize(
    ("name", "http_code", "message", "order_number"),
    [
        ("ack.ok.json", 200, "Handled successfully", None),
        ("cws.authorize.ok.json", 200, "The connection has been initialized.", None),
        ("cws.create.ok.json", 200, "An order '12345' has been created.", "18995978560"),
        ("cws.update.ok.json", 200, "An order has been updated. New order Id is '12345'.",
         "18995978560"),
        ("cws.delete.ok.json", 200, "An order '12345' has been deleted.", "18995978560"),
        ("cws.error.400.json", 400, "Invalid or unsupported quantity", None),
        ("error.401.json", 401, "Invalid JWT token!", None),
    ],
)  # fmt: skip
def test_confirmation_samples(
    samples_dir: Path, name: str, http_code: int, message: str, order_number: str | None
) -> None:
    frame = classify((samples_dir / name).read_bytes())
    assert frame == Confirmation(SAMPLE_GUID, http_code, message, order_number)


def test_missing_token_error_sample_keeps_its_free_text_guid(samples_dir: Path) -> None:
    frame = classify((samples_dir / "error.400.missing-token.json").read_bytes())
    assert isinstance(frame, Confirmation)
    assert frame.request_guid == "candle|Si-6.24|60"
    assert not frame.ok
    error = frame.error()
    assert isinstance(error, BadRequestError)
    assert (error.http_code, error.request_guid) == (400, "candle|Si-6.24|60")
    assert error.message == "Request message should contain 'token' field!"


def test_ok_and_error_of_confirmations(samples_dir: Path) -> None:
    ok = classify((samples_dir / "ack.ok.json").read_bytes())
    assert isinstance(ok, Confirmation)
    assert ok.ok
    with pytest.raises(InvalidArgumentError, match="successful confirmation"):
        ok.error()
    rejected = classify((samples_dir / "error.401.json").read_bytes())
    assert isinstance(rejected, Confirmation)
    assert isinstance(rejected.error(), AuthenticationError)
    server_error = Confirmation("g", 503, "down").error()
    assert isinstance(server_error, ServerError)
    assert type(Confirmation("g", 418, "teapot").error()) is APIError


def test_prod_byte_layout_of_data_frames() -> None:
    # Real frames are a template with spaces spliced around the payload.
    raw = b'{ "data": {"p": 1.5, "v": 2}, "guid":"b0_1A" }'
    assert classify(raw) == DataFrame("b0_1A", {"p": 1.5, "v": 2})


def test_buffer_types_are_accepted() -> None:
    raw = b'{"data":{},"guid":"g"}'
    assert classify(bytearray(raw)) == DataFrame("g", {})  # type: ignore[arg-type]
    assert classify(memoryview(raw)) == DataFrame("g", {})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # 401 with an empty requestGuid, as captured in prod.
        ('{"requestGuid":"","httpCode":401,"message":"Invalid JWT token!"}',
         Confirmation("", 401, "Invalid JWT token!")),
        ('{"httpCode":"200","requestGuid":"g","message":"ok"}', Confirmation("g", 200, "ok")),
        ('{"httpCode":" 400 ","requestGuid":"g"}', Confirmation("g", 400, "")),
        ('{"httpCode":200.0,"requestGuid":"g","message":null}', Confirmation("g", 200, "")),
        ('{"httpCode":200,"requestGuid":"g","message":"m","orderNumber":18995978560}',
         Confirmation("g", 200, "m", "18995978560")),
        ('{"httpCode":200,"requestGuid":"g","message":"m","orderNumber":1.8995978560e10}',
         Confirmation("g", 200, "m", "18995978560")),
        ('{"httpCode":200,"requestGuid":"g","message":"m","orderNumber":""}',
         Confirmation("g", 200, "m", None)),
        ('{"httpCode":200,"requestGuid":42,"message":"m"}', Confirmation("42", 200, "m")),
        ('{"httpCode":200}', Confirmation("", 200, "")),
        ('{"httpCode":-1,"message":"Connection is terminated","requestGuid":""}',
         Confirmation("", -1, "Connection is terminated")),
    ],
)  # fmt: skip
def test_lenient_confirmations(raw: str, expected: Confirmation) -> None:
    assert classify(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        ("\ud800", "not JSON"),
        (b"[1, 2]", "not a JSON object but an array"),
        (b"12", "not a JSON object but a number"),
        (b"null", "not a JSON object but null"),
        (b'"text"', "not a JSON object but a string"),
        (b"true", "not a JSON object but a boolean"),
        (b'{"data":[1],"guid":"g"}', "data is an array, not an object"),
        (b'{"data":null,"guid":"g"}', "data is null, not an object"),
        (b'{"data":"x","guid":"g"}', "data is a string, not an object"),
        (b'{"data":{}}', "without a non-empty string guid"),
        (b'{"data":{},"guid":""}', "without a non-empty string guid"),
        (b'{"data":{},"guid":7}', "without a non-empty string guid"),
        (b'{"httpCode":"abc","requestGuid":"g"}', "httpCode is not an integer"),
        (b'{"httpCode":true,"requestGuid":"g"}', "httpCode is not an integer"),
        (b'{"httpCode":200.5,"requestGuid":"g"}', "httpCode is not an integer"),
        (b'{"httpCode":null}', "httpCode is not an integer"),
        (b'{"requestGuid":"g","message":"no code"}', "neither data"),
        (b"{}", "neither data"),
    ],
)
def test_malformed_frames(raw: bytes | str, reason: str) -> None:
    frame = classify(raw)
    assert isinstance(frame, MalformedFrame)
    assert reason in frame.reason


def test_malformed_preview_is_short_and_hides_jwts() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQMDAwIn0.c2lnbmF0dXJl"
    frame = classify(('{"oops": "' + jwt + '", "pad": "' + "x" * 1000 + '"').encode())
    assert isinstance(frame, MalformedFrame)
    assert len(frame.raw_preview) <= 200
    assert jwt not in frame.raw_preview
    assert "eyJ" not in frame.raw_preview
    assert frame.raw_preview.startswith('{"oops": "<jwt>"')


def test_preview_of_non_utf8_bytes_is_text() -> None:
    frame = classify(b"\x80abc")
    assert isinstance(frame, MalformedFrame)
    assert frame.raw_preview.endswith("abc")


def test_parse_json() -> None:
    assert parse_json(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(MalformedFrameError, match="not JSON") as caught:
        parse_json(b'{"token": "secret-value"')
    assert "secret-value" not in str(caught.value)


# --- classify never raises --------------------------------------------------------------------

# Strict JSON only: stdlib json writes Infinity and lone surrogates, which orjson (rightly) rejects.
_json_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _json_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
frame_keys = st.sampled_from(["data", "guid", "requestGuid", "httpCode", "message", "orderNumber"])
frame_like = st.dictionaries(frame_keys, json_values, max_size=6)


def assert_classified(raw: Any) -> None:
    frame = classify(raw)
    assert isinstance(frame, DataFrame | Confirmation | MalformedFrame)
    if isinstance(frame, MalformedFrame):
        assert len(frame.raw_preview) <= 200
        assert frame.reason


@given(st.binary(max_size=300))
def test_classify_never_raises_on_bytes(raw: bytes) -> None:
    assert_classified(raw)


@given(st.text(max_size=300))
def test_classify_never_raises_on_text(raw: str) -> None:
    assert_classified(raw)


@given(json_values)
def test_classify_never_raises_on_json_values(value: Any) -> None:
    # stdlib json: it also writes integers beyond 64 bits, which orjson reads as floats.
    assert_classified(json.dumps(value))


@given(frame_like)
def test_classify_never_raises_on_frame_like_objects(value: dict[str, Any]) -> None:
    frame = classify(json.dumps(value).encode())
    assert isinstance(frame, DataFrame | Confirmation | MalformedFrame)
    if isinstance(value.get("data"), dict) and isinstance(value.get("guid"), str) and value["guid"]:
        assert isinstance(frame, DataFrame)
        assert frame.guid == value["guid"]
    if isinstance(frame, Confirmation):
        assert isinstance(frame.http_code, int)
        assert isinstance(frame.request_guid, str)
        assert isinstance(frame.message, str)
        assert frame.order_number is None or isinstance(frame.order_number, str)
