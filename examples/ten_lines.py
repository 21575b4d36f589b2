"""Quotes and an order book, printed through a network drop, with no reconnect code of our own."""

import threading

from alor_sync import AlorClient
from alor_sync.emulator import Emulator

lock = threading.Lock()  # the two callbacks run in parallel, on two workers


def show(*parts: object) -> None:
    with lock:  # one whole line per call, never two callbacks' output mixed
        print(*parts)


with (
    Emulator() as emu,
    AlorClient(
        emu.refresh_token, ws_url=emu.ws_url, cws_url=emu.cws_url, oauth_url=emu.oauth_url
    ) as client,
):
    client.subscribe_quotes("SBER", lambda q: show("quote", q.symbol, q.bid, q.ask))
    client.subscribe_order_book("SBER", lambda b: show("book ", b.bids[0], b.asks[0]), depth=5)
    threading.Event().wait(1.5)  # a few updates...
    emu.faults.drop_connections("reset")  # ...then the network drops (TCP reset)
    threading.Event().wait(2.5)  # the client reconnects and resubscribes by itself
