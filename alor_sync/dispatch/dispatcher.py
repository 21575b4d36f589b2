"""Keyed serial execution of subscription callbacks on a bounded worker pool.

The network thread calls :meth:`Dispatcher.deliver` for every data frame; the frame is queued on its
*route* (one per subscription) and a worker later runs the route's ``decode`` and ``handler``.

Rules of this module:

* ``deliver()`` never runs user code and never waits for it: it holds the route's lock for a few
  bytecodes, appends, and at most submits one drain task (or hands the route back in ``later``,
  for the caller to submit once per socket read). Everything else runs on a worker.
* At most one drain task per route is queued or running (``Route._scheduled`` is that token, changed
  only under the route's lock; a non-empty queue always has a token holder). Per-route order comes
  from this rule alone, never from the executor, so any executor keeps it. A drain takes what is
  queued (up to ``batch_size``) in one round of the lock and runs it without the lock; markers
  (gaps, posted calls) run in their place inside a batch, so they stay barriers.
* Who writes what: the queue, ``received``/``conflated``/``dropped``/``gaps`` change under the
  route's lock; ``delivered``/``errors``/lags are written only by the route's one running drain;
  ``_routes``/``_closed`` change under the dispatcher's lock. No lock is held while user code runs.
"""

from __future__ import annotations

import collections
import enum
import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from alor_sync.errors import ClientClosedError, InvalidArgumentError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LOSSLESS_LIMIT",
    "DEFAULT_WORKERS",
    "OVERFLOW",
    "Dispatcher",
    "DispatcherStatistics",
    "Executor",
    "Gap",
    "OverflowPolicy",
    "Route",
    "RouteStatistics",
]

logger = logging.getLogger("alor_sync.dispatcher")

DEFAULT_WORKERS = 4
DEFAULT_BATCH_SIZE = 128
DEFAULT_LOSSLESS_LIMIT = 10_000

_monotonic = time.monotonic

# What deliver() does once it has let go of the route's lock.
_SCHEDULE, _REPLACED, _OVERFLOWED = 0, 1, 2

Handler = Callable[[Any], object]
Decode = Callable[[Any], Any]
ErrorHook = Callable[[BaseException, Hashable], object]


class Executor(Protocol):
    """Anything with ``submit(fn, *args)`` that eventually calls ``fn(*args)`` on some thread.

    ``concurrent.futures.ThreadPoolExecutor`` fits, and so does an object that marshals the call
    onto a GUI thread. The return value is ignored.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> object: ...


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


class _Posted:
    """Marker of a call queued by :meth:`Dispatcher.post`: run in stream order, like a Gap."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[[], object]) -> None:
        self.call = call


def _is_marker(item: tuple[Any, float]) -> bool:
    cls = item[0].__class__
    return cls is Gap or cls is _Posted


