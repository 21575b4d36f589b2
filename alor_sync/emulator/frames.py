"""The two frame shapes the server sends, byte for byte as production writes them.

Rules of this module:

* Data frames are spliced, never serialised as a whole: ``{ "data": <payload>, "guid":"<guid>" }``
  with exactly production's spacing, so a payload serialised once serves every subscriber.
* Confirmations are ``{"requestGuid":...,"httpCode":...,"message":...}`` in that key order
  (``/cws`` replies may add ``orderNumber`` last).
* The optional sequence stamp (``"seq":n`` before the closing brace) is an emulator extension and
  changes the wire; it is off unless configured.
"""

from __future__ import annotations

import orjson

__all__ = [
    "DATA_PREFIX",
    "HANDLED",
    "confirmation",
    "data_suffix",
    "sequenced_payload",
    "sequenced_suffix",
]

DATA_PREFIX = b'{ "data": '
HANDLED = "Handled successfully"


def data_suffix(guid: str) -> bytes:
    """What follows the payload in every data frame of the subscription ``guid``."""
    return b', "guid":' + orjson.dumps(guid) + b" }"


def sequenced_suffix(guid: str, seq: int) -> bytes:
    """The suffix of a data frame stamped with its per-subscription sequence number."""
    return b', "guid":' + orjson.dumps(guid) + b', "seq":' + str(seq).encode() + b" }"


def sequenced_payload(payload: bytes, seq: int) -> bytes:
    """``payload`` (a JSON object) with ``"seq":n`` added as its last key.

    The stamp is repeated inside ``data`` because a client hands its callbacks only ``data``:
    this is where a chaos test on the client side can read it.
    """
    if payload == b"{}":
        return payload[:-1] + b'"seq":' + str(seq).encode() + b"}"
    return payload[:-1] + b',"seq":' + str(seq).encode() + b"}"


def confirmation(
    request_guid: str, http_code: int, message: str, order_number: str | None = None
) -> bytes:
    """A confirmation or error reply, keys in production's order."""
    body: dict[str, object] = {
        "requestGuid": request_guid,
        "httpCode": http_code,
        "message": message,
    }
    if order_number is not None:
        body["orderNumber"] = order_number
    return orjson.dumps(body)
