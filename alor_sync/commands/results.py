"""What the order channel hands back: results, futures, its state and its statistics.

Rules of this module:

* Values only: frozen attrs classes and enums, plus :class:`CommandFuture` (a standard
  ``concurrent.futures.Future`` that knows its guid). No I/O, no threads, no wire names.
* Nothing here holds a token.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

import attrs

__all__ = ["CallbackHandOff", "ChannelState", "CommandFuture", "CommandStatistics", "OrderResult"]

logger = logging.getLogger("alor_sync.commands")

DoneCallback = Callable[[Future["OrderResult"]], object]
# Takes a call that runs a future's done-callbacks and runs it later on a worker.
CallbackHandOff = Callable[[Callable[[], None]], None]


@attrs.frozen
class OrderResult:
    """The server's successful reply (``httpCode`` 200) to one order command.

    ``order_number`` is the order the command created or acted on: for ``update_*`` it is the
    *new* order (an update cancels the old order and places a new one). It is empty only if the
    server omitted it. ``message`` is the server's text; never key on it. Immutable.
    """

    request_guid: str
    order_number: str
    message: str
    http_code: int = 200


class CommandFuture(Future[OrderResult]):
    """The pending reply of one command (``CommandChannel.submit``).

    ``result(timeout)`` returns the :class:`OrderResult` or raises what the blocking method would
    raise (an ``APIError`` subclass, ``OutcomeUnknownError``, a ``CommandNotSentError``...). The
    future is "running" from the start: ``cancel()`` returns False, because a command may already
    be on the wire.

    Threads: the future is settled where the outcome is learnt (so ``result()`` wakes at once
    from any thread), but its done-callbacks never run there: they run on the client's dispatcher
    (a worker ``alor-sync-dispatch-N``, or your ``executor``), one future's callbacks in the order
    they were added and futures in the order they were settled. A callback may block, place the
    next order with a blocking method, or close the client. Added to a future that is already
    done, a callback runs at once on the calling thread, as with any ``Future``.
    """

    def __init__(self, request_guid: str, hand_off: CallbackHandOff | None = None) -> None:
        super().__init__()
        self._request_guid = request_guid
        self._hand_off = hand_off
        self._callbacks_lock = threading.Lock()
        self._deferred: list[DoneCallback] | None = []  # None once handed off
        self.set_running_or_notify_cancel()
        if hand_off is not None:
            super().add_done_callback(self._hand_callbacks_off)

    @property
    def request_guid(self) -> str:
        """The guid the command is sent with: the server's idempotency key."""
        return self._request_guid

    def add_done_callback(self, fn: DoneCallback) -> None:
        if self._hand_off is None:
            super().add_done_callback(fn)
            return
        with self._callbacks_lock:
            if self._deferred is not None:  # not settled yet, or settled and not handed off
                self._deferred.append(fn)
                return
        self._run_one(fn)

    def _hand_callbacks_off(self, _: Future[OrderResult]) -> None:
        """Runs on the settling thread: only queues (no user code here)."""
        with self._callbacks_lock:
            callbacks, self._deferred = self._deferred or [], None
        if callbacks and self._hand_off is not None:
            self._hand_off(lambda: self._run_all(callbacks))

    def _run_all(self, callbacks: list[DoneCallback]) -> None:
        for fn in callbacks:
            self._run_one(fn)

    def _run_one(self, fn: DoneCallback) -> None:
        try:
            fn(self)
        except Exception:
            logger.exception("done-callback %r of command %s raised", fn, self._request_guid)

    def __repr__(self) -> str:
        return f"<CommandFuture {self._request_guid} {super().__repr__()[1:-1]}>"


class ChannelState(enum.Enum):
    """Where the ``/cws`` channel is; what happens to a command issued in each state."""

    CONNECTING = "connecting"  # no connection (not yet, or it dropped): commands wait in order
    AUTHORIZING = "authorizing"  # connected, ``authorize`` sent: commands wait in order
    READY = "ready"  # authorized: commands go out at once
    UNAUTHORIZED = "unauthorized"  # authorization failed: the next command tries again
    FAILED = "failed"  # the connection gave up for good: commands fail with ConnectionLostError
    CLOSED = "closed"  # close() was called: commands fail with ClientClosedError


@attrs.frozen
class CommandStatistics:
    """A snapshot of the order channel (counters since it was created). Contains no secrets.

    ``sent``: command frames written (a ``retry`` counts again); ``replies``: replies matched
    to a command; ``errors``: those with a non-200 code; ``outcome_unknown``: commands that
    ended without a reply; ``late_replies``: replies that arrived after that; ``unknown_replies``:
    replies for no command of ours (logged at DEBUG); ``queued``: commands waiting for an
    authorized connection; ``in_flight``: sent and unanswered; ``pending`` = both;
    ``retryable``: outcome-unknown commands :meth:`CommandChannel.retry` still accepts;
    ``not_sent``: commands that ended unsent (closed, gave up, not authorized; timeouts not
    included); ``queue_full``: commands refused because ``max_queued`` already waited;
    ``joined``: calls that reused the guid of a pending command and shared its reply.
    Still readable after ``close()``: then the final counters.
    """

    state: ChannelState
    authorized: bool
    sent: int
    replies: int
    errors: int
    outcome_unknown: int
    late_replies: int
    unknown_replies: int
    malformed_frames: int
    pending: int
    queued: int
    in_flight: int
    retryable: int
    authorizations: int
    authorization_failures: int
    reconnects: int
    not_sent: int = 0
    queue_full: int = 0
    joined: int = 0
