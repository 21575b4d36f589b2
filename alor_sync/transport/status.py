"""What a transport tells its owner: its state, its lifecycle events and its statistics.

Rules of this module:

* Plain values only (enums and frozen attrs classes): no I/O, no threads, no websocket-client.
  :class:`~alor_sync.transport.connection.ReconnectingWebSocket` builds them on its connection
  thread (events) or on the caller's thread (statistics); they are safe to pass between threads.
* Nothing here carries a secret: reasons and errors are already redacted by their builders.
"""

from __future__ import annotations

import enum

import attrs

from alor_sync.errors import ConnectFailedError

__all__ = ["ConnectionEvent", "ConnectionEventKind", "TransportState", "TransportStatistics"]


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
