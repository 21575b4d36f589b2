"""One WebSocket connection in one named thread: connect, heartbeat, reconnect with backoff.

Rules of this module:

* This is the only module that imports ``websocket`` (websocket-client), and everything untyped
  about it lives in :class:`_Link`. Its exceptions are translated there or in ``send`` (into
  :class:`~alor_sync.errors.ConnectionLostError`), nowhere else. websocket-client does the
  handshake, TLS and sending; frames are read by :mod:`alor_sync.transport.frame_reader` from
  its socket.
* The connection thread is the only thread that opens, reads, pings or closes a socket. Other
  threads may only send a frame (under websocket-client's send lock) or *shut the socket down*
  to wake that thread (``reconnect``/``close``); the thread then finds the reason in a flag.
* Nothing here knows ALOR: text frames go out to ``on_frame``, lifecycle goes to ``on_state``.
  Callbacks run on the connection thread, must be fast, and can never kill it. Logs never carry
  frame contents above DEBUG, headers, or the URL's query string.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import math
import select
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
import websocket

from alor_sync.errors import (
    ClientClosedError,
    ConnectFailedError,
    ConnectionLostError,
    InvalidArgumentError,
    MalformedFrameError,
)
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.frame_reader import FrameReader

__all__ = [
    "ConnectionEvent",
    "ConnectionEventKind",
    "ReconnectingWebSocket",
    "TransportState",
    "TransportStatistics",
]

logger = logging.getLogger("alor_sync.transport")
_debug_enabled = functools.partial(logger.isEnabledFor, logging.DEBUG)

Headers = Sequence[str] | Mapping[str, str]
HeaderSource = Headers | Callable[[], Headers]

_OP_TEXT: int = websocket.ABNF.OPCODE_TEXT
_OP_BINARY: int = websocket.ABNF.OPCODE_BINARY
_OP_CLOSE: int = websocket.ABNF.OPCODE_CLOSE
_OP_PONG: int = websocket.ABNF.OPCODE_PONG
_OP_PING: int = websocket.ABNF.OPCODE_PING
_DATA_OPCODES = (_OP_TEXT, _OP_BINARY)
_CLOSED_BY_CLIENT = "closed by the client"


class TransportState(enum.Enum):
    """Where the connection thread is in its life."""

    IDLE = "idle"  # created, start() not called yet
    CONNECTING = "connecting"  # handshake or on_open in progress
    OPEN = "open"  # on_open returned; frames flow
    BACKOFF = "backoff"  # waiting before the next attempt
    CLOSED = "closed"  # close() was called; terminal
    GAVE_UP = "gave_up"  # max_attempts exhausted; terminal


class ConnectionEventKind(enum.Enum):
    """What a :class:`ConnectionEvent` reports."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # an OPEN connection ended
    CONNECT_FAILED = "connect_failed"  # the handshake or on_open failed; never was OPEN
    GAVE_UP = "gave_up"  # terminal: no more attempts


@attrs.frozen
class ConnectionEvent:
    """A lifecycle change, delivered to ``on_state`` on the connection thread.

    ``next_attempt_in`` (seconds) is set when ``will_retry``; ``failed_attempts`` counts attempts
    in a row that did not reach a healthy open; ``error`` is the typed cause of a
    ``CONNECT_FAILED`` whose handshake failed (None otherwise).
    """

    kind: ConnectionEventKind
    name: str
    reason: str = ""
    will_retry: bool = False
    next_attempt_in: float | None = None
    failed_attempts: int = 0
    error: ConnectFailedError | None = None


@attrs.frozen
class TransportStatistics:
    """A snapshot of one transport; ages and delays in seconds. Contains no secrets."""

    name: str
    state: TransportState
    connects: int
    reconnects: int
    connect_failures: int
    frames_received: int
    bytes_received: int
    malformed_frames: int
    pings_sent: int
    pongs_received: int
    callback_errors: int
    failed_attempts: int
    last_frame_age: float | None
    last_pong_rtt: float | None
    backoff_delay: float | None
    next_attempt_in: float | None
    last_error: str | None


class _StalledRead(Exception):
    """A read timed out; the frame reader keeps the partial frame, so reading can resume."""


class _LinkDown(Exception):
    """A send failed because the socket is gone or broken."""


