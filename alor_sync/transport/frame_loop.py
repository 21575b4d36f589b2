"""Serving one open link: frames out to callbacks, heartbeats, health.

Rules of this module:

* Owns what happens between a connection's ``on_open`` and its end: reading frames and handing
  text frames to ``on_frame`` (the per-frame hot path), answering pings, the heartbeat and pong
  timers (:class:`Liveness`) and the health check that resets the backoff.
* Everything here runs on the thread whose turn it is to read the link: the connection thread,
  or a dispatch worker it lent the reading to (:mod:`alor_sync.transport.read_turns`; one
  thread at a time, each hand-over through a lock), except :meth:`FrameLoop._set_healthy`,
  which ``mark_healthy`` may call from any thread. :class:`FrameLoop` is the half of
  :class:`~alor_sync.transport.connection.ReconnectingWebSocket` that serves a link; the
  attributes it uses are declared below and set by that class.
* Callbacks can never kill the thread: their exceptions are counted and logged. Frame contents
  are logged at DEBUG only.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable

import attrs

from alor_sync.errors import MalformedFrameError
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.failures import describe_close, describe_error
from alor_sync.transport.link import DATA_OPCODES, OP_CLOSE, OP_PING, OP_PONG, Link, StalledRead
from alor_sync.transport.read_turns import Lender, ReadTurn

__all__ = ["CLOSED_BY_CLIENT", "FrameLoop", "Liveness"]

logger = logging.getLogger("alor_sync.transport")
_debug_enabled = functools.partial(logger.isEnabledFor, logging.DEBUG)

CLOSED_BY_CLIENT = "closed by the client"


@attrs.define
class Liveness:
    """Heartbeat timers of the current connection (reading thread only; monotonic seconds)."""

    opened_at: float
    next_ping_at: float | None
    pong_deadline: float | None = None
    next_due: float = math.inf  # earliest of the timers above (may be early, never late)
    frames_seen: int = 0
    healthy: bool = False


class FrameLoop:
    """Reads one open link until it ends (the reading thread); see the module rules."""

    # Configuration, set once by the subclass's constructor.
    _name: str
    _url: str
    _safe_url: str
    _query: str
    _on_frame: Callable[[str], None]
    _on_malformed_frame: Callable[[MalformedFrameError], None] | None
    _on_frames_done: Callable[[], None] | None
    _lender: Lender | None
    _turn: ReadTurn | None  # set while a lender's threads may read the link
    _heartbeat_interval: float | None
    _pong_timeout: float
    _healthy_after: float
    _backoff: Backoff
    _clock: Callable[[], float]
    # Set by other threads to end the loop (``close``/``reconnect``).
    _closing: bool
    _drop_reason: str | None
    # Counters: written by the reading thread only, read unlocked by statistics().
    _failed_attempts: int
    _frames_received: int
    _bytes_received: int
    _malformed_frames: int
    _pings_sent: int
    _pongs_received: int
    _callback_errors: int
    _last_frame_at: float | None
    _last_pong_rtt: float | None

    def _serve(self, link: Link, live: Liveness) -> str:
        """Read until the link ends; returns why it ended. With a lender, its threads take
        turns at reading (:class:`~alor_sync.transport.read_turns.ReadTurn`), each thread then
        handing a read's frames on; this thread reads whenever none of them does."""
        read_once = functools.partial(self._read_once, link, live)
        if self._lender is None:
            while (reason := read_once()) is None:
                pass
            return reason
        link.make_interruptible()
        self._turn = ReadTurn(read_once, self._lender, link.interrupt)
        try:
            return self._turn.serve()
        finally:
            self._turn = None

    def _read_once(self, link: Link, live: Liveness) -> str | None:
        """One wait for bytes, one read, its frames handed on (on the thread whose turn it
        is); returns why the link ended, or None."""
        try:
            if self._closing:
                return CLOSED_BY_CLIENT
            now = self._clock()
            if now >= live.next_due:
                reason = self._on_timers(link, live, now)
                if reason is not None:
                    return reason
            wait = None if live.next_due == math.inf else max(0.0, live.next_due - now)
            if not link.wait_readable(wait):
                return None
            try:
                link.fill()
            except StalledRead:
                return None  # a frame stalled half-way; its bytes are kept, check the timers
            return self._handle_frames(link, live)
        except Exception as exc:
            if not self._closing:
                return self._drop_reason or f"connection lost: {self._describe(exc)}"
        return CLOSED_BY_CLIENT

    def _on_timers(self, link: Link, live: Liveness, now: float) -> str | None:
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

    def _next_due(self, live: Liveness) -> float:
        due = math.inf
        for deadline in (live.next_ping_at, live.pong_deadline):
            if deadline is not None:
                due = min(due, deadline)
        if not live.healthy and live.frames_seen:
            due = min(due, live.opened_at + self._healthy_after)
        return due

    def _check_healthy(self, live: Liveness, now: float) -> None:
        if live.healthy or not live.frames_seen or now - live.opened_at < self._healthy_after:
            return
        self._set_healthy(live)

    def _set_healthy(self, live: Liveness) -> None:
        if live.healthy:
            return
        live.healthy = True
        self._backoff.reset()
        self._failed_attempts = 0

    def _handle_frames(self, link: Link, live: Liveness) -> str | None:
        """Deliver every whole frame read so far; returns a reason when the peer closed.

        The per-frame path is this loop, kept flat (a text frame costs no call but ``on_frame``
        and the decode; the reader's generator cuts it): liveness, the clock and the debug
        switch are looked at once per read.
        """
        on_frame = self._on_frame
        debug = _debug_enabled()
        frames = data_frames = data_bytes = 0
        try:
            for opcode, data in link.frames.whole_frames():
                if self._closing:
                    break
                frames += 1
                if opcode in DATA_OPCODES:
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
                elif opcode == OP_CLOSE:  # not a sign of health: a refusing server does this
                    frames -= 1
                    link.send_close_quietly()
                    return describe_close(data)
                else:
                    self._handle_control(link, opcode, data)
        finally:
            self._frames_received += data_frames
            self._bytes_received += data_bytes
            if frames:
                self._saw_frames(live, frames)
            if data_frames and self._on_frames_done is not None:
                self._call_safely("on_frames_done", self._on_frames_done)
        return None

    def _call_safely(self, what: str, callback: Callable[..., object], *args: object) -> None:
        """Run a callback (``what`` names it): an exception is counted and logged, never
        passed on, so that no callback can kill the reading thread."""
        try:
            callback(*args)
        except Exception:
            self._callback_errors += 1
            logger.exception("%s: %s raised", self._name, what)

    def _saw_frames(self, live: Liveness, count: int) -> None:
        self._last_frame_at = self._clock()
        live.pong_deadline = None  # any frame proves the peer is alive
        first = live.frames_seen == 0
        live.frames_seen += count
        if first:
            live.next_due = self._next_due(live)  # the healthy check is due from now on

    def _handle_control(self, link: Link, opcode: int, data: bytes) -> None:
        if opcode == OP_PING:
            link.pong(data)
        elif opcode == OP_PONG:
            self._pongs_received += 1
            rtt = _round_trip(data, self._clock())
            if rtt is not None:
                self._last_pong_rtt = rtt

    def _report_malformed(self, size: int) -> None:
        self._malformed_frames += 1
        error = MalformedFrameError(f"{self._name}: a {size}-byte frame is not valid UTF-8 text")
        logger.warning("%s", error)
        if self._on_malformed_frame is not None:
            self._call_safely("on_malformed_frame", self._on_malformed_frame, error)

    def _describe(self, exc: BaseException) -> str:
        """An error text fit for logs and events: no headers, bodies or query strings."""
        return describe_error(exc, self._url, self._safe_url, self._query)


def _round_trip(pong_payload: bytes, now: float) -> float | None:
    try:
        return now - float(pong_payload)
    except ValueError:  # an unsolicited pong (RFC 6455 allows them) carries no send time
        return None
