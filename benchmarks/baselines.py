"""The three reference consumers every target is a ratio against, measured in the same run.

Rules of this module:

* Each baseline is what a plain websocket-client program does, nothing cleverer: ``raw`` is a bare
  ``recv()`` loop (``skip_utf8_validation=True``) with ``orjson.loads``; ``naive`` adds a
  ``queue.SimpleQueue`` hand-off of every parsed dict to one worker thread calling a no-op;
  ``inline`` is ``WebSocketApp.run_forever`` with ``json.loads`` in ``on_message``.
* Throughput is counted from the first frame a consumer sees to the last one it finished, so
  connection set-up is never part of it. Latency is the consumer's own clock at the start of
  its handling minus the send stamp in the frame (both ``time.time_ns() // 1000``).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import websocket

from benchmarks.payloads import END_STAMP

__all__ = ["Run", "inline", "naive", "raw"]

Run = Callable[[str, int, str | None], "Result"]


class Result:
    """What a consumer measured: frames handled, seconds from the first to the last, lags (us)."""

    def __init__(
        self, frames: int, seconds: float, lags_us: list[int], cpu_seconds: float = 0.0
    ) -> None:
        self.frames = frames
        self.seconds = seconds
        self.lags_us = lags_us
        self.cpu_seconds = cpu_seconds  # CPU time of this process over the same span

    @property
    def cpu_us_per_frame(self) -> float:
        return self.cpu_seconds / max(1, self.frames - 1) * 1e6

    @property
    def rate(self) -> float:
        return (self.frames - 1) / self.seconds if self.seconds > 0 else 0.0


def _stamp(message: dict[str, Any], stamp_key: str) -> int:
    value: int = message["data"][stamp_key]
    return value


def raw(url: str, count: int, stamp_key: str | None) -> Result:
    """``recv()`` + ``orjson.loads``, nothing else (with a stamp key: also the lag per frame)."""
    ws = websocket.create_connection(url, skip_utf8_validation=True)
    lags: list[int] = []
    try:
        loads, recv = orjson.loads, ws.recv
        started = cpu_started = 0.0
        for n in range(count):
            message = loads(recv())
            if n == 0:
                started, cpu_started = time.perf_counter(), time.process_time()
            if stamp_key is not None:
                _record(lags, message, stamp_key)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return Result(count, seconds, lags, cpu)
    finally:
        ws.close()


def _record(lags: list[int], message: dict[str, Any], stamp_key: str) -> None:
    now = time.time_ns() // 1000
    stamp = _stamp(message, stamp_key)
    if stamp != END_STAMP:
        lags.append(now - stamp)


def naive(url: str, count: int, stamp_key: str | None) -> Result:
    """``raw`` plus a ``SimpleQueue`` hand-off of each dict to one worker calling a no-op."""
    ws = websocket.create_connection(url, skip_utf8_validation=True)
    hand_off: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
    lags: list[int] = []
    finished = [0.0]

    def no_op(message: dict[str, Any]) -> None:
        pass

    def work() -> None:
        handle: Callable[[dict[str, Any]], None] = no_op
        if stamp_key is not None:
            handle = lambda message: _record(lags, message, stamp_key)  # noqa: E731
        get = hand_off.get
        while (message := get()) is not None:
            handle(message)
        finished[0] = time.perf_counter()

    worker = threading.Thread(target=work, name="bench-naive-worker")
    worker.start()
    try:
        loads, recv, put = orjson.loads, ws.recv, hand_off.put
        started = 0.0
        for n in range(count):
            put(loads(recv()))
            if n == 0:
                started = time.perf_counter()
    finally:
        hand_off.put(None)
        worker.join()
        ws.close()
    return Result(count, finished[0] - started, lags)


def inline(url: str, count: int, stamp_key: str | None) -> Result:
    """``WebSocketApp.run_forever`` with ``json.loads`` in ``on_message`` (the callback thread
    is the reader)."""
    seen = [0]
    times = [0.0, 0.0]
    lags: list[int] = []

    def on_message(app: websocket.WebSocketApp, text: str) -> None:
        now = time.time_ns() // 1000
        message = json.loads(text)
        if stamp_key is not None:
            stamp = _stamp(message, stamp_key)
            if stamp != END_STAMP:
                lags.append(now - stamp)
        seen[0] += 1
        if seen[0] == 1:
            times[0] = time.perf_counter()
        if seen[0] == count:
            times[1] = time.perf_counter()
            app.close()

    app = websocket.WebSocketApp(url, on_message=on_message)
    app.run_forever(skip_utf8_validation=True)
    return Result(seen[0], times[1] - times[0], lags)
