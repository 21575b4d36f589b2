"""``/cws``: authorisation per connection and expiring with its token, one reply per command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from peer import Peer, connect

from alor_sync.emulator import Emulator, ManualClock
from alor_sync.emulator.cws_session import AUTHORIZATION_EXPIRED, NOT_AUTHORIZED

LIMIT: dict[str, Any] = {
    "opcode": "create:limit", "side": "buy", "quantity": 1, "price": 100,
    "instrument": {"symbol": "SBER", "exchange": "MOEX"}, "user": {"portfolio": "D39004"},
}  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


# The default (production) profile: replies are compared on the keys the reference documents
# (Peer.reply), since production may add others.
@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(speed=0, clock=clock) as emulator:
        yield emulator


@pytest.fixture
def cws(emu: Emulator) -> Iterator[Peer]:
    with connect(emu.cws_url) as peer:
        yield peer


def test_commands_need_authorize_first(emu: Emulator, cws: Peer) -> None:
    cws.send(**LIMIT, guid="c1")
    assert cws.reply() == {"requestGuid": "c1", "httpCode": 401, "message": NOT_AUTHORIZED}
    cws.send(opcode="authorize", guid="a", token=emu.issue_token(), originator="astras")
    assert cws.recv()["message"] == "The connection has been initialized."
    cws.send(**LIMIT, guid="c2")
    reply = cws.recv()
    assert reply["httpCode"] == 200 and list(reply) == [
        "requestGuid", "httpCode", "message", "orderNumber",
    ]  # fmt: skip
    assert isinstance(reply["orderNumber"], str)


def test_authorization_is_per_connection(emu: Emulator, cws: Peer) -> None:
    cws.send(opcode="authorize", guid="a", token=emu.issue_token())
    cws.recv()
    with connect(emu.cws_url) as other:
        other.send(**LIMIT, guid="c")
        assert other.recv()["httpCode"] == 401


def test_authorization_expires_with_its_token(emu: Emulator, cws: Peer, clock: ManualClock) -> None:
    cws.send(opcode="authorize", guid="a", token=emu.issue_token())
    cws.recv()
    clock.advance(1800)
    cws.send(**LIMIT, guid="c1")
    assert cws.reply() == {"requestGuid": "c1", "httpCode": 401, "message": AUTHORIZATION_EXPIRED}
    cws.send(opcode="authorize", guid="a2", token=emu.issue_token())  # a fresh token
    assert cws.recv()["httpCode"] == 200
    cws.send(**LIMIT, guid="c2")
    assert cws.recv()["httpCode"] == 200


def test_authorize_errors(emu: Emulator, cws: Peer) -> None:
    cws.send(opcode="authorize", guid="a")
    assert cws.reply() == {
        "requestGuid": "a",
        "httpCode": 400,
        "message": "Request message should contain 'token' field!",
    }
    cws.send(opcode="authorize", guid="b", token="forged.token.here")
    assert cws.reply() == {"requestGuid": "b", "httpCode": 401, "message": "Invalid JWT token!"}
    cws.send_raw("not json")
    assert cws.recv()["httpCode"] == 400
    cws.send(opcode="ping", guid="p", confirm=True)  # ping needs no authorisation
    assert cws.reply() == {"requestGuid": "p", "httpCode": 200, "message": "Handled successfully"}


def test_account_rejections_and_duplicate_checks(emu: Emulator, cws: Peer) -> None:
    cws.send(opcode="authorize", guid="a", token=emu.issue_token())
    cws.recv()
    cws.send(**{**LIMIT, "quantity": 0}, guid="bad")
    rejected = cws.recv()
    assert rejected["requestGuid"] == "bad" and rejected["httpCode"] == 400
    assert rejected["message"]
    cws.send(**LIMIT, guid="same")
    first = cws.recv()
    cws.send(**LIMIT, guid="same", checkDuplicates=False)  # executed again: a new order
    second = cws.recv()
    assert first["httpCode"] == second["httpCode"] == 200
    assert first["orderNumber"] != second["orderNumber"]


def test_narrowed_token_cannot_trade_other_portfolios(emu: Emulator, cws: Peer) -> None:
    cws.send(opcode="authorize", guid="a", token=emu.issue_token(allowed_portfolios=["G39004"]))
    cws.recv()
    cws.send(**LIMIT, guid="c")
    assert cws.reply() == {
        "requestGuid": "c",
        "httpCode": 403,
        "message": "Portfolio 'D39004' is not allowed by this token",
    }


def test_connections_report_authorization(emu: Emulator, cws: Peer) -> None:
    assert emu.wait_for_connections(1)
    assert [c.authorized for c in emu.connections()] == [False]
    cws.send(opcode="authorize", guid="a", token=emu.issue_token())
    cws.recv()
    assert [(c.path, c.authorized) for c in emu.connections()] == [("/cws", True)]
