"""Keyed serial execution of subscription callbacks on a bounded worker pool.

The network thread calls :meth:`Dispatcher.deliver` for every data frame; the frame is queued on its
*route* (one per subscription) and a worker later runs the route's ``decode`` and ``handler``.

Rules of this module:

* ``deliver()`` never runs user code and never waits for it: it holds the route's lock for a few
  bytecodes, appends, and at most submits one drain task (or hands the route back in ``later``,
  for the caller to submit once per socket read). ``deliver_many()`` is the same for a read's
  items of one route in one lock round. Everything else runs on a worker.
* At most one drain task per route is queued or running (``Route._scheduled`` is that token, changed
  only under the route's lock; a non-empty queue always has a token holder). Per-route order comes
  from this rule alone, never from the executor, so any executor keeps it. A drain takes what is
  queued (up to ``batch_size``) in one round of the lock and runs it without the lock; markers
  (gaps, posted calls) run in their place inside a batch, so they stay barriers.
* Who writes what: the queue, ``received``/``conflated``/``dropped``/``gaps`` change under the
  route's lock; ``delivered``/``errors``/lags are written only by the route's one running drain;
  ``_routes``/``_closed`` change under the dispatcher's lock. No lock is held while user code runs.
* Owns the dispatcher's front: routes added and removed, ``deliver``/``report_gap``/``post``
  (any thread), statistics, ``wait_idle`` and ``close``. A route itself is
  :mod:`alor_sync.dispatch.routes`, the drain on a worker :mod:`alor_sync.dispatch.draining`
  (this class's other half), the built-in threads :mod:`alor_sync.dispatch.workers`.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from alor_sync.dispatch.draining import DrainDepth, ErrorHook, RouteDrainer
from alor_sync.dispatch.routes import (
    Decode,
    Gap,
    Handler,
    OverflowPolicy,
    Posted,
    Route,
    RouteStatistics,
)
from alor_sync.dispatch.workers import WorkerPool, remaining
from alor_sync.errors import ClientClosedError, InvalidArgumentError
from alor_sync.transport.read_turns import Lender

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LOSSLESS_LIMIT",
    "DEFAULT_WORKERS",
    "Dispatcher",
    "DispatcherStatistics",
    "Executor",
]

logger = logging.getLogger("alor_sync.dispatcher")

DEFAULT_WORKERS = 4
DEFAULT_BATCH_SIZE = 128
DEFAULT_LOSSLESS_LIMIT = 10_000

_monotonic = time.monotonic

# What deliver() does once it has let go of the route's lock.
_SCHEDULE, _REPLACED, _OVERFLOWED = 0, 1, 2


class Executor(Protocol):
    """Anything with ``submit(fn, *args)`` that eventually calls ``fn(*args)`` on some thread.

    ``concurrent.futures.ThreadPoolExecutor`` fits, and so does an object that marshals the call
    onto a GUI thread. The return value is ignored.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> object: ...


@attrs.frozen
class DispatcherStatistics:
    """Pool-level counters plus every live route's :class:`RouteStatistics` by key.

    ``workers``: built-in worker threads (0 with a user executor); ``busy``: drain tasks running
    now (each may be running a handler).
    """

    workers: int
    busy: int
    closed: bool
    routes: Mapping[Hashable, RouteStatistics]


