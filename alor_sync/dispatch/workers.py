"""The built-in worker pool: named daemon threads that drain routes and read links in turn.

Rules of this module:

* Owns the ``alor-sync-dispatch-N`` threads: their start, the LIFO wake-up of a parked worker
  (none for a route its own worker queues again while nothing else waits), stopping and joining
  them. What a drain does is the dispatcher's business (``drain``).
* Owns the pool's side of read turns (:mod:`alor_sync.transport.read_turns`): a parked worker
  takes a link's reading when it is lent (:meth:`WorkerPool.lend`); when a read brings a route
  to drain, the reading worker keeps it (:meth:`WorkerPool.keep`) and drains it in a pause of
  the reading, then reads on: the thread the network woke runs the callback, and no frame
  waits for a wake-up. A route whose last such drain was slow is drained only after the
  reading was lent on (or given back to the link's connection thread). A reading worker is
  recalled as soon as a route has no other worker to drain it, so a link's reading never
  holds up a route.
* The pool's mutex is held for a few bytecodes, never while a route is drained or a link read.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from alor_sync.dispatch.routes import Route
from alor_sync.transport.read_turns import ReadTurn

__all__ = ["WorkerPool", "remaining"]

logger = logging.getLogger("alor_sync.dispatcher")


# A route whose drain by a reading worker took longer than this (seconds) is drained after the
# reading was lent on, not in a pause of it: see WorkerPool._read_until_handover.
SLOW_DRAIN = 0.001
_TAKEN_BACK = "taken back by the connection thread"


class _Reading(threading.local):
    turn: ReadTurn | None = None  # the read turn this worker holds
    kept: Route | None = None  # a route its current read brought, for this worker to drain


class WorkerPool:
    """The built-in executor: ``workers`` named daemon threads that call ``drain(route)``.

    It queues the route itself (no ``Future``, no task object) and wakes at most one parked worker
    per submission, the one parked last: with the usual one frame in flight, the same warm thread
    takes every frame, which measured 10-15 % less socket-to-callback latency than waking the
    workers in turn (``SimpleQueue``). A submission while a worker is busy still wakes another
    one (or recalls one that reads a link), so a blocked callback holds up other subscriptions
    at most while it pauses its link's reading (see ``WATCH_INTERVAL``). It is also a
    :class:`~alor_sync.transport.read_turns.Lender`: see the module rules. Routes queued before
    :meth:`stop` are still drained; the threads are daemons so that a handler stuck forever
    never blocks interpreter exit.
    """

    def __init__(self, workers: int, drain: Callable[[Route], object]) -> None:
        self._drain = drain
        # Guards _ready, _parked, _offered, _reading and _stopping; held for a few bytecodes,
        # never while draining or reading.
        self._mutex = threading.Lock()
        self._ready: collections.deque[Route] = collections.deque()
        self._parked: list[threading.Lock] = []  # a stack: the last one parked is woken first
        self._offered: collections.deque[ReadTurn] = collections.deque()  # lent, not yet taken
        self._reading: list[ReadTurn] = []  # held by a worker now
        self._local = _Reading()
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
            rouse = self._rouse_locked()
        if rouse is not None:
            rouse()

    def resubmit(self, route: Route) -> None:
        """Queue ``route`` again from the worker that has just run a full batch of it.

        Wakes a parked worker only if other routes are waiting: otherwise the calling worker
        takes the route again itself as soon as its drain returns, and a wake-up would only make
        another thread fight it for the GIL to find nothing to do (measured: with 4 workers,
        every full batch woke a parked one, ~870 wake-ups per 50,000 frames of one busy
        subscription). With routes waiting, another worker is woken as in :meth:`submit`, so that
        a callback that blocks never holds up the route queued behind it.
        """
        with self._mutex:
            ready = self._ready
            ready.append(route)
            if len(ready) == 1:
                return
            rouse = self._rouse_locked()
        if rouse is not None:
            rouse()

    def _rouse_locked(self) -> Callable[[], None] | None:
        """How to get a worker to look at ``_ready`` (mutex held; call it after releasing):
        wake the last parked one, else recall one that reads (or is about to), else nothing:
        every worker is awake and will look at ``_ready`` before parking."""
        if self._parked:
            return self._parked.pop().release
        if self._reading:
            return self._reading[-1].recall
        return self._offered[-1].recall if self._offered else None

    def lend(self, turn: ReadTurn) -> bool:
        """Wake the last parked worker to read ``turn``'s link until it passes the turn on;
        False if none is parked or the pool stops (any thread)."""
        with self._mutex:
            if self._stopping or not self._parked:
                return False
            self._offered.append(turn)
            wake = self._parked.pop()
        wake.release()
        return True

    def keep(self, route: Route) -> bool:
        """Called with a route a read brought, whose drain token the caller holds: True if the
        calling thread is a worker reading a link and drains the route itself once the read is
        over; else the caller submits it."""
        local = self._local
        turn = local.turn
        if turn is None or local.kept is not None or turn.recalled:
            return False
        local.kept = route
        return True

    def stop(self) -> None:
        """End every thread once the routes queued so far are drained (does not wait)."""
        with self._mutex:
            self._stopping = True
            parked, self._parked = self._parked, []
            reading = [*self._reading, *self._offered]
        for turn in reading:  # each goes back to its connection thread after its current read
            turn.recall()
        for wake in parked:
            wake.release()

    def join(self, deadline: float | None) -> bool:
        """Join every worker but the calling one; True if all of those ended by ``deadline``."""
        current = threading.current_thread()
        others = [t for t in self._threads if t is not current]
        for thread in others:
            thread.join(remaining(deadline))
        return not any(t.is_alive() for t in others)

    def _work(self, wake: threading.Lock) -> None:
        mutex, ready, parked, offered = self._mutex, self._ready, self._parked, self._offered
        drain, reading = self._drain, self._reading
        while True:
            turn: ReadTurn | None = None
            with mutex:
                if offered:  # first: the link's reading waits for this
                    turn = offered.popleft()
                    reading.append(turn)
                    route: Route | None = None
                elif ready:
                    route = ready.popleft()
                elif self._stopping:
                    return
                else:
                    parked.append(wake)
                    route = None
            if turn is not None:
                route = self._read(turn)
            elif route is None:
                wake.acquire()  # until submit(), lend() or stop() pops us and releases
                continue
            if route is None:
                continue
            try:
                drain(route)
            except BaseException:  # drains catch user errors; this is the last line of defence
                logger.exception("alor-sync: a dispatch worker caught an unexpected error")

    def _read(self, turn: ReadTurn) -> Route | None:
        """Read ``turn``'s link until the turn must go on (see :meth:`_read_until_handover`),
        hand it on, and return a route this thread must drain next, if any."""
        self._local.turn = turn
        turn.take()
        try:
            reason, kept = self._read_until_handover(turn)
        finally:
            self._local.turn = None
            with self._mutex:
                self._reading.remove(turn)
        if reason is _TAKEN_BACK:
            return None
        if reason is not None:
            turn.end(reason)
        elif turn.recalled or not self.lend(turn):
            turn.give_back()
        return kept

    def _read_until_handover(self, turn: ReadTurn) -> tuple[str | None, Route | None]:
        """Read, and drain in between what the reads bring (a quick route, paused: no thread
        is woken); return when the link ended (why), the turn was recalled or taken back, a
        route's last drain was slow (it is returned, to drain after lending the reading on:
        its callback then never holds up the link), or other routes wait for a worker."""
        local = self._local
        try:
            while not turn.recalled:
                reason = turn.step()
                kept, local.kept = local.kept, None
                if reason is not None or (kept is not None and kept.slow_drain):
                    return reason, kept
                if kept is not None:
                    local.turn = None  # what the drain submits goes to the pool as usual
                    turn.pause()
                    self._timed_drain(kept)
                    local.turn = turn
                    if not turn.resume():
                        return _TAKEN_BACK, None
                    if self._ready:  # a route this drain queued again, or another one
                        return None, None
        except BaseException:  # steps catch what a link raises; this is the last line of defence
            logger.exception("alor-sync: a dispatch worker failed reading a link")
            kept, local.kept = local.kept, None
            return None, kept
        return None, None

    def _timed_drain(self, route: Route) -> None:
        started = time.perf_counter()
        try:
            self._drain(route)
        except BaseException:  # as in _work
            logger.exception("alor-sync: a dispatch worker caught an unexpected error")
        route.slow_drain = time.perf_counter() - started > SLOW_DRAIN


def remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
