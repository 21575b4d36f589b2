"""Money, positions, summaries, risks, spectra risks; listener order; history; re-entrancy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alor_sync.emulator.account import DEFAULT_SETUP, Account
from alor_sync.emulator.account_records import PositionRecord

try:
    from test_account_fakes import BOND, SBER, SI, USDRUB, FakeMarket, make_account, run
except ImportError:  # tests/emulator became a package
    from .test_account_fakes import BOND, SBER, SI, USDRUB, FakeMarket, make_account, run

ORDERS, TRADES = "OrdersGetAndSubscribeV2", "TradesGetAndSubscribeV2"
POSITIONS, SUMMARIES = "PositionsGetAndSubscribeV2", "SummariesGetAndSubscribeV2"
RISKS, SPECTRA = "RisksGetAndSubscribe", "SpectraRisksGetAndSubscribe"
STOPS, STOPS_V1 = "StopOrdersGetAndSubscribeV2", "StopOrdersGetAndSubscribe"


def _position(account: Account, portfolio: str, exchange: str, symbol: str) -> PositionRecord:
    (found,) = [p for p in account.history(POSITIONS, portfolio, exchange) if p.symbol == symbol]
    return found


def test_identity_and_portfolios() -> None:
    account, _, _, _ = make_account()
    assert account.jwt_claims() == {
        "sub": "P039004",
        "portfolios": "D39004 G39004 7500PUQ",
        "agreements": "39004",
        "clientid": "39004",
        "ein": "39004",
    }
    assert account.portfolios() == [
        ("D39004", "MOEX"),
        ("D39004", "SPBX"),
        ("G39004", "MOEX"),
        ("7500PUQ", "MOEX"),
    ]


def test_opening_positions_include_money_and_the_sber_holding() -> None:
    account, _, _, _ = make_account()
    positions = account.history(POSITIONS, "D39004", "MOEX")
    assert [(p.symbol, p.is_currency, p.qty_units) for p in positions] == [
        ("RUB", True, Decimal(1_000_000)),
        ("SBER", False, Decimal(100)),
    ]
    sber = positions[1]
    assert sber.avg_price == Decimal("257.70") and sber.unrealised_pl == 0
    g = account.history(POSITIONS, "G39004", "MOEX")
    assert [(p.symbol, p.qty_units) for p in g] == [("RUB", 500_000), ("USD", 10_000)]
    summary = account.history(SUMMARIES, "D39004", "MOEX")[0]
    assert summary.portfolio_evaluation == Decimal(1_000_000) + Decimal("25770")
    assert summary.buying_power == summary.buying_power_at_morning == Decimal(1_000_000)


def test_a_buy_spends_price_times_quantity_times_lot_plus_commission() -> None:
    account, _, _, rec = make_account()
    run(account, "create:market", "g1", quantity=3)
    (trade,) = rec.records(TRADES)
    cost = Decimal("257.71") * 3 * 10
    assert trade.commission == cost * Decimal("0.0005")
    money = _position(account, "D39004", "MOEX", "RUB")
    assert money.qty_units == Decimal(1_000_000) - cost - trade.commission
    sber = _position(account, "D39004", "MOEX", "SBER")
    assert sber.qty_units == 130 and sber.lots == 13
    assert sber.avg_price == (Decimal("257.70") * 100 + cost) / 130
    summary = rec.records(SUMMARIES)[-1]
    assert summary.buying_power == money.qty_units
    assert summary.commission == trade.commission
    assert summary.portfolio_evaluation == money.qty_units + 130 * Decimal("257.71")


def test_a_sell_credits_cash_and_closing_keeps_a_zero_position() -> None:
    account, _, _, _ = make_account()
    run(account, "create:market", "g1", side="sell", quantity=10)
    proceeds = Decimal("257.69") * 100
    money = _position(account, "D39004", "MOEX", "RUB")
    assert money.qty_units == Decimal(1_000_000) + proceeds - proceeds * Decimal("0.0005")
    sber = _position(account, "D39004", "MOEX", "SBER")
    assert (sber.qty_units, sber.avg_price, sber.open_units) == (0, 0, 100)


def test_bonds_are_valued_in_percent_of_face() -> None:
    account, _, _, rec = make_account()
    run(account, "create:market", "g1", instrument=BOND, quantity=2)
    (trade,) = rec.records(TRADES)
    assert trade.volume == Decimal("58.510") * 10 * 2  # 58.51 % of 1000, two bonds
    order = rec.records(ORDERS)[-1]
    assert order.price == Decimal("58.51")


def test_fill_emits_orders_trades_positions_then_summary_and_risks() -> None:
    account, _, _, rec = make_account()
    run(account, "create:market", "g1", quantity=1)
    assert rec.opcodes() == [ORDERS, ORDERS, TRADES, POSITIONS, POSITIONS, SUMMARIES, RISKS]
    assert {(e[1], e[2]) for e in rec.events} == {("D39004", "MOEX")}
    assert [p.symbol for p in rec.records(POSITIONS)] == ["RUB", "SBER"]


def test_futures_fill_moves_spectra_risks_and_variation_margin() -> None:
    account, market, _, rec = make_account()
    run(account, "create:market", "g1", instrument=SI, portfolio="7500PUQ", quantity=2)
    assert rec.opcodes()[-3:] == [SUMMARIES, RISKS, SPECTRA]
    spectra = rec.records(SPECTRA)[-1]
    fee = Decimal(98501) * 2 * Decimal("0.0005")
    assert spectra.fee == fee
    assert spectra.money_blocked == Decimal(25_000)
    assert spectra.money_amount == Decimal(1_000_000) - fee + (98501 - 98501) * 2
    assert spectra.money_free == spectra.money_amount - 25_000
    rec.clear()
    market.set_last(SI, "98600")
    account.on_market_update("MOEX", "SiZ6")
    spectra = rec.records(SPECTRA)[-1]
    assert spectra.vm_current_positions == (98600 - 98501) * 2
    assert spectra.var_margin == spectra.vm_current_positions
    position = rec.records(POSITIONS)[-1]
    assert position.unrealised_pl == (98600 - 98501) * 2
    summary = rec.records(SUMMARIES)[-1]
    assert summary.buying_power == spectra.money_free


def test_closing_a_future_realises_variation_margin_into_money() -> None:
    account, market, _, _ = make_account()
    run(account, "create:market", "g1", instrument=SI, portfolio="7500PUQ", quantity=1)
    market.set_book(SI, bids=[("98700", 10)], asks=[("98702", 10)])
    run(account, "create:market", "g2", instrument=SI, portfolio="7500PUQ", side="sell", quantity=1)
    spectra = account.history(SPECTRA, "7500PUQ", "MOEX")[0]
    fees = (Decimal(98501) + Decimal(98700)) * Decimal("0.0005")
    assert spectra.var_margin == 199 and spectra.vm_current_positions == 0
    assert spectra.money_amount == Decimal(1_000_000) + 199 - fees
    assert spectra.money_blocked == 0


def test_revaluation_emits_only_real_changes() -> None:
    account, market, _, rec = make_account()
    account.on_market_update("MOEX", "SBER")  # same last price
    account.on_market_update("MOEX", "GAZP")  # not held
    assert rec.events == []
    market.set_last(SBER, "258.70")
    account.on_market_update("MOEX", "SBER")
    assert rec.opcodes() == [POSITIONS, SUMMARIES, RISKS]
    assert rec.records(POSITIONS)[0].unrealised_pl == Decimal(100)
    assert rec.records(SUMMARIES)[0].profit == Decimal(100)
    rec.clear()
    account.on_market_update("MOEX", "SBER")
    assert rec.events == []


def test_a_resting_buy_reserves_buying_power_in_the_summary() -> None:
    account, _, _, rec = make_account()
    run(account, "create:limit", "g1", quantity=1, price=257.0)
    summary = rec.records(SUMMARIES)[-1]
    assert summary.buying_power == Decimal(1_000_000) - Decimal(2570) * Decimal("1.0005")
    created = rec.records(ORDERS)[-1]
    run(
        account, "delete:limit", "g2", orderId=created.id, exchange="MOEX",
    )  # fmt: skip
    assert rec.records(SUMMARIES)[-1].buying_power == Decimal(1_000_000)


def test_fx_instruments_trade_on_the_g_portfolio() -> None:
    account, _, _, rec = make_account()
    reply = run(account, "create:market", "g1", instrument=USDRUB, portfolio="G39004")
    assert reply.http_code == 200
    assert {(e[1], e[2]) for e in rec.events} == {("G39004", "MOEX")}


def test_history_of_orders_filters_by_status_and_live_events_are_not_filtered() -> None:
    account, _, _, _ = make_account()
    run(account, "create:market", "a")
    run(account, "create:limit", "b", price=257.0)
    assert [o.status for o in account.history(ORDERS, "D39004", "MOEX")] == ["filled", "working"]
    assert [
        o.status for o in account.history(ORDERS, "D39004", "MOEX", order_statuses=["Filled"])
    ] == ["filled"]
    assert account.history(ORDERS, "D39004", "SPBX") == []
    assert len(account.history(TRADES, "D39004", "MOEX")) == 1


def test_history_of_stops_filters_and_serves_both_versions() -> None:
    account, _, _, _ = make_account()
    run(account, "create:stop", "a", condition="More", triggerPrice=300)
    run(account, "create:stop", "b", condition="Less", triggerPrice=300)  # fires at once
    assert [s.status for s in account.history(STOPS, "D39004", "MOEX")] == ["working", "filled"]
    assert [
        s.id for s in account.history(STOPS_V1, "D39004", "MOEX", order_statuses=["working"])
    ] == ["8939"]


def test_history_of_figures() -> None:
    account, _, _, _ = make_account()
    assert len(account.history(SUMMARIES, "D39004", "MOEX")) == 1
    (risk,) = account.history(RISKS, "D39004", "MOEX")
    assert risk.risk_status == "Ok" and risk.portfolio == "D39004"
    assert len(account.history(SPECTRA, "7500PUQ", "MOEX")) == 1
    assert account.history(SPECTRA, "D39004", "MOEX") == []  # not a derivatives portfolio
    assert account.history(POSITIONS, "X1", "MOEX") == []
    with pytest.raises(ValueError, match="not an account stream"):
        account.history("QuotesSubscribe", "D39004", "MOEX")


def test_market_updates_from_inside_a_command_are_queued_not_recursed() -> None:
    market = FakeMarket()
    account, _, _, rec = make_account(market)
    depth = []

    def relay(exchange: str, symbol: str) -> None:
        depth.append(exchange)
        account.on_market_update(exchange, symbol)

    market.on_change = relay
    # A stop that the print of our own buy (257.71 x5, then 257.80 x1) triggers.
    run(account, "create:stop", "s", side="sell", condition="MoreOrEqual", triggerPrice=257.8)
    run(account, "create:market", "g", quantity=6)
    assert [(t[2], t[3]) for t in market.takes] == [("buy", 6), ("sell", 1)]
    assert market.last_price("MOEX", "SBER") == Decimal("257.69")  # the stop's sale
    stop = rec.records(STOPS)[-1]
    assert stop.status == "filled"
    child = rec.records(ORDERS)[-1]
    assert (child.side, child.status) == ("sell", "filled")
    assert depth  # the relay fired, and nothing blew up re-entering


def test_listener_failure_does_not_break_the_account(caplog: pytest.LogCaptureFixture) -> None:
    account, _, _, rec = make_account()

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    account.add_listener(broken)
    assert run(account, "create:market", "g1").http_code == 200
    assert rec.records(TRADES)  # the other listener still heard everything
    assert "account listener failed" in caplog.text


def test_same_seed_same_story() -> None:
    def story(seed: int) -> list[tuple[str, str]]:
        account, _, _, rec = make_account(seed=seed)
        run(
            account,
            "create:limit",
            "i",
            price=257.0,
            quantity=50,
            icebergFixed=10,
            icebergVariance=50,
        )
        return [(e[0], repr(e[3])) for e in rec.events]

    assert story(7) == story(7)


def test_default_setup_is_used_when_none_given() -> None:
    account = Account(FakeMarket(), clock=lambda: 1_700_000_000.0)
    assert [p.portfolio for p in DEFAULT_SETUP.portfolios] == [p for p, _ in account.portfolios()]
