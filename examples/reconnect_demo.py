"""Updates keep coming through a network drop, with no reconnect code here.

    python examples/reconnect_demo.py        # the emulator drops every connection mid-run

The client reconnects with backoff, re-sends every subscription with its original guid and a
fresh token, and the callbacks just see the next updates. The hooks only report what happened.
"""

from __future__ import annotations

import threading

from _common import connect, duration_of, parser, run_for, say

from alor_sync import ConnectionChange, OrderBook, Quote, ResubscribeReport

updates = threading.Semaphore(0)
resubscribed = threading.Event()


def show_quote(quote: Quote) -> None:
    say(f"quote {quote.symbol} last {quote.last_price} bid {quote.bid} ask {quote.ask}")
    updates.release()


def show_book(book: OrderBook) -> None:
    bid, ask = book.best_bid, book.best_ask
    say(f"book  best bid {bid and bid.price} ask {ask and ask.price} ({len(book.bids)} levels)")
    updates.release()


def on_disconnect(change: ConnectionChange) -> None:
    if change.will_retry:
        say(f"connection lost ({change.reason}); the client reconnects by itself")
    else:
        say(f"disconnected ({change.reason})")


def on_resubscribed(report: ResubscribeReport) -> None:
    say(f"reconnected: {report.count} subscriptions restored")
    resubscribed.set()


def main() -> None:
    args = parser("Print updates through a network drop.").parse_args()
    hooks = {"on_disconnect": on_disconnect, "on_resubscribed": on_resubscribed}
    with connect(args, reconnect_delay=0.2, **hooks) as (client, emulator):
        # --- the ten lines: subscribe, print typed updates, nothing else -------------------
        client.subscribe_quotes("SBER", show_quote)
        client.subscribe_order_book("SBER", show_book, depth=5)
        # ------------------------------------------------------------------------------------
        if emulator is not None:
            for _ in range(3):
                updates.acquire(timeout=10)
            say("emulator: dropping every connection now")
            emulator.faults.drop_connections()
            resubscribed.wait(timeout=10)
        run_for(duration_of(args))


if __name__ == "__main__":
    main()
