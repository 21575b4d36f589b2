"""Recordings of live sessions: what ``alor-sync record`` writes and the emulator replays.

A recording is a gzip-compressed file of JSON lines:

1. a header ``{"recording": "alor-sync", "version": 1, "started": <unix s>, "streams": [...]}``
   where each stream is ``{"id": n, "opcode": ..., "key": ..., "exchange": ..., "format": ...,
   "params": {...}}`` (``key`` is the symbol or the portfolio);
2. one line per received ``data`` payload: ``[<seconds since started>, <stream id>, <payload>]``;
3. a trailer ``{"end": true, "frames": <count>}``, so a file cut short is told from a finished one.

Rules of this module:

* No client and no emulator code: both sides import this module, neither imports the other.
* Loading validates everything (header, version, stream ids, times never going back, the trailer
  and its count) and raises :class:`RecordingError` naming the file and the line at fault.
* :class:`RecordingWriter` is thread-safe: callbacks of several subscriptions write concurrently.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs
import orjson

from alor_sync.errors import InvalidArgumentError

__all__ = [
    "RECORDING_VERSION",
    "RecordedFrame",
    "RecordedStream",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "read_recording",
]

RECORDING_MAGIC = "alor-sync"
RECORDING_VERSION = 1


class RecordingError(InvalidArgumentError):
    """A file is not a recording this version can read, or it is damaged or cut short."""


@attrs.frozen
class RecordedStream:
    """One subscription of a recording."""

    id: int
    opcode: str
    key: str
    exchange: str
    format: str
    params: Mapping[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "opcode": self.opcode,
            "key": self.key,
            "exchange": self.exchange,
            "format": self.format,
            "params": dict(self.params),
        }


@attrs.frozen
class RecordedFrame:
    """One received payload: ``at`` seconds after the recording started, of stream ``stream``."""

    at: float
    stream: int
    payload: bytes  # the ``data`` object as JSON text


@attrs.frozen
class Recording:
    """A whole recording, loaded and validated."""

    started: float
    streams: tuple[RecordedStream, ...]
    frames: tuple[RecordedFrame, ...]

    def frames_of(self, stream_id: int) -> list[RecordedFrame]:
        """The frames of one stream, in order."""
        return [frame for frame in self.frames if frame.stream == stream_id]


class RecordingWriter:
    """Writes a recording; ``write`` may be called from any thread. Use it as a context manager
    (or call :meth:`close`): the trailer that marks the file complete is written on close."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        streams: list[RecordedStream],
        *,
        clock: Any = time.time,
    ) -> None:
        ids = [s.id for s in streams]
        if not streams or len(set(ids)) != len(ids):
            raise InvalidArgumentError("a recording needs one or more streams with distinct ids")
        self.path = Path(path)
        self._clock = clock
        self._ids = frozenset(ids)
        self._lock = threading.Lock()
        self._file = gzip.open(self.path, "wb")  # noqa: SIM115 (closed by close())
        self.started = float(clock())
        self.frames = 0
        self._last = 0.0
        header = {
            "recording": RECORDING_MAGIC,
            "version": RECORDING_VERSION,
            "started": self.started,
            "streams": [s.to_json() for s in streams],
        }
        self._file.write(orjson.dumps(header) + b"\n")

    def write(self, stream_id: int, payload: Any) -> None:
        """Append one payload (a dict, or its JSON text as bytes) received just now."""
        if stream_id not in self._ids:
            raise InvalidArgumentError(f"no stream {stream_id!r} in this recording")
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        with self._lock:
            if self._file.closed:
                return  # a callback racing the end of the recording: nothing more is kept
            # Times never go back in a recording, even if the wall clock does.
            self._last = at = max(self._last, float(self._clock()) - self.started)
            self._file.write(b"[" + repr(round(at, 6)).encode() + b"," + str(stream_id).encode())
            self._file.write(b"," + body + b"]\n")
            self.frames += 1

    def close(self) -> None:
        """Write the trailer and close the file (idempotent)."""
        with self._lock:
            if self._file.closed:
                return
            self._file.write(orjson.dumps({"end": True, "frames": self.frames}) + b"\n")
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Load and validate a recording; :class:`RecordingError` says what is wrong and where."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as file:
            lines = file.read().split(b"\n")
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such recording") from None
    except gzip.BadGzipFile:
        raise RecordingError(f"{path}: not a recording (not gzip-compressed JSON lines)") from None
    except (EOFError, zlib.error):
        raise RecordingError(f"{path}: the recording is truncated (cut off mid-write)") from None
    while lines and not lines[-1].strip():
        lines.pop()
    return _parse(path, lines)


def _parse(path: Path, lines: list[bytes]) -> Recording:
    if not lines:
        raise RecordingError(f"{path}: the file is empty, not a recording")
    header = _json(path, 1, lines[0])
    streams = _header_streams(path, header)
    by_id = {s.id for s in streams}
    frames: list[RecordedFrame] = []
    last = 0.0
    for number, line in enumerate(lines[1:], start=2):
        item = _json(path, number, line)
        if isinstance(item, dict):
            if item.get("end") is not True or item.get("frames") != len(frames):
                raise RecordingError(f"{path}:{number}: a trailer that does not match the frames")
            if number != len(lines):
                raise RecordingError(f"{path}:{number}: lines after the trailer")
            return Recording(float(header["started"]), streams, tuple(frames))
        frame = _frame(path, number, item, by_id, last)
        last = frame.at
        frames.append(frame)
    raise RecordingError(
        f"{path}: the recording is truncated after {len(frames)} frames (no trailer)"
    )


def _json(path: Path, number: int, line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        raise RecordingError(f"{path}:{number}: not JSON (a damaged recording?)") from None


def _header_streams(path: Path, header: Any) -> tuple[RecordedStream, ...]:
    if not isinstance(header, dict) or header.get("recording") != RECORDING_MAGIC:
        raise RecordingError(f"{path}: not an alor-sync recording (no recording header)")
    version = header.get("version")
    if version != RECORDING_VERSION:
        raise RecordingError(
            f"{path}: recording version {version!r}; this alor-sync reads version "
            f"{RECORDING_VERSION}"
        )
    try:
        started = float(header["started"])
        streams = tuple(
            RecordedStream(
                int(s["id"]), str(s["opcode"]), str(s["key"]), str(s["exchange"]),
                str(s["format"]), dict(s.get("params") or {}),
            )
            for s in header["streams"]
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise RecordingError(f"{path}:1: a recording header with missing fields") from None
    if not streams or started < 0:
        raise RecordingError(f"{path}:1: a recording header without streams")
    return streams


def _frame(path: Path, number: int, item: Any, ids: set[int], last: float) -> RecordedFrame:
    if (
        not isinstance(item, list)
        or len(item) != 3
        or not isinstance(item[0], int | float)
        or not isinstance(item[2], dict)
    ):
        raise RecordingError(f"{path}:{number}: not a frame ([seconds, stream id, payload])")
    at, stream = float(item[0]), item[1]
    if stream not in ids:
        raise RecordingError(f"{path}:{number}: frame of unknown stream {stream!r}")
    if at < last:
        raise RecordingError(f"{path}:{number}: time goes back ({at} after {last})")
    return RecordedFrame(at, int(stream), orjson.dumps(item[2]))
