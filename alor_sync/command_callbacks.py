"""Where the done-callbacks of command futures run: on the dispatcher, never on a network thread.

Rules of this module:

* A future is *settled* (its state set, its waiters woken) on whichever thread learnt the
  outcome, the ``/cws`` reader included: that is a few bytecodes and runs no user code, and it
  is what lets a blocking command wait from any thread (a done-callback, a subscription callback,
  a GUI thread behind the user's ``executor``) without needing a free worker to wake it.
* The done-callbacks, which are user code, are handed to :class:`CallbackRunner`, which queues
  them on one dispatcher route (the client's pool or the user's ``executor``): in settlement
  order, one at a time, so a blocking callback delays later callbacks but never a reply.
* After :meth:`CallbackRunner.close` callbacks run at once on the settling thread, which by then
  is the thread calling ``close()`` (the network threads are joined first).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from alor_sync.dispatcher import Dispatcher, OverflowPolicy, Route

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
    one-worker dispatcher (thread ``alor-sync-dispatch-1``) that :meth:`close` ends.
    Thread-safety: :meth:`run` may be called from any thread and never runs ``call`` there
    while open; :meth:`close` from any thread, a callback included.
    """

    def __init__(self, dispatcher: Dispatcher | None = None, *, name: str = COMMANDS_ROUTE) -> None:
        self._owned = dispatcher is None
        self._dispatcher = dispatcher if dispatcher is not None else Dispatcher(workers=1)
        self._route: Route = self._dispatcher.add_route(
            name, handler=_ignore, policy=OverflowPolicy.LOSSLESS
        )
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._queued = 0  # calls handed to the route and not finished yet
        self._closed = False
        self._inside = _Inside()

    def run(self, call: Call) -> None:
        """Queue ``call`` on the route; run it here once closed (or if the route is gone)."""
        with self._lock:
            inline = self._closed
            if not inline:
                self._queued += 1
        if not inline and self._dispatcher.post(self._route, lambda: self._call(call, True)):
            return
        if not inline:
            self._finished()
        self._call(call, False)

    def close(self, timeout: float | None) -> None:
        """Run later calls inline; wait up to ``timeout`` s for the queued ones (not from one of
        them: a callback closing the channel would wait for itself). Idempotent."""
        with self._lock:
            self._closed = True
            if self._inside.depth == 0:
                self._drained.wait_for(lambda: self._queued == 0, timeout)
        if not self._owned:
            self._dispatcher.remove_route(self._route.key)
        else:
            self._dispatcher.close(timeout)

    def _call(self, call: Call, queued: bool) -> None:
        self._inside.depth += 1
        try:
            call()
        except Exception:
            logger.exception("alor-sync: a command future's done-callback raised")
        finally:
            self._inside.depth -= 1
            if queued:
                self._finished()

    def _finished(self) -> None:
        with self._lock:
            self._queued -= 1
            if self._queued == 0:
                self._drained.notify_all()
