"""Candles, and a callback that fires once per closed candle.

    python examples/bars_new_bar.py                  # emulator: 1-minute bars, last 10 minutes
    python examples/bars_new_bar.py --live --tf 300

The server re-sends the unfinished candle (same ``time``) every time it changes, and never says
"closed". The rule: a frame with a larger time means the previous candle closed. History comes
first (oldest to newest), so each history candle is reported closed when the next one arrives;
the newest one stays open until the market moves into the next period.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from _common import connect, duration_of, parser, run_for, say

from alor_sync import Bar


class NewBarDetector:
    """Turns the bars stream into ``on_closed(bar)`` calls, one per finished candle.

    Called on one dispatcher worker at a time (frames of one subscription never overlap), so
    it needs no lock.
    """

    def __init__(self, on_closed: Callable[[Bar], None]) -> None:
        self.on_closed = on_closed
        self.current: Bar | None = None

    def __call__(self, bar: Bar) -> None:
        if self.current is not None and bar.timestamp_s > self.current.timestamp_s:
            self.on_closed(self.current)  # a later candle started: the previous one is final
        if self.current is None or bar.timestamp_s >= self.current.timestamp_s:
            self.current = bar  # newer or an update of the open candle (ignore stragglers)


def print_closed(bar: Bar) -> None:
    say(
        f"closed {bar.time:%H:%M:%S} UTC  O {bar.open} H {bar.high} L {bar.low} C {bar.close}"
        f"  V {bar.volume}"
    )


def main() -> None:
    p = parser("Report each closed candle.")
    p.add_argument("symbol", nargs="?", default="SBER")
    p.add_argument("--tf", type=int, default=60, help="candle length in seconds (default 60)")
    p.add_argument("--history", type=int, default=10, help="candles of history (default 10)")
    args = p.parse_args()
    with connect(args) as (client, _emulator):
        since = int(time.time()) - args.history * args.tf
        detector = NewBarDetector(print_closed)
        client.subscribe_bars(args.symbol, detector, tf=args.tf, from_time=since)
        run_for(duration_of(args))
        if detector.current is not None:
            say(f"still open: {detector.current.time:%H:%M:%S} UTC C {detector.current.close}")


if __name__ == "__main__":
    main()
