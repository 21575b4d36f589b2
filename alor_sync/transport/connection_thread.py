"""The connection thread's loop: attempt, open, serve, count the failure, back off, repeat.

Rules of this module:

* Owns one attempt after another on the connection thread: the handshake (a
  :class:`~alor_sync.transport.link.Link`), ``on_open``, serving it (the
  :class:`~alor_sync.transport.frame_loop.FrameLoop` half), then the backoff wait or giving up,
  and the :class:`~alor_sync.transport.status.ConnectionEvent` s and state changes on the way.
* Everything here runs on the connection thread. :class:`ConnectionThread` is the half of
  :class:`~alor_sync.transport.connection.ReconnectingWebSocket` that runs there; the
  attributes it uses are declared below and set by that class. State other threads read
  changes under ``_lock`` (``_state_changed`` notifies waiters).
* Callbacks (``on_open``, ``on_state``) can never kill the thread: their exceptions are counted
  and logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import attrs

from alor_sync.errors import ConnectionLostError
from alor_sync.transport.failures import ConnectFailure
from alor_sync.transport.frame_loop import CLOSED_BY_CLIENT, FrameLoop, Liveness
from alor_sync.transport.link import HeaderSource, Link
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind, TransportState

__all__ = ["ConnectionThread"]

logger = logging.getLogger("alor_sync.transport")


@attrs.frozen
class _Outcome:
    opened: bool  # on_open returned and the connection was OPEN
    reason: str
    healthy: bool = False  # stayed open `healthy_after` seconds and received a frame
    failure: ConnectFailure | None = None  # the handshake failed: why, typed


class ConnectionThread(FrameLoop):
    """The attempt loop of one transport (connection thread); see the module rules."""

    # Configuration, set once by the subclass's constructor.
    _sslopt: dict[str, Any]
    _header: HeaderSource | None
    _connect_timeout: float
    _send_timeout: float
    _max_attempts: int | None
    _on_open: Callable[[], None]
    _on_state: Callable[[ConnectionEvent], None] | None
    # Shared with the other threads; see the subclass's constructor for what guards what.
    _lock: threading.Lock
    _state_changed: threading.Condition
    _state: TransportState
    _link: Link | None
    _next_attempt_at: float | None
    _last_error: str | None
    _connect_failure: ConnectFailure | None
    _wake: threading.Event
    _live: Liveness | None
    # Counters: written by the connection thread only, read unlocked by statistics().
    _connects: int
    _connect_failures: int

    def _run(self) -> None:
        try:
            while True:
                outcome = self._connect_and_serve()
                if self._closing:
                    if outcome.opened:
                        self._emit(ConnectionEventKind.DISCONNECTED, CLOSED_BY_CLIENT)
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
            return _Outcome(opened=False, reason=CLOSED_BY_CLIENT)
        self._set_state(TransportState.CONNECTING)
        try:
            link = self._open_link()
        except Exception as exc:
            cause = ConnectFailure.of(exc, self._safe_url, self._describe(exc))
            with self._lock:
                self._connect_failure = cause
            return _Outcome(
                opened=False, reason=f"connect failed: {self._describe(exc)}", failure=cause
            )
        if not self._install(link):
            link.close()
            return _Outcome(opened=False, reason=CLOSED_BY_CLIENT)
        live = Liveness(opened_at=self._clock(), next_ping_at=None)
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

    def _open_link(self) -> Link:
        header = self._header() if callable(self._header) else self._header
        logger.debug("%s: connecting to %s", self._name, self._safe_url)
        return Link.connect(
            self._url,
            sslopt=self._sslopt,
            header=header,
            connect_timeout=self._connect_timeout,
            send_timeout=self._send_timeout,
        )

    def _install(self, link: Link) -> bool:
        with self._lock:
            if self._closing:
                return False
            self._link = link
            self._drop_reason = None
            return True

    def _uninstall(self, link: Link) -> None:
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
            return CLOSED_BY_CLIENT if self._closing else f"connection lost in on_open: {exc}"
        except Exception as exc:
            if self._closing:
                return CLOSED_BY_CLIENT
            self._callback_errors += 1
            logger.exception("%s: on_open raised; reconnecting", self._name)
            return f"on_open raised {type(exc).__name__}"
        return CLOSED_BY_CLIENT if self._closing else None

    def _mark_open(self, live: Liveness) -> None:
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
        failure: ConnectFailure | None = None,
    ) -> None:
        if self._on_state is None:
            return
        event = ConnectionEvent(
            kind, self._name, reason, will_retry, next_attempt_in, failed_attempts,
            None if failure is None else failure.error(),
        )  # fmt: skip
        self._call_safely("on_state", self._on_state, event)
