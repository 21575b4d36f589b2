"""Market-data models: order books, bars, quotes, the all-trades tape and instrument updates.

Rules of this module:

* One frozen class per stream payload; fields are the union of what the Simple, Slim and Heavy
  formats carry, ``None`` where the decoded format lacks a field (or the server sent ``null``).
* Unix times stay the integers the server sends (``*_timestamp_s`` / ``*_timestamp_ms``); a
  property of the same stem without the unit (``time``, ``last_price_time``...) gives an aware
  UTC ``datetime``. ISO-8601 times are decoded to aware UTC ``datetime`` fields directly.
* No wire (JSON) names here: ``alor_sync.codec.converter`` maps them.

Instances are immutable and safe to share between threads.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import repeat
from operator import methodcaller
from typing import Any, Generic, NamedTuple, Protocol, TypeAlias, cast, overload

import attrs

from alor_sync.errors import InvalidArgumentError
from alor_sync.models.enums import Side
from alor_sync.models.values import P, datetime_from_unix_ms, datetime_from_unix_seconds

__all__ = [
    "AllTrade", "Bar", "BookSide", "Instrument", "LevelRow", "OrderBook", "OrderBookLevel", "Quote",
    "SideColumns", "side_data_setter",
]  # fmt: skip


def _from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime_from_unix_ms(value)


def _from_seconds(value: int | None) -> datetime | None:
    return None if value is None else datetime_from_unix_seconds(value)


class OrderBookLevel(NamedTuple, Generic[P]):
    """One price level of an order book side (``OrderBookGetAndSubscribe``)."""

    price: P
    """Price of the level."""
    volume: int
    """Volume at that price, in lots."""
    yield_: P | None = None
    """Yield at that price: bonds in the Slim format only, else ``None``."""


class LevelRow(Protocol):
    """One decoded wire level that a :class:`BookSide` may keep instead of its columns.

    The one-pass decoder (``alor_sync.codec.book_levels``) makes these; they turn into the very
    values the columns hold (the same types: float or ``Decimal`` prices), so a side that keeps
    rows reads exactly like one built from columns.
    """

    def level(self) -> OrderBookLevel[Any]:
        """This row as the level ``side[i]`` gives."""
        ...

    @staticmethod
    def columns(rows: tuple[Any, ...]) -> SideColumns:
        """The columns of a whole side made of ``rows``."""
        ...


class SideColumns(NamedTuple):
    """The columns of a :class:`BookSide`, as it stores them (its own class, so that a side
    tells them from kept rows, also a tuple, by one identity test)."""

    prices: tuple[Any, ...]
    volumes: tuple[int, ...]
    yields: tuple[Any, ...] | None


_NO_COLUMNS = SideColumns((), (), None)
_level_of = methodcaller("level")
_new_tuple = tuple.__new__  # a named tuple's own __new__ is one Python call more


class BookSide(Sequence[OrderBookLevel[P]], Generic[P]):
    """One side of an :class:`OrderBook`: a sequence of :class:`OrderBookLevel`, best first.

    ``side[0].price``, ``len(side)``, ``for price, volume, yield_ in side`` and slicing work as
    on a tuple of rows; the columns ``prices``, ``volumes`` and ``yields`` are there for
    vectorised use. Immutable (setting an attribute raises ``attrs.exceptions.
    FrozenInstanceError``), equal and hashed by its columns, picklable. Not an attrs class:
    build a changed side with ``BookSide(prices, volumes, yields)``.

    A side decoded from the network keeps the wire's rows and gathers its columns on first use
    of any of them (or of ``==``, ``hash``, ``repr`` or pickling, which work on columns):
    regathering 80 values a depth-20 book cost a third of its decode, and most callbacks read
    only the best levels (``docs/performance.md``). Until then ``len``, ``side[i]``, iteration
    and slicing read the rows. What you observe is the same either way.

    Safe to share between threads without a lock: the data is one slot holding the rows (never
    changed) or the columns, replaced at most once by complete columns. Two threads that both
    find rows both store equal columns; a reader holds on to what it found.
    """

    __slots__ = ("_data",)

    _data: tuple[LevelRow, ...] | SideColumns  # the decoder's rows, or the columns

    def __init__(
        self,
        prices: tuple[P, ...] = (),
        volumes: tuple[int, ...] = (),
        yields: tuple[P | None, ...] | None = None,
    ) -> None:
        count = len(prices)
        if len(volumes) != count or (yields is not None and len(yields) != count):
            raise InvalidArgumentError("a book side needs as many volumes (and yields) as prices")
        _set_data(self, _new_tuple(SideColumns, (prices, volumes, yields)))

    @property
    def prices(self) -> tuple[P, ...]:
        """Prices, best first."""
        data = self._data
        return (data if data.__class__ is SideColumns else self._gather(data))[0]

    @property
    def volumes(self) -> tuple[int, ...]:
        """Volumes in lots, one per price."""
        data = self._data
        return (data if data.__class__ is SideColumns else self._gather(data))[1]

    @property
    def yields(self) -> tuple[P | None, ...] | None:
        """Yields, one per price, or None when no level carries one (all but Slim bond books)."""
        data = self._data
        return (data if data.__class__ is SideColumns else self._gather(data))[2]

    def _columns(self) -> SideColumns:
        data = self._data
        return data if isinstance(data, SideColumns) else self._gather(data)

    def _gather(self, rows: Any) -> SideColumns:
        """The columns of ``rows``, this side's rows as the caller read them once (read again,
        they might already be another thread's columns), stored for the next reader."""
        columns: SideColumns = rows[0].columns(rows) if rows else _NO_COLUMNS
        _set_data(self, columns)
        return columns

    @classmethod
    def from_levels(cls, levels: Iterable[OrderBookLevel[P]]) -> BookSide[P]:
        """A side made of ``levels`` (best first)."""
        rows = [OrderBookLevel(*level) for level in levels]
        yields = tuple(level.yield_ for level in rows)
        return cls(
            tuple(level.price for level in rows),
            tuple(level.volume for level in rows),
            yields if any(y is not None for y in yields) else None,
        )

    def best(self) -> OrderBookLevel[P] | None:
        """The first (best) level, or None for an empty side."""
        data = self._data
        if not isinstance(data, SideColumns):
            return data[0].level() if data else None
        prices, volumes, yields = data
        if not prices:
            return None
        return _new_tuple(OrderBookLevel, (prices[0], volumes[0], yields and yields[0]))

    def __len__(self) -> int:
        data = self._data
        return len(data.prices) if isinstance(data, SideColumns) else len(data)

    @overload
    def __getitem__(self, index: int) -> OrderBookLevel[P]: ...

    @overload
    def __getitem__(self, index: slice) -> BookSide[P]: ...

    def __getitem__(self, index: int | slice) -> OrderBookLevel[P] | BookSide[P]:
        data = self._data
        if isinstance(index, slice):  # sliced columns: a slice's yields are those of the levels
            prices, volumes, yields = self._columns()
            return BookSide(
                prices[index], volumes[index], None if yields is None else yields[index]
            )
        if not isinstance(data, SideColumns):
            return data[index].level()
        prices, volumes, yields = data
        return OrderBookLevel(
            prices[index], volumes[index], None if yields is None else yields[index]
        )

    def __iter__(self) -> Iterator[OrderBookLevel[P]]:
        data = self._data
        if not isinstance(data, SideColumns):
            return map(_level_of, data)
        prices, volumes, yields = data
        return map(OrderBookLevel, prices, volumes, repeat(None) if yields is None else yields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not BookSide:
            return NotImplemented
        assert isinstance(other, BookSide)
        return self._columns() == other._columns()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((BookSide, self._columns()))

    def __repr__(self) -> str:
        prices, volumes, yields = self._columns()
        return f"BookSide(prices={prices!r}, volumes={volumes!r}, yields={yields!r})"

    def __reduce__(self) -> tuple[type[BookSide[P]], tuple[Any, ...]]:
        return BookSide, tuple(self._columns())

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError()


SlotSetter: TypeAlias = Callable[[Any, Any], None]
_set_data: SlotSetter = cast(Any, inspect.getattr_static(BookSide, "_data")).__set__


def side_data_setter() -> SlotSetter:
    """How a decoder builds sides without a call per side: ``side = object.__new__(BookSide)``,
    then ``set_data(side, rows)`` (a side that keeps ``rows``: a plain tuple of
    :class:`LevelRow`) or ``set_data(side, SideColumns(...))`` (columns of equal lengths)."""
    return _set_data


@attrs.frozen
class OrderBook(Generic[P]):
    """The visible order book of one instrument: stream ``OrderBookGetAndSubscribe``.

    Every frame is the whole book up to the requested depth (never a delta), best price first on
    both sides; empty sides when the book is empty.
    """

    bids: BookSide[P]
    """Buy levels, best (highest) price first."""
    asks: BookSide[P]
    """Sell levels, best (lowest) price first."""
    timestamp_ms: int | None = None
    """Unix milliseconds of the book state."""
    existing: bool | None = None
    """True for the snapshot sent at subscription, False for live updates."""
    snapshot: bool | None = None
    """Deprecated twin of ``existing`` (Simple only)."""
    timestamp_s: int | None = None
    """Deprecated unix seconds of the book state (Simple only)."""

    @property
    def time(self) -> datetime | None:
        """``timestamp_ms`` as an aware UTC datetime."""
        return _from_ms(self.timestamp_ms)

    @property
    def best_bid(self) -> OrderBookLevel[P] | None:
        """The highest bid, or None when there is none."""
        return self.bids.best()

    @property
    def best_ask(self) -> OrderBookLevel[P] | None:
        """The lowest ask, or None when there is none."""
        return self.asks.best()


@attrs.frozen
class Bar(Generic[P]):
    """One candle: stream ``BarsGetAndSubscribe``.

    The unfinished candle is re-sent with the same ``timestamp_s`` whenever it changes; a larger
    ``timestamp_s`` means a new candle started.
    """

    timestamp_s: int
    """Unix seconds of the candle's open."""
    open: P
    high: P
    low: P
    close: P
    volume: int
    """Traded volume in lots."""

    @property
    def time(self) -> datetime:
        """The candle's open as an aware UTC datetime."""
        return datetime_from_unix_seconds(self.timestamp_s)


@attrs.frozen
class Quote(Generic[P]):
    """Quote summary of one instrument: stream ``QuotesSubscribe``.

    Each frame is the complete quote. Slim lacks ``prev_close_price``, ``change`` and
    ``change_percent``; only Heavy has ``currency``; only Simple the deprecated twin of
    ``accrued_interest``.
    """

    symbol: str
    exchange: str | None = None
    description: str | None = None
    prev_close_price: P | None = None
    last_price: P | None = None
    last_price_timestamp_s: int | None = None
    """Unix seconds of the last trade."""
    high_price: P | None = None
    low_price: P | None = None
    accrued_interest: P | None = None
    volume: P | None = None
    open_interest: int | None = None
    ask: P | None = None
    bid: P | None = None
    ask_volume: int | None = None
    bid_volume: int | None = None
    order_book_timestamp_ms: int | None = None
    """Unix milliseconds of the order book the best bid/ask come from."""
    open_price: P | None = None
    yield_: P | None = None
    lot_size: P | None = None
    lot_value: P | None = None
    face_value: P | None = None
    security_type: str | None = None
    """Security type code, e.g. ``"CS"`` (common share)."""
    total_bid_volume: int | None = None
    total_ask_volume: int | None = None
    change: P | None = None
    change_percent: P | None = None
    deprecated_accrued_interest: P | None = None
    """Deprecated second copy of the accrued interest (Simple only)."""
    currency: str | None = None

    @property
    def last_price_time(self) -> datetime | None:
        """``last_price_timestamp_s`` as an aware UTC datetime."""
        return _from_seconds(self.last_price_timestamp_s)

    @property
    def order_book_time(self) -> datetime | None:
        """``order_book_timestamp_ms`` as an aware UTC datetime."""
        return _from_ms(self.order_book_timestamp_ms)


@attrs.frozen
class AllTrade(Generic[P]):
    """One anonymous trade of the exchange's tape: stream ``AllTradesGetAndSubscribe``.

    ``id`` is a 64-bit exchange trade number (may exceed 2**53; always an exact ``int``).
    """

    id: int
    order_id: str | None = None
    """Exchange order number (Simple only; the server sends 0 for anonymous trades)."""
    symbol: str | None = None
    board: str | None = None
    quantity: int | None = None
    """Quantity in lots."""
    price: P | None = None
    time: datetime | None = None
    """Trade time from the ISO-8601 field (not in Slim: use ``timestamp_ms``)."""
    timestamp_ms: int | None = None
    """Unix milliseconds of the trade."""
    side: Side | str | None = None
    """Side of the aggressor."""
    open_interest: int | None = None
    existing: bool | None = None
    """True for history sent at subscription (``depth``), False for live trades."""


_INSTRUMENT_FULL_MARKER = "exchange"


@attrs.frozen
class Instrument(Generic[P]):
    """Trading attributes of one instrument: stream ``InstrumentsGetAndSubscribeV2``.

    The first frame is the full object; later frames carry only the attributes that changed plus
    ``symbol``. Nothing is invented for the missing ones: they are ``None`` and ``fields`` names
    the attributes the frame actually carried (a ``None`` inside ``fields`` is a ``null`` the
    server sent). Use :meth:`merged_with` to apply an update to the full object you hold.
    """

    symbol: str
    exchange: str | None = None
    board: str | None = None
    trading_status: int | None = None
    """Trading-status code; compare with :class:`~alor_sync.models.enums.TradingStatus`."""
    trading_status_info: str | None = None
    price_min: P | None = None
    price_max: P | None = None
    margin_buy: P | None = None
    margin_sell: P | None = None
    margin_synthetic: P | None = None
    theor_price: P | None = None
    theor_price_limit: P | None = None
    volatility: P | None = None
    fields: frozenset[str] = frozenset()
    """Names of the attributes present in the frame (``symbol`` included)."""

    @property
    def is_full(self) -> bool:
        """True for the full object: it names the exchange, which an update never repeats."""
        return _INSTRUMENT_FULL_MARKER in self.fields

    @property
    def is_partial(self) -> bool:
        """True for an update that carries only the changed attributes."""
        return not self.is_full

    def merged_with(self, update: Instrument[P]) -> Instrument[P]:
        """This object with every attribute present in ``update`` taken from ``update``."""
        if update.symbol != self.symbol:
            raise InvalidArgumentError(
                f"cannot merge an update of {update.symbol!r} into {self.symbol!r}"
            )
        changes = {name: getattr(update, name) for name in update.fields if name != "fields"}
        return attrs.evolve(self, **changes, fields=self.fields | update.fields)
