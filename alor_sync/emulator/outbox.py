"""Per-connection outgoing queue and the thread that writes it: where a slow reader shows up.

Rules of this module:

* Every frame a connection sends (data, confirmations, replies, close) goes through its outbox, in
  push order; producers never touch the socket, so the market and the request handler never block
  on a slow client.
* The backlog is every frame pushed and not yet written to the socket (queued plus the batch in
  flight). When it passes ``max_backlog`` the queue is discarded and the connection is closed with
  code 1008; if the close handshake cannot finish (the reader is stuck) the TCP connection is cut.
* ``push`` may be called from any thread, including inside the venue lock: it only appends and
  notifies (or, when the production profile's drop plan says so, ends the connection).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed

from alor_sync.emulator.connection import EmulatorConnection, Splitter
from alor_sync.emulator.frames import DATA_PREFIX
from alor_sync.emulator.liberties import DropPlan

__all__ = ["BinaryFrame", "Outbox"]

logger = logging.getLogger(__name__)

BATCH = 256  # frames written per sendall at most (and never more than a tenth of the backlog)
OVERFLOW_CODE = 1008
OVERFLOW_REASON = "Too many unsent messages: the client reads too slowly"


class BinaryFrame(bytes):
    """A frame to send as a binary WebSocket frame (only faults do that)."""


class _Close:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


Item = bytes | _Close


class Outbox:
    """Frames waiting for one connection; written by thread ``alor-sync-emulator-send-N``."""

    def __init__(
        self,
        conn: EmulatorConnection,
        *,
        number: int,
        max_backlog: int,
        on_overflow: Callable[[], None],
        split: Splitter | None = None,
        drops: DropPlan | None = None,
    ) -> None:
        self._conn = conn
        self._split = split
        self._drops = drops
        self._data_frames = 0
        self._max_backlog = max_backlog
        self._batch = max(1, min(BATCH, max_backlog // 10))
        self._on_overflow = on_overflow
        self._lock = threading.Lock()
        self._has_items = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._queue: deque[Item] = deque()
        self._inflight = 0
        self._drain_waiters = 0
        self._closing = False
        self._finished = False
        self.overflowed = False
        self.frames_sent = 0
        self.frames_dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"alor-sync-emulator-send-{number}")

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    @property
    def closing(self) -> bool:
        """True once the connection is being closed (nothing more is written)."""
        return self._closing

    @property
    def backlog(self) -> int:
        """Frames pushed and not yet written to the socket."""
        with self._lock:
            return len(self._queue) + self._inflight

    def push(self, frame: bytes) -> bool:
        """Queue one frame; any thread. False (frame dropped) once the connection is closing."""
        overflow = dropping = False
        with self._lock:
            if self._closing:
                self.frames_dropped += 1
                return False
            self._queue.append(frame)
            if len(self._queue) + self._inflight > self._max_backlog:
                overflow = self._start_closing(OVERFLOW_CODE, OVERFLOW_REASON)
                self.overflowed = True
            elif self._drops is not None and frame.startswith(DATA_PREFIX):
                self._data_frames += 1
                dropping = self._data_frames >= self._drops.after_frames
            self._has_items.notify()
        if overflow:
            logger.info("emulator dropping a slow reader (backlog over %d)", self._max_backlog)
            self._on_overflow()
        if dropping:
            self._drop()
        return not overflow

    def _drop(self) -> None:
        """End the connection on the server's own initiative (the production profile)."""
        assert self._drops is not None
        mode, code, reason = self._drops.how
        logger.info("emulator ending a connection on its own (%s %d)", mode, code)
        if mode == "close":
            self.close(code, reason)
        else:
            self._conn.abort("reset")

    def close(self, code: int, reason: str) -> None:
        """Discard what is queued and close the connection with a close frame; any thread."""
        with self._lock:
            if self._start_closing(code, reason):
                self._has_items.notify()

    def finish(self) -> None:
        """Stop the writer without a close frame (the connection is gone) and join it."""
        with self._lock:
            self._closing = True
            self._finished = True
            self.frames_dropped += len(self._queue)
            self._queue.clear()
            self._has_items.notify()
            self._drained.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def wait_below(self, limit: int, timeout: float | None = None) -> bool:
        """Block until the backlog is below ``limit``; False on timeout or when closing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._drain_waiters += 1
            try:
                while len(self._queue) + self._inflight >= limit and not self._closing:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._drained.wait(remaining)
                return not self._closing
            finally:
                self._drain_waiters -= 1

    def _start_closing(self, code: int, reason: str) -> bool:
        """Replace the queue by a close request (caller holds the lock); False if closing."""
        if self._closing:
            return False
        self._closing = True
        self.frames_dropped += len(self._queue)
        self._queue.clear()
        self._queue.append(_Close(code, reason))
        self._drained.notify_all()
        return True

    def _take(self) -> list[Item] | None:
        with self._lock:
            while not self._queue:
                if self._finished or (self._closing and self._inflight == 0):
                    return None
                self._has_items.wait()
            if len(self._queue) <= self._batch:
                batch = list(self._queue)
                self._queue.clear()
            else:
                batch = [self._queue.popleft() for _ in range(self._batch)]
            self._inflight = len(batch)
            return batch

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                written, closed = self._write(batch)
                with self._lock:
                    self._inflight = 0
                    self.frames_sent += written
                    self.frames_dropped += len(batch) - written - closed
                    if self._drain_waiters:
                        self._drained.notify_all()
                if closed:
                    return
        except (ConnectionClosed, OSError):
            pass  # the peer went away; the connection thread cleans up
        except Exception:
            logger.exception("emulator writer failed")
        finally:
            with self._lock:
                self._closing = True
                self._inflight = 0
                self._drained.notify_all()

    def _write(self, batch: list[Item]) -> tuple[int, bool]:
        """Write a batch: (frames written, whether a close request ended the connection).

        A frozen connection writes nothing (the frames count as dropped) but keeps going.
        """
        conn = self._conn
        if conn.frozen:
            return 0, False
        texts: list[bytes] = []
        split = self._split
        for index, item in enumerate(batch):
            if isinstance(item, _Close):
                conn.send_texts(texts, split)
                conn.close(item.code, item.reason)
                return index, True
            if type(item) is BinaryFrame:
                conn.send_texts(texts, split)
                conn.send_binary_frame(item)
                texts = []
            else:
                texts.append(item)
        conn.send_texts(texts, split)
        return len(batch), False