class Dispatcher(RouteDrainer):
    """Runs each route's ``decode`` + ``handler`` on a bounded pool, in order per route.

    Thread-safety: every method may be called from any thread. :meth:`deliver` is meant for the
    network thread: it never runs user code and never waits for it. ``handler``, ``decode``,
    ``on_gap`` and ``on_error`` run on a worker (``alor-sync-dispatch-N``) or on the user's
    ``executor``; ``on_overflow`` runs on the delivering thread. :meth:`close`,
    :meth:`remove_route` and :meth:`statistics` may be called from inside a handler;
    :meth:`wait_idle` may not (it would wait for itself until its timeout).

    ``workers``: size of the built-in pool (default :data:`DEFAULT_WORKERS`); or ``executor``: any
    object with ``submit(fn, *args)`` that runs ``fn`` later on some thread (not inside ``submit``),
    e.g. one that marshals onto a GUI thread; :meth:`close` does not shut it down.
    ``batch_size``: items a drain task handles before it yields its thread to other routes.
    ``on_error(exc, route_key)``: called on the worker when decode, handler or on_gap raised
    (default: log at ERROR with the traceback).
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        executor: Executor | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_error: ErrorHook | None = None,
    ) -> None:
        if executor is not None and workers is not None:
            raise InvalidArgumentError("pass either workers or executor, not both")
        _require_positive("workers", DEFAULT_WORKERS if workers is None else workers)
        _require_positive("batch_size", batch_size)
        self._batch_size = batch_size
        self._on_error: ErrorHook = on_error if on_error is not None else _log_error
        # _lock guards _routes, _closed, _closers_inside and _waiters. It is never held while
        # user code runs and never taken by deliver() or by a drain (unless _waiters says that
        # someone waits on _changed for _running to drop).
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiters = 0
        self._routes: dict[Hashable, Route] = {}
        self._closed = False
        self._closers_inside = 0  # drains whose own thread is blocked in close()
        # One entry per drain in progress: deque.append/pop are atomic, so drains need no lock.
        self._running: collections.deque[None] = collections.deque()
        self._local = DrainDepth()
        self._pool: WorkerPool | None = None
        self._submit: Callable[[Route], object]
        self._resubmit: Callable[[Route], object]
        self._keep: Callable[[Route], bool] | None = None
        if executor is None:
            self._pool = WorkerPool(workers or DEFAULT_WORKERS, self._drain)
            self._submit = self._pool.submit
            self._resubmit = self._pool.resubmit
            self._keep = self._pool.keep
        else:
            self._submit = self._resubmit = functools.partial(executor.submit, self._drain)

    # -- routes ------------------------------------------------------------------------------

    def add_route(
        self,
        key: Hashable,
        *,
        handler: Handler,
        decode: Decode | None = None,
        policy: OverflowPolicy,
        limit: int = DEFAULT_LOSSLESS_LIMIT,
        on_overflow: Callable[[Route], object] | None = None,
        on_gap: Callable[[Gap], object] | None = None,
        on_replaced: Callable[[Any], object] | None = None,
    ) -> Route:
        """Create the route ``key`` (a subscription guid, say) and return it for :meth:`deliver`.

        ``decode(raw) -> item`` and ``handler(item)`` run on a worker; ``limit`` bounds a lossless
        queue (latest-wins keeps one item); ``on_overflow(route)`` runs on the delivering thread
        when a lossless queue overflows (keep it cheap: library code, never user code);
        ``on_gap(gap)`` runs on the worker in the gap's place in the stream (default: a warning);
        ``on_replaced(item)`` runs on the delivering thread with each item a latest-wins route
        replaced before its turn (to check what will never be handled; keep it cheap too).
        Raises :class:`InvalidArgumentError` for a duplicate key or a bad argument and
        :class:`ClientClosedError` after :meth:`close`.
        """
        if not isinstance(policy, OverflowPolicy):
            raise InvalidArgumentError(f"policy must be an OverflowPolicy, not {policy!r}")
        if not callable(handler):
            raise InvalidArgumentError(f"handler must be callable, not {handler!r}")
        _require_positive("limit", limit)
        route = Route(key, handler, decode, policy, limit, on_overflow, on_gap)
        route.on_replaced = on_replaced
        with self._lock:
            if self._closed:
                raise ClientClosedError("the dispatcher is closed")
            if key in self._routes:
                raise InvalidArgumentError(f"route {key!r} already exists; remove it first")
            self._routes[key] = route
        return route

    def remove_route(self, key: Hashable) -> bool:
        """Forget route ``key``; its queued items are dropped (a running handler finishes).

        Returns False if there was no such route.
        """
        with self._lock:
            route = self._routes.pop(key, None)
        if route is None:
            return False
        route._close()
        self._wake_waiters()
        return True

    def get_route(self, key: Hashable) -> Route | None:
        """The live route ``key``, if any."""
        return self._routes.get(key)

    # -- the network thread ------------------------------------------------------------------

    def deliver(self, route: Route, payload: Any, later: list[Route] | None = None) -> int:
        """Queue ``payload`` for ``route`` and make sure a drain task will handle it.

        Runs on the network thread: O(1) (an overflow is O(limit), once per gap), never runs user
        code, never raises for a closed dispatcher or a removed route (the item counts as
        ``dropped``). With ``later``, a route that needs a drain is appended there (holding its
        token) instead of being submitted now; the caller must pass the list to
        :meth:`submit_later` soon, e.g. once per socket read. Waking a worker right before the
        network thread blocks, rather than mid-way through a read, saves a wake-up per frame at
        high rates and a preemption of the network thread (~10 us) at low ones.

        Returns the depth of a lossless queue after appending (0 for anything else), so that
        the caller can notice a consumer falling behind before the queue overflows.
        """
        queued_at = _monotonic()
        action = _SCHEDULE
        with route._lock:
            route.received += 1
            if not route._open:
                route.dropped += 1
                return 0
            queue = route._queue
            if not queue:
                queue.append((payload, queued_at))
                if route.max_queue_depth == 0:
                    route.max_queue_depth = 1
                if route._scheduled:  # its drain is running the previous item and will look again
                    return 0
                route._scheduled = True
            elif route._latest_wins:
                # A non-empty queue means a drain holds the token and will reach the newest item.
                replaced = queue[-1][0]
                if replaced.__class__ is Gap or replaced.__class__ is Posted:
                    # A marker is a barrier: what came before it is not replaced by what follows.
                    queue.append((payload, queued_at))
                    route.max_queue_depth = max(
                        route.max_queue_depth, len(queue) - route._pending_gaps
                    )
                    return 0
                queue[-1] = (payload, queued_at)
                route.conflated += 1
                if route.on_replaced is None:
                    return 0
                action = _REPLACED
            else:
                depth = len(queue) - route._pending_gaps
                if depth < route.limit:
                    queue.append((payload, queued_at))
                    if depth >= route.max_queue_depth:
                        route.max_queue_depth = depth + 1
                    return depth + 1
                route._open_gap_locked(queued_at)
                queue.append((payload, queued_at))
                action = _OVERFLOWED
        # Outside the lock: hooks, and a user executor's submit, which may even run the drain.
        if action == _SCHEDULE:
            if later is not None:
                later.append(route)
            else:
                self._schedule(route)
        elif action == _REPLACED:
            route.run_on_replaced(replaced)
        else:
            route.run_on_overflow()
        return 0

    def deliver_many(
        self, route: Route, payloads: list[Any], later: list[Route], queued_at: float | None = None
    ) -> int:
        """:meth:`deliver` of each of ``payloads`` in turn, in one round of the route's lock.

        Network thread, with what one socket read brought for ``route``. The items share one
        ``queued_at`` (``time.monotonic()``; default: now), the start of their lag: the caller
        passes when the read's first frame was routed. Counters, gaps, overflow and latest-wins
        come out as with one :meth:`deliver` per item, which is what this falls back to when the
        items would not all fit in a lossless queue, or replace one another (latest-wins).
        """
        if not route._latest_wins and len(payloads) > 1:
            if queued_at is None:
                queued_at = _monotonic()
            with route._lock:
                queue = route._queue
                depth = len(queue) - route._pending_gaps + len(payloads)
                if route._open and depth <= route.limit:
                    route.received += len(payloads)
                    queue.extend([(payload, queued_at) for payload in payloads])
                    if depth > route.max_queue_depth:
                        route.max_queue_depth = depth
                    if route._scheduled:
                        return depth
                    route._scheduled = True
                    later.append(route)
                    return depth
        deepest, deliver = 0, self.deliver
        for payload in payloads:
            depth = deliver(route, payload, later)
            if depth > deepest:
                deepest = depth
        return deepest

    def submit_later(self, routes: list[Route]) -> None:
        """Submit the drains :meth:`deliver` put off into ``routes``, then empty the list.

        On a built-in worker that reads a link (see :attr:`lender`), the first route stays with
        that worker, which drains it once its read is over.
        """
        schedule, keep = self._schedule, self._keep
        kept = bool(routes) and keep is not None and keep(routes[0])
        for route in itertools.islice(routes, 1 if kept else 0, None):
            schedule(route)
        routes.clear()

    @property
    def lender(self) -> Lender | None:
        """The built-in pool, whose workers can read a link in turns (give it to the transport
        as its ``lender``); None with a user ``executor``, whose threads never read."""
        return self._pool

    def report_gap(self, route: Route, *, reason: str) -> None:
        """Queue a gap notice after the items already queued: items were lost before they got here.

        For losses outside the dispatcher (a reconnect, a silent stream): the route's ``on_gap``
        gets ``Gap(dropped=0, reason=reason)`` in stream order, and ``gaps`` counts it. Any thread;
        cheap, no user code. Ignored for a removed route or after :meth:`close`.
        """
        now = _monotonic()
        self._queue_marker(route, Gap(route.key, 0, now, reason), now)

    def post(self, route: Route, call: Callable[[], object]) -> bool:
        """Run ``call()`` on the route's worker after the items already queued, in stream order.

        For what a subscription must hear between its frames (a state change, a replayed
        snapshot for a new handle): a barrier like a gap, never conflated, not counted as an
        item. Any thread; cheap. False (and nothing runs) for a removed route or after
        :meth:`close`. An exception from ``call`` goes to ``on_error`` like a handler's.
        """
        now = _monotonic()
        return self._queue_marker(route, Posted(call), now)

    def _queue_marker(self, route: Route, marker: Gap | Posted, now: float) -> bool:
        """Queue ``marker`` after the queued items and make sure a drain will reach it; False
        (nothing queued) for a removed route or after :meth:`close`. A gap counts in ``gaps``."""
        with route._lock:
            if not route._open:
                return False
            route._queue.append((marker, now))
            route._pending_gaps += 1
            if marker.__class__ is Gap:
                route.gaps += 1
            if route._scheduled:
                return True
            route._scheduled = True
        self._schedule(route)
        return True

    # -- introspection and lifecycle ---------------------------------------------------------

    def statistics(self) -> DispatcherStatistics:
        """A snapshot of the pool and of every live route (any thread)."""
        with self._lock:
            routes = list(self._routes.values())
            closed = self._closed
        return DispatcherStatistics(
            workers=0 if self._pool is None else self._pool.size,
            busy=len(self._running),
            closed=closed,
            routes=MappingProxyType({route.key: route.statistics() for route in routes}),
        )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queue is empty and no handler runs; False if ``timeout`` passed first.

        Items whose ``deliver()`` returned before this call are covered. Not from a handler.
        """
        with self._lock:
            return self._wait_locked(self._idle_locked, timeout)

    def _idle_locked(self) -> bool:
        return not self._running and not any(route._queue for route in self._routes.values())

    def _wait_locked(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        self._waiters += 1  # before the predicate is first read: see _wake_waiters
        try:
            return self._changed.wait_for(predicate, timeout)
        finally:
            self._waiters -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Stop: drop queued items, let running handlers finish, end the built-in workers.

        Idempotent; callable from any thread, including from inside a handler (that handler's own
        worker ends after it returns). Waits up to ``timeout`` seconds (None: no limit); returns
        True if every handler finished and every other built-in worker ended in time.
        """
        deadline = None if timeout is None else _monotonic() + timeout
        inside = self._local.depth
        with self._lock:
            first = not self._closed
            self._closed = True
            self._closers_inside += inside
            routes = list(self._routes.values()) if first else []
        try:
            for route in routes:
                route._close()
            self._wake_waiters()
            with self._lock:
                settled = self._wait_locked(
                    lambda: len(self._running) <= self._closers_inside, remaining(deadline)
                )
        finally:
            with self._lock:
                self._closers_inside -= inside
        if self._pool is None:
            return settled
        if first:
            self._pool.stop()
        return self._pool.join(deadline) and settled

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _require_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive int, not {value!r}")


def _log_error(exc: BaseException, key: Hashable) -> None:
    logger.error("alor-sync: callback of route %r raised", key, exc_info=exc)
