"""Commands of the ``/cws`` order channel: authorize, create, update and delete.

Rules of this module:

* One builder per documented opcode, taking exactly the fields the reference lists for it
  (``update:limit`` has no ``timeInForce``/``icebergVariance``; ``create:stop`` no
  ``timeInForce``); everything is checked before a command could be sent.
* Prices stay as given (``float | int | Decimal``); a ``Decimal`` a JSON double cannot carry
  exactly is refused, so :func:`dumps`, which writes it as a JSON number, never alters a price.
  Serialise commands with :func:`dumps`, not bare ``orjson.dumps`` (it cannot write Decimal).
* Retrying a command means re-sending the same dict (same ``guid``): the server executes a guid
  at most once. Builders never invent guids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

import orjson

from alor_sync.errors import InvalidArgumentError
from alor_sync.protocol._checks import (
    CONDITIONS,
    PROTECTING_SECONDS,
    SIDES,
    TIMES_IN_FORCE,
    EnumLike,
    JsonDict,
    Price,
    UnixTime,
    call_with_checked_params,
    check_choice,
    check_comment,
    check_flag,
    check_guid,
    check_integer,
    check_order_id,
    check_price,
    check_text,
    check_unix_seconds,
)
from alor_sync.protocol.ws import with_token
from alor_sync.wire import CommandOpcode

__all__ = [
    "authorize_request",
    "command_request",
    "create_limit_request",
    "create_market_request",
    "create_stop_limit_request",
    "create_stop_request",
    "delete_limit_request",
    "delete_market_request",
    "delete_stop_limit_request",
    "delete_stop_request",
    "dumps",
    "update_limit_request",
    "update_market_request",
    "update_stop_limit_request",
    "update_stop_request",
]


def authorize_request(guid: str, token: str) -> JsonDict:
    """``authorize``: binds the ``/cws`` connection to ``token`` until it expires (secret!)."""
    return with_token({"opcode": CommandOpcode.AUTHORIZE.value, "guid": check_guid(guid)}, token)


def _order_request(
    opcode: CommandOpcode,
    guid: str,
    order_id: str | int | None,
    side: EnumLike,
    quantity: int,
    symbol: str,
    exchange: str,
    instrument_group: str | None,
    portfolio: str,
) -> JsonDict:
    request: JsonDict = {"opcode": opcode.value, "guid": check_guid(guid)}
    if opcode.value.startswith("update"):
        request["orderId"] = check_order_id(order_id)
    request["side"] = check_choice("side", side, SIDES)
    request["quantity"] = check_integer("quantity", quantity, 1)
    instrument = {
        "symbol": check_text("symbol", symbol),
        "exchange": check_text("exchange", exchange),
    }
    if instrument_group is not None:
        instrument["instrumentGroup"] = check_text("instrument_group", instrument_group)
    request["instrument"] = instrument
    request["user"] = {"portfolio": check_text("portfolio", portfolio)}
    return request


def _put_options(request: JsonDict, **options: Any) -> JsonDict:
    """Add the optional order fields that were given (snake_case name -> checked wire field)."""
    for name, value in options.items():
        if value is not None:
            wire_name, check = _ORDER_OPTIONS[name]
            request[wire_name] = check(value)
    return request


_ORDER_OPTIONS: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "price": ("price", lambda v: check_price("price", v)),
    "condition": ("condition", lambda v: check_choice("condition", v, CONDITIONS)),
    "trigger_price": ("triggerPrice", lambda v: check_price("trigger_price", v)),
    "stop_end_time": ("stopEndUnixTime", lambda v: check_unix_seconds("stop_end_time", v)),
    "comment": ("comment", check_comment),
    "time_in_force": ("timeInForce", lambda v: check_choice("time_in_force", v, TIMES_IN_FORCE)),
    "allow_margin": ("allowMargin", lambda v: check_flag("allow_margin", v)),
    "iceberg_fixed": ("icebergFixed", lambda v: check_integer("iceberg_fixed", v, 1)),
    "iceberg_variance": ("icebergVariance", lambda v: check_integer("iceberg_variance", v, 1)),
    "protecting_seconds": (
        "protectingSeconds",
        lambda v: check_integer("protecting_seconds", v, *PROTECTING_SECONDS),
    ),
    "activate": ("activate", lambda v: check_flag("activate", v)),
    "check_duplicates": ("checkDuplicates", lambda v: check_flag("check_duplicates", v)),
}


def _require(**values: object) -> None:
    for name, value in values.items():
        if value is None:
            raise InvalidArgumentError(f"{name} is required")


_ORDER_CORE = ("side", "quantity", "symbol", "exchange", "instrument_group", "portfolio")


def _market(opcode: CommandOpcode, guid: str, order_id: str | int | None, **kw: Any) -> JsonDict:
    core = [kw.pop(name) for name in _ORDER_CORE]
    return _put_options(_order_request(opcode, guid, order_id, *core), **kw)


def _limit(opcode: CommandOpcode, guid: str, order_id: str | int | None, **kw: Any) -> JsonDict:
    _require(price=kw["price"])
    return _market(opcode, guid, order_id, **kw)


def _stop(opcode: CommandOpcode, guid: str, order_id: str | int | None, **kw: Any) -> JsonDict:
    _require(condition=kw["condition"], trigger_price=kw["trigger_price"])
    if "price" in kw:  # stop-limit
        return _limit(opcode, guid, order_id, **kw)
    return _market(opcode, guid, order_id, **kw)


def create_market_request(
    guid: str,
    *,
    side: EnumLike,
    quantity: int,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    comment: str | None = None,
    time_in_force: EnumLike | None = None,
    allow_margin: bool | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``create:market``: buy or sell ``quantity`` lots at the market."""
    return _market(CommandOpcode.CREATE_MARKET, guid, None, **_kwargs(locals()))


