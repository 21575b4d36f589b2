"""Inbound frames of both channels: tell data from confirmations, never raise.

Rules of this module:

* :func:`classify` runs on the network thread for every frame: one ``orjson.loads`` and a couple
  of dict lookups on the common path, nothing else (no logging, no copies of the payload).
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

__all__ = ["Confirmation", "DataFrame", "Frame", "MalformedFrame", "classify", "parse_json"]


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
