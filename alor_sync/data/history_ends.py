"""When is a "get and subscribe" stream's initial part over? One rule per kind of stream.

The API has no "history done" message: every ``*GetAndSubscribe`` stream sends its snapshot or
history and then simply goes on with live data. A rule here looks at the items of one stream, in
order, and says when the initial part is certainly complete (:meth:`EndRule.feed` returns True).
What the rules rely on (reference 2.5):

* ``existing`` (``h`` in Slim) is True on the initial part of order books, all-trades, positions,
  trades, orders and stop orders and False on live events: the first live item ends the history.
* Bars carry no flag, but come in time order, one frame per candle, and after the history the
  server re-sends the current candle with the same ``time`` whenever it changes: a candle newer
  than ``to_time``, or a candle repeating the previous one's ``time``, ends the history. A candle
  *older* than the previous one means the server started the history again (a renewal after a
  reconnect or an overflow): the collection is keyed by time, so it simply goes on.
* All-trades with ``depth=N`` sends at most N history trades: the N-th ends it.
* Full-state streams (order book, quote, summaries, risks) end with their first frame,
  instruments with their first full object.

When none of these happens (an empty history, a history shorter than asked, no live event), the
caller decides with the server's confirmation and a quiet interval (see
:mod:`alor_sync.data.snapshot_reads`). The collections are keyed (by candle time, trade id,
order id, symbol) so that a history sent twice never yields duplicates.

Rules of this module: no threads, no I/O, no clock; a rule is fed by one thread at a time (the
collector serialises it under its lock).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from alor_sync.models import AllTrade, Bar, Instrument

__all__ = ["AllTradesEnd", "BarsEnd", "EndRule", "FirstItem", "KeyedHistory"]

T = TypeVar("T")
R = TypeVar("R")


class EndRule(Generic[T, R]):
    """Fed every item of one stream in order; ``feed`` returns True once the initial part is
    complete; ``result`` is what the one-shot get returns."""

    def feed(self, item: T) -> bool:
        raise NotImplementedError

    def result(self) -> R:
        raise NotImplementedError

    @property
    def count(self) -> int:
        """How many items the result holds so far (for timeout messages)."""
        raise NotImplementedError


class FirstItem(EndRule[T, T]):
    """Full-state streams: the first item is the answer (instruments: the first full object)."""

    def __init__(self) -> None:
        self._item: T | None = None

    def feed(self, item: T) -> bool:
        if isinstance(item, Instrument) and not item.is_full:
            return False  # an update of fields we never saw in full tells us nothing
        self._item = item
        return True

    def result(self) -> T:
        if self._item is None:
            raise LookupError("no item yet")
        return self._item

    @property
    def count(self) -> int:
        return 0 if self._item is None else 1


class KeyedHistory(EndRule[T, list[T]]):
    """Positions, trades, orders, stop orders: the latest version of each key, in first-seen order.

    Items flagged ``existing=True`` are the snapshot; the first one flagged False is a live
    change: it ends the get and is not part of the answer (like a live all-trades item), so the
    answer is always the server's snapshot, filters such as ``order_statuses`` included.
    """

    def __init__(self, key: Callable[[T], Hashable]) -> None:
        self._key = key
        self._items: dict[Hashable, T] = {}

    def feed(self, item: T) -> bool:
        if getattr(item, "existing", None) is False:
            return True
        self._items[self._key(item)] = item
        return False

    def result(self) -> list[T]:
        return list(self._items.values())

    @property
    def count(self) -> int:
        return len(self._items)


class BarsEnd(EndRule[Bar, list[Bar]]):
    """Candles the server sends up to ``to_time`` (unix seconds, inclusive; None: up to now)."""

    def __init__(self, to_time: int | None) -> None:
        self._to = to_time
        self._bars: dict[int, Bar] = {}
        self._last: int | None = None

    def feed(self, item: Bar) -> bool:
        time = item.timestamp_s
        if self._to is not None and time > self._to:
            return True  # newer than asked for: everything up to to_time has arrived
        repeated = time == self._last
        self._last = time
        self._bars[time] = item
        return repeated  # the current candle sent again: live updates have begun

    def result(self) -> list[Bar]:
        return [self._bars[t] for t in sorted(self._bars)]

    @property
    def count(self) -> int:
        return len(self._bars)


class AllTradesEnd(EndRule[AllTrade, list[AllTrade]]):
    """The last ``depth`` trades of the tape (oldest first); a live trade is not part of them."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._trades: dict[int, AllTrade] = {}

    def feed(self, item: AllTrade) -> bool:
        if item.existing is False:
            return True
        self._trades[item.id] = item
        return len(self._trades) >= self._depth

    def result(self) -> list[AllTrade]:
        return list(self._trades.values())

    @property
    def count(self) -> int:
        return len(self._trades)


def position_key(item: Any) -> Hashable:
    """Positions are upserted on ``symbol`` (and exchange) in the reference and in ASTRAS."""
    return (getattr(item, "exchange", None), item.symbol)


def id_key(item: Any) -> Hashable:
    """Trades, orders and stop orders are upserted on ``id``."""
    key: Hashable = item.id
    return key
