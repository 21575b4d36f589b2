"""Typed payloads of the ALOR ``/ws`` data streams and their enumerations.

Owns: the frozen attrs types users receive, and their enumerations.

Never: knows a wire name (``alor_sync.codec`` maps them) or does I/O.

Rules of this package:

* Frozen attrs classes (slotted), one per stream payload, snake_case names that mean the same in
  every model (``symbol``, ``exchange``, ``board``, ``portfolio``, ``price``, ``quantity_*``,
  ``existing``...). Wire (JSON) names live only in :mod:`alor_sync.codec.converter`. One
  exception: an order book's side, :class:`BookSide`, is a hand-written frozen sequence (it
  may keep the decoded rows and gather its columns on first use, which attrs fields cannot).
* Prices and money are typed with the model's price variable ``P``: a model is generic in it
  (``Quote[float]`` by default, ``Quote[Decimal]`` when decoded with ``exact=True``; a bare
  ``Quote`` means ``Quote[float]``). Types only: the classes are the same in both modes, and
  decoders read ``P`` as :data:`Number`. Quantities in lots or pieces of orders are ``int``.
* Optional everywhere the server may omit a field or send ``null``; only the identity of a
  record is required (``symbol`` of a quote, ``id`` of an order...).

Every model is immutable and safe to share between threads; models never run code on their own.
"""

from __future__ import annotations

from alor_sync.models.enums import (
    ClientType,
    Condition,
    Exchange,
    OrderStatus,
    OrderType,
    RiskStatus,
    Side,
    StopOrderType,
    TimeInForce,
    TradingStatus,
)
from alor_sync.models.market import (
    AllTrade,
    Bar,
    BookSide,
    Instrument,
    OrderBook,
    OrderBookLevel,
    Quote,
)
from alor_sync.models.orders import Iceberg, Order, RepoFields, StopOrder, Trade
from alor_sync.models.portfolio import CurrencyBuyingPower, Position, Risk, SpectraRisk, Summary
from alor_sync.models.values import Number

__all__ = [
    "AllTrade",
    "Bar",
    "BookSide",
    "ClientType",
    "Condition",
    "CurrencyBuyingPower",
    "Exchange",
    "Iceberg",
    "Instrument",
    "Number",
    "Order",
    "OrderBook",
    "OrderBookLevel",
    "OrderStatus",
    "OrderType",
    "Position",
    "Quote",
    "RepoFields",
    "Risk",
    "RiskStatus",
    "Side",
    "SpectraRisk",
    "StopOrder",
    "StopOrderType",
    "Summary",
    "TimeInForce",
    "Trade",
    "TradingStatus",
]
