"""``/ws`` conversation rules: rejections, confirmation order, ping, limits, conflation, stamps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from peer import Peer, connect

from alor_sync.emulator import Emulator

BOOK = {"opcode": "OrderBookGetAndSubscribe", "code": "SBER", "exchange": "MOEX"}


# The default (production) profile: replies are compared on the keys the reference documents
# (Peer.reply), since production may add others.
@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=0, max_subscriptions=3, max_connections=3) as emulator:
        yield emulator


@pytest.fixture
def peer(emu: Emulator) -> Iterator[Peer]:
    with connect(emu.ws_url) as p:
        yield p


REJECTIONS: list[tuple[dict[str, Any], int, str]] = [
    ({"opcode": "NoSuchThing"}, 400, "Unknown opcode 'NoSuchThing'"),
    ({**BOOK, "code": None}, 400, "Request message should contain 'code' field!"),
    ({**BOOK, "exchange": None}, 400, "Request message should contain 'exchange' field!"),
    ({**BOOK, "exchange": "NYSE"}, 400, "Unknown exchange 'NYSE': expected MOEX or SPBX"),
    ({**BOOK, "code": "NOPE"}, 400, "Unknown instrument 'NOPE' on exchange MOEX"),
    ({**BOOK, "depth": 51}, 400, "'depth' must be an integer from 1 to 50, not 51"),
    ({**BOOK, "depth": 0}, 400, "'depth' must be an integer from 1 to 50, not 0"),
    ({**BOOK, "format": "Fat"}, 400, "Unknown format 'Fat': expected Simple, Slim or Heavy"),
    (
        {**BOOK, "instrumentGroup": "TQCB"},
        400,
        "Instrument SBER is traded on board TQBR, not 'TQCB'",
    ),
    ({**BOOK, "frequency": -1}, 400, "'frequency' must be an integer >= 0, not -1"),
    (
        {"opcode": "BarsGetAndSubscribe", "code": "SBER", "exchange": "MOEX", "from": 0},
        400,
        "Request message should contain 'tf' field!",
    ),
    (
        {"opcode": "BarsGetAndSubscribe", "code": "SBER", "exchange": "MOEX", "tf": "60"},
        400,
        "Request message should contain 'from' field!",
    ),
    (
        {"opcode": "BarsGetAndSubscribe", "code": "SBER", "exchange": "MOEX", "tf": "X", "from": 0},
        400,
        "'tf' must be a number of seconds or one of D, W, M, Y, not 'X'",
    ),
    (
        {"opcode": "PositionsGetAndSubscribeV2", "exchange": "MOEX"},
        400,
        "Request message should contain 'portfolio' field!",
    ),
    (
        {"opcode": "PositionsGetAndSubscribeV2", "exchange": "MOEX", "portfolio": "X1"},
        400,
        "Unknown portfolio 'X1' on exchange MOEX",
    ),
    (
        {
            "opcode": "OrdersGetAndSubscribeV2",
            "exchange": "MOEX",
            "portfolio": "D39004",
            "orderStatuses": ["lost"],
        },
        400,
        "'orderStatuses' must be a list of working, filled, canceled, rejected, not ['lost']",
    ),
    (
        {
            "opcode": "TradesGetAndSubscribeV2",
            "exchange": "MOEX",
            "portfolio": "D39004",
            "skipHistory": "yes",
        },
        400,
        "'skipHistory' must be true or false, not 'yes'",
    ),
]


@pytest.mark.parametrize(("request_", "code", "message"), REJECTIONS)
def test_rejected_requests_get_one_error_and_no_data(
    emu: Emulator, peer: Peer, request_: dict[str, Any], code: int, message: str
) -> None:
    body = {k: v for k, v in request_.items() if v is not None}
    peer.send(**body, guid="bad", token=emu.issue_token())
    assert peer.reply() == {"requestGuid": "bad", "httpCode": code, "message": message}
    emu.tick(3)
    peer.assert_silent(0.2)


def test_garbage_requests_are_answered_not_fatal(emu: Emulator, peer: Peer) -> None:
    peer.send_raw("{not json")
    assert peer.reply() == {
        "requestGuid": "",
        "httpCode": 400,
        "message": "Request message is not valid JSON",
    }
    peer.send_raw("[1, 2]")
    assert peer.recv()["message"] == "Request message should be a JSON object"
    peer.send(guid="g", token="t")
    assert peer.recv()["message"] == "Request message should contain 'opcode' field!"
    peer.send(opcode="QuotesSubscribe", token="t")
    assert peer.reply() == {
        "requestGuid": "",
        "httpCode": 400,
        "message": "Request message should contain 'guid' field!",
    }
    peer.send(opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="q", token="junk")
    assert peer.recv()["httpCode"] == 401
    peer.subscribe(emu.issue_token(), opcode="QuotesSubscribe", code="SBER", exchange="MOEX",
                   guid="q")  # fmt: skip


def test_confirmation_keys_come_in_production_order(emu: Emulator, peer: Peer) -> None:
    peer.send(**BOOK, guid="g", token=emu.issue_token())
    peer.recv_raw()
    raw = peer.recv_raw()
    assert raw.startswith('{"requestGuid":"g","httpCode":200,"message":')


def test_ack_first_switch_puts_the_confirmation_before_the_snapshot() -> None:
    with Emulator(speed=0, ack_first=True) as emu, connect(emu.ws_url) as peer:
        peer.send(**BOOK, guid="g", token=emu.issue_token())
        assert peer.recv()["requestGuid"] == "g"
        assert peer.recv()["data"]["existing"] is True


def test_case_insensitive_opcode_and_format_and_unknown_keys_ignored(
    emu: Emulator, peer: Peer
) -> None:
    frames = peer.subscribe(
        emu.issue_token(), opcode="orderbookgetandsubscribe", code="sber", exchange="moex",
        format="SLIM", guid="g", originator="astras", prev=None, confirm=True,
    )  # fmt: skip
    assert list(frames[0]["data"]) == ["b", "a", "t", "h"]


def test_any_string_is_a_guid(emu: Emulator, peer: Peer) -> None:
    guid = 'candle|Si-6.24|60 "quoted" \\ slash'
    (frame,) = peer.subscribe(emu.issue_token(), **BOOK, guid=guid)
    assert frame["guid"] == guid


def test_ping_confirms_only_when_asked(emu: Emulator, peer: Peer) -> None:
    peer.send(opcode="ping", guid="p1", confirm=True, token=emu.issue_token())
    assert peer.reply() == {"requestGuid": "p1", "httpCode": 200, "message": "Handled successfully"}
    peer.send(opcode="ping", guid="p2", confirm=False)
    peer.assert_silent(0.2)


def test_reused_guid_replaces_the_subscription(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    peer.subscribe(token, **BOOK, guid="g")
    peer.subscribe(token, opcode="QuotesSubscribe", code="GAZP", exchange="MOEX", guid="g")
    (info,) = emu.connections()
    assert [(s.guid, s.opcode) for s in info.subscriptions] == [("g", "QuotesSubscribe")]


def test_unsubscribing_an_unknown_guid_is_confirmed(emu: Emulator, peer: Peer) -> None:
    peer.send(opcode="unsubscribe", guid="never", token=emu.issue_token())
    assert peer.recv()["httpCode"] == 200


def test_unsubscribe_checks_the_token(emu: Emulator, peer: Peer) -> None:
    peer.send(opcode="unsubscribe", guid="x")
    assert peer.recv()["httpCode"] == 400


def test_subscription_limit_per_connection(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    for n in range(3):
        peer.subscribe(token, **BOOK, guid=f"g{n}")
    peer.send(**BOOK, guid="g3", token=token)
    assert peer.reply() == {
        "requestGuid": "g3",
        "httpCode": 429,
        "message": "Too many subscriptions: at most 3 per connection",
    }
    with connect(emu.ws_url) as other:  # the limit is per connection
        other.subscribe(token, **BOOK, guid="g3")


def test_connection_limit_answers_429_at_handshake(emu: Emulator, peer: Peer) -> None:
    with connect(emu.ws_url), connect(emu.cws_url):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(emu.ws_url).__enter__()
        assert refused.value.status_code == 429
    assert emu.wait_for_connections(1)
    with connect(emu.ws_url):
        pass
    assert emu.statistics().handshakes_refused == 1


def test_token_narrowed_to_some_portfolios_gets_403_for_others(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token(allowed_portfolios=["7500PUQ"])
    peer.send(opcode="PositionsGetAndSubscribeV2", portfolio="D39004", exchange="MOEX",
              guid="p", token=token)  # fmt: skip
    assert peer.reply() == {
        "requestGuid": "p",
        "httpCode": 403,
        "message": "Portfolio 'D39004' is not allowed by this token",
    }
    peer.subscribe(token, opcode="PositionsGetAndSubscribeV2", portfolio="7500PUQ",
                   exchange="MOEX", guid="q")  # fmt: skip


def test_sequence_stamps_count_every_frame_of_a_subscription() -> None:
    with (
        Emulator(speed=0, stamp_sequence=True, conflation=False) as emu,
        connect(emu.ws_url) as peer,
    ):
        token = emu.issue_token()
        peer.send(opcode="AllTradesGetAndSubscribe", code="SBER", exchange="MOEX", depth=3,
                  guid="t", token=token)  # fmt: skip
        history = [peer.recv_raw() for _ in range(3)]
        assert peer.recv()["requestGuid"] == "t"
        assert history[0].endswith(', "guid":"t", "seq":1 }')
        emu.tick(40)
        frames = [peer.recv() for _ in range(5)]
        assert [f["seq"] for f in frames] == [4, 5, 6, 7, 8]


def test_conflation_sends_the_latest_state_once_per_interval(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    # Heavy's minimum is 500 ms, so frequency 0 becomes 500 ms.
    peer.send(**BOOK, depth=1, format="Heavy", frequency=0, guid="h", token=token)
    subscribed = time.monotonic()
    peer.ack("h")
    emu.tick(5)
    frame = peer.recv()
    arrived = time.monotonic()
    with emu.venue() as venue:
        bid, ask = venue.market.best_bid_ask("MOEX", "SBER")
    assert arrived - subscribed >= 0.45
    assert frame["data"]["bids"][0]["price"] == float(bid)  # type: ignore[arg-type]
    assert frame["data"]["asks"][0]["price"] == float(ask)  # type: ignore[arg-type]
    peer.assert_silent(0.2)  # five changes, one frame


def test_conflation_keeps_the_last_state_of_every_candle() -> None:
    from alor_sync.emulator import ManualClock

    clock = ManualClock()
    with Emulator(speed=0, clock=clock) as emu, connect(emu.ws_url) as peer:
        token = emu.issue_token()
        peer.send(opcode="BarsGetAndSubscribe", code="SBER", exchange="MOEX", tf=60,
                  skipHistory=True, frequency=500, format="Heavy", guid="b", token=token,
                  **{"from": 0})  # fmt: skip
        peer.ack("b")
        emu.tick(30)
        clock.advance(60)
        emu.tick(30)
        first = peer.recv()["data"]
        before, newer = peer.recv_until(lambda f: f["data"]["time"] != first["time"])
        assert newer["data"]["time"] == first["time"] + 60
        # The old candle's final state went out before the new candle, whatever the interval.
        history = peer.subscribe(token, opcode="BarsGetAndSubscribe", code="SBER",
                                 exchange="MOEX", tf=60, format="Heavy", guid="h",
                                 **{"from": first["time"]})  # fmt: skip
        final = next(f["data"] for f in history if f["guid"] == "h")
        last = before[-1]["data"] if before else first
        candle = ("time", "open", "high", "low", "close", "volume")  # production adds fields
        assert [last[k] for k in candle] == [final[k] for k in candle]


def test_payload_is_valid_json_and_frame_is_spliced(emu: Emulator, peer: Peer) -> None:
    peer.send(**BOOK, guid="g", token=emu.issue_token())
    raw = peer.recv_raw()
    assert raw.startswith('{ "data": {') and raw.endswith('}, "guid":"g" }')
    assert json.loads(raw)["guid"] == "g"
