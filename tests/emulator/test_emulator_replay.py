"""Replay: a recording served as the market, through the same subscriptions, on its timeline."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peer import connect

from alor_sync.emulator import Emulator
from alor_sync.recording.tape import RecordedStream, RecordingError, RecordingWriter

QUOTES = RecordedStream(0, "QuotesSubscribe", "SBER", "MOEX", "Simple")
BOOK = RecordedStream(1, "OrderBookGetAndSubscribe", "SBER", "MOEX", "Slim", {"depth": 5})
POSITIONS = RecordedStream(2, "PositionsGetAndSubscribeV2", "D39004", "MOEX", "Heavy")
QUOTE_REQUEST = {"opcode": "QuotesSubscribe", "code": "SBER", "exchange": "MOEX", "guid": "q"}
BOOK_REQUEST = {
    "opcode": "OrderBookGetAndSubscribe", "code": "sber", "exchange": "MOEX", "format": "slim",
    "depth": 5, "guid": "b",
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """Quotes 1..4 every 0.1 s, book frames 10, 11 in between, one position."""
    path = tmp_path / "session.jsonl.gz"
    clock = Clock()
    with RecordingWriter(path, [QUOTES, BOOK, POSITIONS], clock=clock) as writer:
        for n in range(1, 5):
            writer.write(QUOTES.id, {"symbol": "SBER", "last_price": n})
            if n in (2, 3):
                writer.write(BOOK.id, {"b": [{"p": 10 + n, "v": 1}], "a": [], "t": n, "h": n == 2})
            clock.now += 0.1
        writer.write(POSITIONS.id, {"symbol": "SBER", "qtyUnits": 10})
    return path


@pytest.fixture
def manual(recording: Path) -> Iterator[Emulator]:
    with Emulator(replay=recording, speed=0, profile="polite") as emu:
        yield emu


def values(frames: list[dict[str, Any]], key: str) -> list[Any]:
    return [f["data"].get(key) for f in frames if "data" in f]


def test_manual_replay_releases_frames_by_tick(manual: Emulator) -> None:
    with connect(manual.ws_url) as peer:
        token = manual.issue_token()
        assert peer.subscribe(token, **QUOTE_REQUEST) == []  # nothing released yet
        manual.tick(2)  # quote 1, quote 2
        assert values([peer.recv(), peer.recv()], "last_price") == [1, 2]
        # A late subscriber gets what its stream released so far at once (the book frame after
        # quote 2 is the third frame: not released yet), then the rest as released.
        assert peer.subscribe(token, **BOOK_REQUEST) == []
        manual.tick(1)
        book = peer.recv()
        assert book["guid"] == "b" and book["data"]["b"] == [{"p": 12, "v": 1}]
        manual.tick(100)  # more than there is: the rest
        assert manual.wait_replayed(5)
        rest = [peer.recv() for _ in range(3)]  # the position is nobody's here
        assert [f["guid"] for f in rest] == ["q", "b", "q"]
        assert values(rest, "last_price")[::2] == [3, 4]
        peer.assert_silent(0.2)


def test_a_subscription_after_the_end_gets_its_whole_stream(manual: Emulator) -> None:
    manual.tick(100)
    with connect(manual.ws_url) as peer:
        before = peer.subscribe(manual.issue_token(), **QUOTE_REQUEST)
    assert values(before, "last_price") == [1, 2, 3, 4]


def test_streams_not_in_the_recording_are_refused(manual: Emulator) -> None:
    with connect(manual.ws_url) as peer:
        token = manual.issue_token()
        peer.send(token=token, **{**QUOTE_REQUEST, "format": "Heavy"})
        reply = peer.recv()
        assert reply["httpCode"] == 400
        assert reply["message"] == "The recording has no QuotesSubscribe of MOEX:SBER in Heavy"
        peer.send(token=token, opcode="QuotesSubscribe", code="YNDX", exchange="MOEX", guid="y")
        assert "MOEX:YNDX" in peer.recv()["message"]
        peer.send(token=token, opcode="QuotesSubscribe", exchange="MOEX", guid="n")
        assert peer.recv()["message"] == "Request message should contain 'code' field!"


def test_account_streams_replay_by_portfolio(manual: Emulator) -> None:
    manual.tick(100)
    with connect(manual.ws_url) as peer:
        before = peer.subscribe(
            manual.issue_token(), opcode="PositionsGetAndSubscribeV2", portfolio="D39004",
            exchange="MOEX", format="Heavy", guid="p",
        )  # fmt: skip
    assert values(before, "qtyUnits") == [10]


def test_timed_replay_keeps_order_and_pace(recording: Path) -> None:
    with Emulator(replay=recording, speed=2.0, profile="polite") as emu, connect(emu.ws_url) as p:
        started = time.monotonic()
        p.send(token=emu.issue_token(), **QUOTE_REQUEST)
        frames = []
        while len(frames) < 4:
            frame = p.recv()
            if "data" in frame:
                frames.append(frame)
        elapsed = time.monotonic() - started
        assert emu.wait_replayed(5)
    assert values(frames, "last_price") == [1, 2, 3, 4]
    assert elapsed >= 0.3 / 2.0 - 0.02  # 0.3 s of recording at twice the speed


def test_replay_refuses_a_bad_file_at_construction(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    bad.write_text(json.dumps({"not": "gzip"}))
    with pytest.raises(RecordingError, match="not a recording"):
        Emulator(replay=bad)


def test_wait_replayed_needs_a_replay() -> None:
    emu = Emulator(speed=0)
    with pytest.raises(ValueError, match="replays no recording"):
        emu.wait_replayed(0)
    emu.stop()


def test_replayed_streams_meet_the_production_profile(recording: Path) -> None:
    with Emulator(replay=recording, speed=float("inf"), seed=3) as emu, connect(emu.ws_url) as p:
        before = p.subscribe(emu.issue_token(), **QUOTE_REQUEST)
        rest = [p.recv() for _ in range(4 - len(before))]
    assert [float(v) for v in values(before + rest, "last_price")] == [1, 2, 3, 4]