def create_limit_request(
    guid: str,
    *,
    side: EnumLike,
    quantity: int,
    price: Price,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    comment: str | None = None,
    time_in_force: EnumLike | None = None,
    allow_margin: bool | None = None,
    iceberg_fixed: int | None = None,
    iceberg_variance: int | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``create:limit``: a limit order at ``price`` (``iceberg_*`` make it an iceberg)."""
    return _limit(CommandOpcode.CREATE_LIMIT, guid, None, **_kwargs(locals()))


def create_stop_request(
    guid: str,
    *,
    side: EnumLike,
    quantity: int,
    condition: EnumLike,
    trigger_price: Price,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    stop_end_time: UnixTime | None = None,
    protecting_seconds: int | None = None,
    comment: str | None = None,
    allow_margin: bool | None = None,
    activate: bool | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``create:stop``: a market order sent when the price meets ``condition`` vs the trigger.

    ``stop_end_time`` (wire ``stopEndUnixTime``): expiry, unix seconds or an aware datetime.
    """
    return _stop(CommandOpcode.CREATE_STOP, guid, None, **_kwargs(locals()))


def create_stop_limit_request(
    guid: str,
    *,
    side: EnumLike,
    quantity: int,
    price: Price,
    condition: EnumLike,
    trigger_price: Price,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    stop_end_time: UnixTime | None = None,
    protecting_seconds: int | None = None,
    comment: str | None = None,
    time_in_force: EnumLike | None = None,
    allow_margin: bool | None = None,
    iceberg_fixed: int | None = None,
    iceberg_variance: int | None = None,
    activate: bool | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``create:stopLimit``: a limit order at ``price`` sent when the trigger condition holds."""
    return _stop(CommandOpcode.CREATE_STOP_LIMIT, guid, None, **_kwargs(locals()))


def update_market_request(
    guid: str,
    *,
    order_id: str | int,
    side: EnumLike,
    quantity: int,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    comment: str | None = None,
    time_in_force: EnumLike | None = None,
    allow_margin: bool | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``update:market``: replace order ``order_id``; the reply carries the new order number."""
    return _market(CommandOpcode.UPDATE_MARKET, guid, order_id, **_kwargs(locals()))


def update_limit_request(
    guid: str,
    *,
    order_id: str | int,
    side: EnumLike,
    quantity: int,
    price: Price,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    comment: str | None = None,
    allow_margin: bool | None = None,
    iceberg_fixed: int | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``update:limit`` (the reference takes no ``timeInForce``/``icebergVariance`` here)."""
    return _limit(CommandOpcode.UPDATE_LIMIT, guid, order_id, **_kwargs(locals()))


def update_stop_request(
    guid: str,
    *,
    order_id: str | int,
    side: EnumLike,
    quantity: int,
    condition: EnumLike,
    trigger_price: Price,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    stop_end_time: UnixTime | None = None,
    protecting_seconds: int | None = None,
    comment: str | None = None,
    allow_margin: bool | None = None,
    activate: bool | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``update:stop``: replace stop order ``order_id``."""
    return _stop(CommandOpcode.UPDATE_STOP, guid, order_id, **_kwargs(locals()))


def update_stop_limit_request(
    guid: str,
    *,
    order_id: str | int,
    side: EnumLike,
    quantity: int,
    price: Price,
    condition: EnumLike,
    trigger_price: Price,
    symbol: str,
    exchange: str,
    portfolio: str,
    instrument_group: str | None = None,
    stop_end_time: UnixTime | None = None,
    protecting_seconds: int | None = None,
    comment: str | None = None,
    time_in_force: EnumLike | None = None,
    allow_margin: bool | None = None,
    iceberg_fixed: int | None = None,
    iceberg_variance: int | None = None,
    activate: bool | None = None,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``update:stopLimit``: replace stop-limit order ``order_id``."""
    return _stop(CommandOpcode.UPDATE_STOP_LIMIT, guid, order_id, **_kwargs(locals()))


def _kwargs(frame_locals: dict[str, Any]) -> dict[str, Any]:
    """A builder's keyword arguments (its ``locals()`` minus ``guid`` and ``order_id``)."""
    return {k: v for k, v in frame_locals.items() if k not in ("guid", "order_id")}


class DeleteBuilder(Protocol):
    """The signature the four ``delete:*`` builders share: they differ only in their opcode."""

    def __call__(
        self,
        guid: str,
        *,
        order_id: str | int,
        exchange: str,
        portfolio: str,
        check_duplicates: bool | None = None,
    ) -> JsonDict: ...


def _delete_builder(opcode: CommandOpcode, doc: str) -> DeleteBuilder:
    """The builder of ``opcode`` (a ``delete:*``), named and documented as if written out."""

    def build(
        guid: str,
        *,
        order_id: str | int,
        exchange: str,
        portfolio: str,
        check_duplicates: bool | None = None,
    ) -> JsonDict:
        request: JsonDict = {
            "opcode": opcode.value,
            "guid": check_guid(guid),
            "orderId": check_order_id(order_id),
            "exchange": check_text("exchange", exchange),
            "user": {"portfolio": check_text("portfolio", portfolio)},
        }
        return _put_options(request, check_duplicates=check_duplicates)

    build.__name__ = build.__qualname__ = f"{opcode.name.lower()}_request"
    build.__doc__ = doc
    return build


delete_market_request = _delete_builder(
    CommandOpcode.DELETE_MARKET, "``delete:market``: cancel order ``order_id``."
)
delete_limit_request = _delete_builder(
    CommandOpcode.DELETE_LIMIT, "``delete:limit``: cancel limit order ``order_id``."
)
delete_stop_request = _delete_builder(
    CommandOpcode.DELETE_STOP, "``delete:stop``: cancel stop order ``order_id``."
)
delete_stop_limit_request = _delete_builder(
    CommandOpcode.DELETE_STOP_LIMIT, "``delete:stopLimit``: cancel stop-limit order ``order_id``."
)


_COMMAND_BUILDERS: Mapping[str, Callable[..., JsonDict]] = {
    op.value.lower(): builder
    for op, builder in (
        (CommandOpcode.CREATE_MARKET, create_market_request),
        (CommandOpcode.CREATE_LIMIT, create_limit_request),
        (CommandOpcode.CREATE_STOP, create_stop_request),
        (CommandOpcode.CREATE_STOP_LIMIT, create_stop_limit_request),
        (CommandOpcode.UPDATE_MARKET, update_market_request),
        (CommandOpcode.UPDATE_LIMIT, update_limit_request),
        (CommandOpcode.UPDATE_STOP, update_stop_request),
        (CommandOpcode.UPDATE_STOP_LIMIT, update_stop_limit_request),
        (CommandOpcode.DELETE_MARKET, delete_market_request),
        (CommandOpcode.DELETE_LIMIT, delete_limit_request),
        (CommandOpcode.DELETE_STOP, delete_stop_request),
        (CommandOpcode.DELETE_STOP_LIMIT, delete_stop_limit_request),
    )
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
