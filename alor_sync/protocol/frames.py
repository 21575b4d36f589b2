"""Inbound frames of both channels: tell data from confirmations, never raise.

Rules of this module:

* Data frames are routed without parsing them: :func:`data_guid` reads the subscription guid from
  the frame's last member (production writes ``{ "data": {...}, "guid":"..." }``, and ALOR's own
  SDK routes the same way), and :func:`data_payload` parses and checks the whole frame later, on
  the worker that decodes it. A frame superseded before its turn is therefore never parsed.
* :func:`classify` handles everything else (confirmations, frames of another shape): one
  ``orjson.loads`` and a couple of dict lookups, nothing else (no logging, no copies).
* Whatever arrives becomes exactly one value: a :class:`DataFrame`, a :class:`Confirmation` or a
  :class:`MalformedFrame`; the caller decides what to do with the malformed ones.
* Previews of malformed frames are short and have anything that looks like a JWT blanked out,
  since they end up in logs.
"""

from __future__ import annotations

import re
from typing import Any, TypeAlias

import attrs
import orjson

from alor_sync.errors import APIError, InvalidArgumentError, MalformedFrameError, error_for_reply

__all__ = [
    "Confirmation",
    "DataFrame",
    "Frame",
    "MalformedFrame",
    "classify",
    "data_guid",
    "data_payload",
    "parse_json",
]


@attrs.frozen
class DataFrame:
    """A subscription's data: ``{"data": {...}, "guid": "<subscription guid>"}``.

    Made on the network thread and handed to a worker: treat ``data`` as read-only.
    """

    guid: str
    data: dict[str, Any]


@attrs.frozen
class Confirmation:
    """The one reply to a request: ``requestGuid``, ``httpCode``, ``message`` (+ ``orderNumber``).

    ``request_guid`` may be ``""``: the server sends that on some 401 replies. ``order_number``
    (``/cws`` replies) is always a string. Immutable; safe to share between threads.
    """

    request_guid: str
    http_code: int
    message: str
    order_number: str | None = None

    @property
    def ok(self) -> bool:
        """True for ``httpCode`` 200 (the reference: key on the code, never on the message)."""
        return self.http_code == 200

    def error(self) -> APIError:
        """The typed error for this rejection (returned, not raised); not for a 200."""
        if self.ok:
            raise InvalidArgumentError("error() called on a successful confirmation (httpCode 200)")
        return error_for_reply(self.http_code, self.message, self.request_guid)


@attrs.frozen
class MalformedFrame:
    """A frame that is neither data nor a confirmation; ``raw_preview`` is its start."""

    raw_preview: str
    reason: str


Frame: TypeAlias = DataFrame | Confirmation | MalformedFrame

_PREVIEW_CHARS = 200
_JWT_PATTERN = re.compile(r"eyJ[\w-]*\.[\w-]*\.?[\w-]*")


def _preview(raw: object) -> str:
    if isinstance(raw, bytes | bytearray | memoryview):
        text = bytes(raw[: _PREVIEW_CHARS * 4]).decode("utf-8", "replace")
    else:
        text = str(raw)
    # Server frames carry no tokens, but a preview ends up in logs: never let a JWT through.
    return _JWT_PATTERN.sub("<jwt>", text[:_PREVIEW_CHARS])


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"


