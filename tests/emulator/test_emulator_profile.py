"""The production profile: every liberty production takes, taken on purpose, and only those."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import websocket
from peer import Peer, connect

from alor_sync.emulator import Emulator, EmulatorConfig, ManualClock
from alor_sync.emulator.liberties import CLOSINGS, DropPlan, FrameSplitter, PayloadLiberties
from alor_sync.emulator.profile import POLITE, PRODUCTION, Profile, resolve_profile
from alor_sync.emulator.wire_types import field_kinds
from alor_sync.errors import InvalidArgumentError

START = 1_702_631_123.78
TWO_53 = 2**53


def decimal_json(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def only(**liberties: Any) -> Profile:
    return Profile(name="test", **liberties)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def emulator(clock: ManualClock, profile: Profile | str, **settings: Any) -> Emulator:
    return Emulator(speed=0, clock=clock, conflation=False, profile=profile, seed=7, **settings)


@pytest.fixture
def polite(clock: ManualClock) -> Iterator[Emulator]:
    with emulator(clock, "polite") as emu:
        yield emu


def book_frames(emu: Emulator, peer: Peer, fmt: str, count: int) -> list[dict[str, Any]]:
    """The snapshot and ``count`` live frames of an SBER book, parsed with decimals."""
    peer.send(
        opcode="OrderBookGetAndSubscribe", code="SBER", exchange="MOEX", format=fmt,
        depth=5, guid="ob", token=emu.issue_token(),
    )  # fmt: skip
    before, _ = peer.ack("ob")
    emu.tick(20)
    return [decimal_json(json.dumps(f)) for f in before] + [
        decimal_json(peer.recv_raw()) for _ in range(count)
    ]


# -- the profile as data ------------------------------------------------------------------------


def test_profiles_by_name_and_validation() -> None:
    assert resolve_profile("Production") is PRODUCTION
    assert resolve_profile("polite") is POLITE
    assert EmulatorConfig(profile="polite").profile is POLITE
    with pytest.raises(InvalidArgumentError, match="profile must be one of"):
        EmulatorConfig(profile="rude")
    with pytest.raises(InvalidArgumentError, match="nulls must be in"):
        Profile(name="x", nulls=1.5)
    assert not POLITE.rewrites_payloads and not POLITE.big_ids and POLITE.drop_rate == 0
    assert PRODUCTION.big_ids and all(
        getattr(PRODUCTION, f) > 0
        for f in (
            "decimal_text", "extra_fields", "enum_casing", "nulls", "fragmented", "early_data",
            "empty_guid_401", "drop_rate",
        )
    )  # fmt: skip


# -- payload liberties, unit by unit -----------------------------------------------------------


def test_decimals_keep_their_value_and_gain_trailing_zeros() -> None:
    payload = b'{"b":[{"p":257.7,"v":157},{"p":258,"v":40}],"a":[],"t":1702631123780,"h":true}'
    rewritten = PayloadLiberties(only(decimal_text=1.0), seed=1).rewrite(
        "OrderBookGetAndSubscribe", "Slim", payload
    )
    text = rewritten.decode()
    assert '"p":257.70' in text and '"p":258.0' in text
    assert '"v":157}' in text and '"t":1702631123780,' in text  # integers stay integers
    assert decimal_json(rewritten) == decimal_json(payload)


def test_enum_casing_changes_letters_only() -> None:
    payload = b'{"id":1,"side":"buy","status":"filled","type":"limit","exchange":"MOEX"}'
    out = json.loads(
        PayloadLiberties(only(enum_casing=1.0), seed=3).rewrite(
            "OrdersGetAndSubscribeV2", "Heavy", payload
        )
    )
    original = json.loads(payload)
    for key in ("side", "status", "type"):
        assert out[key] != original[key] and out[key].lower() == original[key]
    assert out["exchange"] == "MOEX"  # an identifier, not an enum production re-cases


def test_nulls_only_where_the_schema_or_the_examples_allow_them() -> None:
    nullable = field_kinds("QuotesSubscribe", "Heavy")[2]
    payload = json.dumps(
        {"symbol": "", "lastPrice": 0, "yield": 0, "obMsTimestamp": 0, "type": "",
         "openInterest": 5, "currency": "RUB"}
    ).encode()  # fmt: skip
    liberties = PayloadLiberties(only(nulls=1.0), seed=5)
    nulled: set[str] = set()
    for _ in range(20):
        out = json.loads(liberties.rewrite("QuotesSubscribe", "Heavy", payload))
        nulled |= {k for k, v in out.items() if v is None}
    # Empty values in nullable fields only: a value that says something is never nulled.
    assert nulled == {"yield", "obMsTimestamp", "type"} and nulled <= nullable


def test_extra_fields_are_unknown_names_added_last() -> None:
    payload = b'{"time":1,"close":2,"open":3,"high":4,"low":1,"volume":9}'
    out = json.loads(
        PayloadLiberties(only(extra_fields=1.0), seed=2).rewrite(
            "BarsGetAndSubscribe", "Heavy", payload
        )
    )
    keys = list(out)
    assert keys[:6] == list(json.loads(payload)) and len(keys) == 7


def test_no_liberty_leaves_the_bytes_alone() -> None:
    payload = b'{"b":[{"p":257.7,"v":157}],"a":[],"t":1,"h":true}'
    liberties = PayloadLiberties(only(early_data=1.0), seed=1)
    assert liberties.rewrite("OrderBookGetAndSubscribe", "Slim", payload) is payload


def test_frames_split_anywhere_into_two_to_four_parts() -> None:
    splitter = FrameSplitter(1.0, seed=0, number=1)
    frame = '{ "data": {"desc":"Сбербанк России"}, "guid":"g" }'.encode()
    counts = set()
    for _ in range(50):
        parts = splitter.split(frame)
        assert parts is not None and all(parts) and b"".join(parts) == frame
        counts.add(len(parts))
    assert counts == {2, 3, 4}
    assert FrameSplitter(0.0, seed=0, number=1).split(frame) is None


def test_drop_plans_are_seeded_and_use_every_closing() -> None:
    assert DropPlan(0.0, 1, 1).after_frames == float("inf")
    assert DropPlan(1.0, 1, 1).after_frames == 1
    plan = DropPlan(1e-3, seed=4, number=2)
    assert plan.after_frames == DropPlan(1e-3, seed=4, number=2).after_frames
    assert plan.how == DropPlan(1e-3, seed=4, number=2).how
    assert {DropPlan(1e-3, 4, n).how for n in range(200)} == set(CLOSINGS)
    mean = sum(DropPlan(1e-3, 4, n).after_frames for n in range(2000)) / 2000
    assert 800 < mean < 1250  # a geometric law with p = 1/1000


# -- end to end, over the wire ------------------------------------------------------------------


def test_big_ids_on_the_tape_and_in_order_numbers(clock: ManualClock) -> None:
    with emulator(clock, only(big_ids=True)) as emu, connect(emu.ws_url) as peer:
        token = emu.issue_token()
        peer.subscribe(
            token, opcode="AllTradesGetAndSubscribe", code="SBER", exchange="MOEX", depth=5,
            format="Simple", guid="t",
        )  # fmt: skip
        emu.tick(30)
        text = peer.recv_raw()
        trade_id = json.loads(text)["data"]["id"]
        assert isinstance(trade_id, int) and trade_id > TWO_53 and len(str(trade_id)) == 19
        assert f'"id":{trade_id}' in text
        with connect(emu.cws_url) as cws:
            cws.send(opcode="authorize", guid="a", token=token)
            assert cws.recv()["httpCode"] == 200
            cws.send(
                opcode="create:limit", guid="c", side="buy", quantity=1, price=250,
                instrument={"symbol": "SBER", "exchange": "MOEX"}, user={"portfolio": "D39004"},
            )  # fmt: skip
            reply = cws.recv()
        assert reply["httpCode"] == 200, reply
        assert int(reply["orderNumber"]) > TWO_53 and len(reply["orderNumber"]) == 19


def test_rewritten_books_carry_the_polite_values(clock: ManualClock, polite: Emulator) -> None:
    with connect(polite.ws_url) as peer:
        expected = book_frames(polite, peer, "Heavy", 3)
    liberal = only(decimal_text=1.0, extra_fields=1.0)
    with emulator(ManualClock(START), liberal) as emu, connect(emu.ws_url) as peer:
        got = book_frames(emu, peer, "Heavy", 3)
    assert [g["data"]["bids"] for g in got] == [e["data"]["bids"] for e in expected]
    assert all(set(g["data"]) > set(e["data"]) for g, e in zip(got, expected, strict=True))


def test_confirmations_with_extra_fields_still_start_with_request_guid(
    clock: ManualClock,
) -> None:
    with emulator(clock, only(extra_fields=1.0)) as emu, connect(emu.ws_url) as peer:
        peer.send(opcode="ping", guid="p", confirm=True)
        text = peer.recv_raw()
    assert text.startswith('{"requestGuid":"p","httpCode":200,"message":"Handled successfully",')
    assert len(json.loads(text)) == 4


def test_text_frames_arrive_as_continuation_frames(clock: ManualClock) -> None:
    with emulator(clock, only(fragmented=1.0)) as emu, connect(emu.ws_url) as peer:
        peer.send(opcode="ping", guid="p", confirm=True)
        first = peer.ws.recv_frame()
        parts = [first]
        while not parts[-1].fin:
            parts.append(peer.ws.recv_frame())
    assert first.opcode == websocket.ABNF.OPCODE_TEXT and not first.fin
    assert len(parts) >= 2
    assert all(p.opcode == websocket.ABNF.OPCODE_CONT for p in parts[1:])
    assert json.loads(b"".join(p.data for p in parts))["requestGuid"] == "p"


def test_live_frames_may_come_before_the_confirmation(clock: ManualClock) -> None:
    with emulator(clock, only(early_data=1.0)) as emu, connect(emu.ws_url) as peer:
        peer.send(
            opcode="OrderBookGetAndSubscribe", code="SBER", exchange="MOEX", format="Slim",
            guid="ob", token=emu.issue_token(),
        )  # fmt: skip
        snapshot = peer.recv()
        assert snapshot["data"]["h"] is True
        emu.tick(5)
        before, ack = peer.ack("ob")
        assert ack["httpCode"] == 200
        assert before and all(f["data"]["h"] is False for f in before)


def test_a_held_confirmation_comes_anyway_and_before_the_unsubscribe(clock: ManualClock) -> None:
    with emulator(clock, only(early_data=1.0)) as emu, connect(emu.ws_url) as peer:
        token = emu.issue_token()
        peer.send(opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="q", token=token)
        peer.recv()  # the quote
        _, ack = peer.ack("q")  # no live frame ever comes: confirmed after a short hold
        assert ack["httpCode"] == 200
        peer.send(opcode="QuotesSubscribe", code="GAZP", exchange="MOEX", guid="g", token=token)
        peer.recv()
        peer.send(opcode="unsubscribe", guid="g", token=token)
        first, second = peer.recv(), peer.recv()
        assert first["requestGuid"] == second["requestGuid"] == "g"  # subscribe, then unsubscribe
        peer.assert_silent(0.3)


def test_some_401s_carry_an_empty_request_guid(clock: ManualClock) -> None:
    with emulator(clock, only(empty_guid_401=0.5)) as emu, connect(emu.ws_url) as peer:
        guids = []
        for n in range(20):
            peer.send(opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid=f"q{n}",
                      token="not-a-jwt")  # fmt: skip
            reply = peer.recv()
            assert reply["httpCode"] == 401
            guids.append(reply["requestGuid"])
    assert "" in guids and {g for g in guids if g} <= {f"q{n}" for n in range(20)}
    assert len([g for g in guids if g]) > 2


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6])
def test_the_server_ends_connections_on_its_own(clock: ManualClock, number: int) -> None:
    profile = only(drop_rate=1.0)
    with emulator(clock, profile) as emu:
        for _ in range(number - 1):  # connection numbers pick the closing; use several
            with connect(emu.ws_url):
                pass
        peer = Peer(emu.ws_url)
        try:
            how = DropPlan(1.0, 7, number).how
            peer.send(opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="q",
                      token=emu.issue_token())  # fmt: skip
            frames, code = peer.recv_until_close()
        finally:
            peer.ws.shutdown()
    assert all(b'"requestGuid"' not in f for f in frames[1:])
    assert code == (None if how[0] == "reset" else how[1])
