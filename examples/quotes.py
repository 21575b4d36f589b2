"""Live quotes of a few instruments, printed as they change.

    python examples/quotes.py                 # local emulator, 5 s
    python examples/quotes.py --live SBER     # real market, until Ctrl+C

The callback runs on one of the client's worker threads, never on the thread that reads the
socket, and gets a typed, immutable ``Quote``.
"""

from __future__ import annotations

from _common import connect, duration_of, parser, run_for, say

from alor_sync import Quote


def print_quote(quote: Quote) -> None:
    # Runs on a dispatcher worker; quotes of one symbol arrive in order, one at a time.
    say(
        f"{quote.symbol:<6} last {quote.last_price}  bid {quote.bid} x {quote.bid_volume}"
        f"  ask {quote.ask} x {quote.ask_volume}  change {quote.change_percent}%"
    )


def main() -> None:
    p = parser("Print live quotes.")
    p.add_argument("symbols", nargs="*", default=["SBER", "GAZP"], help="default: SBER GAZP")
    args = p.parse_args()
    with connect(args) as (client, _emulator):
        for symbol in args.symbols:
            subscription = client.subscribe_quotes(symbol, print_quote)
            # Raises the server's error (e.g. 400 for an unknown symbol) instead of waiting forever.
            subscription.wait_active(timeout=10)
        run_for(duration_of(args))


if __name__ == "__main__":
    main()
