"""The simulated market: order books that random-walk, trades that print at book prices.

Rules of this module:

* Deterministic: one ``random.Random(seed)`` drives every decision, and time only comes from the
  injected clock, so a seed and a clock reproduce the same market tick for tick.
* Not thread-safe: the server holds the venue lock around every call, and listener callbacks run
  synchronously inside that call (they must only enqueue).
* Prices are integer price steps ("ticks") inside; ``Decimal`` at the :class:`MarketView` seam;
  wire encoders turn ticks into JSON numbers. Bids are kept best-first (descending), asks
  best-first (ascending), and a book never crosses: every bid < every ask.
"""

from __future__ import annotations

import random
from array import array
from collections import deque
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

import attrs

from alor_sync.emulator.bars import Candle, CandleHistory, Timeframe, update_candle
from alor_sync.emulator.config import Clock
from alor_sync.emulator.instruments import TRADING_STATUS_INFO, Listing, default_listings
from alor_sync.emulator.venue import Fill, InstrumentInfo, Side

__all__ = ["InstrumentState", "Market", "MarketListener", "PublicTrade"]

KEPT_LEVELS = 60  # per side; the widest book anyone may ask for is 50
KEPT_TRADES = 5000  # AllTradesGetAndSubscribe depth maximum
WARM_UP_STEPS = 40
FIRST_TRADE_ID = 9_237_394_357
LIMIT_BAND = Decimal("0.10")  # priceMin / priceMax: +-10 % around the reference price


@attrs.define(slots=True)
class PublicTrade:
    """One print of the anonymous trade tape."""

    id: int
    tick: int
    lots: int
    side: Side  # the aggressor's side
    ts: float  # unix seconds
    open_interest: int


class MarketListener(Protocol):
    """Told about every change, synchronously, inside the venue lock (must only enqueue)."""

    def on_book(self, state: InstrumentState) -> None: ...

    def on_quote(self, state: InstrumentState) -> None: ...

    def on_trade(self, state: InstrumentState, trade: PublicTrade) -> None: ...

    def on_bar(self, state: InstrumentState, tf: Timeframe, candle: Candle) -> None: ...

    def on_instrument(self, state: InstrumentState, changed: Sequence[str]) -> None: ...


class _Silent:
    def on_book(self, state: InstrumentState) -> None:
        pass

    def on_quote(self, state: InstrumentState) -> None:
        pass

    def on_trade(self, state: InstrumentState, trade: PublicTrade) -> None:
        pass

    def on_bar(self, state: InstrumentState, tf: Timeframe, candle: Candle) -> None:
        pass

    def on_instrument(self, state: InstrumentState, changed: Sequence[str]) -> None:
        pass


class InstrumentState:
    """Everything that moves for one instrument. Read by the encoders under the venue lock."""

    def __init__(self, listing: Listing, seed: int, now: float) -> None:
        info = listing.info
        self.listing = listing
        self.step = info.price_step
        self.open_tick = self.to_tick(listing.open_price)
        self.prev_close_tick = self.to_tick(listing.prev_close)
        self.fair = self.open_tick
        self.bids: list[list[int]] = []  # [tick, lots], best (highest) first
        self.asks: list[list[int]] = []  # [tick, lots], best (lowest) first
        self.book_version = 0
        self.book_ms = round(now * 1000)
        self.last_tick = self.open_tick
        self.last_ts = now
        self.high_tick = self.open_tick
        self.low_tick = self.open_tick
        self.session_lots = 0
        self.open_interest = listing.open_interest
        self.trades: deque[PublicTrade] = deque(maxlen=KEPT_TRADES)
        # Every trade id printed since the start, in order: what tests compare deliveries
        # against (8 bytes a trade in an array, unlike the bounded deque of whole trades).
        self.tape: array[int] = array("q")
        self.history = CandleHistory(seed, info.symbol, now, self.open_tick)
        self.bar_series: dict[Timeframe, Candle | None] = {}
        self.trading_status = 17
        self.trading_status_info = TRADING_STATUS_INFO[17]
        self.limit_ref_tick = self.prev_close_tick
        self.price_min_tick, self.price_max_tick = self._limits()
        self.margin = info.margin_per_lot

    def to_tick(self, price: Decimal) -> int:
        """Price -> ticks (exact prices only)."""
        return int(price / self.step)

    def price(self, tick: int) -> Decimal:
        """Ticks -> price."""
        return tick * self.step

    def _limits(self) -> tuple[int, int]:
        band = (self.limit_ref_tick * LIMIT_BAND).to_integral_value(ROUND_FLOOR)
        return self.limit_ref_tick - int(band), self.limit_ref_tick + int(band)


