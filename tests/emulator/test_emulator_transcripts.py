"""Appendix T of the reference, replayed against the emulator byte for byte where it gives bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from peer import Peer, connect

from alor_sync.emulator import Emulator, ManualClock

START = 1_702_631_123.78


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


# The exact replies and shapes of the reference are checked on the polite profile; the
# production profile's liberties are checked against these in test_emulator_profile.py.
@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(speed=0, clock=clock, profile="polite") as emulator:
        emulator.set_book(
            "MOEX",
            "SBER",
            bids=[("257.7", 157), ("257.69", 40)],
            asks=[("257.71", 288), ("257.72", 5)],
        )
        yield emulator


@pytest.fixture
def peer(emu: Emulator) -> Iterator[Peer]:
    with connect(emu.ws_url) as p:
        yield p


def test_order_book_slim_snapshot_then_ack_then_live_then_unsubscribe(
    emu: Emulator, peer: Peer
) -> None:
    token = emu.issue_token()
    peer.send_raw(
        '{"opcode":"OrderBookGetAndSubscribe","code":"SBER","exchange":"MOEX",'
        '"instrumentGroup":"TQBR","depth":2,"format":"Slim","frequency":10,'
        f'"guid":"ob-1","token":"{token}"}}'
    )
    assert peer.recv_raw() == (
        '{ "data": {"b":[{"p":257.7,"v":157},{"p":257.69,"v":40}],'
        '"a":[{"p":257.71,"v":288},{"p":257.72,"v":5}],"t":1702631123780,"h":true}, "guid":"ob-1" }'
    )
    assert (
        peer.recv_raw() == '{"requestGuid":"ob-1","httpCode":200,"message":"Handled successfully"}'
    )

    emu.tick()
    live = peer.recv_raw()
    assert live.startswith('{ "data": {"b":[{"p":')
    assert live.endswith(',"h":false}, "guid":"ob-1" }')
    book = json.loads(live)["data"]
    assert list(book) == ["b", "a", "t", "h"]
    assert len(book["b"]) == len(book["a"]) == 2

    peer.send_raw(f'{{"opcode":"unsubscribe","guid":"ob-1","token":"{token}"}}')
    # A conflated frame may still be on its way; nothing may follow the confirmation.
    peer.recv_until(
        lambda f: f == {"requestGuid": "ob-1", "httpCode": 200, "message": "Handled successfully"}
    )
    emu.tick(3)
    peer.assert_silent()


def test_unsubscribe_confirmation_is_byte_exact(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    peer.subscribe(token, opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="q-9")
    peer.send_raw(f'{{"opcode":"unsubscribe","guid":"q-9","token":"{token}"}}')
    _, raw = peer.recv_until(lambda f: "requestGuid" in f)
    assert raw == {"requestGuid": "q-9", "httpCode": 200, "message": "Handled successfully"}


def test_missing_token_and_expired_token_errors(
    emu: Emulator, peer: Peer, clock: ManualClock
) -> None:
    peer.send_raw('{"opcode":"QuotesSubscribe","code":"SBER","exchange":"MOEX","guid":"q-1"}')
    assert peer.recv_raw() == (
        '{"requestGuid":"q-1","httpCode":400,'
        '"message":"Request message should contain \'token\' field!"}'
    )
    expired = emu.issue_token()
    clock.advance(30 * 60)  # an access token lives 30 minutes
    peer.send_raw(
        '{"opcode":"QuotesSubscribe","code":"SBER","exchange":"MOEX","guid":"q-2",'
        f'"token":"{expired}"}}'
    )
    assert peer.recv_raw() == '{"requestGuid":"q-2","httpCode":401,"message":"Invalid JWT token!"}'
    peer.assert_silent()


def test_command_socket_transcript(emu: Emulator) -> None:
    token = emu.issue_token()
    create = (
        '{"opcode":"create:limit","guid":"c-1","side":"buy","quantity":1,"price":257.5,'
        '"instrument":{"symbol":"SBER","exchange":"MOEX","instrumentGroup":"TQBR"},'
        '"user":{"portfolio":"D39004"},"checkDuplicates":true}'
    )
    with connect(emu.cws_url) as cws:
        cws.send_raw(f'{{"opcode":"authorize","guid":"a-1","token":"{token}"}}')
        assert cws.recv_raw() == (
            '{"requestGuid":"a-1","httpCode":200,"message":"The connection has been initialized."}'
        )
        created = (
            '{"requestGuid":"c-1","httpCode":200,'
            '"message":"An order \'18995978560\' has been created.","orderNumber":"18995978560"}'
        )
        cws.send_raw(create)
        assert cws.recv_raw() == created
        cws.send_raw(create)  # same guid: not executed again, the first reply comes back
        assert cws.recv_raw() == created
        cws.send_raw(
            '{"opcode":"update:limit","guid":"u-1","orderId":"18995978560","side":"buy",'
            '"quantity":1,"price":257.4,"instrument":{"symbol":"SBER","exchange":"MOEX"},'
            '"user":{"portfolio":"D39004"}}'
        )
        assert cws.recv_raw() == (
            '{"requestGuid":"u-1","httpCode":200,'
            '"message":"An order has been updated. New order Id is \'18995978561\'.",'
            '"orderNumber":"18995978561"}'
        )
        cws.send_raw(
            '{"opcode":"delete:limit","guid":"d-1","orderId":"18995978561","exchange":"MOEX",'
            '"user":{"portfolio":"D39004"}}'
        )
        assert cws.recv_raw() == (
            '{"requestGuid":"d-1","httpCode":200,'
            '"message":"An order \'18995978561\' has been deleted.","orderNumber":"18995978561"}'
        )
