"""Place a limit order, see it working, move it, cancel it: order commands over ``/cws``.

    python examples/place_limit_order.py                     # on a local emulator
    python examples/place_limit_order.py --live --env dev --portfolio D12345 --price 250.10

Each command blocks until *its own* reply and returns the order number; the order's life is
followed on the orders stream (``client.subscribe_orders``). A command whose reply never comes
raises ``OutcomeUnknownError``: alor-sync never re-sends an order by itself, ``retry(guid)``
does, with the same guid, which the server executes at most once.
"""

from __future__ import annotations

import queue
import sys
from decimal import Decimal

from _common import connect, first_portfolio, parser, say

from alor_sync import AlorClient, Order
from alor_sync.errors import OutcomeUnknownError

WAIT = 10.0


class OrderWatch:
    """Orders of one portfolio as the broker reports them; the callback runs on a worker."""

    def __init__(self, client: AlorClient, portfolio: str, exchange: str) -> None:
        self._updates: queue.Queue[Order] = queue.Queue()
        self.subscription = client.subscribe_orders(
            portfolio, self._updates.put, exchange=exchange, skip_history=True
        )
        self.subscription.wait_active(timeout=WAIT)

    def wait_for(self, order_id: str, status: str) -> Order:
        """Block until order ``order_id`` is reported with ``status`` (at most WAIT seconds)."""
        while True:
            order = self._updates.get(timeout=WAIT)
            if order.id == order_id and order.status == status:
                return order


def main() -> None:
    p = parser("Place, move and cancel a limit order.")
    p.add_argument("--portfolio", help="default: the first portfolio of your token")
    p.add_argument("--exchange", default="MOEX")
    p.add_argument("--symbol", default="SBER")
    p.add_argument("--price", help="a price well below the market (default 200.00 on the emulator)")
    p.add_argument("--step", default="0.50", help="how far down to move the order")
    args = p.parse_args()
    if args.live and args.price is None:
        sys.exit("with --live, give --price: a buy limit well below the market, so it rests")
    price = Decimal(args.price or "200.00")

    with connect(args) as (client, _emulator):
        portfolio = args.portfolio or first_portfolio(client)
        where = {"portfolio": portfolio, "exchange": args.exchange}
        order = {**where, "symbol": args.symbol, "side": "buy", "quantity": 1}
        watch = OrderWatch(client, portfolio, args.exchange)
        commands = client.commands

        say(f"-> buy 1 lot of {args.symbol} at {price} ({portfolio})")
        try:
            placed = commands.create_limit(**order, price=price, comment="alor-sync example")
        except OutcomeUnknownError as unknown:
            # No reply: the order may exist. Re-send the very same command (same guid).
            placed = commands.retry(unknown.request_guid)
        say(f"   order {placed.order_number}: {placed.message}")
        seen = watch.wait_for(placed.order_number, "working")
        say(f"   orders stream: {seen.id} is {seen.status} at {seen.price}")

        price -= Decimal(args.step)
        say(f"-> move it to {price}")
        moved = commands.update_limit(order_id=placed.order_number, **order, price=price)
        say(f"   replaced by order {moved.order_number}: {moved.message}")
        seen = watch.wait_for(moved.order_number, "working")
        say(f"   orders stream: {seen.id} is {seen.status} at {seen.price}")

        say("-> cancel it")
        cancelled = commands.delete_limit(order_id=moved.order_number, **where)
        say(f"   order {cancelled.order_number}: {cancelled.message}")
        seen = watch.wait_for(moved.order_number, "canceled")
        say(f"   orders stream: {seen.id} is {seen.status}")

        stats = commands.statistics()
        say(f"done: {stats.sent} commands sent, {stats.replies} replies, {stats.errors} errors")


if __name__ == "__main__":
    main()