class Market:
    """The simulated market; implements :class:`~alor_sync.emulator.venue.MarketView`."""

    def __init__(
        self, *, seed: int = 0, clock: Clock, listings: Sequence[Listing] | None = None
    ) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self._listener: MarketListener = _Silent()
        self._next_trade_id = FIRST_TRADE_ID + seed % 1_000_000 * 1000
        now = clock()
        self._states: dict[tuple[str, str], InstrumentState] = {}
        self._aliases: dict[tuple[str, str], InstrumentState] = {}
        for listing in listings or default_listings():
            state = InstrumentState(listing, seed, now)
            self._states[listing.key] = state
            for name in (listing.info.symbol, *listing.aliases):
                self._aliases[(listing.info.exchange, name.upper())] = state
            self._warm_up(state, now)

    # -- wiring ----------------------------------------------------------------------------------

    def set_listener(self, listener: MarketListener) -> None:
        """Route every later change to ``listener`` (the server's fan-out hub)."""
        self._listener = listener

    def states(self) -> list[InstrumentState]:
        """Every instrument's moving state, in listing order."""
        return list(self._states.values())

    def lookup(self, exchange: str, code: str) -> InstrumentState | None:
        """The instrument a request names: exact exchange, symbol or alias in any casing."""
        return self._aliases.get((exchange.upper(), code.upper()))

    # -- MarketView ------------------------------------------------------------------------------

    def instrument(self, exchange: str, symbol: str) -> InstrumentInfo | None:
        state = self._states.get((exchange, symbol))
        return None if state is None else state.listing.info

    def instruments(self) -> Sequence[InstrumentInfo]:
        return [s.listing.info for s in self._states.values()]

    def best_bid_ask(self, exchange: str, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        state = self._states[(exchange, symbol)]
        bid = state.price(state.bids[0][0]) if state.bids else None
        ask = state.price(state.asks[0][0]) if state.asks else None
        return bid, ask

    def last_price(self, exchange: str, symbol: str) -> Decimal:
        state = self._states[(exchange, symbol)]
        return state.price(state.last_tick)

    def take_liquidity(
        self, exchange: str, symbol: str, side: Side, lots: int, limit_price: Decimal | None
    ) -> list[Fill]:
        state = self._states[(exchange, symbol)]
        limit: int | None = None
        if limit_price is not None:
            rounding = ROUND_FLOOR if side == "buy" else ROUND_CEILING
            limit = int((limit_price / state.step).to_integral_value(rounding))
        fills = self._execute(state, side, lots, limit, self._clock())
        if fills:
            self._book_changed(state)
        return [Fill(state.price(tick), taken) for tick, taken in fills]

    # -- simulation ------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance every instrument by one tick of the simulation."""
        now = self._clock()
        for state in self._states.values():
            self._step(state, now)

    def watch_bars(self, state: InstrumentState, tf: Timeframe) -> None:
        """Keep a live candle of ``tf`` for ``state`` (re-announced on every trade)."""
        if tf not in state.bar_series:
            current = state.history.candles(tf, int(self._clock()))
            state.bar_series[tf] = current[-1] if current else None

    def set_book(
        self,
        exchange: str,
        symbol: str,
        bids: Sequence[tuple[Decimal | str, int]],
        asks: Sequence[tuple[Decimal | str, int]],
    ) -> None:
        """Replace a book (a test hook); levels best first, prices on the price step."""
        state = self._states[(exchange, symbol)]
        state.bids = [[state.to_tick(Decimal(p)), int(v)] for p, v in bids]
        state.asks = [[state.to_tick(Decimal(p)), int(v)] for p, v in asks]
        if state.bids:
            state.fair = state.bids[0][0]
        state.book_ms = round(self._clock() * 1000)
        self._book_changed(state)

    def set_trading_status(
        self, exchange: str, symbol: str, status: int, info: str | None = None
    ) -> None:
        """Change an instrument's trading status (announced as a partial instrument update)."""
        state = self._states[(exchange, symbol)]
        state.trading_status = status
        state.trading_status_info = info or TRADING_STATUS_INFO.get(status, "")
        self._listener.on_instrument(state, ("trading_status", "trading_status_info"))

    def _warm_up(self, state: InstrumentState, now: float) -> None:
        self._refill(state)
        for i in range(WARM_UP_STEPS):
            self._step(state, now - (WARM_UP_STEPS - i) * 0.5)

    def _step(self, state: InstrumentState, now: float) -> None:
        rng = self._rng
        if rng.random() < 0.2:
            self._move_fair(state, 1 if rng.random() < 0.5 else -1)
        for _ in range(2):
            levels = state.bids if rng.random() < 0.5 else state.asks
            if levels:
                level = levels[min(int(rng.expovariate(0.3)), len(levels) - 1)]
                swing = level[1] // 3 + 1
                level[1] = max(1, level[1] + rng.randint(-swing, swing))
        self._refill(state)
        if rng.random() < 0.35:
            side: Side = "buy" if rng.random() < 0.5 else "sell"
            lots = rng.randint(1, max(1, state.listing.level_volume // 3))
            self._execute(state, side, lots, None, now)
        self._maybe_move_limits(state)
        state.book_ms = round(now * 1000)
        self._book_changed(state)

    def _book_changed(self, state: InstrumentState) -> None:
        state.book_version += 1
        self._listener.on_book(state)
        self._listener.on_quote(state)

    def _level(self, state: InstrumentState, depth: int) -> int:
        base = state.listing.level_volume
        return max(1, int(base * (1 + depth / 5) * self._rng.uniform(0.2, 2.0)))

    def _move_fair(self, state: InstrumentState, delta: int) -> None:
        state.fair += delta
        if delta > 0:
            while state.asks and state.asks[0][0] <= state.fair:
                state.asks.pop(0)
            if not state.bids or state.bids[0][0] < state.fair:
                state.bids.insert(0, [state.fair, self._level(state, 0)])
        else:
            while state.bids and state.bids[0][0] > state.fair:
                state.bids.pop(0)
            if not state.asks or state.asks[0][0] > state.fair + 1:
                state.asks.insert(0, [state.fair + 1, self._level(state, 0)])

    def _refill(self, state: InstrumentState) -> None:
        """Improve a gapped top toward the fair price and keep KEPT_LEVELS per side."""
        rng = self._rng
        bids, asks = state.bids, state.asks
        if bids and bids[0][0] < state.fair and rng.random() < 0.5:
            top = bids[0][0] + 1
            if not asks or top < asks[0][0]:
                bids.insert(0, [top, self._level(state, 0)])
        if asks and asks[0][0] > state.fair + 1 and rng.random() < 0.5:
            top = asks[0][0] - 1
            if not bids or top > bids[0][0]:
                asks.insert(0, [top, self._level(state, 0)])
        if not bids:
            bids.append([min(state.fair, asks[0][0] - 1) if asks else state.fair, 1])
        if not asks:
            asks.append([bids[0][0] + 1, 1])
        while len(bids) < KEPT_LEVELS and bids[-1][0] > 1:
            gap = 2 if rng.random() < 0.1 else 1
            bids.append([max(1, bids[-1][0] - gap), self._level(state, len(bids))])
        while len(asks) < KEPT_LEVELS:
            gap = 2 if rng.random() < 0.1 else 1
            asks.append([asks[-1][0] + gap, self._level(state, len(asks))])
        del bids[KEPT_LEVELS + 10 :]
        del asks[KEPT_LEVELS + 10 :]

    def _execute(
        self, state: InstrumentState, side: Side, lots: int, limit: int | None, now: float
    ) -> list[tuple[int, int]]:
        """Take up to ``lots`` from the opposite side, best price first; print each fill."""
        opposite = state.asks if side == "buy" else state.bids
        fills: list[tuple[int, int]] = []
        while lots > 0 and opposite:
            tick, available = opposite[0]
            if limit is not None and (tick > limit if side == "buy" else tick < limit):
                break
            taken = min(lots, available)
            lots -= taken
            if taken == available:
                opposite.pop(0)
            else:
                opposite[0][1] = available - taken
            fills.append((tick, taken))
            self._print(state, side, tick, taken, now)
        return fills

    def _print(self, state: InstrumentState, side: Side, tick: int, lots: int, now: float) -> None:
        if state.open_interest is not None:
            state.open_interest = max(0, state.open_interest + self._rng.randint(-lots, lots))
        trade = PublicTrade(self._next_trade_id, tick, lots, side, now, state.open_interest or 0)
        self._next_trade_id += 1
        state.trades.append(trade)
        state.tape.append(trade.id)
        state.last_tick, state.last_ts = tick, now
        state.high_tick = max(state.high_tick, tick)
        state.low_tick = min(state.low_tick, tick)
        state.session_lots += lots
        state.history.record_trade(now, tick, lots)
        self._listener.on_trade(state, trade)
        for tf, current in state.bar_series.items():
            candles = [current] if current is not None else []
            candle = update_candle(candles, tf.bucket(now), tick, lots)
            state.bar_series[tf] = candle
            self._listener.on_bar(state, tf, candle)

    def _maybe_move_limits(self, state: InstrumentState) -> None:
        drift = abs(state.last_tick - state.limit_ref_tick)
        if drift * 30 < state.limit_ref_tick and self._rng.random() >= 0.002:
            return
        state.limit_ref_tick = state.last_tick
        state.price_min_tick, state.price_max_tick = state._limits()
        changed: tuple[str, ...] = ("price_min", "price_max")
        if state.margin is not None:
            state.margin = (state.price(state.last_tick) * Decimal("0.127")).quantize(
                Decimal("0.01")
            )
            changed += ("margin_buy", "margin_sell")
        self._listener.on_instrument(state, changed)
