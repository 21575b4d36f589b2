"""Own-trading models: orders, stop orders and own trades of a portfolio.

Rules of this module:

* One frozen class per stream payload; fields are the union of what the Simple, Slim and Heavy
  formats carry, ``None`` where the decoded format lacks a field or the server sent ``null``.
* Ids are strings (the server sends some as numbers; they are printed exactly). Upsert on ``id``.
* Quantities are ``int``: ``*_units`` are pieces, ``*_batch`` lots; ``quantity`` /
  ``filled_quantity`` are the lot counts in every format (properties reading ``*_batch`` or the
  deprecated wire field); ``deprecated_*`` fields hold the wire fields ALOR deprecated.

Instances are immutable and safe to share between threads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic

import attrs

from alor_sync.models.enums import (
    Condition,
    OrderStatus,
    OrderType,
    Side,
    StopOrderType,
    TimeInForce,
)
from alor_sync.models.values import P

__all__ = ["Iceberg", "Order", "RepoFields", "StopOrder", "Trade"]


def _first(preferred: int | None, deprecated: int | None) -> int | None:
    return preferred if preferred is not None else deprecated


class _OrderLots:
    """The lot counts of an order (limit, market or stop), read from whichever field the
    format carries."""

    __slots__ = ()
    quantity_batch: int | None
    deprecated_quantity: int | None
    filled_quantity_batch: int | None
    deprecated_filled_quantity: int | None

    @property
    def quantity(self) -> int | None:
        """Quantity in lots, in every format: ``quantity_batch``, else the deprecated ``qty``."""
        return _first(self.quantity_batch, self.deprecated_quantity)

    @property
    def filled_quantity(self) -> int | None:
        """Filled lots, in every format: ``filled_quantity_batch``, else the deprecated
        ``filled``."""
        return _first(self.filled_quantity_batch, self.deprecated_filled_quantity)


@attrs.frozen
class Iceberg:
    """Iceberg parameters of an :class:`Order` or :class:`StopOrder` (quantities in lots)."""

    creation_fixed_quantity: int | None = None
    creation_variance_quantity: int | None = None
    visible_quantity: int | None = None
    visible_quantity_batch: int | None = None
    visible_filled_quantity: int | None = None
    visible_filled_quantity_batch: int | None = None


@attrs.frozen
class RepoFields(Generic[P]):
    """Repo-specific attributes of a :class:`Trade` (``None`` on the trade for ordinary deals)."""

    repo_rate: P | None = None
    ext_ref: str | None = None
    repo_term: int | None = None
    account: str | None = None
    trade_type_info: str | None = None
    value: P | None = None
    yield_: P | None = None


@attrs.frozen
class Trade(Generic[P]):
    """One own trade of a portfolio: stream ``TradesGetAndSubscribeV2``.

    Slim lacks the deprecated ``qty``; only Heavy carries ``settle_date``.
    """

    id: str
    order_id: str | None = None
    """Exchange number of the order that traded."""
    comment: str | None = None
    symbol: str | None = None
    broker_symbol: str | None = None
    exchange: str | None = None
    time: datetime | None = None
    """When the trade happened."""
    board: str | None = None
    quantity_units: int | None = None
    quantity_batch: int | None = None
    deprecated_quantity: int | None = None
    """The deprecated wire field ``qty``: use :attr:`quantity`."""
    price: P | None = None
    accrued_interest: P | None = None
    side: Side | str | None = None
    existing: bool | None = None
    """True for the session's trades sent at subscription, False for live trades."""
    commission: P | None = None
    repo: RepoFields[P] | None = None
    volume: P | None = None
    """Money value of the trade."""
    settle_date: datetime | None = None

    @property
    def quantity(self) -> int | None:
        """Quantity in lots: ``quantity_batch``, else the deprecated ``qty``."""
        return _first(self.quantity_batch, self.deprecated_quantity)


@attrs.frozen
class Order(_OrderLots, Generic[P]):
    """One own exchange order (market or limit): stream ``OrdersGetAndSubscribeV2``.

    Every change arrives as the full object. Only Simple carries the deprecated wire fields
    (``deprecated_quantity``, ``deprecated_filled_quantity``).
    """

    id: str
    symbol: str | None = None
    board: str | None = None
    broker_symbol: str | None = None
    portfolio: str | None = None
    exchange: str | None = None
    comment: str | None = None
    type: OrderType | str | None = None
    side: Side | str | None = None
    status: OrderStatus | str | None = None
    trans_time: datetime | None = None
    """When the order was placed."""
    update_time: datetime | None = None
    end_time: datetime | None = None
    """When the order expires."""
    quantity_units: int | None = None
    quantity_batch: int | None = None
    deprecated_quantity: int | None = None
    """The deprecated wire field ``qty`` (Simple only): use :attr:`quantity`."""
    filled_quantity_units: int | None = None
    filled_quantity_batch: int | None = None
    deprecated_filled_quantity: int | None = None
    """The deprecated wire field ``filled`` (Simple only): use :attr:`filled_quantity`."""
    price: P | None = None
    existing: bool | None = None
    """True for the session's orders sent at subscription, False for live changes."""
    time_in_force: TimeInForce | str | None = None
    iceberg: Iceberg | None = None
    volume: P | None = None
    """Money value of the order."""


@attrs.frozen
class StopOrder(_OrderLots, Generic[P]):
    """One own conditional (stop / stop-limit) order: stream ``StopOrdersGetAndSubscribeV2``.

    Frames of the deprecated v1 stream ``StopOrdersGetAndSubscribe`` decode into this class too;
    they carry only ``id``, ``symbol``, ``broker_symbol``, ``exchange``, ``board``, ``type``,
    ``stop_price``, ``side``, ``status``, ``end_time``, ``deprecated_quantity`` (so
    ``quantity``), ``filled_quantity_batch``,
    ``price`` and ``existing`` (no portfolio).
    """

    id: str
    exchange_order_id: str | None = None
    """Exchange number of the order placed when the stop triggered (None before that)."""
    symbol: str | None = None
    broker_symbol: str | None = None
    portfolio: str | None = None
    exchange: str | None = None
    comment: str | None = None
    board: str | None = None
    type: StopOrderType | str | None = None
    side: Side | str | None = None
    condition: Condition | str | None = None
    status: OrderStatus | str | None = None
    trans_time: datetime | None = None
    update_time: datetime | None = None
    end_time: datetime | None = None
    error: str | None = None
    """Why the order was rejected, if it was."""
    quantity_units: int | None = None
    quantity_batch: int | None = None
    deprecated_quantity: int | None = None
    """The deprecated wire field ``qty`` (Simple V2, the v1 stream): use :attr:`quantity`."""
    filled_quantity_units: int | None = None
    filled_quantity_batch: int | None = None
    price: P | None = None
    """Limit price of a stop-limit order (0 for a stop order)."""
    avg_price: P | None = None
    stop_price: P | None = None
    existing: bool | None = None
    """True for the session's orders sent at subscription, False for live changes."""
    time_in_force: TimeInForce | str | None = None
    iceberg: Iceberg | None = None
    volume: P | None = None
    protecting_seconds: int | None = None
    deprecated_filled_quantity: int | None = None
    """The deprecated wire field ``filled`` (Simple only): use :attr:`filled_quantity`."""
