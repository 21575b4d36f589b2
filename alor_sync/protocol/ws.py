"""Requests of the ``/ws`` data channel: one generic subscription builder read from the specs
(:mod:`alor_sync.protocol.specs`), the per-opcode names derived from it, unsubscribe and ping.

Rules of this module:

* Builders return a plain dict with the documented wire names and no token; :func:`with_token`
  adds the token at send time, so a stored request can be re-sent after a reconnect.
* Optional parameters left at ``None`` stay out of the request (the server applies its documented
  default); ``format`` is always sent because the decoder depends on it.
* ``frequency`` is sent as given (negative values are refused): the server raises values below
  the per-format minimum (:data:`MIN_FREQUENCY_MS`) itself, and clamping here would hide that.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from alor_sync.errors import InvalidArgumentError
from alor_sync.protocol._checks import JsonDict, check_flag, check_guid
from alor_sync.protocol.specs import (
    ALL_TRADES_MAX_DEPTH,
    ORDER_BOOK_MAX_DEPTH,
    REQUIRED,
    SPECS,
    StreamSpec,
)
from alor_sync.wire import Format, Opcode, parse_opcode

__all__ = [
    "ALL_TRADES_MAX_DEPTH",
    "MIN_FREQUENCY_MS",
    "ORDER_BOOK_MAX_DEPTH",
    "all_trades_request",
    "bars_request",
    "build_request",
    "instruments_request",
    "order_book_request",
    "orders_request",
    "ping_request",
    "positions_request",
    "quotes_request",
    "risks_request",
    "spectra_risks_request",
    "stop_orders_request",
    "subscription_request",
    "summaries_request",
    "trades_request",
    "unsubscribe_request",
    "with_token",
]

# The server raises a smaller ``frequency`` to these (ms); we send what the caller chose.
MIN_FREQUENCY_MS: Mapping[Format, int] = {Format.SIMPLE: 25, Format.SLIM: 10, Format.HEAVY: 500}


def build_request(spec: StreamSpec, guid: str, params: Mapping[str, Any]) -> JsonDict:
    """The request of ``spec`` from snake_case ``params``: every value checked, ``None`` left
    out (a required one is refused), wire names as documented.

    Unknown or missing parameters raise :class:`InvalidArgumentError` listing what the opcode
    takes (handy for a CLI ``stream <kind>``).
    """
    name = spec.opcode.value
    unknown = sorted(set(params) - {p.name for p in spec.params})
    if unknown:
        takes = ", ".join(p.name for p in spec.params)
        raise InvalidArgumentError(f"{name} does not take {', '.join(unknown)}; it takes {takes}")
    missing = [p.name for p in spec.params if p.required and p.name not in params]
    if missing:
        raise InvalidArgumentError(f"{name} needs {', '.join(missing)}")
    request: JsonDict = {"opcode": name, "guid": check_guid(guid)}
    for param in spec.params:
        value = params.get(param.name, param.default)
        if value is not None or param.required:
            request[param.wire] = param.check(param.name, value)
    return request


def _builder(spec: StreamSpec) -> Callable[..., JsonDict]:
    """``<name>_request(guid, **params)``, with the spec's signature and doc for help()."""

    def build(guid: str, **params: Any) -> JsonDict:
        return build_request(spec, guid, params)

    keywords = [
        inspect.Parameter(
            p.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if p.default is REQUIRED else p.default,
            annotation=p.annotation,
        )
        for p in spec.params
    ]
    guid = inspect.Parameter("guid", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
    build.__signature__ = inspect.Signature([guid, *keywords], return_annotation=JsonDict)  # type: ignore[attr-defined]
    build.__name__ = build.__qualname__ = f"{spec.name}_request"
    build.__doc__ = spec.request_doc
    return build


order_book_request = _builder(SPECS[Opcode.ORDER_BOOK])
bars_request = _builder(SPECS[Opcode.BARS])
quotes_request = _builder(SPECS[Opcode.QUOTES])
all_trades_request = _builder(SPECS[Opcode.ALL_TRADES])
instruments_request = _builder(SPECS[Opcode.INSTRUMENTS])
positions_request = _builder(SPECS[Opcode.POSITIONS])
summaries_request = _builder(SPECS[Opcode.SUMMARIES])
risks_request = _builder(SPECS[Opcode.RISKS])
spectra_risks_request = _builder(SPECS[Opcode.SPECTRA_RISKS])
trades_request = _builder(SPECS[Opcode.TRADES])
orders_request = _builder(SPECS[Opcode.ORDERS])
stop_orders_request = _builder(SPECS[Opcode.STOP_ORDERS])


def unsubscribe_request(guid: str) -> JsonDict:
    """``unsubscribe``: ``guid`` is the subscription's own guid (the reply echoes it)."""
    return {"opcode": Opcode.UNSUBSCRIBE.value, "guid": check_guid(guid)}


def ping_request(guid: str, confirm: bool = True) -> JsonDict:
    """``ping`` (undocumented, used by the broker's terminal on ``/ws`` and ``/cws``)."""
    return {
        "opcode": Opcode.PING.value,
        "guid": check_guid(guid),
        "confirm": check_flag("confirm", confirm),
    }


def with_token(request: Mapping[str, Any], token: str) -> JsonDict:
    """A copy of ``request`` carrying ``token`` (the transport calls this at send time)."""
    if not isinstance(token, str) or not token:
        raise InvalidArgumentError("token must be a non-empty string")
    return {**request, "token": token}


def subscription_request(opcode: Opcode | str, guid: str, **params: Any) -> JsonDict:
    """Build the subscription named by ``opcode`` (any casing) from snake_case ``params``.

    Unknown or missing parameters raise :class:`InvalidArgumentError` listing what the opcode
    takes (handy for a CLI ``stream <kind>``).
    """
    op = parse_opcode(opcode)
    spec = SPECS.get(op)
    if spec is None:
        raise InvalidArgumentError(
            f"{op.value} is not a subscription; use unsubscribe_request or ping_request"
        )
    return build_request(spec, guid, params)