class _Link:
    """The typed face of one websocket-client connection (the only untyped surface here)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        sock: socket.socket = ws.sock
        # Frames are cut out of large reads here instead of websocket-client's three or four
        # recv() calls per frame (measured: about twice the frame rate; docs/performance.md).
        # The handshake reads byte by byte, so nothing of the first frames is left behind in ws.
        self.frames = FrameReader(sock)
        self.next_frame = self.frames.next_frame
        # An SSL socket may hold a decrypted record the kernel no longer reports as readable.
        self._pending: Callable[[], int] | None = (
            sock.pending if isinstance(sock, ssl.SSLSocket) else None
        )
        self._poll: Any = None
        self._selector: selectors.BaseSelector | None = None
        self._close_lock = threading.Lock()
        self._close_sent = False
        if hasattr(select, "poll"):  # the cheapest wait per frame; absent on Windows
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)
        else:
            self._selector = selectors.DefaultSelector()
            self._selector.register(sock, selectors.EVENT_READ)

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        sslopt: dict[str, Any],
        header: Headers | None,
        connect_timeout: float,
        send_timeout: float,
    ) -> _Link:
        ws: Any = websocket.WebSocket(
            sslopt=sslopt, enable_multithread=True, skip_utf8_validation=True
        )
        ws.connect(url, timeout=connect_timeout, header=header)
        try:
            # Fixed from here on: the socket timeout bounds sends (shared by every sending
            # thread) and a frame stalled half-way; read waits are done with poll() instead.
            ws.settimeout(send_timeout)
            return cls(ws)
        except BaseException:
            ws.shutdown()
            raise

    def wait_readable(self, timeout: float | None) -> bool:
        if self._pending is not None and self._pending():
            return True
        if self._poll is not None:
            return bool(self._poll.poll(None if timeout is None else math.ceil(timeout * 1000)))
        assert self._selector is not None
        return bool(self._selector.select(timeout))

    def fill(self) -> None:
        """One read into the frame buffer; raises :class:`_StalledRead` on a timeout (a TLS
        record stalled half-way: its bytes are kept and reading resumes later)."""
        try:
            self.frames.fill()
        except (TimeoutError, ssl.SSLWantReadError):
            raise _StalledRead from None

    def pong(self, payload: bytes) -> None:
        self._ws.pong(payload)

    def send_text(self, data: str | bytes) -> None:
        try:
            self._ws.send(data, _OP_TEXT)
        except (websocket.WebSocketException, OSError) as exc:
            # A timed-out send may have left half a frame on the wire: the link is unusable.
            raise _LinkDown(type(exc).__name__) from exc

    def ping(self, payload: bytes) -> None:
        self._ws.ping(payload)

    def send_close_quietly(self) -> None:
        """Send our close frame once, whichever thread asks first; a second caller returns only
        after the first one's frame is out (so the socket is never closed under it)."""
        with self._close_lock:
            if self._close_sent:
                return
            self._close_sent = True
            # Best effort: the socket is shut down right after anyway.
            with contextlib.suppress(websocket.WebSocketException, OSError):
                self._ws.send_close()

    def abort(self) -> None:
        """Shut the socket down (thread-safe, keeps the fd) so a blocked read or send returns."""
        sock = self._ws.sock
        if sock is not None:
            # The base method on purpose: SSLSocket.shutdown() drops its SSL object under a
            # reader that may be inside it; the kernel shutdown alone makes SSL_read see EOF.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def close(self) -> None:
        """Release the socket (connection thread only), holding the send lock so that no
        other thread's send is using the fd meanwhile."""
        self.abort()
        self._discard_unread()
        if self._selector is not None:
            self._selector.close()
        with self._ws.lock:
            self._ws.shutdown()

    def _discard_unread(self) -> None:
        """Read what the server sent last (its close frame, say): closing a socket with unread
        bytes sends a TCP reset, which can make the server lose our own close frame."""
        sock = self._ws.sock
        if sock is None or isinstance(sock, ssl.SSLSocket):
            return  # TLS: the shutdown already ended the session; nothing useful to read
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            for _ in range(64):  # bounded: a server still streaming cannot keep us here
                if not sock.recv(65536):
                    return


@attrs.define
class _Liveness:
    """Heartbeat timers of the current connection (connection thread only; monotonic seconds)."""

    opened_at: float
    next_ping_at: float | None
    pong_deadline: float | None = None
    next_due: float = math.inf  # earliest of the timers above (may be early, never late)
    frames_seen: int = 0
    healthy: bool = False


