"""Stop and stop-limit orders: conditions, protecting time, expiry, activation, update, delete."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alor_sync.emulator.account import Account
from alor_sync.emulator.account_commands import PRICE_STEP_MESSAGE
from alor_sync.emulator.venue import Reply

try:
    from test_account_fakes import SBER, make_account, run
except ImportError:  # tests/emulator became a package
    from .test_account_fakes import SBER, make_account, run

ORDERS, STOPS, STOPS_V1 = (
    "OrdersGetAndSubscribeV2",
    "StopOrdersGetAndSubscribeV2",
    "StopOrdersGetAndSubscribe",
)


def _stop(account: Account, guid: str = "s1", **fields: Any) -> Reply:
    fields.setdefault("condition", "More")
    fields.setdefault("triggerPrice", 260)
    return run(account, fields.pop("opcode", "create:stop"), guid, **fields)


def test_stop_waits_then_triggers_a_market_order_and_turns_filled() -> None:
    account, market, _, rec = make_account()
    reply = _stop(account, quantity=2)
    assert reply.http_code == 200 and reply.order_number == "8939"
    assert reply.message == "An order '8939' has been created."
    assert [s.status for s in rec.records(STOPS)] == ["working"]
    account.on_market_update("MOEX", "SBER")
    assert market.takes == []  # last 257.70 is not > 260
    market.set_last(SBER, "260.00")
    account.on_market_update("MOEX", "SBER")
    assert market.takes == []  # "More" is strict
    market.set_last(SBER, "260.01")
    account.on_market_update("MOEX", "SBER")
    assert market.takes == [("MOEX", "SBER", "buy", 2, None)]
    child = rec.records(ORDERS)[-1]
    assert (child.type, child.status, child.stop_order_id) == ("market", "filled", "8939")
    stop = rec.records(STOPS)[-1]
    assert (stop.status, stop.exchange_order_id, stop.filled_lots) == ("filled", child.id, 2)
    assert stop.average_fill_price == child.average_fill_price


@pytest.mark.parametrize(
    ("condition", "last", "fires"),
    [
        ("more", "260", False),
        ("MoreOrEqual", "260", True),
        ("less", "260", False),
        ("LESS", "259.99", True),
        ("LessOrEqual", "260", True),
        ("lessorequal", "260.01", False),
    ],
)
def test_conditions(condition: str, last: str, fires: bool) -> None:
    account, market, _, rec = make_account()
    market.set_last(SBER, last)
    _stop(account, condition=condition, triggerPrice=260, side="sell", quantity=1)
    # Evaluated at once against the current last price.
    assert (rec.records(STOPS)[-1].status == "filled") is fires


def test_every_stop_change_goes_to_both_stop_order_streams() -> None:
    account, market, _, rec = make_account()
    _stop(account)
    market.set_last(SBER, "261")
    account.on_market_update("MOEX", "SBER")
    assert rec.records(STOPS) == rec.records(STOPS_V1)
    assert [s.status for s in rec.records(STOPS)][:2] == ["working", "filled"]


def test_protecting_seconds_need_the_condition_to_hold_that_long() -> None:
    account, market, clock, rec = make_account()
    _stop(account, protectingSeconds=15)
    market.set_last(SBER, "261")
    account.on_market_update("MOEX", "SBER")  # starts the watch
    clock.advance(10)
    account.on_market_update("MOEX", "SBER")
    assert market.takes == []
    market.set_last(SBER, "259")  # the condition breaks: the watch restarts
    account.on_market_update("MOEX", "SBER")
    clock.advance(10)
    market.set_last(SBER, "261")
    account.on_market_update("MOEX", "SBER")
    clock.advance(14.9)
    account.on_market_update("MOEX", "SBER")
    assert market.takes == []
    clock.advance(0.1)
    account.on_market_update("MOEX", "SBER")
    assert len(market.takes) == 1
    assert rec.records(STOPS)[-1].status == "filled"


def test_protecting_time_ends_even_when_this_instrument_does_not_move() -> None:
    account, market, clock, _ = make_account()
    _stop(account, protectingSeconds=5)
    market.set_last(SBER, "261")
    account.on_market_update("MOEX", "SBER")
    clock.advance(5)
    account.on_market_update("MOEX", "GAZP")  # any later call runs due deadlines
    assert len(market.takes) == 1


def test_expired_stop_is_canceled() -> None:
    account, market, clock, rec = make_account()
    _stop(account, stopEndUnixTime=int(clock.now) + 60)
    clock.advance(60)
    account.on_market_update("MOEX", "GAZP")
    assert rec.records(STOPS)[-1].status == "canceled"
    market.set_last(SBER, "261")
    account.on_market_update("MOEX", "SBER")
    assert market.takes == []


def test_stop_end_in_the_past_is_400_and_zero_means_no_expiry() -> None:
    account, _, clock, rec = make_account()
    assert _stop(account, "a", stopEndUnixTime=int(clock.now) - 1).http_code == 400
    assert _stop(account, "b", stopEndUnixTime=0).http_code == 200
    assert rec.records(STOPS)[-1].expires_at is None


def test_stop_limit_places_a_limit_order_that_may_rest() -> None:
    account, market, _, rec = make_account()
    market.set_book(SBER, bids=[("260.50", 10)], asks=[("261.20", 10)])
    reply = _stop(account, opcode="create:stoplimit", price=261, quantity=3)
    assert reply.http_code == 200
    market.set_last(SBER, "260.60")
    account.on_market_update("MOEX", "SBER")
    child = rec.records(ORDERS)[-1]
    assert (child.type, child.status, child.limit_price) == ("limit", "working", Decimal(261))
    assert rec.records(STOPS)[-1].exchange_order_id == child.id
    market.set_book(SBER, bids=[("260.50", 10)], asks=[("260.90", 10)])
    account.on_market_update("MOEX", "SBER")
    assert rec.records(ORDERS)[-1].status == "filled"
    assert rec.records(STOPS)[-1].filled_lots == 3


def test_inactive_stop_never_triggers_until_updated_with_activate() -> None:
    account, market, _, rec = make_account()
    market.set_last(SBER, "261")
    reply = _stop(account, activate=False)
    account.on_market_update("MOEX", "SBER")
    assert market.takes == [] and rec.records(STOPS)[-1].status == "working"
    updated = _stop(account, "s2", opcode="update:stop", orderId=reply.order_number, activate=True)
    assert updated.http_code == 200 and updated.order_number == "8940"
    statuses = [(s.id, s.status) for s in rec.records(STOPS)]
    assert ("8939", "canceled") in statuses and ("8940", "filled") in statuses


def test_update_and_delete_of_stops() -> None:
    account, _, _, rec = make_account()
    first = _stop(account, opcode="create:stopLimit", price=261)
    updated = _stop(
        account,
        "s2",
        opcode="update:stopLimit",
        orderId=first.order_number,
        price=262,
        triggerPrice=262,
    )
    assert updated.message == "An order has been updated. New order Id is '8940'."
    body = {"orderId": "8940", "exchange": "MOEX", "user": {"portfolio": "D39004"}}
    deleted = run(account, "delete:stopLimit", "s3", **body)
    assert deleted.order_number == "8940" and deleted.http_code == 200
    assert rec.records(STOPS)[-1].status == "canceled"
    assert run(account, "delete:stop", "s4", **body).http_code == 400
    assert run(account, "delete:limit", "s5", **body).http_code == 404  # not an exchange order


def test_invalid_stops_are_400() -> None:
    account, _, _, rec = make_account()
    assert "condition" in _stop(account, "a", condition="Above").message
    assert _stop(account, "b", triggerPrice=260.001).message == PRICE_STEP_MESSAGE
    assert "triggerPrice" in _stop(account, "c", triggerPrice=None).message
    assert "protectingSeconds" in _stop(account, "d", protectingSeconds=301).message
    assert "protectingSeconds" in _stop(account, "e", protectingSeconds=0).message
    assert "price" in _stop(account, "f", opcode="create:stopLimit").message
    assert rec.events == []


def test_triggered_stop_refused_for_money_turns_rejected_with_the_reason() -> None:
    account, market, _, rec = make_account()
    _stop(account, quantity=500)  # ~1.3 M RUB at trigger, 1 M cash, no margin
    market.set_last(SBER, "261")
    account.on_market_update("MOEX", "SBER")
    stop = rec.records(STOPS)[-1]
    assert stop.status == "rejected" and "Insufficient buying power" in (stop.error or "")
    assert market.takes == []
