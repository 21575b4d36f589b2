"""The emulator's two clocks in threads: a timer for deferred jobs and the market's ticker.

Rules of this module:

* Deadlines are ``time.monotonic()`` seconds; the market's wall clock is not involved here.
* Jobs are emulator code that only enqueue frames or flip flags; a failing job is logged and the
  thread goes on. ``close()`` is idempotent and joins the thread.
* The ticker never sleeps a fixed amount: it waits on its stop event until the next tick is due, so
  stopping is immediate.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Ticker", "Timer"]

logger = logging.getLogger(__name__)

Job = Callable[[], None]
MAX_CATCH_UP_TICKS = 200  # a ticker that fell behind drops the rest instead of spinning


class Timer:
    """Runs jobs at monotonic deadlines in thread ``alor-sync-emulator-timer``."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Job]] = []
        self._counter = itertools.count()
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="alor-sync-emulator-timer")

    def start(self) -> None:
        """Start the timer thread."""
        self._thread.start()

    def call_at(self, deadline: float, job: Job) -> None:
        """Run ``job`` on the timer thread once ``time.monotonic()`` reaches ``deadline``."""
        with self._cv:
            if self._closed:
                return
            heapq.heappush(self._heap, (deadline, next(self._counter), job))
            if self._heap[0][2] is job:
                self._cv.notify()

    def call_later(self, delay: float, job: Job) -> None:
        """Run ``job`` on the timer thread after ``delay`` seconds."""
        self.call_at(time.monotonic() + delay, job)

    def close(self) -> None:
        """Drop pending jobs and join the thread (idempotent)."""
        with self._cv:
            self._closed = True
            self._heap.clear()
            self._cv.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed:
                    if not self._heap:
                        self._cv.wait()
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay <= 0:
                        break
                    self._cv.wait(delay)
                if self._closed:
                    return
                _, _, job = heapq.heappop(self._heap)
            try:
                job()
            except Exception:
                logger.exception("emulator timer job failed")


class Ticker:
    """Calls ``tick(n)`` ``speed`` times a second in thread ``alor-sync-emulator-market``."""

    def __init__(self, speed: float, tick: Callable[[int], None]) -> None:
        self._period = 1.0 / speed
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alor-sync-emulator-market")

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def close(self) -> None:
        """Stop ticking and join the thread (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        next_due = time.monotonic() + self._period
        while not self._stop.wait(max(0.0, next_due - time.monotonic())):
            due = int((time.monotonic() - next_due) / self._period) + 1
            if due > MAX_CATCH_UP_TICKS:
                next_due = time.monotonic()
                due = MAX_CATCH_UP_TICKS
            next_due += due * self._period
            try:
                self._tick(due)
            except Exception:
                logger.exception("emulator market tick failed")