def _int_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _text_field(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def _order_number(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text_field(value)


def _confirmation(message: dict[str, Any], raw: str | bytes) -> Frame:
    http_code = _int_code(message["httpCode"])
    if http_code is None:
        return MalformedFrame(_preview(raw), "confirmation whose httpCode is not an integer")
    return Confirmation(
        _text_field(message.get("requestGuid")),
        http_code,
        _text_field(message.get("message")),
        _order_number(message.get("orderNumber")),
    )


def classify(raw: str | bytes) -> Frame:
    """Tell a data frame from a confirmation; anything else is a :class:`MalformedFrame`.

    Never raises. Runs on the network thread for every frame: one ``orjson.loads`` and a couple
    of dict lookups on the common path.
    """
    try:
        message = orjson.loads(raw)
    except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
        return MalformedFrame(_preview(raw), f"not JSON: {exc}")
    if type(message) is not dict:
        return MalformedFrame(_preview(raw), f"not a JSON object but {_json_kind(message)}")
    data = message.get("data")
    if type(data) is dict:
        guid = message.get("guid")
        if type(guid) is str and guid:
            return DataFrame(guid, data)
        return MalformedFrame(_preview(raw), "data frame without a non-empty string guid")
    if "httpCode" in message:
        return _confirmation(message, raw)
    if "data" in message:
        reason = f"data frame whose data is {_json_kind(data)}, not an object"
        return MalformedFrame(_preview(raw), reason)
    return MalformedFrame(_preview(raw), "neither data (data, guid) nor a confirmation (httpCode)")


def parse_json(raw: str | bytes) -> Any:
    """``orjson.loads`` that raises :class:`MalformedFrameError` (no frame text in the message)."""
    try:
        return orjson.loads(raw)
    except (ValueError, TypeError) as exc:
        raise MalformedFrameError(f"not JSON: {exc}") from None


_GUID_KEY = '"guid"'
_PROD_GUID_KEY = '"guid":"'
_PROD_END = '" }'  # production splices data into '{ "data": ..., "guid":"<guid>" }', so it ends so
# The last member of a data frame, with any JSON whitespace: "guid" : "<guid>" } <end>.
_GUID_TAIL = re.compile(r'"guid"[ \t\r\n]*:[ \t\r\n]*"([^"\\]+)"[ \t\r\n]*\}[ \t\r\n]*\Z')
_JSON_SPACE = " \t\r\n"


def data_guid(raw: str) -> str | None:
    """The subscription guid of a data frame, read from its last member without parsing it.

    Network thread, every frame: a reverse search and a few comparisons (about 0.4 us). Returns
    None for anything whose last member is not a plain string ``guid`` (confirmations, other
    shapes, a guid with escapes): :func:`classify` then has the final word. A guid returned
    here is only a routing hint; :func:`data_payload` checks the whole frame before use.
    """
    # Production's exact spelling first, with slices and ``in`` only: a str method call with
    # arguments costs a tuple parse each, and this runs for every frame.
    at = raw.rfind(_PROD_GUID_KEY)
    if at >= 0 and raw[-3:] == _PROD_END:
        guid = raw[at + 8 : -3]
        if guid and '"' not in guid and "\\" not in guid:
            return guid
    at = raw.rfind(_GUID_KEY)
    if at < 0:
        return None
    start = at + 8
    if raw.startswith(':"', at + 6):  # production's spelling: no whitespace around the colon
        end = raw.find('"', start)
        if end > start and raw[end + 1 :].strip(_JSON_SPACE) == "}":
            guid = raw[start:end]
            return None if "\\" in guid else guid
    match = _GUID_TAIL.match(raw, at)
    return match.group(1) if match else None


def data_payload(raw: str | bytes, guid: str) -> dict[str, Any]:
    """Parse a frame routed by :func:`data_guid` and return its ``data`` object.

    Runs on the worker that decodes the frame. Raises :class:`MalformedFrameError` with ``guid``
    set (and no frame text in the message) when the frame is not JSON, not an object, has no
    ``data`` object or names another guid.
    """
    try:
        message = orjson.loads(raw)
    except (ValueError, TypeError) as exc:
        raise MalformedFrameError(f"malformed data frame: not JSON: {exc}", guid=guid) from None
    if type(message) is dict:
        data = message.get("data")
        if type(data) is dict and message.get("guid") == guid:
            return data
    frame = classify(raw)
    if isinstance(frame, MalformedFrame):
        reason = frame.reason
    elif isinstance(frame, DataFrame):
        reason = "its guid member names another subscription"
    else:
        reason = "a confirmation, not a data frame"
    raise MalformedFrameError(f"malformed data frame: {reason}", guid=guid)
