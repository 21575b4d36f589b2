"""The end-of-history rules, item by item, with hostile orders (repeats, restarts, live first)."""

from __future__ import annotations

from alor_sync import models
from alor_sync.data.history_ends import (
    AllTradesEnd,
    BarsEnd,
    FirstItem,
    KeyedHistory,
    id_key,
    position_key,
)


def bar(time: int, close: float = 1.0) -> models.Bar:
    return models.Bar(time, 1.0, 1.0, 1.0, close, 1)


def test_bars_end_at_a_repeat_of_the_current_candle_which_replaces_it() -> None:
    rule = BarsEnd(None)
    assert not any(rule.feed(bar(t)) for t in (60, 120, 180))
    assert rule.feed(bar(180, close=2.0))
    assert [(b.timestamp_s, b.close) for b in rule.result()] == [(60, 1.0), (120, 1.0), (180, 2.0)]


def test_bars_end_at_the_first_candle_newer_than_to_time_which_is_left_out() -> None:
    rule = BarsEnd(120)
    assert not rule.feed(bar(60)) and not rule.feed(bar(120))
    assert rule.feed(bar(180))
    assert [b.timestamp_s for b in rule.result()] == [60, 120]


def test_a_history_sent_again_from_the_start_is_merged_not_ended() -> None:
    rule = BarsEnd(None)
    for t in (60, 120, 60, 120, 180):  # the server renewed the subscription mid-way
        assert not rule.feed(bar(t))
    assert [b.timestamp_s for b in rule.result()] == [60, 120, 180]
    assert rule.count == 3


def trade(id: int, existing: bool | None) -> models.AllTrade:
    return models.AllTrade(id=id, existing=existing)


def test_all_trades_end_at_depth_or_at_a_live_trade_which_is_left_out() -> None:
    rule = AllTradesEnd(3)
    assert not rule.feed(trade(1, True)) and not rule.feed(trade(1, True))  # a repeat counts once
    assert not rule.feed(trade(2, True))
    assert rule.feed(trade(3, True))
    live = AllTradesEnd(10)
    assert not live.feed(trade(1, True))
    assert live.feed(trade(2, False))
    assert [t.id for t in live.result()] == [1]


def test_keyed_history_keeps_the_latest_version_of_each_key_until_a_live_item() -> None:
    rule: KeyedHistory[models.Order] = KeyedHistory(id_key)
    assert not rule.feed(models.Order(id="1", status="working", existing=True))
    assert not rule.feed(models.Order(id="2", existing=True))
    assert not rule.feed(models.Order(id="1", status="filled", existing=True))
    assert rule.feed(models.Order(id="3", existing=False))
    assert [(o.id, o.status) for o in rule.result()] == [("1", "filled"), ("2", None)]


def test_positions_are_keyed_by_exchange_and_symbol() -> None:
    rule: KeyedHistory[models.Position] = KeyedHistory(position_key)
    rule.feed(models.Position(symbol="SBER", exchange="MOEX", existing=True))
    rule.feed(models.Position(symbol="SBER", exchange="SPBX", existing=True))
    rule.feed(models.Position(symbol="SBER", exchange="MOEX", existing=True))
    assert rule.count == 2


def test_first_item_waits_for_a_full_instrument_object() -> None:
    rule: FirstItem[models.Instrument] = FirstItem()
    partial = models.Instrument(symbol="SBER", trading_status=2, fields=frozenset({"symbol"}))
    assert not rule.feed(partial) and rule.count == 0
    full = models.Instrument(
        symbol="SBER", exchange="MOEX", fields=frozenset({"symbol", "exchange"})
    )
    assert rule.feed(full)
    assert rule.result() is full
