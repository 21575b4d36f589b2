"""Draining a route on a worker: batches of items, gaps and posted calls, then the token.

Rules of this module:

* Owns the worker side of the dispatcher: submitting a drain for a route whose token the caller
  holds (:meth:`RouteDrainer._schedule`), running up to ``batch_size`` queued entries without the
  route's lock, passing the token on or releasing it, and reporting callback errors to
  ``on_error``. Order per route comes from the token alone (see
  :mod:`alor_sync.dispatch.dispatcher`).
* Runs on a worker (``alor-sync-dispatch-N``) or the user's executor, except ``_schedule``,
  which the delivering thread calls too. :class:`RouteDrainer` is the half of
  :class:`~alor_sync.dispatch.dispatcher.Dispatcher` that drains; the attributes it uses are
  declared below and set by that class.
* User code (``decode``, ``handler``, ``on_gap``, posted calls) runs here, never under a lock;
  its exceptions go to ``on_error`` and never end a worker.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from alor_sync.dispatch.routes import Gap, Posted, Route, is_marker

__all__ = ["DrainDepth", "ErrorHook", "RouteDrainer"]

logger = logging.getLogger("alor_sync.dispatcher")

_monotonic = time.monotonic

ErrorHook = Callable[[BaseException, Hashable], object]


class DrainDepth(threading.local):
    depth = 0  # drains running on this thread (more than one only with an inline executor)


class RouteDrainer:
    """Drains routes on the workers; see the module rules."""

    # Set once by the subclass's constructor.
    _batch_size: int
    _on_error: ErrorHook
    _submit: Callable[[Route], object]
    _resubmit: Callable[[Route], object]  # _submit for a route whose own drain queues it again
    # Shared with the dispatcher's other half; see its constructor for what guards what.
    _lock: threading.Lock
    _changed: threading.Condition
    _waiters: int
    _running: collections.deque[None]
    _local: DrainDepth

    def _schedule(self, route: Route, again: bool = False) -> None:
        """Submit a drain for ``route``, whose token the caller holds (``again``: the caller is
        the route's drain, which ran a full batch)."""
        try:
            (self._resubmit if again else self._submit)(route)
        except Exception as exc:  # a user executor that was shut down, say
            with route._lock:
                route._discard_locked()
                route._scheduled = False
            logger.error("alor-sync: cannot schedule route %r: %r", route.key, exc)
            self._wake_waiters()

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
                markers = sum(map(is_marker, batch)) if route._pending_gaps else 0
                route._pending_gaps -= markers
            if not markers:
                self._run_items_only(route, batch)
            else:
                self._run_batch(route, batch)
            budget -= len(batch)
        return False

    def _run_items_only(self, route: Route, items: list[tuple[Any, float]]) -> bool:
        """Run items (no markers among them) in order; False if the route was removed or closed
        meanwhile: the items not run then count as dropped."""
        handler, decode, monotonic = route.handler, route.decode, _monotonic
        if decode is not None:
            handler = _composed(handler, decode)
        first = route.delivered  # only this drain writes it: what ran is the difference
        for payload, queued_at in items:
            if not route._open:
                with route._lock:
                    route.dropped += len(items) - (route.delivered - first)
                return False
            lag = monotonic() - queued_at
            route.last_lag = lag
            if lag > route.max_lag:
                route.max_lag = lag
            route.delivered += 1
            try:
                handler(payload)
            except Exception as exc:
                route.errors += 1
                self._report(exc, route.key)
        return True

    def _run_batch(self, route: Route, batch: list[tuple[Any, float]]) -> None:
        """A batch with markers: the items between them run as runs, each marker in its place."""
        start = 0
        for n, entry in enumerate(batch):
            if not is_marker(entry):
                continue
            if not self._run_items_only(route, batch[start:n]) or not route._open:
                with route._lock:  # removed or closed meanwhile: what is left is dropped
                    route.dropped += sum(1 for item in batch[n:] if not is_marker(item))
                return
            marker = entry[0]
            if marker.__class__ is Gap:
                self._run_gap(route, marker)
            else:
                self._run_posted(route, marker)
            start = n + 1
        self._run_items_only(route, batch[start:])

    def _pass_token(self, route: Route) -> None:
        """After a full batch: resubmit (to the back of the line) if items remain, else release."""
        with route._lock:
            if not route._queue:
                route._scheduled = False
                return
        self._schedule(route, again=True)

    def _run_gap(self, route: Route, gap: Gap) -> None:
        try:
            if route.on_gap is None:
                logger.warning("alor-sync: route %r lost %d items (gap)", route.key, gap.dropped)
            else:
                route.on_gap(gap)
        except Exception as exc:
            route.errors += 1
            self._report(exc, route.key)

    def _run_posted(self, route: Route, posted: Posted) -> None:
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


def _composed(
    handler: Callable[[Any], object], decode: Callable[[Any], Any]
) -> Callable[[Any], object]:
    def run(payload: Any) -> object:
        return handler(decode(payload))

    return run
