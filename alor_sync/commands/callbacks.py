"""Where the done-callbacks of command futures run: on the dispatcher, never on a network thread.

Rules of this module:

* A future is *settled* (its state set, its waiters woken) on whichever thread learnt the
  outcome, the ``/cws`` reader included: that is a few bytecodes and runs no user code, and it
  is what lets a blocking command wait from any thread (a done-callback, a subscription callback,
  a GUI thread behind the user's ``executor``) without needing a free worker to wake it.
* The done-callbacks, which are user code, are handed to :class:`CallbackRunner`, which queues
  them on one dispatcher route (the client's pool or the user's ``executor``): in settlement
  order, one at a time, so a blocking callback delays later callbacks but never a reply.
* :meth:`CallbackRunner.close` runs what is still queued on the closing thread and every later
  call at once where it is made; by then that is the thread calling ``close()`` (the channel
  settles its last futures there). So no callback is lost when the dispatcher closes.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import OverflowPolicy, Route

__all__ = ["COMMANDS_ROUTE", "CallbackRunner"]

logger = logging.getLogger("alor_sync.commands")

COMMANDS_ROUTE = "alor-sync:commands"

Call = Callable[[], None]


class _Inside(threading.local):
    depth = 0


def _ignore(item: object) -> None:  # the route carries posted calls only
    return None


class CallbackRunner:
    """Runs calls (the done-callbacks of one future each) on a dispatcher route, in order.

    ``dispatcher``: the client's (shared, closed by its owner) or ``None`` for a private
    one-worker dispatcher (thread ``alor-sync-dispatch-1``), started on the first call and
    ended by :meth:`close`.
    Thread-safety: :meth:`run` may be called from any thread and never runs ``call`` there
    while open; :meth:`close` from any thread, a callback included.
    """

    def __init__(self, dispatcher: Dispatcher | None = None, *, name: str = COMMANDS_ROUTE) -> None:
        self._name = name
        self._owned = dispatcher is None
        self._dispatcher = dispatcher
        self._route: Route | None = None if dispatcher is None else self._add_route(dispatcher)
        # _lock guards the fields below and the lazy start; never held while a call runs.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending: collections.deque[Call] = collections.deque()
        self._running = False  # a call runs on the route now (the route runs one at a time)
        self._closed = False
        self._inside = _Inside()

    def run(self, call: Call) -> None:
        """Queue ``call`` for the route; once closed, run it here and now."""
        with self._lock:
            inline = self._closed
            if not inline:
                self._pending.append(call)
                if self._route is None:  # the first call of a private dispatcher
                    self._dispatcher = Dispatcher(workers=1)
                    self._route = self._add_route(self._dispatcher)
            dispatcher, route = self._dispatcher, self._route
        if inline:
            self._call(call)
        elif not (dispatcher is not None and route is not None) or not dispatcher.post(
            route, self._run_next
        ):
            self._run_next()  # the dispatcher is gone (closed before us): nothing is lost

    def close(self, timeout: float | None) -> None:
        """From now on run calls inline. Calls still queued run here, after the one running on
        the route finished (waited for up to ``timeout`` s, unless this *is* that call), so
        none is lost when the dispatcher closes and none needs a free worker. Idempotent."""
        with self._lock:
            self._closed = True
            if self._inside.depth == 0:
                self._idle.wait_for(lambda: not self._running, timeout)
            left = list(self._pending)
            self._pending.clear()
            dispatcher, route = self._dispatcher, self._route
        for call in left:
            self._call(call)
        if dispatcher is None or route is None:
            return
        if self._owned:
            dispatcher.close(timeout)
        else:
            dispatcher.remove_route(route.key)

    def _add_route(self, dispatcher: Dispatcher) -> Route:
        return dispatcher.add_route(self._name, handler=_ignore, policy=OverflowPolicy.LOSSLESS)

    def _run_next(self) -> None:
        """One queued marker per call: run the oldest pending call (close() may have taken it)."""
        with self._lock:
            if not self._pending:
                return
            call = self._pending.popleft()
            self._running = True
        try:
            self._call(call)
        finally:
            with self._lock:
                self._running = False
                self._idle.notify_all()

    def _call(self, call: Call) -> None:
        self._inside.depth += 1
        try:
            call()
        except Exception:
            logger.exception("alor-sync: a command future's done-callback raised")
        finally:
            self._inside.depth -= 1
