"""A recording served as the market: each recorded stream's payloads, on the recorded timeline.

Rules of this module:

* One timeline for the whole recording: it starts with the first subscription and releases the
  frames in recorded order, ``speed`` times as fast as they were received (``inf``: all at once;
  0: only :meth:`ReplayMarket.advance` moves it, one frame per step).
* A subscription gets, at once, every frame of its stream the timeline has already released, then
  each later one as it is released: a late subscriber misses nothing, like a production
  subscription that starts with its history.
* Everything happens under the venue lock (the hub's), like every other frame of a subscription;
  the player thread ``alor-sync-emulator-replay`` (when ``speed > 0``) only waits and releases.
"""

from __future__ import annotations

import math
import threading
import time

from alor_sync.emulator.hub import StreamSub
from alor_sync.emulator.ws_requests import Rejected, ReplayRequest
from alor_sync.recording.tape import RecordedFrame, RecordedStream, Recording

__all__ = ["ReplayMarket"]

StreamKey = tuple[str, str, str, str]


def _key(opcode: str, key: str, exchange: str, fmt: str) -> StreamKey:
    return opcode.lower(), key.upper(), exchange.upper(), fmt.lower()


class ReplayMarket:
    """Serves ``recording``. ``subscribe``, ``advance`` and ``position`` expect the venue lock
    held; ``stream_of`` (immutable tables), ``start``, ``close`` and ``wait_done`` any thread."""

    def __init__(self, recording: Recording, *, speed: float, lock: threading.RLock) -> None:
        self.streams: tuple[RecordedStream, ...] = recording.streams
        self._frames: tuple[RecordedFrame, ...] = recording.frames
        self._offset = self._frames[0].at if self._frames else 0.0
        self._speed = speed
        self._streams = {
            _key(s.opcode, s.key, s.exchange, s.format): s.id for s in recording.streams
        }
        self._indexes: dict[int, list[int]] = {s.id: [] for s in recording.streams}
        for index, frame in enumerate(self._frames):
            self._indexes[frame.stream].append(index)
        self._subs: dict[int, list[StreamSub]] = {s.id: [] for s in recording.streams}
        self._cursor = 0
        self._started: float | None = None
        self._closed = False
        self._changed = threading.Condition(lock)
        self._thread = threading.Thread(target=self._play, name="alor-sync-emulator-replay")

    # -- lifecycle (any thread, without the lock) -------------------------------------------

    def start(self) -> None:
        """Start the player thread (timed playback; nothing to do for ``speed == 0``)."""
        if self._speed > 0:
            self._thread.start()

    def close(self) -> None:
        """Stop the player thread and join it (idempotent)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    # -- what the session and the emulator call ----------------------------------------------

    def stream_of(self, request: ReplayRequest) -> int:
        """The recorded stream ``request`` asks for; :class:`Rejected` when there is none."""
        found = self._streams.get(
            _key(request.opcode, request.key, request.exchange, request.fmt.value)
        )
        if found is None:
            raise Rejected(
                400,
                f"The recording has no {request.opcode} of {request.exchange}:{request.key} "
                f"in {request.fmt.value}",
            )
        return found

    def subscribe(self, sub: StreamSub, stream: int) -> None:
        """Send ``sub`` what its stream has released so far, then the rest as it comes."""
        for index in self._indexes[stream]:
            if index >= self._cursor:
                break
            sub.push(self._frames[index].payload)
        self._subs[stream] = [s for s in self._subs[stream] if s.active]
        self._subs[stream].append(sub)
        if self._started is None:
            self._started = time.monotonic()
            self._changed.notify_all()

    def advance(self, count: int) -> int:
        """Release the next ``count`` frames now; returns how many there were."""
        released = 0
        while released < count and self._cursor < len(self._frames):
            self._release()
            released += 1
        return released

    @property
    def position(self) -> tuple[int, int]:
        """(frames released, frames in the recording)."""
        return self._cursor, len(self._frames)

    def wait_done(self, timeout: float | None) -> bool:
        """Block until every frame was released; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._cursor >= len(self._frames), timeout)

    # -- internals ---------------------------------------------------------------------------

    def _release(self) -> None:
        frame = self._frames[self._cursor]
        self._cursor += 1
        for sub in self._subs[frame.stream]:
            if sub.active:
                sub.push(frame.payload)
        self._changed.notify_all()

    def _due(self) -> float:
        """Monotonic time the next frame is due (timeline started)."""
        assert self._started is not None
        if math.isinf(self._speed):
            return self._started
        return self._started + (self._frames[self._cursor].at - self._offset) / self._speed

    def _play(self) -> None:
        with self._changed:
            while not self._closed:
                if self._started is None or self._cursor >= len(self._frames):
                    self._changed.wait()
                    continue
                delay = self._due() - time.monotonic()
                if delay > 0:
                    self._changed.wait(delay)
                    continue
                self._release()
