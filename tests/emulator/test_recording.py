"""Recordings: written, read back, and refused with a clear error when wrong or cut short."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from alor_sync.errors import InvalidArgumentError
from alor_sync.recording.tape import (
    RECORDING_VERSION,
    RecordedStream,
    RecordingError,
    RecordingWriter,
    read_recording,
)

STREAMS = [
    RecordedStream(0, "QuotesSubscribe", "SBER", "MOEX", "Simple"),
    RecordedStream(1, "OrderBookGetAndSubscribe", "SBER", "MOEX", "Slim", {"depth": 5}),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write_sample(path: Path) -> None:
    clock = Clock()
    with RecordingWriter(path, STREAMS, clock=clock) as writer:
        writer.write(0, {"symbol": "SBER", "last_price": 257.7})
        clock.now += 0.25
        writer.write(1, b'{"b":[{"p":257.69,"v":40}],"a":[],"t":1,"h":true}')
        clock.now -= 5  # the wall clock jumps back: the recording's time does not
        writer.write(0, {"symbol": "SBER", "id": 2022426556961456082})


def lines_of(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as file:
        return file.read().splitlines()


def rewrite(path: Path, lines: list[bytes]) -> None:
    with gzip.open(path, "wb") as file:
        file.write(b"\n".join(lines) + b"\n")


def test_a_recording_reads_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    write_sample(path)
    recording = read_recording(path)
    assert recording.started == 1000.0
    assert recording.streams == tuple(STREAMS)
    assert [(f.at, f.stream) for f in recording.frames] == [(0.0, 0), (0.25, 1), (0.25, 0)]
    assert orjson.loads(recording.frames[2].payload)["id"] == 2022426556961456082
    assert len(recording.frames_of(0)) == 2
    header = orjson.loads(lines_of(path)[0])
    assert (header["recording"], header["version"]) == ("alor-sync", RECORDING_VERSION)
    assert orjson.loads(lines_of(path)[-1]) == {"end": True, "frames": 3}


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    with RecordingWriter(path, STREAMS) as writer:
        threads = [
            threading.Thread(target=lambda s=s: [writer.write(s % 2, {"n": n}) for n in range(500)])
            for s in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(read_recording(path).frames) == 2000
    writer.write(0, {"late": True})  # after close: ignored, the file stays complete
    assert len(read_recording(path).frames) == 2000


def test_writer_refuses_unknown_streams(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="distinct ids"):
        RecordingWriter(tmp_path / "x", [STREAMS[0], STREAMS[0]])
    with RecordingWriter(tmp_path / "y", STREAMS) as writer, pytest.raises(InvalidArgumentError):
        writer.write(7, {})


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines[:-1], "truncated after 3 frames"),
        (lambda lines: [b'{"recording":"other","version":1}', *lines[1:]], "not an alor-sync"),
        (lambda lines: [lines[0].replace(b'"version":1', b'"version":9'), *lines[1:]],
         "recording version 9; this alor-sync reads version 1"),
        (lambda lines: [lines[0], b"[0.5,0,{}", *lines[2:]], r":2: not JSON"),
        (lambda lines: [lines[0], b'[0.5,9,{"a":1}]', *lines[2:]], "unknown stream 9"),
        (lambda lines: [lines[0], b'[9.0,0,{}]', *lines[2:]], ":3: time goes back"),
        (lambda lines: [*lines[:-1], b'{"end":true,"frames":7}'], "trailer that does not match"),
        (lambda lines: [*lines, b'[1.0,0,{}]'], "lines after the trailer"),
        (lambda lines: [lines[0], b'"frame"', *lines[2:]], "not a frame"),
        (lambda lines: [], "empty"),
    ],
)  # fmt: skip
def test_damaged_recordings_get_a_clear_error(
    tmp_path: Path, damage: Callable[[list[bytes]], list[bytes]], message: str
) -> None:
    path = tmp_path / "r.jsonl.gz"
    write_sample(path)
    rewrite(path, damage(lines_of(path)))
    with pytest.raises(RecordingError, match=message):
        read_recording(path)


def test_files_that_are_not_recordings(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("hello\n")
    with pytest.raises(RecordingError, match="not gzip-compressed"):
        read_recording(plain)
    with pytest.raises(RecordingError, match="no such recording"):
        read_recording(tmp_path / "missing.gz")
    cut = tmp_path / "cut.jsonl.gz"
    write_sample(cut)
    cut.write_bytes(cut.read_bytes()[:-12])  # the gzip stream itself ends mid-way
    with pytest.raises(RecordingError, match="truncated"):
        read_recording(cut)
