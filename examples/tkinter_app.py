"""A Tk window with a live quote and order book, updated from callbacks run on the Tk thread.

    python examples/tkinter_app.py                 # emulator; close the window to quit
    python examples/tkinter_app.py --duration 5    # quits by itself

Tk widgets may only be touched from the thread running ``mainloop``. Instead of locking, hand the
client an *executor*: ``AlorClient(..., executor=TkExecutor(root))``. The client then submits
every callback (and hook) to it, and it runs them on the Tk thread from ``root.after``. Per
subscription the client still submits one call at a time, in order.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any, Protocol

from _common import connect, duration_of, parser


class _Scheduler(Protocol):
    def after(self, ms: int, func: Callable[[], object]) -> object: ...


class TkExecutor:
    """Runs submitted calls on the Tk main loop (``submit`` is safe from any thread).

    ``submit`` only puts the call on a queue; ``poll`` (scheduled with ``root.after`` every
    ``interval_ms``) runs what is queued, on the Tk thread, at most ``batch`` calls per round so
    the window stays responsive under a flood of updates.
    """

    def __init__(self, root: _Scheduler, interval_ms: int = 20, batch: int = 500) -> None:
        self.root = root
        self.interval_ms = interval_ms
        self.batch = batch
        self.calls: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue()
        self.running = False

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        """Any thread: queue ``fn(*args)`` for the Tk thread."""
        self.calls.put((fn, args))

    def start(self) -> None:
        """Tk thread: begin polling."""
        self.running = True
        self.root.after(self.interval_ms, self.poll)

    def stop(self) -> None:
        """Tk thread: stop polling (calls still queued are dropped with the window)."""
        self.running = False

    def poll(self) -> None:
        """Tk thread: run up to ``batch`` queued calls, then schedule the next round."""
        for _ in range(self.batch):
            try:
                fn, args = self.calls.get_nowait()
            except queue.Empty:
                break
            fn(*args)  # exceptions reach Tk's report_callback_exception, like any Tk callback
        if self.running:
            self.root.after(self.interval_ms, self.poll)


def main() -> None:
    import tkinter as tk

    from alor_sync import OrderBook, Quote

    p = parser("A Tk window with live market data.", duration=5.0)
    p.add_argument("symbol", nargs="?", default="SBER")
    args = p.parse_args()
    try:
        root = tk.Tk()
    except tk.TclError as exc:  # e.g. no $DISPLAY on a server
        raise SystemExit(f"cannot open a window: {exc}") from None
    root.title(f"alor-sync: {args.symbol}")
    quote_label = tk.Label(root, font=("TkFixedFont", 14), text="waiting for the quote...")
    book_label = tk.Label(root, font=("TkFixedFont", 11), justify="left", text="")
    quote_label.pack(padx=12, pady=6)
    book_label.pack(padx=12, pady=6)
    executor = TkExecutor(root)

    def on_quote(quote: Quote) -> None:  # runs on the Tk thread: may touch widgets
        quote_label.config(text=f"{quote.symbol}  last {quote.last_price}  {quote.change_percent}%")
        print(f"quote {quote.symbol} {quote.last_price}", flush=True)

    def on_book(book: OrderBook) -> None:  # runs on the Tk thread too
        asks = [f"  ask {p:>10} {v:>6}" for p, v, _ in reversed(book.asks[:5])]
        bids = [f"  bid {p:>10} {v:>6}" for p, v, _ in book.bids[:5]]
        book_label.config(text="\n".join(asks + bids))

    with connect(args, executor=executor) as (client, _emulator):
        client.subscribe_quotes(args.symbol, on_quote)
        client.subscribe_order_book(args.symbol, on_book, depth=5)
        executor.start()
        seconds = duration_of(args)
        if seconds is not None:
            root.after(int(seconds * 1000), root.destroy)
        root.mainloop()
        executor.stop()
    print("window closed", flush=True)


if __name__ == "__main__":
    main()
