"""alor-sync's side of each measurement: its public API, default settings unless a row says so.

Rules of this module:

* Only public API: ``AlorClient(access_token=..., ws_url=...)``, ``subscribe(...)`` and
  ``Subscription.statistics()``. The client talks to the dedicated sender (``sender.py``).
* What is counted is said in the result: ``frames`` are data frames the client received and
  accounted for (each one delivered to the callback, replaced by a newer one on a latest-wins
  stream, or dropped by an overflow), ``delivered`` the callbacks that ran (each with a decoded
  model, or a dict in raw mode). Rates are per second from the first callback to the last frame's.
* The last frame of every subscription carries the END stamp; a latest-wins stream never
  replaces its newest frame, so the END frame always reaches the callback.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import attrs

from alor_sync import AlorClient
from benchmarks.payloads import END_STAMP, KINDS

__all__ = ["ClientResult", "latency", "throughput"]

_WAIT = 120.0
_STAMP_FIELD = {"book": "timestamp_ms", "quotes": "order_book_timestamp_ms"}
_STAMP_KEY = {"book-simple": "ms_timestamp", "book-slim": "t", "quotes-simple": "ob_ms_timestamp"}


def _fake_token() -> str:
    """A JWT-shaped access token (the sender checks none; the client needs an ``exp``)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"sub": "benchmark", "exp": int(time.time()) + 24 * 3600}
    return f"{part({'alg': 'none'})}.{part(claims)}.benchmark"


@attrs.frozen
class ClientResult:
    frames: int
    delivered: int
    conflated: int
    dropped: int
    gaps: int
    seconds: float
    cpu_seconds: float
    lags_us: tuple[int, ...] = ()

    @property
    def rate(self) -> float:
        """Frames received and accounted for, per second."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def delivered_rate(self) -> float:
        """Callbacks per second."""
        return self.delivered / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_delivered(self) -> float:
        """CPU time of the whole process (reader, workers, callback) per callback, in us."""
        return self.cpu_seconds / max(1, self.delivered) * 1e6

    @property
    def conflated_share(self) -> float:
        """Frames replaced by a newer one before their turn, of all frames received."""
        return self.conflated / self.frames if self.frames else 0.0


class _Counter:
    """The callback: counts, notes the first call and the END frame of every subscription."""

    def __init__(self, subs: int, stamp_of: Any, record_lags: bool) -> None:
        self._left = subs
        self._stamp_of = stamp_of
        self._record = record_lags
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.first = 0.0
        self.last = 0.0
        self.cpu_first = 0.0
        self.cpu_last = 0.0
        self.lags: list[int] = []

    def __call__(self, item: Any) -> None:
        now_us = time.time_ns() // 1000
        if not self.first:
            self.first, self.cpu_first = time.perf_counter(), time.process_time()
        stamp = self._stamp_of(item)
        if stamp != END_STAMP:
            if self._record:
                self.lags.append(now_us - stamp)
            return
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self.last, self.cpu_last = time.perf_counter(), time.process_time()
                self.done.set()


def _stamp_reader(kind: str, raw: bool) -> Any:
    if raw:
        key = _STAMP_KEY[kind]
        return lambda data: data[key]
    field = _STAMP_FIELD[kind.split("-")[0]]
    return lambda model: getattr(model, field)


def _run(
    url: str, kind: str, subs: int, *, raw: bool, conflate: bool, record_lags: bool
) -> ClientResult:
    opcode, fmt = KINDS[kind]
    counter = _Counter(subs, _stamp_reader(kind, raw), record_lags)
    with AlorClient(access_token=_fake_token(), ws_url=url) as client:
        if not client.wait_connected(_WAIT):
            raise RuntimeError("alor-sync could not connect to the sender")
        extra = {"depth": 20} if opcode.value.startswith("OrderBook") else {}
        handles = [
            client.subscribe(
                opcode,
                counter,
                code=f"S{n:03d}",
                exchange="MOEX",
                format=fmt.value,
                raw=raw,
                conflate=conflate,
                **extra,
            )
            for n in range(subs)
        ]
        if not counter.done.wait(_WAIT):
            raise RuntimeError("the END frame of every subscription did not arrive in time")
        stats = [handle.statistics() for handle in handles]
    return ClientResult(
        frames=sum(s.received for s in stats),
        delivered=sum(s.delivered for s in stats),
        conflated=sum(s.conflated for s in stats),
        dropped=sum(s.dropped for s in stats),
        gaps=sum(s.gaps for s in stats),
        seconds=counter.last - counter.first,
        cpu_seconds=counter.cpu_last - counter.cpu_first,
        lags_us=tuple(counter.lags),
    )


def throughput(
    port: int, kind: str, subs: int, count: int, *, raw: bool = False, conflate: bool = True
) -> ClientResult:
    """``count`` frames round-robin over ``subs`` subscriptions, sent as fast as they are read."""
    url = f"ws://127.0.0.1:{port}/ws?kind={kind}&subs={subs}&count={count}"
    return _run(url, kind, subs, raw=raw, conflate=conflate, record_lags=False)


def latency(
    port: int, kind: str, count: int, rate: float, *, raw: bool = False, conflate: bool = True
) -> ClientResult:
    """``count`` frames of one subscription paced at ``rate``/s, each stamped when sent.

    ``conflate=False``: the every-frame path (each frame decoded and its lag recorded);
    default: latest-wins, where a frame replaced before its turn has no lag to record."""
    url = f"ws://127.0.0.1:{port}/ws?kind={kind}&subs=1&count={count}&rate={rate}"
    return _run(url, kind, 1, raw=raw, conflate=conflate, record_lags=True)
