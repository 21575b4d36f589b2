"""Subscription handles and the registry of server subscriptions (guid -> stream state).

Rules of this module:

* Every state change of a subscription happens here, under the registry lock; the session only
  reports events (sent, confirmed, rejected, disconnected) and acts on what the registry returns.
* No I/O and no user code: the registry never sends, never calls a callback, and never waits
  except in :meth:`Subscription.wait_active`, which runs on the caller's thread.
* Identical requests (same opcode, parameters and decoding mode) of full-state streams share
  one server subscription; it is unsubscribed when its last handle goes away.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from alor_sync.dispatcher import Route
from alor_sync.errors import APIError, ClientClosedError, CommandTimeoutError
from alor_sync.wire import Format, Opcode

__all__ = [
    "LATEST_WINS_OPCODES",
    "ServerStream",
    "Subscription",
    "SubscriptionRegistry",
    "SubscriptionState",
    "SubscriptionStatistics",
]

# Streams whose every frame is a full state: when a consumer falls behind only the newest frame
# matters. All other streams are events, delivered losslessly up to a bound, then reported as a gap.
LATEST_WINS_OPCODES = frozenset(
    {Opcode.ORDER_BOOK, Opcode.QUOTES, Opcode.SUMMARIES, Opcode.RISKS, Opcode.SPECTRA_RISKS}
)


class SubscriptionState(enum.Enum):
    """Where a subscription stands.

    ``PENDING``: requested (or re-requested after a reconnect), not yet confirmed by the server.
    ``ACTIVE``: confirmed; data flows. ``FAILED``: the server rejected it (see ``error``).
    ``CLOSED``: unsubscribed, or the client closed.
    """

    PENDING = "pending"
    ACTIVE = "active"
    FAILED = "failed"
    CLOSED = "closed"


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


Callback = Callable[[Any], None]

# One condition for the state changes of every stream: a condition per stream would cost about
# 1.3 KB each (its lock, waiter deque and bound methods), a third of a subscription's memory at
# 5,000 subscriptions, while threads blocked in wait_active are few and re-check their own state.
_STATE_CHANGED = threading.Condition()


@attrs.define(eq=False)
class ServerStream:
    """One subscription as the server knows it: one guid, one request, one or more handles.

    Mutable; owned by :class:`SubscriptionRegistry` and only changed under its lock (except
    ``received``, written by the network thread alone, and the silence-watchdog fields, written
    by the control thread alone).
    """

    guid: str
    opcode: Opcode
    format: Format
    request: Mapping[str, Any]  # the request without its token
    share_key: tuple[Any, ...] | None
    raw: bool
    # Only the newest undelivered frame is kept (full-state streams, unless conflate=False).
    latest_wins: bool = False
    state: SubscriptionState = SubscriptionState.PENDING
    error: APIError | None = None
    handles: list[Subscription] = attrs.Factory(list)
    auth_retried: bool = False
    ever_active: bool = False
    # Confirmations still expected for the requests last sent (2 after "unsubscribe + subscribe":
    # both are confirmed with the subscription's own guid).
    acks_expected: int = 0
    silence_timeout: float | None = None
    route: Route | None = None
    received: int = 0
    # The watchdog's view (control thread): ``received`` at its last look and when it last saw
    # it change. Reading a counter once a second costs nothing per frame, unlike a clock call.
    watched_received: int = 0
    last_data_at: float = 0.0
    active_since: float = 0.0
    resubscribes: int = 0
    # The token the request was last sent with, so that concurrent 401s share one refresh.
    sent_with_token: str = attrs.field(default="", repr=False)
    changed: threading.Condition = attrs.field(default=_STATE_CHANGED, repr=False, eq=False)


class Subscription:
    """Handle to a subscription, returned by ``AlorClient.subscribe_*``.

    Thread-safety: every method may be called from any thread, including from inside a callback.
    The callback itself runs on a dispatcher worker (or the user's executor), never on the
    network thread; frames of one subscription reach it in order and never concurrently.
    """

    def __init__(
        self,
        stream: ServerStream,
        callback: Callback,
        *,
        on_unsubscribe: Callable[[Subscription], None],
        on_statistics: Callable[[ServerStream], SubscriptionStatistics],
    ) -> None:
        self._stream = stream
        self.callback = callback
        self._on_unsubscribe = on_unsubscribe
        self._on_statistics = on_statistics
        self._closed = False

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
        """The request as sent, without the token."""
        return self._stream.request

    @property
    def state(self) -> SubscriptionState:
        if self._closed:
            return SubscriptionState.CLOSED
        return self._stream.state

    @property
    def error(self) -> APIError | None:
        """The server's rejection, when ``state`` is ``FAILED``."""
        return self._stream.error

    def wait_active(self, timeout: float | None = None) -> None:
        """Block until the server confirmed the subscription.

        Raises the typed :class:`~alor_sync.errors.APIError` if the server rejected it,
        :class:`~alor_sync.errors.CommandTimeoutError` if ``timeout`` seconds passed first, and
        :class:`~alor_sync.errors.ClientClosedError` if it was closed meanwhile.
        """
        stream = self._stream
        with stream.changed:
            done = stream.changed.wait_for(
                lambda: self.state is not SubscriptionState.PENDING, timeout
            )
        state = self.state
        if state is SubscriptionState.FAILED and stream.error is not None:
            raise stream.error
        if state is SubscriptionState.CLOSED:
            raise ClientClosedError(f"subscription {self.guid} was closed")
        if not done:
            raise CommandTimeoutError(
                f"subscription {self.guid} ({self.opcode}) not confirmed within {timeout} s"
            )

    def unsubscribe(self) -> None:
        """Stop this handle's callback; the server subscription ends with its last handle.

        Idempotent. Frames already queued for the callback are discarded.
        """
        if self._closed:
            return
        self._closed = True
        self._on_unsubscribe(self)
        with self._stream.changed:
            self._stream.changed.notify_all()

    def statistics(self) -> SubscriptionStatistics:
        """Counters of this subscription's server stream."""
        return self._on_statistics(self._stream)

    def __repr__(self) -> str:
        return f"<Subscription {self.opcode} guid={self.guid} state={self.state.value}>"


def _share_key(
    opcode: Opcode, request: Mapping[str, Any], raw: bool, latest_wins: bool
) -> tuple[Any, ...] | None:
    """What identical requests have in common (None: never shared, so nothing is kept).

    The parameters are folded into one string: a tuple of pairs would cost ten objects a
    subscription.
    """
    if opcode not in LATEST_WINS_OPCODES:
        return None
    params = "\x00".join(sorted(f"{k}={v!r}" for k, v in request.items() if k != "guid"))
    return (opcode, raw, latest_wins, params)


class SubscriptionRegistry:
    """All server streams of one connection, by guid and by share key.

    Thread-safety: all methods take the registry lock; ``get`` is a plain dict read so the
    network thread can route frames without locking (dict reads are atomic in CPython and the
    registry replaces entries rather than mutating keys).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_guid: dict[str, ServerStream] = {}
        self._by_share_key: dict[tuple[Any, ...], ServerStream] = {}
        # Streams with a silence timeout: the once-a-second watchdog looks at these only, so
        # thousands of subscriptions without one cost it nothing.
        self._watched: dict[str, ServerStream] = {}
        # The network thread's lookup, bound once: a plain dict read per frame.
        self.lookup: Callable[[str], ServerStream | None] = self._by_guid.get

    def __len__(self) -> int:
        return len(self._by_guid)

    def get(self, guid: str) -> ServerStream | None:
        """The live stream with this guid (network thread: lock-free)."""
        return self._by_guid.get(guid)

    def find_shared(
        self, opcode: Opcode, request: Mapping[str, Any], raw: bool, latest_wins: bool
    ) -> ServerStream | None:
        """A live stream with an identical request (and delivery policy) a new handle may join.

        Only full-state streams are shared: a handle joining an event stream late would miss
        the history (and, for instruments, the full first object) the server sent before.
        """
        key = _share_key(opcode, request, raw, latest_wins)
        if key is None:
            return None
        with self._lock:
            stream = self._by_share_key.get(key)
            if stream is None or stream.state is SubscriptionState.FAILED:
                return None
            return stream

    def add(self, stream: ServerStream) -> None:
        """Register a new stream (its guid must be fresh)."""
        with self._lock:
            if stream.guid in self._by_guid:
                raise ValueError(f"guid {stream.guid!r} is already in use")
            self._by_guid[stream.guid] = stream
            if stream.share_key is not None:
                self._by_share_key[stream.share_key] = stream
            if stream.silence_timeout is not None:
                self._watched[stream.guid] = stream

    def attach(self, stream: ServerStream, handle: Subscription) -> None:
        with self._lock:
            stream.handles.append(handle)

    def detach(self, handle: Subscription, stream: ServerStream) -> bool:
        """Remove a handle; True when it was the stream's last (the stream is then removed)."""
        with self._lock:
            if handle in stream.handles:
                stream.handles.remove(handle)
            if stream.handles:
                return False
            self._remove_locked(stream)
        self._set_state(stream, SubscriptionState.CLOSED)
        return True

    def live_streams(self) -> list[ServerStream]:
        """Every stream that should exist on the server (pending or active)."""
        with self._lock:
            return [
                s
                for s in self._by_guid.values()
                if s.state in (SubscriptionState.PENDING, SubscriptionState.ACTIVE)
            ]

    def watched_streams(self) -> list[ServerStream]:
        """Live streams that have a silence timeout (the watchdog's work list)."""
        with self._lock:
            return list(self._watched.values())

    def pending_streams(self) -> list[ServerStream]:
        with self._lock:
            return [s for s in self._by_guid.values() if s.state is SubscriptionState.PENDING]

    def mark_pending(self, stream: ServerStream) -> None:
        """The request is (re)sent: wait for a new confirmation."""
        self._set_state(stream, SubscriptionState.PENDING)

    def mark_active(self, stream: ServerStream) -> bool:
        """A 200 confirmation arrived; True if this is a re-activation after a reconnect."""
        was_active_before = stream.ever_active
        stream.ever_active = True
        stream.active_since = time.monotonic()
        stream.auth_retried = False
        self._set_state(stream, SubscriptionState.ACTIVE)
        return was_active_before

    def mark_failed(self, stream: ServerStream, error: APIError) -> None:
        """The server rejected the request: the stream is removed, its handles see the error."""
        with self._lock:
            stream.error = error
            self._remove_locked(stream)
        self._set_state(stream, SubscriptionState.FAILED)

    def close_all(self) -> list[ServerStream]:
        """Mark every stream closed (client shutdown) and return them."""
        with self._lock:
            streams = list(self._by_guid.values())
            self._by_guid.clear()
            self._by_share_key.clear()
            self._watched.clear()
        for stream in streams:
            self._set_state(stream, SubscriptionState.CLOSED)
        return streams

    def _remove_locked(self, stream: ServerStream) -> None:
        if self._by_guid.get(stream.guid) is stream:
            del self._by_guid[stream.guid]
            self._watched.pop(stream.guid, None)
        key = stream.share_key
        if key is not None and self._by_share_key.get(key) is stream:
            del self._by_share_key[key]

    @staticmethod
    def _set_state(stream: ServerStream, state: SubscriptionState) -> None:
        with stream.changed:
            stream.state = state
            stream.changed.notify_all()


def new_stream(
    guid: str,
    opcode: Opcode,
    fmt: Format,
    request: Mapping[str, Any],
    raw: bool,
    *,
    conflate: bool = True,
    silence_timeout: float | None = None,
) -> ServerStream:
    """A fresh, pending stream for ``request`` (which carries ``guid`` and no token).

    Full-state streams are latest-wins unless ``conflate`` is False; event streams never are.
    """
    latest_wins = conflate and opcode in LATEST_WINS_OPCODES
    return ServerStream(
        guid=guid,
        opcode=opcode,
        format=fmt,
        request=request,
        share_key=_share_key(opcode, request, raw, latest_wins),
        raw=raw,
        latest_wins=latest_wins,
        silence_timeout=silence_timeout,
    )
