"""The request builders of the twelve ``/cws`` order commands, one typed function each.

Generated from the command specs (:mod:`alor_sync.protocol.command_specs`): do not edit;
regenerate with ``python -m alor_sync.commands.generate``.

Rules of this module:

* Types and docs only: each builder hands its ``locals()`` to
  :func:`~alor_sync.protocol.command_specs.build_command`, which checks every value and lays the
  request out (prices, guids and serialising: :mod:`alor_sync.protocol.cws`).
"""

from __future__ import annotations

from alor_sync.protocol._checks import EnumLike, JsonDict, Price, UnixTime
from alor_sync.protocol.command_specs import build_command
from alor_sync.wire import CommandOpcode

__all__ = [
    "create_limit_request",
    "create_market_request",
    "create_stop_limit_request",
    "create_stop_request",
    "delete_limit_request",
    "delete_market_request",
    "delete_stop_limit_request",
    "delete_stop_request",
    "update_limit_request",
    "update_market_request",
    "update_stop_limit_request",
    "update_stop_request",
]


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
    return build_command(CommandOpcode.CREATE_MARKET, locals())


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
    return build_command(CommandOpcode.CREATE_LIMIT, locals())


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
    return build_command(CommandOpcode.CREATE_STOP, locals())


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
    return build_command(CommandOpcode.CREATE_STOP_LIMIT, locals())


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
    return build_command(CommandOpcode.UPDATE_MARKET, locals())


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
    return build_command(CommandOpcode.UPDATE_LIMIT, locals())


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
    return build_command(CommandOpcode.UPDATE_STOP, locals())


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
    return build_command(CommandOpcode.UPDATE_STOP_LIMIT, locals())


def delete_market_request(
    guid: str,
    *,
    order_id: str | int,
    exchange: str,
    portfolio: str,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``delete:market``: cancel order ``order_id``."""
    return build_command(CommandOpcode.DELETE_MARKET, locals())


def delete_limit_request(
    guid: str,
    *,
    order_id: str | int,
    exchange: str,
    portfolio: str,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``delete:limit``: cancel limit order ``order_id``."""
    return build_command(CommandOpcode.DELETE_LIMIT, locals())


def delete_stop_request(
    guid: str,
    *,
    order_id: str | int,
    exchange: str,
    portfolio: str,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``delete:stop``: cancel stop order ``order_id``."""
    return build_command(CommandOpcode.DELETE_STOP, locals())


def delete_stop_limit_request(
    guid: str,
    *,
    order_id: str | int,
    exchange: str,
    portfolio: str,
    check_duplicates: bool | None = None,
) -> JsonDict:
    """``delete:stopLimit``: cancel stop-limit order ``order_id``."""
    return build_command(CommandOpcode.DELETE_STOP_LIMIT, locals())
