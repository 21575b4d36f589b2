"""A live order book: best prices, spread and the volume resting near the top.

    python examples/order_book.py             # local emulator, 5 s
    python examples/order_book.py --live GAZP --depth 20

Each frame is the whole book (never a delta). ``book.bids`` / ``book.asks`` behave like tuples of
``(price, volume, yield_)`` rows, best first, and also expose columns (``prices``,
``volumes``) for quick arithmetic without building a row object per level.
"""

from __future__ import annotations

from _common import connect, duration_of, parser, run_for, say

from alor_sync import OrderBook


def show(book: OrderBook) -> None:
    # Order books are latest-wins: if this callback is slow, stale books are skipped for you.
    best_bid, best_ask = book.best_bid, book.best_ask
    if best_bid is None or best_ask is None:
        say("book: one side is empty")
        return
    spread = float(best_ask.price) - float(best_bid.price)
    bid_volume, ask_volume = sum(book.bids.volumes[:5]), sum(book.asks.volumes[:5])
    say(
        f"book bid {best_bid.price} x {best_bid.volume} | ask {best_ask.price} x {best_ask.volume}"
        f" | spread {spread:.4g} | top-5 volume {bid_volume} / {ask_volume} lots"
    )


def main() -> None:
    p = parser("Print a live order book.")
    p.add_argument("symbol", nargs="?", default="SBER")
    p.add_argument("--depth", type=int, default=10, help="levels per side (1-50)")
    args = p.parse_args()
    with connect(args) as (client, _emulator):
        client.subscribe_order_book(args.symbol, show, depth=args.depth).wait_active(timeout=10)
        run_for(duration_of(args))


if __name__ == "__main__":
    main()
