"""A route: one subscription's queue, overflow policy, callbacks and counters.

Rules of this module:

* Owns what a route is and what may sit in its queue: items, :class:`Gap` markers and
  :class:`Posted` calls (markers are barriers, not items), and the counters a route keeps
  (:class:`RouteStatistics`). Overflow and discarding are done here, under the route's lock.
* No threads and no user code here (the ``on_overflow`` and ``on_replaced`` hooks, called by
  :meth:`Route.run_on_overflow` and :meth:`Route.run_on_replaced`, are library code):
  :class:`~alor_sync.dispatch.dispatcher.Dispatcher` delivers into a route (network thread) and
  drains it (a worker); the queue and ``received``/``conflated``/``dropped``/``gaps`` change
  under ``Route._lock``, ``delivered``/``errors``/lags are written only by the route's one
  running drain.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

import attrs

__all__ = [
    "OVERFLOW",
    "Decode",
    "Gap",
    "Handler",
    "OverflowPolicy",
    "Posted",
    "Route",
    "RouteStatistics",
    "is_marker",
]

logger = logging.getLogger("alor_sync.dispatcher")

Handler = Callable[[Any], object]
Decode = Callable[[Any], Any]


class OverflowPolicy(enum.Enum):
    """What a route does when its consumer falls behind.

    ``LATEST_WINS``: every item is a full state; only the newest undelivered one is kept, the
    replaced ones are counted as ``conflated`` (never across a gap from ``report_gap``).
    ``LOSSLESS``: items queue up to ``limit``; on overflow the queued items are dropped,
    ``on_overflow`` is called and a :class:`Gap` is queued in their place.
    """

    LATEST_WINS = "latest_wins"
    LOSSLESS = "lossless"


OVERFLOW = "overflow"


@attrs.frozen
class Gap:
    """Marker of lost items, handed to the route's ``on_gap`` in stream order (on the worker).

    ``dropped``: items this dispatcher discarded (0 when the loss happened elsewhere);
    ``detected_at``: ``time.monotonic()`` of the loss; ``reason``: :data:`OVERFLOW` for a queue
    overflow, else what the caller of :meth:`Dispatcher.report_gap` said.
    """

    route_key: Hashable
    dropped: int
    detected_at: float
    reason: str = OVERFLOW


class Posted:
    """Marker of a call queued by :meth:`Dispatcher.post`: run in stream order, like a Gap."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[[], object]) -> None:
        self.call = call


def is_marker(item: tuple[Any, float]) -> bool:
    cls = item[0].__class__
    return cls is Gap or cls is Posted


@attrs.frozen
class RouteStatistics:
    """Counters of one route (a snapshot).

    ``received``: items passed to ``deliver()``; ``delivered``: items handed to decode + handler
    (whether or not they raised); ``errors``: how many of those (and of ``on_gap`` calls) raised;
    ``conflated``: replaced by a newer item (latest-wins); ``dropped``: discarded (overflow,
    removal, close); ``gaps``: overflows; ``queue_depth``: items waiting; ``last_lag`` and
    ``max_lag``: seconds from ``deliver()`` (or the ``deliver_many()`` of a read) to the handler's
    start (``None`` before the first).
    When the route is idle, ``received == delivered + conflated + dropped``.
    """

    key: Hashable
    policy: OverflowPolicy
    received: int
    delivered: int
    conflated: int
    dropped: int
    gaps: int
    errors: int
    queue_depth: int
    max_queue_depth: int
    last_lag: float | None
    max_lag: float | None


