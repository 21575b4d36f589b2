"""The latest market state of one instrument, as the live view needs it.

Rules of this module:

* Writers are client callbacks (dispatcher workers); the reader is the drawing thread. One lock
  guards everything and is held only to store a reference or copy a few small containers: no
  formatting, no I/O and no waiting under it.
* Nothing is invented: a stream that has not delivered yet is ``None``/empty in the snapshot.
* The tape takes trades as the client delivers them: the client never hands a trade over twice,
  even when a reconnect makes the server re-send the requested history.
"""

from __future__ import annotations

import collections
import threading
import time

import attrs

from alor_sync.models import AllTrade, Bar, OrderBook, Quote

__all__ = ["MarketSnapshot", "MarketState"]


@attrs.frozen
class MarketSnapshot:
    """A consistent, immutable copy of :class:`MarketState` (safe to use on any thread).

    ``trades``: newest first; ``bars``: oldest first, one per candle time; ``status``: the last
    connection message; ``books``: order books received so far.
    """

    symbol: str
    exchange: str
    book: OrderBook | None = None
    quote: Quote | None = None
    trades: tuple[AllTrade, ...] = ()
    bars: tuple[Bar, ...] = ()
    status: str = ""
    books: int = 0


class MarketState:
    """Latest book, quote, trades and bars of ``symbol``, fed by subscription callbacks.

    Thread-safety: the ``on_*`` methods and :meth:`set_status` may be called from any thread (they
    are the client's callbacks, run on dispatcher workers); :meth:`snapshot` and
    :meth:`wait_for_book` are for the drawing thread but are safe anywhere.
    """

    def __init__(
        self, symbol: str, exchange: str, *, max_trades: int = 50, max_bars: int = 240
    ) -> None:
        self.symbol = symbol
        self.exchange = exchange
        self._max_bars = max_bars
        self._lock = threading.Lock()
        self._first_book = threading.Event()
        self._book: OrderBook | None = None
        self._quote: Quote | None = None
        self._trades: collections.deque[AllTrade] = collections.deque(maxlen=max_trades)
        self._bars: dict[int, Bar] = {}
        self._status = ""
        self._books = 0
        self._book_at: float | None = None

    def on_book(self, book: OrderBook) -> None:
        """Order-book callback: keep the newest book."""
        with self._lock:
            self._book = book
            self._books += 1
            self._book_at = time.monotonic()
        self._first_book.set()

    def on_quote(self, quote: Quote) -> None:
        """Quotes callback: keep the newest quote."""
        with self._lock:
            self._quote = quote

    def on_trade(self, trade: AllTrade) -> None:
        """All-trades callback: the newest trade first on the tape."""
        with self._lock:
            self._trades.appendleft(trade)

    def on_bar(self, bar: Bar) -> None:
        """Bars callback: the unfinished candle is re-sent with the same time, so key by time."""
        with self._lock:
            self._bars[bar.timestamp_s] = bar
            if len(self._bars) > self._max_bars:
                del self._bars[min(self._bars)]

    def set_status(self, text: str) -> None:
        """A connection message to show in the header (any thread)."""
        with self._lock:
            self._status = text

    def wait_for_book(self, timeout: float | None) -> bool:
        """Block up to ``timeout`` seconds for the first order book; True once there is one."""
        return self._first_book.wait(timeout)

    def seconds_since_book(self) -> float | None:
        """Seconds since the last order book arrived (None before the first)."""
        with self._lock:
            at = self._book_at
        return None if at is None else time.monotonic() - at

    def snapshot(self) -> MarketSnapshot:
        """A consistent copy of everything, for one frame."""
        with self._lock:
            trades = tuple(self._trades)
            bars = dict(self._bars)
            book, quote, status, books = self._book, self._quote, self._status, self._books
        return MarketSnapshot(
            symbol=self.symbol,
            exchange=self.exchange,
            book=book,
            quote=quote,
            trades=trades,
            bars=tuple(bars[t] for t in sorted(bars)),
            status=status,
            books=books,
        )
