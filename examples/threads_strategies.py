"""Several strategies, each on its own thread and its own subscriptions, one shared stop.

    python examples/threads_strategies.py                 # emulator, 5 s
    python examples/threads_strategies.py --live          # real market, until Ctrl+C

A pattern for plain ``threading`` programs: callbacks stay tiny (put the update on the
strategy's queue) and each strategy thread does its thinking with no locks shared with the
client. A slow strategy delays only itself: the client keeps reading, and latest-wins streams
(books, quotes) skip stale frames for it.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from _common import connect, duration_of, parser, run_for, say

from alor_sync import AlorClient, OrderBook, Quote


class Strategy(threading.Thread):
    """A thread that handles its subscriptions' updates one at a time until ``stop`` is set."""

    def __init__(self, name: str, stop: threading.Event) -> None:
        super().__init__(name=f"strategy-{name}")
        self.stop = stop
        self.inbox: queue.Queue[Any] = queue.Queue(maxsize=1000)

    def deliver(self, update: Any) -> None:
        # A client callback (dispatcher worker): only hand over, never think here.
        self.inbox.put(update)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                update = self.inbox.get(timeout=0.2)  # wake up regularly to see the stop flag
            except queue.Empty:
                continue
            self.handle(update)

    def handle(self, update: Any) -> None:
        raise NotImplementedError


class SpreadWatcher(Strategy):
    """Reports when the spread of an order book widens beyond its usual size."""

    def __init__(self, client: AlorClient, symbol: str, stop: threading.Event) -> None:
        super().__init__("spread", stop)
        self.symbol = symbol
        client.subscribe_order_book(symbol, self.deliver, depth=5)

    def handle(self, book: OrderBook) -> None:
        if book.best_bid is None or book.best_ask is None:
            return
        spread = float(book.best_ask.price) - float(book.best_bid.price)
        say(f"[spread]   {self.symbol} spread {spread:.4g}")


class MomentumWatcher(Strategy):
    """Tracks the last price of several symbols and prints each move."""

    def __init__(self, client: AlorClient, symbols: list[str], stop: threading.Event) -> None:
        super().__init__("momentum", stop)
        self.last: dict[str, float] = {}  # touched only by this strategy's thread
        for symbol in symbols:
            client.subscribe_quotes(symbol, self.deliver)

    def handle(self, quote: Quote) -> None:
        if quote.last_price is None:
            return
        previous = self.last.get(quote.symbol)
        self.last[quote.symbol] = float(quote.last_price)
        move = "first" if previous is None else f"{float(quote.last_price) - previous:+.4g}"
        say(f"[momentum] {quote.symbol} last {quote.last_price} ({move})")


def main() -> None:
    args = parser("Run two strategies on their own threads.").parse_args()
    stop = threading.Event()  # shared: any thread may set it to stop everything
    with connect(args) as (client, _emulator):
        strategies = [
            SpreadWatcher(client, "SBER", stop),
            MomentumWatcher(client, ["SBER", "GAZP"], stop),
        ]
        for strategy in strategies:
            strategy.start()
        run_for(duration_of(args), stop)  # Ctrl+C or the duration
        stop.set()
        for strategy in strategies:
            strategy.join()
    say("all strategies stopped")


if __name__ == "__main__":
    main()
