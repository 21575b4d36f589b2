"""The account's own orders: their records, their numbers, and the rules that say when they execute.

Rules of this module:

* Records are frozen snapshots. A change replaces the record (``attrs.evolve``), so a record handed
  to a listener (and perhaps encoded later on another thread) never changes under it.
* Only the *rules* of matching live here (does a limit cross the book? must a stop trigger now?);
  executing fills and booking them is ``account_trading.py``'s job.
* Numbers are strings of digits, strictly increasing per account, one sequence each for exchange
  orders, stop orders and trades (the broker's examples: orders ``18995978560``, stops ``8939``).

Not thread-safe: the emulator server calls the account under its venue lock.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Literal

import attrs

from alor_sync.emulator.venue import InstrumentInfo, Side

__all__ = [
    "FIRST_BIG_ORDER_NUMBER",
    "FIRST_BIG_TRADE_NUMBER",
    "FIRST_ORDER_NUMBER",
    "FIRST_STOP_ORDER_NUMBER",
    "FIRST_TRADE_NUMBER",
    "AccountOrders",
    "Condition",
    "Iceberg",
    "InstrumentKey",
    "OrderRecord",
    "OrderStatus",
    "StopDecision",
    "StopOrderRecord",
    "TimeInForce",
    "condition_holds",
    "draw_iceberg",
    "end_time_for",
    "limit_crosses",
    "price_of_value",
    "statuses_filter",
    "unit_value",
]

OrderStatus = Literal["working", "filled", "canceled", "rejected"]
OrderType = Literal["market", "limit"]
StopType = Literal["stop", "stoplimit"]
Condition = Literal["more", "less", "moreorequal", "lessorequal"]
TimeInForce = Literal[
    "oneday", "immediateorcancel", "fillorkill", "attheclose", "goodtillcancelled", "bookorcancel"
]
StopDecision = Literal["wait", "trigger", "expire"]

FIRST_ORDER_NUMBER = 18995978560
FIRST_STOP_ORDER_NUMBER = 8939
FIRST_TRADE_NUMBER = 4421925358
# Production's exchange numbers have 19 digits, beyond the 2**53 a double holds exactly (the
# production profile uses these; the values are ours).
FIRST_BIG_ORDER_NUMBER = 1_899_597_856_012_345_678
FIRST_BIG_TRADE_NUMBER = 2_022_426_556_961_456_082

_ZERO = Decimal(0)
_DAY = 86400.0


@attrs.frozen
class Iceberg:
    """The iceberg part of a limit order: ``fixed`` lots shown, plus a random ``addon`` (lots)."""

    fixed: int
    variance: int  # percent, as sent in ``icebergVariance``
    addon: int  # lots added to the visible part, drawn once at creation (seeded)

    def visible_lots(self, remaining: int) -> int:
        return min(self.fixed + self.addon, remaining)


@attrs.frozen(kw_only=True)
class OrderRecord:
    """One exchange order (market or limit) as the Orders stream shows it."""

    id: str
    portfolio: str
    instrument: InstrumentInfo
    type: OrderType
    side: Side
    status: OrderStatus
    lots: int
    filled_lots: int = 0
    filled_volume: Decimal = _ZERO  # money value of the fills so far
    limit_price: Decimal | None  # None for market orders
    time_in_force: TimeInForce
    allow_margin: bool
    comment: str | None
    iceberg: Iceberg | None
    trans_time: float
    update_time: float
    end_time: float
    stop_order_id: str | None = None  # the stop order that spawned this one, if any

    @property
    def remaining(self) -> int:
        return self.lots - self.filled_lots

    @property
    def average_fill_price(self) -> Decimal:
        if self.filled_lots == 0:
            return _ZERO
        per_unit = self.filled_volume / (self.filled_lots * self.instrument.lot_size)
        return price_of_value(self.instrument, per_unit)

    @property
    def price(self) -> Decimal:
        """The limit price; for a market order the average fill price (0 before any fill)."""
        return self.limit_price if self.limit_price is not None else self.average_fill_price

    @property
    def volume(self) -> Decimal:
        """Limit: price times quantity; market: the value filled so far."""
        if self.limit_price is None:
            return self.filled_volume
        units = self.lots * self.instrument.lot_size
        return unit_value(self.instrument, self.limit_price) * units


@attrs.frozen(kw_only=True)
class StopOrderRecord:
    """One conditional order (stop or stop-limit) as the StopOrders streams show it."""

    id: str
    portfolio: str
    instrument: InstrumentInfo
    type: StopType
    side: Side
    condition: Condition
    status: OrderStatus
    lots: int
    filled_lots: int = 0
    average_fill_price: Decimal = _ZERO
    trigger_price: Decimal
    limit_price: Decimal | None  # stop-limit only
    time_in_force: TimeInForce
    allow_margin: bool
    comment: str | None
    iceberg: Iceberg | None
    protecting_seconds: int | None
    active: bool
    expires_at: float | None  # ``stopEndUnixTime``; None = no expiry
    trans_time: float
    update_time: float | None = None
    exchange_order_id: str | None = None
    error: str | None = None

    @property
    def price(self) -> Decimal:
        return self.limit_price if self.limit_price is not None else _ZERO

    @property
    def volume(self) -> Decimal:
        reference = self.limit_price if self.limit_price is not None else self.trigger_price
        return unit_value(self.instrument, reference) * self.lots * self.instrument.lot_size


def draw_iceberg(fixed: int | None, variance: int | None, rng: random.Random) -> Iceberg | None:
    """The iceberg of a new order: the add-on is drawn once, up to ``variance`` % of ``fixed``."""
    if fixed is None:
        return None
    spread = fixed * (variance or 0) // 100
    return Iceberg(fixed, variance or 0, rng.randint(0, spread) if spread else 0)


def end_time_for(now: float, time_in_force: str) -> float:
    """End of the UTC day of ``now`` (23:59:59.999); a year later for good-till-cancelled."""
    end_of_day = (now // _DAY) * _DAY + _DAY - 0.001
    return end_of_day + 365 * _DAY if time_in_force == "goodtillcancelled" else end_of_day


def unit_value(instrument: InstrumentInfo, price: Decimal) -> Decimal:
    """Money per unit at ``price``: bonds are quoted in percent of their face value."""
    if instrument.kind == "bond":
        return price * instrument.face_value / 100
    return price


def price_of_value(instrument: InstrumentInfo, value: Decimal) -> Decimal:
    """The inverse of :func:`unit_value`."""
    if instrument.kind == "bond":
        return value * 100 / instrument.face_value
    return value


def limit_crosses(
    side: Side, limit_price: Decimal, best_bid: Decimal | None, best_ask: Decimal | None
) -> bool:
    """True when a limit order at ``limit_price`` can trade against the opposite best quote."""
    if side == "buy":
        return best_ask is not None and best_ask <= limit_price
    return best_bid is not None and best_bid >= limit_price


def condition_holds(condition: Condition, last_price: Decimal, trigger_price: Decimal) -> bool:
    """The stop condition, read as "last price <condition> trigger price"."""
    if condition == "more":
        return last_price > trigger_price
    if condition == "moreorequal":
        return last_price >= trigger_price
    if condition == "less":
        return last_price < trigger_price
    return last_price <= trigger_price


InstrumentKey = tuple[str, str]  # (exchange, symbol)


def _key(instrument: InstrumentInfo) -> InstrumentKey:
    return (instrument.exchange, instrument.symbol)


class AccountOrders:
    """Every order and stop order of one account, with indexes for cheap market updates.

    Invariant: ``_working[key]`` holds exactly the ids of working orders on that instrument, and
    ``_working_stops[key]`` those of working stop orders; both drop empty sets so that a plain
    ``in`` tells whether an instrument concerns the account at all.
    """

    def __init__(self, *, big_ids: bool = False) -> None:
        self._orders: dict[str, OrderRecord] = {}
        self._stops: dict[str, StopOrderRecord] = {}
        self._working: dict[InstrumentKey, set[str]] = {}
        self._working_stops: dict[InstrumentKey, set[str]] = {}
        # stop id -> clock time since which its condition has held without a break
        self._holding_since: dict[str, float] = {}
        self._order_numbers = itertools.count(
            FIRST_BIG_ORDER_NUMBER if big_ids else FIRST_ORDER_NUMBER
        )
        self._stop_numbers = itertools.count(FIRST_STOP_ORDER_NUMBER)
        # Own trades are numbered apart from the market's tape, so the two never collide.
        self._trade_numbers = itertools.count(
            FIRST_BIG_TRADE_NUMBER + 10**17 if big_ids else FIRST_TRADE_NUMBER
        )
        self._next_deadline = math.inf

    # -- numbering ---------------------------------------------------------------------------

    def new_order_id(self) -> str:
        return str(next(self._order_numbers))

    def new_stop_id(self) -> str:
        return str(next(self._stop_numbers))

    def new_trade_id(self) -> str:
        return str(next(self._trade_numbers))

    # -- storage -----------------------------------------------------------------------------

    def put_order(self, order: OrderRecord) -> None:
        self._orders[order.id] = order
        _index(self._working, _key(order.instrument), order.id, order.status == "working")

    def put_stop(self, stop: StopOrderRecord) -> None:
        self._stops[stop.id] = stop
        working = stop.status == "working"
        _index(self._working_stops, _key(stop.instrument), stop.id, working)
        if not working:
            self._holding_since.pop(stop.id, None)
        self._recompute_deadline()

    def order(self, order_id: str) -> OrderRecord | None:
        return self._orders.get(order_id)

    def stop(self, stop_id: str) -> StopOrderRecord | None:
        return self._stops.get(stop_id)

    def orders_of(self, portfolio: str, exchange: str) -> list[OrderRecord]:
        return [
            o
            for o in self._orders.values()
            if o.portfolio == portfolio and o.instrument.exchange == exchange
        ]

    def stops_of(self, portfolio: str, exchange: str) -> list[StopOrderRecord]:
        return [
            s
            for s in self._stops.values()
            if s.portfolio == portfolio and s.instrument.exchange == exchange
        ]

    def working_orders_on(self, key: InstrumentKey) -> list[OrderRecord]:
        return [self._orders[i] for i in sorted(self._working.get(key, ()), key=int)]

    def working_orders(self) -> Iterator[OrderRecord]:
        for ids in self._working.values():
            for order_id in ids:
                yield self._orders[order_id]

    def working_stops_on(self, key: InstrumentKey) -> list[StopOrderRecord]:
        return [self._stops[i] for i in sorted(self._working_stops.get(key, ()), key=int)]

    def concerns(self, key: InstrumentKey) -> bool:
        """True when a working order or stop order waits on this instrument."""
        return key in self._working or key in self._working_stops

    # -- stop-order timing -------------------------------------------------------------------

    def decide(self, stop: StopOrderRecord, last_price: Decimal, now: float) -> StopDecision:
        """Whether a working stop must expire, trigger, or wait, given the price seen ``now``.

        With ``protectingSeconds`` the condition must hold without a break for that long: the
        first time it is seen to hold starts the watch, any observation where it fails resets it.
        """
        if stop.expires_at is not None and now >= stop.expires_at:
            return "expire"
        if not stop.active:
            return "wait"
        if not condition_holds(stop.condition, last_price, stop.trigger_price):
            if self._holding_since.pop(stop.id, None) is not None:
                self._recompute_deadline()
            return "wait"
        if not stop.protecting_seconds:
            return "trigger"
        since = self._holding_since.get(stop.id)
        if since is None:
            self._holding_since[stop.id] = since = now
            self._recompute_deadline()
        return "trigger" if now - since >= stop.protecting_seconds else "wait"

    def deadline_passed(self, now: float) -> bool:
        """True when some stop may expire or finish its protecting time at ``now``."""
        return now >= self._next_deadline

    def keys_with_deadline(self, now: float) -> list[InstrumentKey]:
        """Instruments with a working stop whose expiry or protecting time has come."""
        due: set[InstrumentKey] = set()
        for key, ids in self._working_stops.items():
            if any(self._deadline_of(self._stops[i]) <= now for i in ids):
                due.add(key)
        return sorted(due)

    def _deadline_of(self, stop: StopOrderRecord) -> float:
        deadline = stop.expires_at if stop.expires_at is not None else math.inf
        since = self._holding_since.get(stop.id)
        if since is not None and stop.protecting_seconds:
            deadline = min(deadline, since + stop.protecting_seconds)
        return deadline

    def _recompute_deadline(self) -> None:
        self._next_deadline = min(
            (
                self._deadline_of(self._stops[i])
                for ids in self._working_stops.values()
                for i in ids
            ),
            default=math.inf,
        )


def _index(index: dict[InstrumentKey, set[str]], key: InstrumentKey, item: str, on: bool) -> None:
    if on:
        index.setdefault(key, set()).add(item)
        return
    members = index.get(key)
    if members is not None:
        members.discard(item)
        if not members:
            del index[key]


def statuses_filter(statuses: Iterable[str] | None) -> frozenset[str] | None:
    """The ``orderStatuses`` filter, lower-cased; None (no filter) when absent or empty."""
    if not statuses:
        return None
    return frozenset(s.lower() for s in statuses)
