"""Commands of the ``/cws`` order channel: authorize, create, update and delete.

Rules of this module:

* One builder per documented opcode, taking the fields the reference lists for it
  (``update:limit`` has no ``timeInForce``/``icebergVariance``; ``create:stop`` no
  ``timeInForce``); everything is checked before a command could be sent. The builders are
  derived from the command specs (:mod:`alor_sync.protocol.command_specs`; their typed functions,
  generated, in :mod:`alor_sync.protocol.command_requests`); this module adds ``authorize``, the
  builder by opcode name (:func:`command_request`) and :func:`dumps`.
* Prices stay as given (``float | int | Decimal``); a ``Decimal`` a JSON double cannot carry
  exactly is refused, so :func:`dumps`, which writes it as a JSON number, never alters a price.
  Serialise commands with :func:`dumps`, not bare ``orjson.dumps`` (it cannot write Decimal).
* Retrying a command means re-sending the same dict (same ``guid``): the server executes a guid
  at most once. Builders never invent guids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson

from alor_sync.errors import InvalidArgumentError
from alor_sync.protocol import command_requests
from alor_sync.protocol._checks import JsonDict, call_with_checked_params, check_guid
from alor_sync.protocol.command_specs import COMMAND_SPECS
from alor_sync.protocol.ws import with_token
from alor_sync.wire import CommandOpcode

__all__ = ["authorize_request", "command_request", "dumps"]


def authorize_request(guid: str, token: str) -> JsonDict:
    """``authorize``: binds the ``/cws`` connection to ``token`` until it expires (secret!)."""
    return with_token({"opcode": CommandOpcode.AUTHORIZE.value, "guid": check_guid(guid)}, token)


_COMMAND_BUILDERS: Mapping[str, Callable[..., JsonDict]] = {
    op.value.lower(): getattr(command_requests, f"{op.name.lower()}_request")
    for op in COMMAND_SPECS
}


def command_request(opcode: CommandOpcode | str, guid: str, **params: Any) -> JsonDict:
    """Build the order command named by ``opcode`` (any casing) from snake_case ``params``."""
    key = opcode.value if isinstance(opcode, CommandOpcode) else str(opcode)
    builder = _COMMAND_BUILDERS.get(key.lower())
    if builder is None:
        known = ", ".join(op.value for op in CommandOpcode if op.value.lower() in _COMMAND_BUILDERS)
        raise InvalidArgumentError(f"unknown order command {opcode!r}; known: {known}")
    return call_with_checked_params(key, builder, guid, params)


def _json_default(value: object) -> int | float:
    if isinstance(value, Decimal):
        # Builders refuse Decimals a double cannot carry exactly, so this never alters a price.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(request: Mapping[str, Any]) -> bytes:
    """Serialise a request to JSON bytes; ``Decimal`` becomes a JSON number.

    A Decimal with more than ~15 significant digits would lose precision here (it goes through
    ``float``); the order builders refuse such prices, hand-made dicts are on their own.
    """
    try:
        document = request if isinstance(request, dict) else dict(request)
        return orjson.dumps(document, default=_json_default)
    except orjson.JSONEncodeError as exc:
        raise InvalidArgumentError(f"request cannot be serialised to JSON: {exc}") from None