@attrs.frozen
class _Outcome:
    opened: bool  # on_open returned and the connection was OPEN
    reason: str
    healthy: bool = False  # stayed open `healthy_after` seconds and received a frame
    failure: _ConnectFailure | None = None  # the handshake failed: why, typed


@attrs.frozen
class _ConnectFailure:
    """Why one handshake failed, classified once on the connection thread."""

    message: str
    kind: str
    http_status: int | None
    cause: BaseException

    @classmethod
    def of(cls, exc: BaseException, safe_url: str, described: str) -> _ConnectFailure:
        kind, status = _classify(exc)
        what = f"{_KIND_TEXT[kind]} ({described})" if status is None else f"HTTP {status}"
        return cls(f"cannot connect to {safe_url}: {what}", kind, status, exc)

    def error(self) -> ConnectFailedError:
        error = ConnectFailedError(self.message, kind=self.kind, http_status=self.http_status)
        error.__cause__ = self.cause
        return error


_KIND_TEXT = {  # "http" reads "cannot connect to <url>: HTTP 404"
    "refused": "connection refused",
    "dns": "the host name does not resolve",
    "tls": "the TLS handshake failed",
    "timeout": "no answer within the connect timeout",
    "other": "the handshake failed",
}


def _classify(exc: BaseException) -> tuple[str, int | None]:
    """(kind, HTTP status) of a handshake failure; see ConnectFailedError.kind."""
    if isinstance(exc, websocket.WebSocketBadStatusException):
        status = getattr(exc, "status_code", None)
        return ("http", status) if isinstance(status, int) else ("other", None)
    if isinstance(exc, websocket.WebSocketAddressException | socket.gaierror):
        return "dns", None
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls", None
    if isinstance(exc, ConnectionRefusedError):
        return "refused", None
    if isinstance(exc, TimeoutError | websocket.WebSocketTimeoutException):
        return "timeout", None
    return "other", None