@attrs.frozen
class RouteStatistics:
    """Counters of one route (a snapshot).

    ``received``: items passed to ``deliver()``; ``delivered``: items handed to decode + handler
    (whether or not they raised); ``errors``: how many of those (and of ``on_gap`` calls) raised;
    ``conflated``: replaced by a newer item (latest-wins); ``dropped``: discarded (overflow,
    removal, close); ``gaps``: overflows; ``queue_depth``: items waiting; ``last_lag`` and
    ``max_lag``: seconds from ``deliver()`` to the handler's start (``None`` before the first).
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

    def _open_gap_locked(self, now: float) -> None:
        """Overflow: drop the queued items (earlier gap markers stay) and queue a new gap."""
        markers = [item for item in self._queue if _is_marker(item)]
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

    def __repr__(self) -> str:
        return f"<Route {self.key!r} {self.policy.value}>"


class _WorkerPool:
    """The built-in executor: ``workers`` named daemon threads that call ``drain(route)``.

    It queues the route itself (no ``Future``, no task object) and wakes at most one parked worker
    per submission, the one parked last: with the usual one frame in flight, the same warm thread
    takes every frame, which measured 10-15 % less socket-to-callback latency than waking the
    workers in turn (``SimpleQueue``). A submission while a worker is busy still wakes another
    one, so a blocked callback never holds up other subscriptions. Routes queued before
    :meth:`stop` are still drained; the threads are daemons so that a handler stuck forever never
    blocks interpreter exit.
    """

    def __init__(self, workers: int, drain: Callable[[Route], object]) -> None:
        self._drain = drain
        # Guards _ready, _parked and _stopping; held for a few bytecodes, never while draining.
        self._mutex = threading.Lock()
        self._ready: collections.deque[Route] = collections.deque()
        self._parked: list[threading.Lock] = []  # a stack: the last one parked is woken first
        self._stopping = False
        self._threads = []
        for n in range(1, workers + 1):
            wake = threading.Lock()
            wake.acquire()  # held = the worker sleeps on it; release() wakes it
            self._threads.append(
                threading.Thread(
                    target=self._work, args=(wake,), name=f"alor-sync-dispatch-{n}", daemon=True
                )
            )
        for thread in self._threads:
            thread.start()

    @property
    def size(self) -> int:
        return len(self._threads)

    def submit(self, route: Route) -> None:
        with self._mutex:
            self._ready.append(route)
            if not self._parked:
                return  # every worker is awake and will look at _ready before parking
            wake = self._parked.pop()
        wake.release()

    def stop(self) -> None:
        """End every thread once the routes queued so far are drained (does not wait)."""
        with self._mutex:
            self._stopping = True
            parked, self._parked = self._parked, []
        for wake in parked:
            wake.release()

    def join(self, deadline: float | None) -> bool:
        """Join every worker but the calling one; True if all of those ended by ``deadline``."""
        current = threading.current_thread()
        others = [t for t in self._threads if t is not current]
        for thread in others:
            thread.join(_remaining(deadline))
        return not any(t.is_alive() for t in others)

    def _work(self, wake: threading.Lock) -> None:
        mutex, ready, parked, drain = self._mutex, self._ready, self._parked, self._drain
        while True:
            with mutex:
                if ready:
                    route: Route | None = ready.popleft()
                elif self._stopping:
                    return
                else:
                    parked.append(wake)
                    route = None
            if route is None:
                wake.acquire()  # until submit() or stop() pops us and releases
                continue
            try:
                drain(route)
            except BaseException:  # drains catch user errors; this is the last line of defence
                logger.exception("alor-sync: a dispatch worker caught an unexpected error")


class _DrainDepth(threading.local):
    depth = 0  # drains running on this thread (more than one only with an inline executor)


class Dispatcher:
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
        self._local = _DrainDepth()
        self._pool: _WorkerPool | None = None
        self._submit: Callable[[Route], object]
        if executor is None:
            self._pool = _WorkerPool(workers or DEFAULT_WORKERS, self._drain)
            self._submit = self._pool.submit
        else:
            self._submit = functools.partial(executor.submit, self._drain)

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
        with route._lock:
            route._open = False
            route._discard_locked()
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
                if replaced.__class__ is Gap or replaced.__class__ is _Posted:
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
            self._call_on_replaced(route, replaced)
        else:
            self._call_on_overflow(route)
        return 0

    def submit_later(self, routes: list[Route]) -> None:
        """Submit the drains :meth:`deliver` put off into ``routes``, then empty the list."""
        schedule = self._schedule
        for route in routes:
            schedule(route)
        routes.clear()

    def report_gap(self, route: Route, *, reason: str) -> None:
        """Queue a gap notice after the items already queued: items were lost before they got here.

        For losses outside the dispatcher (a reconnect, a silent stream): the route's ``on_gap``
        gets ``Gap(dropped=0, reason=reason)`` in stream order, and ``gaps`` counts it. Any thread;
        cheap, no user code. Ignored for a removed route or after :meth:`close`.
        """
        now = _monotonic()
        with route._lock:
            if not route._open:
                return
            route._queue.append((Gap(route.key, 0, now, reason), now))
            route._pending_gaps += 1
            route.gaps += 1
            if route._scheduled:
                return
            route._scheduled = True
        self._schedule(route)

    def post(self, route: Route, call: Callable[[], object]) -> bool:
        """Run ``call()`` on the route's worker after the items already queued, in stream order.

        For what a subscription must hear between its frames (a state change, a replayed
        snapshot for a new handle): a barrier like a gap, never conflated, not counted as an
        item. Any thread; cheap. False (and nothing runs) for a removed route or after
        :meth:`close`. An exception from ``call`` goes to ``on_error`` like a handler's.
        """
        now = _monotonic()
        with route._lock:
            if not route._open:
                return False
            route._queue.append((_Posted(call), now))
            route._pending_gaps += 1
            if route._scheduled:
                return True
            route._scheduled = True
        self._schedule(route)
        return True

    def _schedule(self, route: Route) -> None:
        """Submit a drain for ``route``, whose token the caller holds."""
        try:
            self._submit(route)
        except Exception as exc:  # a user executor that was shut down, say
            with route._lock:
                route._discard_locked()
                route._scheduled = False
            logger.error("alor-sync: cannot schedule route %r: %r", route.key, exc)
            self._wake_waiters()

    @staticmethod
    def _call_on_replaced(route: Route, replaced: Any) -> None:
        hook = route.on_replaced
        assert hook is not None
        try:
            hook(replaced)
        except Exception:
            logger.exception("alor-sync: on_replaced hook of route %r raised", route.key)

    @staticmethod
    def _call_on_overflow(route: Route) -> None:
        hook = route.on_overflow
        if hook is None:
            return
        try:
            hook(route)
        except Exception:
            logger.exception("alor-sync: on_overflow hook of route %r raised", route.key)

    # -- the worker side ---------------------------------------------------------------------

    def _drain(self, route: Route) -> None:
        """Handle up to ``batch_size`` items of ``route`` (worker thread; holds the token).

        Needs no admission check: close() and remove_route() empty the queue before anyone waits
        on ``_running``, and this drain registers in ``_running`` before its first pop.
        """
        running = self._running
        running.append(None)
        local = self._local
        depth = local.depth
        local.depth = depth + 1
        released = False
        try:
            released = self._run_items(route)
        finally:
            local.depth = depth
            if not released:
                self._pass_token(route)
            running.pop()
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        # A waiter raises _waiters before it reads its predicate, and callers change what the
        # predicate reads before calling this: either the waiter sees the change or we see it.
        if self._waiters:
            with self._lock:
                self._changed.notify_all()

    def _run_items(self, route: Route) -> bool:
        """Run a batch; True if the queue ran dry and the token was released here.

        The batch is taken off the queue under one acquisition of the route's lock (not one per
        item), then run without it: a busy route costs one lock round and one wake-up per
        batch. Order holds because only the token holder pops. A removal or close during the
        batch stops it at the next item; the rest count as dropped, as if still queued.
        """
        lock, queue = route._lock, route._queue
        # No lingering for the network thread before giving the token back: it hands over
        # everything one socket read brought in one go (deliver(later=...)), and a yield here
        # measured 10-30 % fewer msgs/s with 50 subscriptions (a GIL switch per drain).
        budget = self._batch_size
        while budget > 0 and route._open:
            with lock:
                if not queue:
                    route._scheduled = False
                    return True
                # popleft, never clear(): clear() parks the old block in the deque's own free
                # list, which measured 530 bytes more per subscription at 5,000 of them.
                popleft = queue.popleft
                batch = [popleft() for _ in range(min(budget, len(queue)))]
                if route._pending_gaps:
                    route._pending_gaps -= sum(map(_is_marker, batch))
            self._run_batch(route, batch)
            budget -= len(batch)
        return False

    def _run_batch(self, route: Route, batch: list[tuple[Any, float]]) -> None:
        handler, decode, monotonic = route.handler, route.decode, _monotonic
        for n, (payload, queued_at) in enumerate(batch):
            if not route._open:  # removed or closed meanwhile: what is left is dropped
                with route._lock:
                    route.dropped += sum(1 for item in batch[n:] if not _is_marker(item))
                return
            cls = payload.__class__
            if cls is Gap:
                self._run_gap(route, payload)
                continue
            if cls is _Posted:
                self._run_posted(route, payload)
                continue
            lag = monotonic() - queued_at
            route.last_lag = lag
            if lag > route.max_lag:
                route.max_lag = lag
            route.delivered += 1
            try:
                handler(payload if decode is None else decode(payload))
            except Exception as exc:
                route.errors += 1
                self._report(exc, route.key)

    def _pass_token(self, route: Route) -> None:
        """After a full batch: resubmit (to the back of the line) if items remain, else release."""
        with route._lock:
            if not route._queue:
                route._scheduled = False
                return
        self._schedule(route)

    def _run_gap(self, route: Route, gap: Gap) -> None:
        try:
            if route.on_gap is None:
                logger.warning("alor-sync: route %r lost %d items (gap)", route.key, gap.dropped)
            else:
                route.on_gap(gap)
        except Exception as exc:
            route.errors += 1
            self._report(exc, route.key)

    def _run_posted(self, route: Route, posted: _Posted) -> None:
        try:
            posted.call()
        except Exception as exc:
            route.errors += 1
            self._report(exc, route.key)

    def _report(self, exc: Exception, key: Hashable) -> None:
        try:
            self._on_error(exc, key)
        except Exception:
            logger.exception("alor-sync: the on_error hook raised while reporting on %r", key)

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
                with route._lock:
                    route._open = False
                    route._discard_locked()
            self._wake_waiters()
            with self._lock:
                settled = self._wait_locked(
                    lambda: len(self._running) <= self._closers_inside, _remaining(deadline)
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


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - _monotonic())


def _require_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive int, not {value!r}")


def _log_error(exc: BaseException, key: Hashable) -> None:
    logger.error("alor-sync: callback of route %r raised", key, exc_info=exc)
