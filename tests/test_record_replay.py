"""Record a session from the emulator, replay it, and get the very same typed deliveries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator
from alor_sync.recording.recorder import PORTFOLIO_OPCODES, Recorder
from alor_sync.recording.tape import RecordedStream, read_recording
from tests.client_helpers import WAIT, running
from tests.client_helpers import Recorder as Deliveries
from tests.test_cli_support import run_cli, urls

STREAMS = [
    RecordedStream(0, "QuotesSubscribe", "SBER", "MOEX", "Slim"),
    RecordedStream(1, "OrderBookGetAndSubscribe", "GAZP", "MOEX", "Heavy", {"depth": 5}),
    RecordedStream(2, "AllTradesGetAndSubscribe", "SBER", "MOEX", "Simple", {"depth": 20}),
    RecordedStream(3, "PositionsGetAndSubscribeV2", "D39004", "MOEX", "Simple"),
]


def subscribe_typed(
    client: AlorClient, stream: RecordedStream, callback: Callable[[Any], None]
) -> Any:
    key = "portfolio" if stream.opcode in PORTFOLIO_OPCODES else "code"
    return client.subscribe(
        stream.opcode, callback, conflate=False, exchange=stream.exchange, format=stream.format,
        **{key: stream.key}, **stream.params,
    )  # fmt: skip


def emulator_frames(emu: Emulator, path: str) -> dict[str, int]:
    """opcode -> frames the emulator sent to the connections on ``path``."""
    sent: dict[str, int] = {}
    for connection in emu.connections():
        if connection.path == path:
            for sub in connection.subscriptions:
                sent[sub.opcode] = sent.get(sub.opcode, 0) + sub.frames
    return sent


def test_replay_of_a_recording_delivers_what_the_live_session_delivered(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    live = {s.id: Deliveries() for s in STREAMS}
    # The production profile (the default) rewrites each subscriber's frames differently;
    # typed values must come out the same anyway. conflation=False: every change is a frame.
    with (
        Emulator(speed=0, conflation=False) as emu,
        running(emu) as recording_client,
        running(emu) as watching_client,
    ):
        written = Deliveries()
        recorder = Recorder(recording_client, path, STREAMS, on_frame=written)
        subs = [subscribe_typed(watching_client, s, live[s.id]) for s in STREAMS]
        for sub in (*subs, *recorder.subscriptions):
            sub.wait_active(WAIT)
        emu.tick(40)
        with emu.venue() as hub:
            order = {"guid": "m", "side": "buy", "quantity": 2,
                     "instrument": {"symbol": "SBER", "exchange": "MOEX"},
                     "user": {"portfolio": "D39004"}}  # fmt: skip
            assert hub.account.execute("create:market", order).http_code == 200
        emu.tick(20)
        for stream in STREAMS:  # each client received all the emulator sent it
            assert live[stream.id].wait_for(
                lambda items, s=stream: (
                    len(items) == emulator_frames(emu, "/ws").get(s.opcode, 0) // 2
                )
            )
        expected_total = sum(len(d.items) for d in live.values())
        assert written.wait_count(expected_total)  # the recording client got them all too
        assert recorder.frames == expected_total
        recorder.close()
    recording = read_recording(path)
    assert len(recording.frames) == expected_total
    assert all(len(recording.frames_of(s.id)) == len(live[s.id].items) > 0 for s in STREAMS)

    replayed = {s.id: Deliveries() for s in STREAMS}
    with Emulator(replay=path, speed=float("inf")) as emu, running(emu) as client:
        for stream in STREAMS:
            subscribe_typed(client, stream, replayed[stream.id])
        for stream in STREAMS:
            assert replayed[stream.id].wait_count(len(live[stream.id].items))
        assert emu.wait_replayed(WAIT)
    for stream in STREAMS:
        assert replayed[stream.id].items == live[stream.id].items, stream.opcode


def test_record_command_writes_a_recording_the_emulator_replays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cli.jsonl.gz"
    with Emulator(speed=20) as emu:
        monkeypatch.setenv("ALOR_REFRESH_TOKEN", emu.refresh_token)
        argv = ["record", "quotes", "SBER", "order-book", "GAZP", "--depth", "3", "--count", "6"]
        result = run_cli(capsys, [*argv, "--out", str(path), *urls(emu)])
    assert result.code == 0, result.err
    assert "recorded" in result.err and str(path) in result.err
    recording = read_recording(path)
    assert [(s.opcode, s.key, dict(s.params)) for s in recording.streams] == [
        ("QuotesSubscribe", "SBER", {}),
        ("OrderBookGetAndSubscribe", "GAZP", {"depth": 3}),
    ]
    assert len(recording.frames) >= 6
    with Emulator(replay=path, speed=float("inf")) as emu, running(emu) as client:
        books = Deliveries()
        client.subscribe_order_book("GAZP", books, depth=3, conflate=False)
        assert books.wait_count(len(recording.frames_of(1)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["record", "quotes", "--out", "x"], "KIND KEY pairs"),
        (["record", "movies", "SBER", "--out", "x"], "unknown kind 'movies'"),
    ],
)
def test_record_command_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    result = run_cli(capsys, [*argv, "--emulator"])
    assert result.code == 2 and message in result.err
