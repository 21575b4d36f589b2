"""The client against a server that takes every liberty production takes, every time.

The production profile (the default) takes each liberty at a rate; here every liberty is taken
on every payload, frame and confirmation, for all twelve streams in all three formats: the
client must decode every frame (nothing reaches ``on_error``) and deliver the same typed values
as from a polite server with the same market.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator, ManualClock
from alor_sync.emulator.profile import Profile
from tests.client_helpers import Recorder, running

START = 1_702_631_123.78
STREAMS: list[tuple[str, dict[str, Any]]] = [
    ("OrderBookGetAndSubscribe", {"code": "SBER", "depth": 5}),
    ("QuotesSubscribe", {"code": "SU26238RMFS4"}),
    ("AllTradesGetAndSubscribe", {"code": "SBER", "depth": 5}),
    ("BarsGetAndSubscribe", {"code": "SBER", "tf": 60, "from_time": int(START) - 300}),
    ("InstrumentsGetAndSubscribeV2", {"code": "SiZ6"}),
    ("PositionsGetAndSubscribeV2", {"portfolio": "D39004"}),
    ("SummariesGetAndSubscribeV2", {"portfolio": "D39004"}),
    ("RisksGetAndSubscribe", {"portfolio": "D39004"}),
    ("SpectraRisksGetAndSubscribe", {"portfolio": "7500PUQ"}),
    ("TradesGetAndSubscribeV2", {"portfolio": "D39004"}),
    ("OrdersGetAndSubscribeV2", {"portfolio": "D39004"}),
    ("StopOrdersGetAndSubscribeV2", {"portfolio": "D39004"}),
]
EVERYTHING = {
    "big_ids": True, "decimal_text": 1.0, "extra_fields": 1.0, "enum_casing": 1.0,
    "fragmented": 1.0, "early_data": 1.0, "empty_guid_401": 1.0,
}  # fmt: skip


def trade_on(emu: Emulator) -> None:
    """A filled market order, a working limit order and a working stop order."""
    common = {
        "quantity": 1, "instrument": {"symbol": "SBER", "exchange": "MOEX"},
        "user": {"portfolio": "D39004"},
    }  # fmt: skip
    with emu.venue() as hub:
        for opcode, extra in (
            ("create:market", {"side": "buy"}),
            ("create:limit", {"side": "buy", "price": 200}),
            ("create:stop", {"side": "sell", "condition": "Less", "triggerPrice": 1}),
        ):
            assert hub.account.execute(opcode, {"guid": opcode, **common, **extra}).http_code == 200


def deliveries(profile: Profile | str, fmt: str) -> tuple[dict[str, list[Any]], list[Any]]:
    """Typed deliveries per opcode, and what reached ``on_error``."""
    errors: list[Any] = []
    received = {opcode: Recorder() for opcode, _ in STREAMS}
    emu = Emulator(speed=0, conflation=False, clock=ManualClock(START), profile=profile, seed=4)
    with emu, running(emu, on_error=lambda error, guid: errors.append(error)) as client:
        trade_on(emu)
        subscribe_all(client, fmt, received)
        emu.tick(15)
        sent = {
            sub.opcode: sub.frames for c in emu.connections() for sub in c.subscriptions
        }  # fmt: skip
        for opcode, recorder in received.items():
            assert recorder.wait_count(sent[opcode]), (opcode, len(recorder.items), sent[opcode])
    return {opcode: r.items for opcode, r in received.items()}, errors


def subscribe_all(client: AlorClient, fmt: str, received: dict[str, Recorder]) -> None:
    subs = [
        client.subscribe(opcode, received[opcode], conflate=False, exchange="MOEX", format=fmt,
                         **params)
        for opcode, params in STREAMS
    ]  # fmt: skip
    for sub in subs:
        sub.wait_active(10.0)


@pytest.mark.parametrize("fmt", ["Simple", "Slim", "Heavy"])
def test_every_liberty_every_time_gives_the_polite_values(fmt: str) -> None:
    polite, polite_errors = deliveries("polite", fmt)
    hostile, errors = deliveries(Profile(name="everything", **EVERYTHING), fmt)
    assert errors == [] and polite_errors == []
    for opcode, _ in STREAMS:
        assert len(hostile[opcode]) == len(polite[opcode]) > 0, opcode
        if opcode in ("AllTradesGetAndSubscribeV2", "AllTradesGetAndSubscribe"):
            # Same trades, 19-digit ids instead of 10-digit ones: compare all but the id.
            assert [(t.price, t.quantity, t.side) for t in hostile[opcode]] == [
                (t.price, t.quantity, t.side) for t in polite[opcode]
            ]
            assert all(t.id > 2**53 for t in hostile[opcode])
        elif opcode in ("OrdersGetAndSubscribeV2", "TradesGetAndSubscribeV2"):
            # Exchange order and trade numbers have 19 digits here: equal but for those.
            assert [without_ids(x) for x in hostile[opcode]] == [
                without_ids(x) for x in polite[opcode]
            ], opcode
            assert all(int(x.id) > 2**53 for x in hostile[opcode])
        else:
            assert hostile[opcode] == polite[opcode], opcode


def without_ids(record: Any) -> dict[str, Any]:
    fields = attrs.asdict(record, recurse=False)
    return {k: v for k, v in fields.items() if k not in ("id", "order_id", "order_number")}


def test_nulls_everywhere_they_may_be_decode_too() -> None:
    got, errors = deliveries(Profile(name="nulls", nulls=1.0, decimal_text=1.0), "Heavy")
    assert errors == []
    assert all(got[opcode] for opcode, _ in STREAMS)
    assert all(q.last_price is not None for q in got["QuotesSubscribe"])
