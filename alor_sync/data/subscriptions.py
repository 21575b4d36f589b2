"""Subscription handles: what ``AlorClient.subscribe_*`` returns, and their statistics.

Rules of this module:

* A handle only reads its stream's state; every change goes through the session's lifecycle
  machine (:mod:`alor_sync.data.lifecycle`), under the session's lock. No I/O here.
* The only wait is :meth:`Subscription.wait_active`, on the caller's thread; it wakes on the
  one condition every state change notifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic

import attrs
import typing_extensions

from alor_sync.data.lifecycle_types import LATEST_WINS_OPCODES, StreamRecord
from alor_sync.errors import APIError, ClientClosedError, CommandTimeoutError, ConnectFailedError
from alor_sync.events import GapNotice, StateChange, SubscriptionState
from alor_sync.wire import Format, Opcode

__all__ = [
    "LATEST_WINS_OPCODES",
    "STATE_CHANGED",
    "Subscription",
    "SubscriptionState",
    "SubscriptionStatistics",
]

# One condition for the state changes of every stream: a condition per stream would cost about
# 1.3 KB each (its lock, waiter deque and bound methods), a third of a subscription's memory at
# 5,000 subscriptions, while threads blocked in wait_active are few and re-check their own state.
STATE_CHANGED = threading.Condition()

T = typing_extensions.TypeVar("T", default=Any)
"""What the subscription's callback receives: a model (``Quote[float]``...) or, with
``raw=True``, the payload ``dict``. Type-level only; a bare ``Subscription`` means any payload."""


def _no_error() -> ConnectFailedError | None:
    return None


_SETTLED = (SubscriptionState.ACTIVE, SubscriptionState.FAILED, SubscriptionState.CLOSED)


@attrs.frozen
class SubscriptionStatistics:
    """Counters of one subscription (a snapshot; values keep moving after it is taken).

    ``received``: data frames read from the socket for it; ``delivered``: callbacks run;
    ``conflated``: frames replaced by a newer one before delivery (latest-wins streams);
    ``dropped``: frames discarded by an overflow (reported through a gap); ``gaps``: gap notices;
    ``queue_depth``: frames waiting for the callback; ``last_lag``/``max_lag``: seconds from reading
    a frame to starting its callback; ``resubscribes``: times the request was sent again.
    """

    guid: str
    opcode: str
    state: SubscriptionState
    received: int
    delivered: int
    conflated: int
    dropped: int
    gaps: int
    errors: int
    queue_depth: int
    last_lag: float | None
    max_lag: float | None
    resubscribes: int


class Subscription(Generic[T]):
    """Handle to a subscription, returned by ``AlorClient.subscribe_*``.

    Thread-safety: every method may be called from any thread, including from inside a callback.
    ``callback``, ``on_gap`` and ``on_state`` run on a dispatcher worker (or the user's
    executor), never on the network thread; they get this subscription's frames, gap notices and
    state changes in stream order, one at a time, never concurrently.
    """

    def __init__(
        self,
        stream: StreamRecord,
        callback: Callable[[T], None],
        *,
        on_gap: Callable[[GapNotice], None] | None,
        on_state: Callable[[StateChange], None] | None,
        on_unsubscribe: Callable[[Subscription[Any]], None],
        on_statistics: Callable[[StreamRecord], SubscriptionStatistics],
    ) -> None:
        self._stream = stream
        self.callback = callback
        self.on_gap = on_gap
        self.on_state = on_state
        self._on_unsubscribe = on_unsubscribe
        self._on_statistics = on_statistics
        self._closed = False
        # Set by the client: why its connection could not be made, for wait_active's message.
        self._connection_error: Callable[[], ConnectFailedError | None] = _no_error

    @property
    def guid(self) -> str:
        """The guid the server knows this subscription by (shared by identical requests)."""
        return self._stream.guid

    @property
    def opcode(self) -> Opcode:
        return self._stream.opcode

    @property
    def format(self) -> Format:
        return self._stream.format

    @property
    def request(self) -> Mapping[str, Any]:
        """The request as first sent, without the token."""
        return self._stream.request

    @property
    def closed(self) -> bool:
        """True once :meth:`unsubscribe` was called."""
        return self._closed

    @property
    def state(self) -> SubscriptionState:
        if self._closed:
            return SubscriptionState.CLOSED
        return self._stream.state

    @property
    def error(self) -> APIError | None:
        """The server's refusal: why it ``FAILED``, or the last answer while ``RETRYING``."""
        return self._stream.error or self._stream.last_refusal

    def wait_active(self, timeout: float | None = None) -> None:
        """Block until the server confirmed the subscription (at most ``timeout`` seconds).

        Raises the typed :class:`~alor_sync.errors.APIError` if the server refused the request
        itself (400, 403, 404: ``FAILED``), :class:`~alor_sync.errors.CommandTimeoutError` if
        ``timeout`` passed first (naming the last refusal while ``RETRYING``), and
        :class:`~alor_sync.errors.ClientClosedError` if it was closed meanwhile. When the
        request could not even be sent because the connection cannot be made, the timeout error
        says why and is chained from the :class:`~alor_sync.errors.ConnectFailedError`.
        """
        with STATE_CHANGED:
            STATE_CHANGED.wait_for(lambda: self.state in _SETTLED, timeout)
        state = self.state
        stream = self._stream
        if state is SubscriptionState.FAILED and stream.error is not None:
            raise stream.error
        if state is SubscriptionState.CLOSED:
            raise ClientClosedError(f"subscription {self.guid} was closed")
        if state is not SubscriptionState.ACTIVE:
            refusal = stream.last_refusal
            unsent = None if stream.sent_on_connection else self._connection_error()
            if unsent is not None:
                why = f"; not sent: {unsent}"
            else:
                why = f"; last answer: {refusal} (retrying)" if refusal is not None else ""
            raise CommandTimeoutError(
                f"subscription {self.guid} ({self.opcode}) not confirmed within {timeout} s"
                f" ({state.value}{why})"
            ) from unsent

    def unsubscribe(self) -> None:
        """Stop this handle's callback; the server subscription ends with its last handle (the
        unsubscribe is retried until the server confirms it).

        Idempotent. Frames already queued for the callback are discarded.
        """
        if self._closed:
            return
        self._closed = True
        self._on_unsubscribe(self)
        with STATE_CHANGED:
            STATE_CHANGED.notify_all()

    def statistics(self) -> SubscriptionStatistics:
        """Counters of this subscription's server stream."""
        return self._on_statistics(self._stream)

    def __repr__(self) -> str:
        return f"<Subscription {self.opcode} guid={self.guid} state={self.state.value}>"
