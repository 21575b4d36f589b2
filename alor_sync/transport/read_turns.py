"""Taking turns at reading one open link: its connection thread, or a worker it lends them to.

Why: a frame handed from the thread that read it to a parked worker waits for that worker to
wake on another CPU (measured on the 2-vCPU benchmark machine: 40-45 us, more than the whole
inline read-and-decode of a depth-20 book). Instead, the reader drains what it read itself, in
a pause of its turn, and reads on; only a slow drain goes after the reading was lent to a parked
thread, whose wake-up then happens while the callback runs (leader/follower). See
docs/performance.md.

Rules of this module:

* Owns :class:`ReadTurn`: which thread may read one link now, and the hand-overs: lent to a
  :class:`Lender` (a worker pool), passed on between its threads, given back to the connection
  thread, ended with the reason the link ended. Exactly one thread holds the turn at a time;
  each hand-over goes through a lock, so whatever one holder wrote, the next one sees.
* The connection thread owns the turn whenever no one else does: it waits in :meth:`serve`
  until the turn comes back or the link ends, and never runs user code meanwhile, so it is
  always free to take the reading back (a worker with work of its own never has to wait).
* Nothing here reads a socket: one read is the ``step`` callable the transport passes in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["WATCH_INTERVAL", "Lender", "ReadTurn"]

# While the reading is lent, the connection thread looks this often (seconds) whether the holder
# has paused it for a drain of its own for longer than this, and if so reads on itself: a
# callback that blocks holds up the link's other frames at most about twice this long.
WATCH_INTERVAL = 0.02


class Lender(Protocol):
    """Threads that can read a link in its connection thread's place (a worker pool)."""

    def lend(self, turn: ReadTurn) -> bool:
        """Hand ``turn`` to a parked thread, which calls :meth:`ReadTurn.step` until it passes
        the turn on; False (and nothing happens) if no thread is parked."""
        ...


class ReadTurn:
    """Whose turn it is to read one open link; see the module rules.

    ``step()`` reads once (waits, reads, hands the frames on) and returns why the link ended,
    or None; it runs on the turn's holder. ``interrupt()`` (any thread) ends the holder's
    current or next wait early, so that :meth:`recall` takes effect at once.
    """

    def __init__(
        self,
        step: Callable[[], str | None],
        lender: Lender,
        interrupt: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.step = step
        self._lender = lender
        self._interrupt = interrupt
        self._clock = clock
        self._back = threading.Lock()  # held while lent; released when it comes back or ends
        self._back.acquire()
        self._ended: str | None = None
        # Guards holder and _paused_at: the connection thread may take the turn back from a
        # holder that paused it (see pause()).
        self._lock = threading.Lock()
        self.holder = threading.current_thread()  # the thread whose turn it is
        self._paused_at: float | None = None
        # Set by the lender when it needs the holder for other work; read by the holder after
        # each step, cleared when the turn comes back to the connection thread.
        self.recalled = False

    def serve(self) -> str:
        """Connection thread: read or lend the reading until the link ends; returns why."""
        step, lend = self.step, self._lender.lend
        while True:
            if lend(self):
                ended = self._wait_while_lent()
                if ended is not None:
                    return ended
                self.recalled = False
                continue  # back with this thread: read now, lend again when a thread is free
            reason = step()
            if reason is not None:
                return reason

    def _wait_while_lent(self) -> str | None:
        """Connection thread: wait until the turn comes back (None) or the link ended (why),
        taking it back from a holder that paused it for longer than :data:`WATCH_INTERVAL`."""
        back, me = self._back, threading.current_thread()
        while not back.acquire(timeout=WATCH_INTERVAL):
            with self._lock:
                paused_at = self._paused_at
                if paused_at is not None and self._clock() - paused_at >= WATCH_INTERVAL:
                    self.holder, self._paused_at = me, None  # the holder's resume() says no
                    return None
        with self._lock:
            self.holder = me
        return self._ended

    def take(self) -> None:
        """The thread the turn was lent or passed to, before its first step."""
        with self._lock:
            self.holder = threading.current_thread()

    def pause(self) -> None:
        """The holder stops reading for a moment to drain what its last read brought, keeping
        the turn (cheaper than lending it on: no thread is woken); if that takes longer than
        :data:`WATCH_INTERVAL`, the connection thread reads on instead. Holder only."""
        with self._lock:
            self._paused_at = self._clock()

    def resume(self) -> bool:
        """After :meth:`pause`: True if the turn is still the holder's (it reads on); False if
        the connection thread took it back (the caller must not touch the link). Holder only."""
        with self._lock:
            if self.holder is not threading.current_thread():
                return False
            self._paused_at = None
            return True

    def give_back(self) -> None:
        """The holder is done reading (it has work of its own, or was recalled): the
        connection thread reads on. Holder only, once per lending."""
        self._back.release()

    def end(self, reason: str) -> None:
        """The holder's step found the link ended: the connection thread takes it from here.
        Holder only, once per lending."""
        self._ended = reason
        self._back.release()

    def recall(self) -> None:
        """Ask the holder to give the turn back after its current step (any thread)."""
        self.recalled = True
        self._interrupt()
