"""Candles: timeframes, bucketing, synthetic history and live aggregation from trades.

Rules of this module:

* A candle is a plain tuple ``(time, open, high, low, close, volume)``: ``time`` is the unix
  second the candle opens (UTC buckets), prices are integer price steps ("ticks"), volume is lots.
* History is generated lazily but deterministically from (seed, symbol, start time), so the same
  emulator configuration always serves the same candles.
* Numeric timeframes that divide into minutes are built from minute candles; shorter ones from the
  trades of this run only; ``D``/``W``/``M``/``Y`` (and 86400/604800/2592000/31536000) from daily
  candles using calendar days, weeks (Monday), months and years.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable
from datetime import UTC, datetime

import attrs

__all__ = [
    "Candle",
    "CandleHistory",
    "Timeframe",
    "aggregate",
    "parse_timeframe",
]

Candle = tuple[int, int, int, int, int, int]

_CALENDAR_SECONDS = {"D": 86_400, "W": 604_800, "M": 2_592_000, "Y": 31_536_000}
_CALENDAR_BY_SECONDS = {v: k for k, v in _CALENDAR_SECONDS.items()}
MINUTE = 60
DAY = 86_400
HISTORY_MINUTES = 3 * 1440  # synthetic minute candles before the market starts
HISTORY_DAYS = 400  # synthetic daily candles before the minute history


@attrs.frozen
class Timeframe:
    """A candle length: ``seconds`` for fixed buckets, or a calendar unit (D, W, M, Y)."""

    seconds: int
    calendar: str | None = None  # "D", "W", "M", "Y"

    def bucket(self, ts: float) -> int:
        """Open time (unix s) of the candle that contains ``ts``."""
        second = int(ts // 1)
        if self.calendar is None:
            return second - second % self.seconds
        day = second - second % DAY
        if self.calendar == "D":
            return day
        moment = datetime.fromtimestamp(day, UTC)
        if self.calendar == "W":
            return day - moment.weekday() * DAY
        if self.calendar == "M":
            return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0))
        return calendar.timegm((moment.year, 1, 1, 0, 0, 0))


def parse_timeframe(value: object) -> Timeframe | None:
    """The timeframe a ``tf`` request field names (``"60"``, ``60``, ``"D"``...), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().upper()
        if text in _CALENDAR_SECONDS:
            return Timeframe(_CALENDAR_SECONDS[text], text)
        if not text.isdigit():
            return None
        value = int(text)
    if not isinstance(value, int) or value <= 0:
        return None
    if value in _CALENDAR_BY_SECONDS:
        return Timeframe(value, _CALENDAR_BY_SECONDS[value])
    return Timeframe(value)


def aggregate(candles: Iterable[Candle], tf: Timeframe) -> list[Candle]:
    """Merge time-ordered finer candles into ``tf`` candles."""
    out: list[Candle] = []
    for t, o, h, low, c, v in candles:
        start = tf.bucket(t)
        if out and out[-1][0] == start:
            _, po, ph, pl, _, pv = out[-1]
            out[-1] = (start, po, max(ph, h), min(pl, low), c, pv + v)
        else:
            out.append((start, o, h, low, c, v))
    return out


def update_candle(candles: list[Candle], start: int, tick: int, lots: int) -> Candle:
    """Fold one trade into the candle opening at ``start`` (appending a new one when needed)."""
    if candles and candles[-1][0] == start:
        t, o, h, low, _, v = candles[-1]
        candle = (t, o, max(h, tick), min(low, tick), tick, v + lots)
        candles[-1] = candle
    else:
        candle = (start, tick, tick, tick, tick, lots)
        candles.append(candle)
    return candle


def _random_walk_back(
    rng: random.Random,
    end_tick: int,
    count: int,
    spacing: int,
    last_start: int,
    step: int,
    vol: int,
) -> list[Candle]:
    """``count`` candles ending (closing) near ``end_tick``, generated backwards in time."""
    floor = max(1, end_tick // 2)
    candles: list[Candle] = []
    close = end_tick
    for i in range(count):
        pull = 1 if close < end_tick * 0.9 else (-1 if close > end_tick * 1.1 else 0)
        open_ = max(floor, close + rng.randint(-step, step) - pull * step // 2)
        high = max(open_, close) + rng.randint(0, max(1, step // 2))
        low = max(floor, min(open_, close) - rng.randint(0, max(1, step // 2)))
        volume = rng.randint(vol // 4 + 1, vol * 3)
        candles.append((last_start - i * spacing, open_, high, low, close, volume))
        close = open_
    candles.reverse()
    return candles


class CandleHistory:
    """Candles of one instrument: synthetic past plus what this run has traded. Not thread-safe."""

    def __init__(self, seed: int, symbol: str, start_time: float, start_tick: int) -> None:
        self._seed = seed
        self._symbol = symbol
        self._start_minute = int(start_time) - int(start_time) % MINUTE
        self._start_tick = start_tick
        self._minutes_past: list[Candle] | None = None
        self._days_past: list[Candle] | None = None
        self.live_minutes: list[Candle] = []
        # (unix seconds, tick, lots) of every trade of this run, for sub-minute timeframes.
        self.trades: list[tuple[float, int, int]] = []

    def record_trade(self, ts: float, tick: int, lots: int) -> None:
        """Remember one trade of this run."""
        self.trades.append((ts, tick, lots))
        if len(self.trades) > 200_000:
            del self.trades[:50_000]
        update_candle(self.live_minutes, int(ts) - int(ts) % MINUTE, tick, lots)

    def candles(self, tf: Timeframe, since: int) -> list[Candle]:
        """Every ``tf`` candle from the one containing ``since`` on, oldest first (current too)."""
        first = tf.bucket(since)
        if tf.calendar is not None:
            source = self._daily()
        elif tf.seconds % MINUTE == 0:
            source = self._minutes()
        else:
            source = [(int(ts // 1), t, t, t, t, q) for ts, t, q in self.trades]
        return [c for c in aggregate(source, tf) if c[0] >= first]

    def _minutes(self) -> list[Candle]:
        past = self._past_minutes()
        live = self.live_minutes
        if live and past and live[0][0] <= past[-1][0]:
            past = [c for c in past if c[0] < live[0][0]]
        return past + live

    def _daily(self) -> list[Candle]:
        days = aggregate(self._minutes(), Timeframe(DAY, "D"))
        past = self._past_days(days[0][1] if days else self._start_tick)
        if days:
            past = [c for c in past if c[0] < days[0][0]]
        return past + days

    def _rng(self, salt: str) -> random.Random:
        return random.Random(f"{self._seed}:{self._symbol}:{salt}")

    def _past_minutes(self) -> list[Candle]:
        if self._minutes_past is None:
            step = max(1, self._start_tick // 2000)
            self._minutes_past = _random_walk_back(
                self._rng("minutes"),
                self._start_tick,
                HISTORY_MINUTES,
                MINUTE,
                self._start_minute - MINUTE,
                step,
                400,
            )
        return self._minutes_past

    def _past_days(self, end_tick: int) -> list[Candle]:
        if self._days_past is None:
            first_day = self._past_minutes()[0][0]
            first_day -= first_day % DAY
            step = max(1, end_tick // 60)
            self._days_past = _random_walk_back(
                self._rng("days"), end_tick, HISTORY_DAYS, DAY, first_day - DAY, step, 90_000
            )
        return self._days_past