class ReconnectingWebSocket:
    """One WebSocket connection kept alive by one named thread (``name``), reconnecting forever
    or up to ``max_attempts`` attempts in a row that do not reach a healthy open.

    Callbacks, all on the connection thread, all fast, exceptions logged and swallowed:

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
    callable returning one) is evaluated at each attempt, on the connection thread. ``clock``
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_arguments(
            name,
            heartbeat_interval,
            pong_timeout,
            connect_timeout,
            send_timeout,
            healthy_after,
            max_attempts,
        )
        self._url = url
        self._safe_url = _redact_url(url)
        self._query = urlsplit(url).query
        self._sslopt = _sslopt_for(url, ssl_context)
        self._name = name
        self._on_open = on_open
        self._on_frame = on_frame
        self._on_state = on_state
        self._on_malformed_frame = on_malformed_frame
        self._on_frames_done = on_frames_done
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
        self._link: _Link | None = None  # set while a handshaken socket exists
        self._closing = False
        self._drop_reason: str | None = None
        self._next_attempt_at: float | None = None
        self._last_error: str | None = None
        # Why the latest handshake failed, until a connection opens (for connect_error()).
        self._connect_failure: _ConnectFailure | None = None
        self._wake = threading.Event()  # set by close(): ends a backoff wait at once
        # The current connection's timers (connection thread only), for mark_healthy().
        self._live: _Liveness | None = None

        # Written by the connection thread only; read unlocked by statistics().
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
        except _LinkDown as exc:
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
        if thread is not None and thread is not threading.current_thread():
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

    # ------------------------------------------------------------ the connection thread

    def _run(self) -> None:
        try:
            while True:
                outcome = self._connect_and_serve()
                if self._closing:
                    if outcome.opened:
                        self._emit(ConnectionEventKind.DISCONNECTED, _CLOSED_BY_CLIENT)
                    return
                if not self._wait_before_retry(outcome):
                    return
        except Exception:  # a bug here must not end the thread silently
            logger.exception("%s: connection thread failed", self._name)
            self._set_state(TransportState.GAVE_UP)
            self._emit(ConnectionEventKind.GAVE_UP, "internal error (see the log)")
        finally:
            with self._state_changed:
                if self._state is not TransportState.GAVE_UP:
                    self._state = TransportState.CLOSED
                self._state_changed.notify_all()

    def _connect_and_serve(self) -> _Outcome:
        if self._closing:
            return _Outcome(opened=False, reason=_CLOSED_BY_CLIENT)
        self._set_state(TransportState.CONNECTING)
        try:
            link = self._open_link()
        except Exception as exc:
            cause = _ConnectFailure.of(exc, self._safe_url, self._describe(exc))
            with self._lock:
                self._connect_failure = cause
            return _Outcome(
                opened=False, reason=f"connect failed: {self._describe(exc)}", failure=cause
            )
        if not self._install(link):
            link.close()
            return _Outcome(opened=False, reason=_CLOSED_BY_CLIENT)
        live = _Liveness(opened_at=self._clock(), next_ping_at=None)
        self._live = live
        try:
            failure = self._call_on_open()
            if failure is not None:
                return _Outcome(opened=False, reason=failure)
            self._mark_open(live)
            reason = self._serve(link, live)
        finally:
            self._live = None
            self._uninstall(link)
        self._check_healthy(live, self._clock())
        return _Outcome(opened=True, reason=reason, healthy=live.healthy)

    def _open_link(self) -> _Link:
        header = self._header() if callable(self._header) else self._header
        logger.debug("%s: connecting to %s", self._name, self._safe_url)
        return _Link.connect(
            self._url,
            sslopt=self._sslopt,
            header=header,
            connect_timeout=self._connect_timeout,
            send_timeout=self._send_timeout,
        )

    def _install(self, link: _Link) -> bool:
        with self._lock:
            if self._closing:
                return False
            self._link = link
            self._drop_reason = None
            return True

    def _uninstall(self, link: _Link) -> None:
        with self._state_changed:
            self._link = None
            closing = self._closing
            self._state = TransportState.CLOSED if closing else TransportState.BACKOFF
            self._state_changed.notify_all()
        if closing:
            # close() may still be sending the close frame from its own thread: this waits for
            # it (or sends it), so the socket is never released before the frame is out.
            link.send_close_quietly()
        link.close()

    def _call_on_open(self) -> str | None:
        """Run on_open; returns why the connection cannot go on, or None."""
        try:
            self._on_open()
        except ConnectionLostError as exc:
            # on_open's own send found the link dead (the documented way for on_open to give up
            # on a connection): an ordinary connection loss, not a callback failure.
            return _CLOSED_BY_CLIENT if self._closing else f"connection lost in on_open: {exc}"
        except Exception as exc:
            if self._closing:
                return _CLOSED_BY_CLIENT
            self._callback_errors += 1
            logger.exception("%s: on_open raised; reconnecting", self._name)
            return f"on_open raised {type(exc).__name__}"
        return _CLOSED_BY_CLIENT if self._closing else None

    def _mark_open(self, live: _Liveness) -> None:
        now = self._clock()
        live.opened_at = now
        if self._heartbeat_interval is not None:
            live.next_ping_at = now + self._heartbeat_interval
        live.next_due = self._next_due(live)
        self._connects += 1
        with self._lock:
            self._connect_failure = None
        self._set_state(TransportState.OPEN)
        logger.info("%s: connected to %s", self._name, self._safe_url)
        self._emit(ConnectionEventKind.CONNECTED, failed_attempts=self._failed_attempts)

    def _serve(self, link: _Link, live: _Liveness) -> str:
        """Read until the link ends; returns why it ended."""
        try:
            while not self._closing:
                now = self._clock()
                if now >= live.next_due:
                    reason = self._on_timers(link, live, now)
                    if reason is not None:
                        return reason
                wait = None if live.next_due == math.inf else max(0.0, live.next_due - now)
                if not link.wait_readable(wait):
                    continue
                try:
                    link.fill()
                except _StalledRead:
                    continue  # a frame stalled half-way; its bytes are kept, check the timers
                reason = self._handle_frames(link, live)
                if reason is not None:
                    return reason
        except Exception as exc:
            if not self._closing:
                return self._drop_reason or f"connection lost: {self._describe(exc)}"
        return _CLOSED_BY_CLIENT

    def _on_timers(self, link: _Link, live: _Liveness, now: float) -> str | None:
        if live.pong_deadline is not None and now >= live.pong_deadline:
            return f"no pong or frame within {self._pong_timeout:g} s after a ping"
        if live.next_ping_at is not None and now >= live.next_ping_at:
            assert self._heartbeat_interval is not None
            # The send time travels in the payload, so any pong yields a round-trip time.
            link.ping(repr(now).encode())
            self._pings_sent += 1
            live.next_ping_at = now + self._heartbeat_interval
            if live.pong_deadline is None:
                live.pong_deadline = now + self._pong_timeout
        self._check_healthy(live, now)
        live.next_due = self._next_due(live)
        return None

    def _next_due(self, live: _Liveness) -> float:
        due = math.inf
        for deadline in (live.next_ping_at, live.pong_deadline):
            if deadline is not None:
                due = min(due, deadline)
        if not live.healthy and live.frames_seen:
            due = min(due, live.opened_at + self._healthy_after)
        return due

    def _check_healthy(self, live: _Liveness, now: float) -> None:
        if live.healthy or not live.frames_seen or now - live.opened_at < self._healthy_after:
            return
        self._set_healthy(live)

    def _set_healthy(self, live: _Liveness) -> None:
        if live.healthy:
            return
        live.healthy = True
        self._backoff.reset()
        self._failed_attempts = 0

    def _handle_frames(self, link: _Link, live: _Liveness) -> str | None:
        """Deliver every whole frame read so far; returns a reason when the peer closed.

        The per-frame path is this loop, kept flat (a text frame costs no call but ``on_frame``
        and the decode): liveness, the clock and the debug switch are looked at once per read.
        """
        next_frame, on_frame = link.next_frame, self._on_frame
        debug = _debug_enabled()
        frames = data_frames = data_bytes = 0
        try:
            while not self._closing:
                frame = next_frame()
                if frame is None:
                    break
                opcode, data = frame
                frames += 1
                if opcode in _DATA_OPCODES:
                    data_frames += 1
                    data_bytes += len(data)
                    try:
                        text = data.decode("utf-8")
                    except UnicodeDecodeError:
                        self._report_malformed(len(data))
                        continue
                    if debug:
                        logger.debug("%s: frame %.200s", self._name, text)
                    try:
                        on_frame(text)
                    except Exception:
                        self._callback_errors += 1
                        logger.exception("%s: on_frame raised", self._name)
                elif opcode == _OP_CLOSE:  # not a sign of health: a refusing server does this
                    frames -= 1
                    link.send_close_quietly()
                    return _describe_close(data)
                else:
                    self._handle_control(link, opcode, data)
        finally:
            self._frames_received += data_frames
            self._bytes_received += data_bytes
            if frames:
                self._saw_frames(live, frames)
            if data_frames and self._on_frames_done is not None:
                self._call_frames_done()
        return None

    def _call_frames_done(self) -> None:
        assert self._on_frames_done is not None
        try:
            self._on_frames_done()
        except Exception:
            self._callback_errors += 1
            logger.exception("%s: on_frames_done raised", self._name)

    def _saw_frames(self, live: _Liveness, count: int) -> None:
        self._last_frame_at = self._clock()
        live.pong_deadline = None  # any frame proves the peer is alive
        first = live.frames_seen == 0
        live.frames_seen += count
        if first:
            live.next_due = self._next_due(live)  # the healthy check is due from now on

    def _handle_control(self, link: _Link, opcode: int, data: bytes) -> None:
        if opcode == _OP_PING:
            link.pong(data)
        elif opcode == _OP_PONG:
            self._pongs_received += 1
            rtt = _round_trip(data, self._clock())
            if rtt is not None:
                self._last_pong_rtt = rtt

    def _report_malformed(self, size: int) -> None:
        self._malformed_frames += 1
        error = MalformedFrameError(f"{self._name}: a {size}-byte frame is not valid UTF-8 text")
        logger.warning("%s", error)
        if self._on_malformed_frame is None:
            return
        try:
            self._on_malformed_frame(error)
        except Exception:
            self._callback_errors += 1
            logger.exception("%s: on_malformed_frame raised", self._name)

    def _wait_before_retry(self, outcome: _Outcome) -> bool:
        """Count the failure, emit the event, wait the backoff; False when giving up."""
        if outcome.opened:
            kind = ConnectionEventKind.DISCONNECTED
        else:
            kind = ConnectionEventKind.CONNECT_FAILED
            self._connect_failures += 1
        if not outcome.healthy:
            self._failed_attempts += 1
        with self._lock:
            self._last_error = outcome.reason
        if self._max_attempts is not None and self._failed_attempts >= self._max_attempts:
            logger.error(
                "%s: giving up after %d attempts: %s",
                self._name,
                self._failed_attempts,
                outcome.reason,
            )
            self._emit(
                kind, outcome.reason, failed_attempts=self._failed_attempts, failure=outcome.failure
            )
            self._set_state(TransportState.GAVE_UP)
            self._emit(
                ConnectionEventKind.GAVE_UP, outcome.reason, failed_attempts=self._failed_attempts
            )
            return False
        delay = self._backoff.next_delay()
        with self._state_changed:
            self._state = TransportState.BACKOFF
            self._next_attempt_at = self._clock() + delay
        logger.warning("%s: %s; next attempt in %.2f s", self._name, outcome.reason, delay)
        self._emit(
            kind,
            outcome.reason,
            will_retry=True,
            next_attempt_in=delay,
            failed_attempts=self._failed_attempts,
            failure=outcome.failure,
        )
        self._wake.wait(delay)
        return True

    # ------------------------------------------------------------------------- helpers

    def _set_state(self, state: TransportState) -> None:
        with self._state_changed:
            self._state = state
            self._next_attempt_at = None
            self._state_changed.notify_all()

    def _emit(
        self,
        kind: ConnectionEventKind,
        reason: str = "",
        *,
        will_retry: bool = False,
        next_attempt_in: float | None = None,
        failed_attempts: int = 0,
        failure: _ConnectFailure | None = None,
    ) -> None:
        if self._on_state is None:
            return
        event = ConnectionEvent(
            kind, self._name, reason, will_retry, next_attempt_in, failed_attempts,
            None if failure is None else failure.error(),
        )  # fmt: skip
        try:
            self._on_state(event)
        except Exception:
            self._callback_errors += 1
            logger.exception("%s: on_state raised", self._name)

    def _describe(self, exc: BaseException) -> str:
        """An error text fit for logs and events: no headers, bodies or query strings."""
        status = getattr(exc, "status_code", None)
        if isinstance(exc, websocket.WebSocketBadStatusException) and status is not None:
            return f"handshake rejected with HTTP {status}"
        text = f"{type(exc).__name__}: {exc}".replace(self._url, self._safe_url)
        if self._query:
            text = text.replace(self._query, "<redacted>")
        return text[:300]


def _check_arguments(
    name: str,
    heartbeat_interval: float | None,
    pong_timeout: float,
    connect_timeout: float,
    send_timeout: float,
    healthy_after: float,
    max_attempts: int | None,
) -> None:
    if not name:
        raise InvalidArgumentError("name (the thread name) must not be empty")
    positive = {
        "pong_timeout": pong_timeout,
        "connect_timeout": connect_timeout,
        "send_timeout": send_timeout,
    }
    if heartbeat_interval is not None:
        positive["heartbeat_interval"] = heartbeat_interval
    for arg, value in positive.items():
        if not value > 0:
            raise InvalidArgumentError(f"{arg} must be > 0 seconds, got {value!r}")
    if not healthy_after >= 0:
        raise InvalidArgumentError(f"healthy_after must be >= 0 seconds, got {healthy_after!r}")
    if max_attempts is not None and max_attempts < 1:
        raise InvalidArgumentError(f"max_attempts must be >= 1 or None, got {max_attempts!r}")


def _sslopt_for(url: str, ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
    parts = urlsplit(url)
    try:
        valid = parts.scheme in ("ws", "wss") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number, or out of range
        valid = False
    if not valid:
        raise InvalidArgumentError(f"url must be a ws:// or wss:// URL, got {_redact_url(url)!r}")
    scheme = parts.scheme
    if scheme == "ws":
        if ssl_context is not None:
            raise InvalidArgumentError("ssl_context was given for a plain ws:// URL; use wss://")
        return {}
    if ssl_context is None:
        return {"context": ssl.create_default_context()}
    if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
        raise InvalidArgumentError(
            "ssl_context must verify the server (CERT_REQUIRED and check_hostname); to trust a "
            "private CA use ssl.create_default_context(cafile=...)"
        )
    return {"context": ssl_context}


def _redact_url(url: str) -> str:
    """scheme://host:port/path: no credentials, query or fragment (tokens could be there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # a malformed port; the caller reports the URL as invalid
        port = None
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _describe_close(data: bytes) -> str:
    if len(data) < 2:
        return "server closed the connection (no status code)"
    (code,) = struct.unpack("!H", data[:2])
    reason = data[2:].decode("utf-8", "replace")[:120]
    return f"server closed the connection (code {code}{': ' + reason if reason else ''})"


def _round_trip(pong_payload: bytes, now: float) -> float | None:
    try:
        return now - float(pong_payload)
    except ValueError:  # an unsolicited pong (RFC 6455 allows them) carries no send time
        return None
