"""What the order channel hands back: results, futures, its state and its statistics.

Rules of this module:

* Values only: frozen attrs classes and enums, plus :class:`CommandFuture` (a standard
  ``concurrent.futures.Future`` that knows its guid). No I/O, no threads, no wire names.
* Nothing here holds a token.
"""

from __future__ import annotations

import enum
from concurrent.futures import Future

import attrs

__all__ = ["ChannelState", "CommandFuture", "CommandStatistics", "OrderResult"]


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
    raise (an ``APIError`` subclass, ``OutcomeUnknownError``, ...). The future is "running" from
    the start: ``cancel()`` returns False, because a command may already be on the wire.
    Done-callbacks run on the thread that settles the future (the ``alor-sync-cws`` connection
    thread, the control thread or a user thread): keep them short and never block in them.
    """

    def __init__(self, request_guid: str) -> None:
        super().__init__()
        self._request_guid = request_guid
        self.set_running_or_notify_cancel()

    @property
    def request_guid(self) -> str:
        """The guid the command is sent with: the server's idempotency key."""
        return self._request_guid

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
    ``retryable``: outcome-unknown commands :meth:`CommandChannel.retry` still accepts.
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
