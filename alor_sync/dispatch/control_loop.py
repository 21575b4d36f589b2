"""A single control thread that runs the client's housekeeping off the network thread.

Rules of this module:

* The network thread must never block on HTTP (token refresh) or wait for anything, so every such
  job is handed here with :meth:`ControlLoop.call_soon` / :meth:`ControlLoop.call_later`.
* Jobs are library code, never user callbacks (those run on the dispatcher's workers).
* A failing job is logged and the loop goes on; ``close()`` is idempotent and may be called from
  any thread, including from a job itself.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["ControlLoop"]

logger = logging.getLogger("alor_sync.control")

Job = Callable[[], None]


class ControlLoop:
    """Runs jobs in one named thread (``alor-sync-control``), now or at a monotonic deadline.

    Thread-safety: every method may be called from any thread. Jobs run on the control thread, one
    at a time, in deadline order (ties in submission order).
    """

    def __init__(
        self, *, name: str = "alor-sync-control", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._name = name
        self._clock = clock
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Job]] = []
        self._counter = itertools.count()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the control thread (once)."""
        with self._condition:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def call_soon(self, job: Job) -> None:
        """Run ``job`` on the control thread as soon as possible (ignored after close)."""
        self.call_later(0.0, job)

    def call_later(self, delay: float, job: Job) -> None:
        """Run ``job`` on the control thread after ``delay`` seconds (ignored after close)."""
        with self._condition:
            if self._closed:
                return
            deadline = self._clock() + max(0.0, delay)
            heapq.heappush(self._heap, (deadline, next(self._counter), job))
            self._condition.notify()

    def call_every(self, interval: float, job: Job) -> None:
        """Run ``job`` every ``interval`` seconds until the loop closes."""

        def repeat() -> None:
            try:
                job()
            finally:
                self.call_later(interval, repeat)

        self.call_later(interval, repeat)

    def close(self, timeout: float | None = None) -> None:
        """Stop the loop; pending jobs are dropped. Joins the thread unless called from it."""
        with self._condition:
            self._closed = True
            self._heap.clear()
            self._condition.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _next_job(self) -> Job | None:
        with self._condition:
            while not self._closed:
                if self._heap:
                    wait = self._heap[0][0] - self._clock()
                    if wait <= 0:
                        return heapq.heappop(self._heap)[2]
                    self._condition.wait(wait)
                else:
                    self._condition.wait()
            return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                job()
            except Exception:
                logger.exception("alor-sync control job failed")
