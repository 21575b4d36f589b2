"""The simulated market on its own (no server): determinism, book invariants, trades, candles."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from alor_sync.emulator import ManualClock
from alor_sync.emulator.bars import Timeframe, aggregate, parse_timeframe
from alor_sync.emulator.market import InstrumentState, Market, PublicTrade
from alor_sync.emulator.venue import MarketView
from alor_sync.emulator.wire_market import all_trade, iso_time, order_book, quote
from alor_sync.wire import Format

START = 1_702_631_123.78


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def on_book(self, state: InstrumentState) -> None:
        self.events.append(("book", state.listing.info.symbol, state.book_version))

    def on_quote(self, state: InstrumentState) -> None:
        self.events.append(("quote", state.listing.info.symbol, None))

    def on_trade(self, state: InstrumentState, trade: PublicTrade) -> None:
        self.events.append(("trade", state.listing.info.symbol, (trade.tick, trade.lots)))

    def on_bar(self, state: InstrumentState, tf: Timeframe, candle: object) -> None:
        self.events.append(("bar", state.listing.info.symbol, candle))

    def on_instrument(self, state: InstrumentState, changed: object) -> None:
        self.events.append(("instrument", state.listing.info.symbol, tuple(changed)))  # type: ignore[call-overload]


def snapshot(market: Market) -> list[object]:
    return [(s.bids[:10], s.asks[:10], s.last_tick, list(s.trades)[-3:]) for s in market.states()]


def test_same_seed_same_market_other_seed_other_market() -> None:
    runs = []
    for seed in (7, 7, 8):
        market = Market(seed=seed, clock=ManualClock(START))
        for _ in range(300):
            market.step()
        runs.append(snapshot(market))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_books_never_cross_and_stay_deep() -> None:
    market = Market(seed=3, clock=ManualClock(START))
    for _ in range(2000):
        market.step()
        for state in market.states():
            bids, asks = state.bids, state.asks
            assert bids[0][0] < asks[0][0], state.listing.info.symbol
            assert [t for t, _ in bids] == sorted((t for t, _ in bids), reverse=True)
            assert [t for t, _ in asks] == sorted(t for t, _ in asks)
            assert len(bids) >= 50 and len(asks) >= 50
            assert all(v > 0 for _, v in bids + asks)


def test_instruments_listed_as_the_brief_asks() -> None:
    market: MarketView = Market(seed=0, clock=ManualClock(START))
    listed = {(i.exchange, i.board, i.symbol, i.kind) for i in market.instruments()}
    assert {
        ("MOEX", "TQBR", "SBER", "share"),
        ("MOEX", "TQBR", "GAZP", "share"),
        ("MOEX", "TQCB", "RU000A1082K7", "bond"),
        ("MOEX", "TQOB", "SU26238RMFS4", "bond"),
        ("MOEX", "RFUD", "SiZ6", "future"),
        ("SPBX", "SPBX", "AAPL", "share"),
    } <= listed
    assert market.instrument("MOEX", "sber") is None  # the seam matches exactly
    sber = market.instrument("MOEX", "SBER")
    assert sber is not None and sber.lot_size == 10 and sber.price_step == Decimal("0.01")


def test_take_liquidity_respects_the_limit_and_prints_trades() -> None:
    clock = ManualClock(START)
    market = Market(seed=0, clock=clock)
    recorder = Recorder()
    market.set_listener(recorder)
    market.set_book("MOEX", "SBER", [("100.00", 10)], [("100.01", 4), ("100.02", 4), ("100.05", 9)])
    fills = market.take_liquidity("MOEX", "SBER", "buy", 20, Decimal("100.029"))
    assert [(f.price, f.lots) for f in fills] == [(Decimal("100.01"), 4), (Decimal("100.02"), 4)]
    assert market.best_bid_ask("MOEX", "SBER") == (Decimal("100.00"), Decimal("100.05"))
    assert market.last_price("MOEX", "SBER") == Decimal("100.02")
    trades = [e[2] for e in recorder.events if e[0] == "trade"]
    assert trades == [(10001, 4), (10002, 4)]
    assert market.take_liquidity("MOEX", "SBER", "sell", 3, Decimal("100.01")) == []
    sold = market.take_liquidity("MOEX", "SBER", "sell", 30, None)
    assert sum(f.lots for f in sold) == 10  # the whole bid side, no more


def test_limits_follow_a_large_move() -> None:
    market = Market(seed=0, clock=ManualClock(START))
    recorder = Recorder()
    market.set_listener(recorder)
    market.set_book("MOEX", "GAZP", [("200.00", 10)], [("200.01", 50)])
    market.take_liquidity("MOEX", "GAZP", "buy", 1, None)
    market.step()
    changes = [e[2] for e in recorder.events if e[0] == "instrument" and e[1] == "GAZP"]
    assert ("price_min", "price_max") in changes
    state = market.lookup("MOEX", "GAZP")
    assert state is not None
    assert state.price_min_tick < state.last_tick < state.price_max_tick


def test_timeframes() -> None:
    assert parse_timeframe("60") == Timeframe(60)
    assert parse_timeframe(300) == Timeframe(300)
    assert parse_timeframe("d") == Timeframe(86_400, "D")
    assert parse_timeframe(604_800) == Timeframe(604_800, "W")
    for bad in ("", "0", -5, "1.5", True, None, "Q"):
        assert parse_timeframe(bad) is None
    moment = 1_702_631_123  # Friday 2023-12-15 09:05:23 UTC
    assert Timeframe(60).bucket(moment) == 1_702_631_100
    assert Timeframe(86_400, "D").bucket(moment) == 1_702_598_400
    assert Timeframe(604_800, "W").bucket(moment) == 1_702_252_800  # Monday 2023-12-11
    assert Timeframe(2_592_000, "M").bucket(moment) == 1_701_388_800  # 2023-12-01
    assert Timeframe(31_536_000, "Y").bucket(moment) == 1_672_531_200  # 2023-01-01


def test_aggregate_merges_candles() -> None:
    minutes = [(0, 10, 12, 9, 11, 5), (60, 11, 15, 11, 14, 2), (120, 14, 14, 8, 8, 1)]
    assert aggregate(minutes, Timeframe(120)) == [(0, 10, 15, 9, 14, 7), (120, 14, 14, 8, 8, 1)]


def test_live_candles_come_from_trades_and_history_is_repeatable() -> None:
    clock = ManualClock(START)
    market = Market(seed=1, clock=clock)
    state = market.lookup("MOEX", "SBER")
    assert state is not None
    history = state.history.candles(Timeframe(300), int(START) - 86_400)
    assert len(history) >= 288
    twin = Market(seed=1, clock=ManualClock(START)).lookup("MOEX", "SBER")
    assert twin is not None and twin.history.candles(Timeframe(300), int(START) - 86_400) == history
    market.watch_bars(state, Timeframe(60))
    recorder = Recorder()
    market.set_listener(recorder)
    market.take_liquidity("MOEX", "SBER", "buy", 1, None)
    (bar,) = [e[2] for e in recorder.events if e[0] == "bar"]
    assert bar[0] == int(START) - int(START) % 60  # type: ignore[index]
    assert bar[4] == state.last_tick  # type: ignore[index]


def test_wire_numbers_and_times() -> None:
    market = Market(seed=0, clock=ManualClock(START))
    market.set_book("MOEX", "SBER", [("257.70", 157)], [("257.71", 288)])
    state = market.lookup("MOEX", "SBER")
    future = market.lookup("MOEX", "SiZ6")
    assert state is not None and future is not None
    raw = order_book(state, 1, Format.HEAVY, False)
    assert raw == (
        b'{"bids":[{"price":257.7,"volume":157}],"asks":[{"price":257.71,"volume":288}],'
        b'"msTimestamp":1702631123780,"existing":false}'
    )
    futures_quote = orjson.loads(quote(future, Format.SIMPLE))
    assert isinstance(futures_quote["last_price"], int)
    assert iso_time(1_702_969_208.987859) == "2023-12-19T07:00:08.9878590Z"
    trade = PublicTrade(2_022_426_556_961_456_082, 25_770, 3, "sell", START, 0)
    assert orjson.loads(all_trade(state, trade, Format.SLIM, True))["id"] == trade.id


@pytest.mark.parametrize("fmt", list(Format))
def test_bond_quote_has_yield_and_accrued_interest(fmt: Format) -> None:
    market = Market(seed=0, clock=ManualClock(START))
    bond = market.lookup("MOEX", "RU000A1082K7")
    assert bond is not None
    body = orjson.loads(quote(bond, fmt))
    accrued = {"Simple": "accruedInt", "Slim": "acci", "Heavy": "accruedInterest"}[fmt.value]
    yield_key = "y" if fmt is Format.SLIM else "yield"
    assert body[yield_key] > 10 and body[accrued] == 21.7
