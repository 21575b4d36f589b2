"""``alor-sync emulator``: --help and the banner say what is served; --profile and --replay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from alor_sync.emulator.cli import build_parser
from alor_sync.recording.tape import RecordedStream, RecordingWriter

SERVED = ("D39004 (stock: MOEX, SPBX)", "G39004 (FX: MOEX)", "7500PUQ (derivatives: MOEX)",
          "MOEX:SBER", "MOEX:GAZP", "MOEX:SU26238RMFS4", "MOEX:RU000A1082K7",
          "MOEX:SiZ6 (future, RFUD, alias Si-12.26)", "SPBX:AAPL")  # fmt: skip


def banner(*arguments: str) -> list[str]:
    """The start-up lines of ``alor-sync emulator ARGS`` (stopped with SIGINT once printed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "alor_sync.emulator.cli", "--port", "0", *arguments],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl+C"):
            line = process.stdout.readline()
            assert line, f"the emulator ended early: {lines}"
            lines.append(line)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        return lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_help_names_the_portfolios_and_instruments() -> None:
    text = " ".join(build_parser().format_help().split())
    assert all(item in text for item in SERVED), text
    assert "--replay FILE" in text and "--profile {polite,production}" in text


def test_banner_names_the_profile_portfolios_and_instruments() -> None:
    text = "".join(banner("--speed", "0", "--profile", "polite"))
    assert "profile:       polite" in text
    assert all(item in text for item in SERVED), text


def test_banner_of_a_replay_names_the_recorded_streams(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    streams = [RecordedStream(0, "QuotesSubscribe", "YNDX", "MOEX", "Slim")]
    with RecordingWriter(path, streams) as writer:
        writer.write(0, {"sym": "YNDX"})
    text = "".join(banner("--replay", str(path), "--speed", "1"))
    assert f"replaying:     {path} at speed 1" in text
    assert "QuotesSubscribe MOEX:YNDX (Slim)" in text
    assert "profile:       production" in text  # the default


def test_a_bad_recording_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"nope")
    result = subprocess.run(
        [sys.executable, "-m", "alor_sync.emulator.cli", "--port", "0", "--replay", str(bad)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not a recording" in result.stderr
