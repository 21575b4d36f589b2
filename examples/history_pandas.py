"""One-shot reads: a day of candles into pandas, the last trades, the portfolio's positions.

    python examples/history_pandas.py                     # emulator, SBER
    python examples/history_pandas.py --live --symbol GAZP --portfolio D12345

No callbacks and no threads of our own: each ``get_*`` subscribes, collects the history,
unsubscribes and returns typed models (blocking at most ``timeout`` seconds); ``to_frame`` turns
them into a DataFrame with one typed column per field. Needs pandas:
``pip install -e '.[emulator,pandas]'``.
"""

from __future__ import annotations

import time

from _common import connect, first_portfolio, parser, say

from alor_sync import to_frame


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--symbol", default="SBER")
    p.add_argument("--portfolio", help="default: the first one of your token")
    args = p.parse_args()
    with connect(args) as (client, _emulator):
        day_ago = int(time.time()) - 86_400
        bars = client.get_bars(args.symbol, 60, day_ago, timeout=30)
        frame = to_frame(bars).set_index("time")
        hourly = frame["close"].resample("1h").ohlc()
        say(f"bars     {len(frame)} minute candles of {args.symbol}, {len(hourly)} hours")
        low, high, volume = frame["low"].min(), frame["high"].max(), frame["volume"].sum()
        say(f"range    {low} .. {high}, volume {volume}")
        trades = to_frame(client.get_all_trades(args.symbol, 100, timeout=10))
        say(f"trades   last {len(trades)}: mean price {trades['price'].mean():.2f}")
        portfolio = args.portfolio or first_portfolio(client)
        for position in client.get_positions(portfolio, timeout=10):
            say(f"position {position.symbol:<6} {position.quantity_units} units")


if __name__ == "__main__":
    main()
