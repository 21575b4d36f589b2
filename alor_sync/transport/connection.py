"""One WebSocket connection in one named thread: connect, heartbeat, reconnect with backoff.

Rules of this module:

* Owns the public face of a transport, :class:`ReconnectingWebSocket`, which every thread calls:
  its configuration, start, send, reconnect, close, state and statistics. What runs on the
  connection thread is its other halves: the attempt loop
  (:class:`~alor_sync.transport.connection_thread.ConnectionThread`) and serving an open link
  (:class:`~alor_sync.transport.frame_loop.FrameLoop`); the socket is a
  :class:`~alor_sync.transport.link.Link`, the only user of websocket-client.
* The connection thread is the only thread that opens or closes a socket; it reads and pings it
  too, unless it lent the reading to a ``lender``'s thread
  (:mod:`alor_sync.transport.read_turns`). Other threads may only send a frame (under
  websocket-client's send lock) or *shut the socket down* to end the reading
  (``reconnect``/``close``); the reading thread then finds the reason in a flag.
* Nothing here knows ALOR: text frames go out to ``on_frame``, lifecycle goes to ``on_state``.
  Callbacks run on the connection thread or the thread reading for it, must be fast, and can
  never kill it. Logs never carry
  frame contents above DEBUG, headers, or the URL's query string.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from alor_sync.errors import (
    ClientClosedError,
    ConnectFailedError,
    ConnectionLostError,
    MalformedFrameError,
)
from alor_sync.transport.arguments import check_arguments, sslopt_for
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.connection_thread import ConnectionThread
from alor_sync.transport.failures import ConnectFailure, redact_url
from alor_sync.transport.frame_loop import Liveness
from alor_sync.transport.link import HeaderSource, Link, LinkDown
from alor_sync.transport.read_turns import Lender
from alor_sync.transport.status import (
    ConnectionEvent,
    TransportState,
    TransportStatistics,
)

__all__ = ["ReconnectingWebSocket"]

logger = logging.getLogger("alor_sync.transport")


class ReconnectingWebSocket(ConnectionThread):
    """One WebSocket connection kept alive by one named thread (``name``), reconnecting forever
    or up to ``max_attempts`` attempts in a row that do not reach a healthy open.

    Callbacks, all fast, exceptions logged and swallowed; ``on_open`` and ``on_state`` run on
    the connection thread, the others on the thread reading the link: the connection thread,
    or a thread of ``lender`` (a :class:`~alor_sync.transport.read_turns.Lender`, such as the
    dispatcher's worker pool) that it lent the reading to, one at a time:

    * ``on_open()`` after each handshake, before any frame is read; it may :meth:`send`
      (resubscribe, authorize). If it raises, the connection is dropped and retried with backoff.
    * ``on_frame(text)`` for each text frame, in order; route it, do not process it there.
    * ``on_frames_done()`` after the frames of one socket read were handed to ``on_frame``, just
      before the thread waits for more: the moment to wake whoever processes them.
    * ``on_state(event)`` for :class:`ConnectionEvent` s; must not block.
    * ``on_malformed_frame(error)`` for a frame that is not UTF-8 text; the link stays up.

    Liveness: a ping every ``heartbeat_interval`` seconds (``None``: no pings); when neither a
    pong nor any other frame arrives within ``pong_timeout`` after a ping, the link is replaced.
    The backoff and the attempt count reset only after a healthy open: the connection stayed
    open ``healthy_after`` seconds and received at least one frame, or its owner said it works
    (:meth:`mark_healthy`, e.g. once its subscriptions or its ``authorize`` were confirmed: a
    flapping server is then rejoined at once instead of after a grown delay). ``send_timeout``
    bounds a blocked send (the peer stopped reading); such a send drops the link. TLS is always
    verified; pass ``ssl_context`` to trust a custom CA. ``header`` (a list, a mapping or a
    callable returning one) is evaluated at each attempt, on the connection thread. With a
    ``lender``, the thread that reads a frame can run what it brought itself, after lending the
    reading on (see :mod:`~alor_sync.transport.read_turns` for why). ``clock``
    (monotonic seconds) times heartbeats, deadlines and ages; inject one in tests.

    Thread-safety: every public method may be called from any thread, including from the
    callbacks (``close()`` inside ``on_frame`` does not deadlock).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        on_open: Callable[[], None],
        on_frame: Callable[[str], None],
        on_state: Callable[[ConnectionEvent], None] | None = None,
        on_malformed_frame: Callable[[MalformedFrameError], None] | None = None,
        on_frames_done: Callable[[], None] | None = None,
        heartbeat_interval: float | None = 5.0,
        pong_timeout: float = 5.0,
        connect_timeout: float = 10.0,
        send_timeout: float = 10.0,
        healthy_after: float = 10.0,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        header: HeaderSource | None = None,
        lender: Lender | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_arguments(
            name,
            heartbeat_interval,
            pong_timeout,
            connect_timeout,
            send_timeout,
            healthy_after,
            max_attempts,
        )
        self._url = url
        self._safe_url = redact_url(url)
        self._query = urlsplit(url).query
        self._sslopt = sslopt_for(url, ssl_context)
        self._name = name
        self._on_open = on_open
        self._on_frame = on_frame
        self._on_state = on_state
        self._on_malformed_frame = on_malformed_frame
        self._on_frames_done = on_frames_done
        self._lender = lender
        self._turn = None
        self._heartbeat_interval = heartbeat_interval
        self._pong_timeout = pong_timeout
        self._connect_timeout = connect_timeout
        self._send_timeout = send_timeout
        self._healthy_after = healthy_after
        self._backoff = backoff if backoff is not None else Backoff()
        self._max_attempts = max_attempts
        self._header = header
        self._clock = clock

        # Guards the fields below it; never held while calling a callback or doing socket I/O
        # other than a shutdown().
        self._lock = threading.Lock()
        self._state_changed = threading.Condition(self._lock)
        self._state = TransportState.IDLE
        self._thread: threading.Thread | None = None
        self._link: Link | None = None  # set while a handshaken socket exists
        self._closing = False
        self._drop_reason: str | None = None
        self._next_attempt_at: float | None = None
        self._last_error: str | None = None
        # Why the latest handshake failed, until a connection opens (for connect_error()).
        self._connect_failure: ConnectFailure | None = None
        self._wake = threading.Event()  # set by close(): ends a backoff wait at once
        # The current connection's timers (connection thread only), for mark_healthy().
        self._live: Liveness | None = None

        # Written by the connection thread or the thread reading for it; read unlocked by
        # statistics().
        self._connects = 0
        self._connect_failures = 0
        self._failed_attempts = 0
        self._frames_received = 0
        self._bytes_received = 0
        self._malformed_frames = 0
        self._pings_sent = 0
        self._pongs_received = 0
        self._callback_errors = 0
        self._last_frame_at: float | None = None
        self._last_pong_rtt: float | None = None

    # ----------------------------------------------------------------- public API, any thread

    @property
    def name(self) -> str:
        return self._name

    @property
    def state(self) -> TransportState:
        return self._state

    @property
    def is_connected(self) -> bool:
        """True while OPEN (the handshake is done and ``on_open`` returned)."""
        return self._state is TransportState.OPEN

    def start(self) -> None:
        """Start the connection thread; idempotent. Raises ClientClosedError after close()."""
        with self._lock:
            if self._closing:
                raise ClientClosedError(f"{self._name} transport was closed")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._state = TransportState.CONNECTING
            self._thread.start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds until OPEN; False on timeout or a terminal state."""
        terminal = (TransportState.OPEN, TransportState.CLOSED, TransportState.GAVE_UP)
        with self._state_changed:
            self._state_changed.wait_for(lambda: self._state in terminal, timeout)
            return self._state is TransportState.OPEN

    @property
    def ever_connected(self) -> bool:
        """True once a connection was open (the handshake done and ``on_open`` returned)."""
        return self._connects > 0

    def connect_error(self) -> ConnectFailedError | None:
        """Why the latest connection attempt failed, when none opened since; else None.

        A new :class:`~alor_sync.errors.ConnectFailedError` each call (its ``__cause__`` the
        original exception), so that every thread may raise its own. Any thread.
        """
        with self._lock:
            failure = self._connect_failure
        return None if failure is None else failure.error()

    def send(self, data: str | bytes) -> None:
        """Send one text frame (``bytes`` must be UTF-8). Works from ``on_open`` on.

        Raises ConnectionLostError when no connection is up or it broke during the send (the
        frame may or may not have left), ClientClosedError after :meth:`close`. Until
        ``on_open`` has returned, only ``on_open`` itself (the connection thread) may send:
        another thread's frame would race with what ``on_open`` sends (a resubscription sent
        twice on one connection), so it gets ConnectionLostError and waits for ``on_open``.
        """
        if self._closing:
            raise ClientClosedError(f"{self._name} transport was closed")
        link = self._link  # one atomic read; the lock is not needed on this hot path
        if link is None or (
            self._state is not TransportState.OPEN
            and threading.current_thread() is not self._thread
        ):
            raise ConnectionLostError(f"{self._name} is not connected ({self._state.value})")
        try:
            link.send_text(data)
        except LinkDown as exc:
            self.reconnect(f"send failed ({exc})")
            raise ConnectionLostError(f"{self._name}: connection lost while sending") from exc

    def mark_healthy(self) -> None:
        """The owner confirmed that the current connection works: reset the backoff and the
        attempt count now (any thread; nothing happens between connections)."""
        live = self._live
        if live is not None:
            self._set_healthy(live)

    def reconnect(self, reason: str) -> bool:
        """Drop the current connection now and reconnect with backoff; False if none is up."""
        with self._lock:
            link = self._link
            if self._closing or link is None:
                return False
            if self._drop_reason is None:
                self._drop_reason = reason
            link.abort()
        logger.info("%s: dropping the connection: %s", self._name, reason)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Close for good: a close frame if connected, then the thread ends; idempotent.

        Joins the thread up to ``timeout`` seconds unless called on it. A handshake in progress
        is not interrupted: it ends within ``connect_timeout``.
        """
        with self._state_changed:
            first = not self._closing
            self._closing = True
            thread, link = self._thread, self._link
            if thread is None:
                self._state = TransportState.CLOSED
                self._state_changed.notify_all()
        self._wake.set()
        if first and link is not None:
            link.send_close_quietly()
            with self._lock:
                if self._link is link:
                    link.abort()
        current, turn = threading.current_thread(), self._turn
        # Not from the connection thread, nor from a thread reading for it (inside on_frame):
        # either way the connection thread would wait for the caller.
        reading_here = turn is not None and turn.holder is current
        if thread is not None and thread is not current and not reading_here:
            thread.join(timeout)

    def statistics(self) -> TransportStatistics:
        """A consistent-enough snapshot (counters are read without stopping the thread)."""
        now = self._clock()
        with self._lock:
            state, next_at, last_error = self._state, self._next_attempt_at, self._last_error
        last_frame_at = self._last_frame_at
        waiting = state is TransportState.BACKOFF and next_at is not None
        return TransportStatistics(
            name=self._name,
            state=state,
            connects=self._connects,
            reconnects=max(0, self._connects - 1),
            connect_failures=self._connect_failures,
            frames_received=self._frames_received,
            bytes_received=self._bytes_received,
            malformed_frames=self._malformed_frames,
            pings_sent=self._pings_sent,
            pongs_received=self._pongs_received,
            callback_errors=self._callback_errors,
            failed_attempts=self._failed_attempts,
            last_frame_age=None if last_frame_at is None else now - last_frame_at,
            last_pong_rtt=self._last_pong_rtt,
            backoff_delay=self._backoff.last_delay,
            next_attempt_in=max(0.0, next_at - now) if waiting and next_at is not None else None,
            last_error=last_error,
        )

    def __repr__(self) -> str:
        return f"<ReconnectingWebSocket {self._name} {self._safe_url} {self._state.value}>"