class Route:
    """One subscription's queue, policy and callbacks; made by :meth:`Dispatcher.add_route`.

    Thread-safety: hand it to :meth:`Dispatcher.deliver` from the network thread. ``handler``,
    ``decode`` and ``on_gap`` run on a worker (or the user's executor), one item at a time;
    ``on_overflow`` and ``on_replaced`` run on the delivering thread and must be cheap library
    code. Its attributes are the dispatcher's to change; read the counters through
    :meth:`statistics`.
    """

    __slots__ = (
        "_latest_wins",
        "_lock",
        "_open",
        "_pending_gaps",
        "_queue",
        "_scheduled",
        "conflated",
        "decode",
        "delivered",
        "dropped",
        "errors",
        "gaps",
        "handler",
        "key",
        "last_lag",
        "limit",
        "max_lag",
        "max_queue_depth",
        "on_gap",
        "on_overflow",
        "on_replaced",
        "policy",
        "received",
        "slow_drain",
    )

    def __init__(
        self,
        key: Hashable,
        handler: Handler,
        decode: Decode | None,
        policy: OverflowPolicy,
        limit: int,
        on_overflow: Callable[[Route], object] | None,
        on_gap: Callable[[Gap], object] | None,
    ) -> None:
        self.key = key
        self.handler = handler
        self.decode = decode
        self.policy = policy
        self.limit = limit
        self.on_overflow = on_overflow
        self.on_gap = on_gap
        self.on_replaced: Callable[[Any], object] | None = None
        self._latest_wins = policy is OverflowPolicy.LATEST_WINS
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[Any, float]] = collections.deque()
        self._scheduled = False  # the drain token: a drain task is queued or running
        self._open = True  # False once removed or the dispatcher closed
        # Markers in _queue (Gap and posted calls), not counted in queue_depth.
        self._pending_gaps = 0
        self.received = self.delivered = self.conflated = self.dropped = 0
        self.gaps = self.errors = self.max_queue_depth = 0
        self.last_lag: float | None = None
        self.max_lag = 0.0
        # Its last drain by a worker reading a link took long (workers.py): drain it after
        # lending the reading on, not in a pause of it.
        self.slow_drain = False

    def statistics(self) -> RouteStatistics:
        """A snapshot of this route's counters (any thread)."""
        with self._lock:
            depth = len(self._queue) - self._pending_gaps
        last = self.last_lag
        return RouteStatistics(
            key=self.key,
            policy=self.policy,
            received=self.received,
            delivered=self.delivered,
            conflated=self.conflated,
            dropped=self.dropped,
            gaps=self.gaps,
            errors=self.errors,
            queue_depth=depth,
            max_queue_depth=self.max_queue_depth,
            last_lag=last,
            max_lag=None if last is None else self.max_lag,
        )

    def run_on_replaced(self, replaced: Any) -> None:
        """Hand ``on_replaced`` an item replaced before its turn (delivering thread; logged,
        never raised, if it fails)."""
        hook = self.on_replaced
        assert hook is not None
        try:
            hook(replaced)
        except Exception:
            logger.exception("alor-sync: on_replaced hook of route %r raised", self.key)

    def run_on_overflow(self) -> None:
        """Call ``on_overflow`` if set (delivering thread; logged, never raised, if it fails)."""
        hook = self.on_overflow
        if hook is None:
            return
        try:
            hook(self)
        except Exception:
            logger.exception("alor-sync: on_overflow hook of route %r raised", self.key)

    def _open_gap_locked(self, now: float) -> None:
        """Overflow: drop the queued items (earlier gap markers stay) and queue a new gap."""
        markers = [item for item in self._queue if is_marker(item)]
        dropped = len(self._queue) - len(markers)
        self._queue.clear()
        self._queue.extend(markers)
        self._queue.append((Gap(self.key, dropped, now), now))
        self._pending_gaps = len(markers) + 1
        self.dropped += dropped
        self.gaps += 1

    def _discard_locked(self) -> None:
        """Drop every queued item (caller holds ``_lock``); gap markers are not items."""
        self.dropped += len(self._queue) - self._pending_gaps
        self._queue.clear()
        self._pending_gaps = 0

    def _close(self) -> None:
        """Removed, or the dispatcher closed: take no more items, drop the queued ones."""
        with self._lock:
            self._open = False
            self._discard_locked()

    def __repr__(self) -> str:
        return f"<Route {self.key!r} {self.policy.value}>"
