"""Account commands: market, limit, update, delete, idempotency, and every rejection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alor_sync.emulator.account_commands import PRICE_STEP_MESSAGE, QUANTITY_MESSAGE
from alor_sync.emulator.venue import Reply

try:
    from test_account_fakes import AAPL, SBER, SI, make_account, order_body, run
except ImportError:  # tests/emulator became a package
    from .test_account_fakes import AAPL, SBER, SI, make_account, order_body, run

ORDERS, TRADES = "OrdersGetAndSubscribeV2", "TradesGetAndSubscribeV2"
POSITIONS, SUMMARIES = "PositionsGetAndSubscribeV2", "SummariesGetAndSubscribeV2"


def test_market_buy_fills_against_the_book_and_books_everything() -> None:
    account, market, _, rec = make_account()
    reply = run(account, "create:market", "g1", quantity=3)
    assert reply == Reply(200, "An order '18995978560' has been created.", "18995978560")
    assert market.takes == [("MOEX", "SBER", "buy", 3, None)]
    final = rec.records(ORDERS)[-1]
    assert (final.status, final.filled_lots, final.type) == ("filled", 3, "market")
    assert final.price == Decimal("257.71")
    (trade,) = rec.records(TRADES)
    assert (trade.order_id, trade.lots, trade.price, trade.side) == (
        final.id,
        3,
        Decimal("257.71"),
        "buy",
    )
    assert trade.volume == Decimal("257.71") * 30
    assert trade.commission == (trade.volume * Decimal("0.0005")).quantize(Decimal("0.00001"))


def test_market_order_remainder_is_canceled_when_the_book_runs_out() -> None:
    account, market, _, rec = make_account()
    market.set_book(SBER, bids=[("257.69", 10)], asks=[("257.71", 2)])
    run(account, "create:market", "g1", quantity=5)
    final = rec.records(ORDERS)[-1]
    assert (final.status, final.filled_lots, final.lots) == ("canceled", 2, 5)


def test_market_order_on_an_empty_side_is_canceled_without_fills() -> None:
    account, market, _, rec = make_account()
    market.set_book(SBER, bids=[("257.69", 10)], asks=[])
    reply = run(account, "create:market", "g1", quantity=1)
    assert reply.http_code == 200
    assert [o.status for o in rec.records(ORDERS)] == ["working", "canceled"]
    assert rec.records(TRADES) == []


def test_limit_that_does_not_cross_rests_then_fills_when_the_market_crosses_it() -> None:
    account, market, _, rec = make_account()
    run(account, "create:limit", "g1", quantity=2, price=257.5)
    (order,) = rec.records(ORDERS)
    assert order.status == "working" and market.takes == []
    rec.clear()
    account.on_market_update("MOEX", "SBER")  # nothing crossed: nothing happens
    assert rec.events == [] and market.takes == []
    market.set_book(SBER, bids=[("257.40", 10)], asks=[("257.45", 1), ("257.50", 5)])
    account.on_market_update("MOEX", "SBER")
    assert market.takes == [("MOEX", "SBER", "buy", 2, Decimal("257.5"))]
    filled = rec.records(ORDERS)[-1]
    assert (filled.id, filled.status, filled.filled_lots) == (order.id, "filled", 2)
    assert [t.price for t in rec.records(TRADES)] == [Decimal("257.45"), Decimal("257.50")]


def test_crossing_limit_fills_what_the_book_gives_and_rests_the_rest() -> None:
    account, _, _, rec = make_account()
    run(account, "create:limit", "g1", quantity=8, price=257.75)
    final = rec.records(ORDERS)[-1]
    assert (final.status, final.filled_lots) == ("working", 5)


@pytest.mark.parametrize(
    ("time_in_force", "status", "filled"),
    [
        ("ImmediateOrCancel", "canceled", 5),
        ("fillorkill", "canceled", 5),
        ("BOOKORCANCEL", "canceled", 0),
        ("oneday", "working", 5),
    ],
)
def test_time_in_force_on_a_crossing_limit(time_in_force: str, status: str, filled: int) -> None:
    account, _, _, rec = make_account()
    reply = run(account, "create:limit", "g1", quantity=8, price=257.75, timeInForce=time_in_force)
    assert reply.http_code == 200
    final = rec.records(ORDERS)[-1]
    assert (final.status, final.filled_lots) == (status, filled)


def test_bookorcancel_that_does_not_cross_rests() -> None:
    account, _, _, rec = make_account()
    run(account, "create:limit", "g1", price=257.0, timeInForce="bookorcancel")
    assert rec.records(ORDERS)[-1].status == "working"


def test_update_replaces_the_order_with_a_new_number() -> None:
    account, _, _, rec = make_account()
    created = run(account, "create:limit", "g1", price=257.5)
    updated = run(
        account, "update:limit", "g2", price=257.4, quantity=2, orderId=created.order_number
    )
    assert updated.http_code == 200
    assert updated.order_number == str(int(created.order_number) + 1)
    assert (
        updated.message == f"An order has been updated. New order Id is '{updated.order_number}'."
    )
    old, new = rec.records(ORDERS)[-2:]
    assert (old.id, old.status) == (created.order_number, "canceled")
    assert (new.id, new.status, new.lots, new.limit_price) == (
        updated.order_number,
        "working",
        2,
        Decimal("257.4"),
    )


def test_refused_update_leaves_the_old_order_working() -> None:
    account, _, _, rec = make_account()
    created = run(account, "create:limit", "g1", price=257.5)
    reply = run(account, "update:limit", "g2", price=257.405, orderId=created.order_number)
    assert reply == Reply(400, PRICE_STEP_MESSAGE)
    assert rec.records(ORDERS)[-1].status == "working"


def test_delete_cancels_and_a_second_delete_is_refused() -> None:
    account, _, _, rec = make_account()
    created = run(account, "create:limit", "g1", price=257.5)
    body = {"orderId": created.order_number, "exchange": "MOEX", "user": {"portfolio": "D39004"}}
    first = account.execute("delete:limit", {"guid": "d1", **body})
    assert first == Reply(
        200, f"An order '{created.order_number}' has been deleted.", created.order_number
    )
    assert rec.records(ORDERS)[-1].status == "canceled"
    again = account.execute("delete:limit", {"guid": "d2", **body})
    assert again.http_code == 400 and "canceled" in again.message


def test_delete_of_a_filled_order_is_refused() -> None:
    account, _, _, _ = make_account()
    created = run(account, "create:market", "g1")
    reply = account.execute(
        "delete:market",
        {
            "guid": "d1",
            "orderId": created.order_number,
            "exchange": "MOEX",
            "user": {"portfolio": "D39004"},
        },
    )
    assert reply.http_code == 400 and "filled" in reply.message


@pytest.mark.parametrize("opcode", ["delete:limit", "update:limit"])
def test_unknown_order_id_is_404(opcode: str) -> None:
    account, _, _, _ = make_account()
    body = order_body(opcode, "g1", price=257.5, orderId="1", exchange="MOEX")
    reply = account.execute(opcode, body)
    assert reply.http_code == 404 and "'1' not found" in reply.message


def test_an_order_of_another_portfolio_is_not_found() -> None:
    account, _, _, _ = make_account()
    created = run(account, "create:limit", "g1", price=257.5)
    reply = account.execute(
        "delete:limit",
        {
            "guid": "d",
            "orderId": created.order_number,
            "exchange": "MOEX",
            "user": {"portfolio": "G39004"},
        },
    )
    assert reply.http_code == 404


def test_repeated_guid_is_not_executed_twice_and_gets_the_first_reply() -> None:
    account, market, _, rec = make_account()
    first = run(account, "create:market", "same")
    events = len(rec.events)
    second = run(account, "create:market", "same")
    assert second == first
    assert len(market.takes) == 1 and len(rec.events) == events


def test_rejections_are_replayed_too() -> None:
    account, _, _, _ = make_account()
    first = run(account, "create:market", "same", quantity=0)
    assert run(account, "create:market", "same", quantity=1) == first


def test_check_duplicates_false_executes_again() -> None:
    account, market, _, _ = make_account()
    first = run(account, "create:market", "same", checkDuplicates=False)
    second = run(account, "create:market", "same", checkDuplicates=False)
    assert first.order_number != second.order_number
    assert len(market.takes) == 2


def test_opcode_type_part_is_case_insensitive_and_board_may_be_top_level() -> None:
    account, _, _, rec = make_account()
    body = order_body("create:LIMIT", "g1", price=257.5, side="BUY", timeInForce="OneDay")
    del body["instrument"]["instrumentGroup"]
    body["board"] = "TQBR"
    assert account.execute("create:LIMIT", body).http_code == 200
    assert rec.records(ORDERS)[-1].side == "buy"


def test_order_numbers_increase_across_portfolios() -> None:
    account, _, _, _ = make_account()
    numbers = [
        run(account, "create:limit", "a", price=257.5).order_number,
        run(
            account, "create:limit", "b", instrument=SI, portfolio="7500PUQ", price=98000
        ).order_number,
        run(account, "create:limit", "c", price=257.5).order_number,
    ]
    assert numbers == ["18995978560", "18995978561", "18995978562"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"quantity": 0}, QUANTITY_MESSAGE),
        ({"quantity": -3}, QUANTITY_MESSAGE),
        ({"quantity": 1.5}, QUANTITY_MESSAGE),
        ({"quantity": "1"}, QUANTITY_MESSAGE),
        ({"quantity": True}, QUANTITY_MESSAGE),
        ({"price": None}, "Field 'price' is required"),
        ({"price": 257.555}, PRICE_STEP_MESSAGE),
        ({"price": -1}, "positive"),
        ({"side": "hold"}, "'side'"),
        ({"comment": "x" * 101}, "at most 100"),
        ({"timeInForce": "forever"}, "timeInForce"),
        ({"timeInForce": "goodtillcancelled"}, "only for derivatives"),
        ({"allowMargin": "yes"}, "allowMargin"),
        ({"user": {"portfolio": "D00000"}}, "Unknown portfolio D00000"),
        ({"user": {}}, "user.portfolio"),
        ({"instrument": {"symbol": "NOPE", "exchange": "MOEX"}}, "Unknown instrument NOPE"),
        (
            {"instrument": {"symbol": "SBER", "exchange": "MOEX", "instrumentGroup": "TQCB"}},
            "Unknown instrument SBER",
        ),
        ({"instrument": None}, "'instrument' is required"),
    ],
)
def test_invalid_limit_orders_are_400(fields: dict[str, object], message: str) -> None:
    account, market, _, rec = make_account()
    body = order_body("create:limit", "g", price=257.5)
    body.update(fields)
    if fields.get("price", 0) is None:
        del body["price"]
    reply = account.execute("create:limit", body)
    assert reply.http_code == 400, reply
    assert message in reply.message
    assert reply.order_number is None
    assert rec.events == [] and market.takes == []


@pytest.mark.parametrize(
    ("instrument", "portfolio", "message"),
    [
        (SI, "D39004", "cannot trade SiZ6"),
        (SBER, "7500PUQ", "cannot trade SBER"),
        (SBER, "G39004", "cannot trade SBER"),
        (AAPL, "G39004", "Unknown portfolio G39004 on SPBX"),
    ],
)
def test_portfolio_of_the_wrong_market_is_400(
    instrument: object, portfolio: str, message: str
) -> None:
    account, _, _, _ = make_account()
    reply = run(account, "create:market", "g", instrument=instrument, portfolio=portfolio)
    assert reply.http_code == 400 and message in reply.message


def test_unknown_command_is_400() -> None:
    account, _, _, _ = make_account()
    assert account.execute("create:iceberg", order_body("create:iceberg", "g")).http_code == 400
    assert account.execute("cancel:limit", order_body("cancel:limit", "g2")).http_code == 400


def test_update_and_delete_need_an_order_id_and_delete_an_exchange() -> None:
    account, _, _, _ = make_account()
    assert "orderId" in run(account, "update:limit", "g1", price=257.5).message
    reply = account.execute(
        "delete:limit", {"guid": "g2", "orderId": "1", "user": {"portfolio": "D39004"}}
    )
    assert reply.http_code == 400 and "exchange" in reply.message


def test_buy_beyond_cash_is_refused_unless_margin_is_allowed() -> None:
    account, market, _, _ = make_account()
    market.set_book(SBER, asks=[("257.71", 10_000)])
    refused = run(account, "create:market", "g1", quantity=400)  # ~1.03 M RUB > 1 M
    assert refused.http_code == 400 and "Insufficient buying power" in refused.message
    assert market.takes == []
    assert run(account, "create:market", "g2", quantity=400, allowMargin=True).http_code == 200


def test_working_buy_limits_reserve_cash() -> None:
    account, _, _, _ = make_account()
    assert run(account, "create:limit", "g1", quantity=380, price=257.0).http_code == 200
    refused = run(account, "create:limit", "g2", quantity=10, price=257.0)
    assert refused.http_code == 400 and "Insufficient buying power" in refused.message


def test_selling_more_than_held_is_refused_unless_margin_is_allowed() -> None:
    account, _, _, _ = make_account()  # D39004 holds 10 lots of SBER
    refused = run(account, "create:market", "g1", side="sell", quantity=11)
    assert refused.http_code == 400 and "Insufficient position" in refused.message
    assert run(account, "create:limit", "g2", side="sell", quantity=6, price=258).http_code == 200
    assert run(account, "create:limit", "g3", side="sell", quantity=5, price=258).http_code == 400
    assert (
        run(account, "create:market", "g4", side="sell", quantity=11, allowMargin=True).http_code
        == 200
    )


def test_futures_need_free_money_for_margin_whatever_allow_margin_says() -> None:
    account, _, _, _ = make_account()  # 1 M RUB, 12,500 a lot
    ok = run(
        account, "create:limit", "g1", instrument=SI, portfolio="7500PUQ", price=98000, quantity=79
    )
    assert ok.http_code == 200
    refused = run(
        account, "create:limit", "g2", instrument=SI, portfolio="7500PUQ", price=98000,
        quantity=2, allowMargin=True,
    )  # fmt: skip
    assert refused.http_code == 400 and "initial margin" in refused.message


def test_remembered_replies_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from alor_sync.emulator import account as account_module

    monkeypatch.setattr(account_module, "REMEMBERED_COMMANDS", 2)
    account, market, _, _ = make_account()
    for guid in ("a", "b", "c"):
        run(account, "create:market", guid)
    run(account, "create:market", "c")  # still remembered: not executed
    assert len(market.takes) == 3
    run(account, "create:market", "a")  # forgotten: executed again
    assert len(market.takes) == 4


def test_futures_update_keeps_side_and_symbol() -> None:
    account, _, _, rec = make_account()
    created = run(account, "create:limit", "a", instrument=SI, portfolio="7500PUQ", price=98000)
    updated = run(
        account, "update:limit", "b", instrument=SI, portfolio="7500PUQ", price=97000,
        side="sell", orderId=created.order_number,
    )  # fmt: skip
    assert updated.http_code == 200
    new = rec.records(ORDERS)[-1]
    assert (new.id, new.side, new.limit_price) == (updated.order_number, "buy", Decimal(97000))


def test_update_of_a_partly_filled_order_cancels_it_and_places_the_full_new_quantity() -> None:
    account, _, _, rec = make_account()
    created = run(account, "create:limit", "a", quantity=8, price=257.75)  # 5 fill, 3 rest
    updated = run(
        account, "update:limit", "b", quantity=4, price=257.0, orderId=created.order_number
    )
    old = [o for o in rec.records(ORDERS) if o.id == created.order_number][-1]
    new = rec.records(ORDERS)[-1]
    assert (old.status, old.filled_lots) == ("canceled", 5)
    assert (new.id, new.lots, new.status) == (updated.order_number, 4, "working")
