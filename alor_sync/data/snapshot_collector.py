"""What a one-shot get waits on: its collector, the subscription's callback.

Rules of this module:

* :class:`Collector` is fed on a dispatcher worker and waited on by the caller's thread; all its
  state is under its one condition. It decides "complete" either when its end rule says so or,
  after the confirmation, when every frame read was handled and a quiet interval passed.
* Reads only public API of the subscription (``statistics()``); no I/O.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from alor_sync.data.history_ends import EndRule
from alor_sync.data.subscriptions import Subscription

__all__ = ["QUIET_LOOKS", "Collector"]

# How often per quiet interval the collector looks at the subscription's counters.
QUIET_LOOKS = 5


class Collector:
    """The get's callback (dispatcher worker) and its wait for the end (caller's thread)."""

    def __init__(self, rule: EndRule[Any, Any]) -> None:
        self._rule = rule
        self._changed = threading.Condition()
        self.done = False
        self.calls = 0  # items handed to the rule: shows progress to the quiet-interval check

    def __call__(self, item: Any) -> None:
        with self._changed:
            if self.done:
                return  # frames after the end are not part of the answer
            self.calls += 1
            if self._rule.feed(item):
                self.done = True
                self._changed.notify_all()

    def wait_done(self, deadline: float) -> bool:
        """Block until a rule saw the end, or ``deadline`` (monotonic); True if it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self.done, max(0.0, deadline - time.monotonic()))

    def wait_quiet(self, subscription: Subscription, deadline: float, settle: float) -> bool:
        """After the confirmation: block until a rule saw the end, or until every frame read has
        been handled and ``settle`` seconds passed without a new one; False at ``deadline``.

        Progress is looked at :data:`QUIET_LOOKS` times per interval, so the quiet end costs
        ``settle`` plus a fraction of it after the last frame, not a whole interval per change.
        """
        step = settle / QUIET_LOOKS
        last = self._progress(subscription)
        quiet_since = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                if self._changed.wait_for(lambda: self.done, min(step, remaining)):
                    return True
            current, now = self._progress(subscription), time.monotonic()
            if current != last:
                last, quiet_since = current, now
            elif current[2] and now - quiet_since >= settle and now <= deadline:
                with self._changed:
                    self.done = True  # frames arriving from now on belong to the live part
                return True

    def _progress(self, subscription: Subscription) -> tuple[int, int, bool]:
        """(frames read, items handled, nothing left to deliver) of the get's subscription."""
        stats = subscription.statistics()
        handled = stats.delivered + stats.conflated + stats.dropped
        idle = stats.queue_depth == 0 and handled >= stats.received
        with self._changed:
            return stats.received, self.calls, idle

    def result(self) -> Any:
        with self._changed:
            return self._rule.result()

    @property
    def count(self) -> int:
        with self._changed:
            return self._rule.count
