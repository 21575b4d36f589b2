"""``alor-sync record KIND KEY [KIND KEY ...] --out FILE``: record a live session for replay.

Rules of this module:

* The kinds and their parameters are ``stream``'s (:data:`alor_sync.cli.stream.KINDS`); a flag
  goes to the kinds it applies to and is never an error for the others, since one recording
  usually mixes kinds.
* The file is written by :class:`alor_sync.recording.recorder.Recorder`; the main thread only
  waits for ``--count``, ``--duration``, a rejection or Ctrl+C, and the file is finished (its
  trailer written) in every case, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from alor_sync.cli.connect import open_client, open_target
from alor_sync.cli.console import Console
from alor_sync.cli.parsing import UsageError, non_negative_int, positive_float, positive_int
from alor_sync.cli.stream import KINDS, build_params, wait_until_done
from alor_sync.recording.recorder import Recorder
from alor_sync.recording.tape import RecordedStream

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  alor-sync record quotes SBER order-book SBER --out sber.jsonl.gz --duration 3600
  alor-sync record all-trades GAZP --depth 50 --count 1000 --out gazp.jsonl.gz
  alor-sync record quotes SBER --emulator --count 20 --out demo.jsonl.gz
  alor-sync emulator --replay sber.jsonl.gz --speed 1     serve it as the market

The file is gzip-compressed JSON lines: a versioned header naming the streams, one line per
payload with its receive time, and a trailer; 'alor-sync emulator --replay FILE' serves it.
"""

_STREAM_FLAGS = ("depth", "tf", "from_time", "frequency", "skip_history")


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "record",
        parents=parents,
        help="record live streams into a file the emulator can replay",
        description="Subscribe to streams and record every payload with its receive time.",
        epilog=EPILOG,
    )
    parser.add_argument(
        "pairs", nargs="+", metavar="KIND KEY", help=f"kinds: {', '.join(sorted(KINDS))}"
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="the recording to write (.jsonl.gz)"
    )
    parser.add_argument("--exchange", default="MOEX", help="MOEX (default) or SPBX")
    parser.add_argument("--format", default="Simple", help="Simple (default), Slim or Heavy")
    parser.add_argument("--count", type=positive_int, metavar="N", help="stop after N payloads")
    parser.add_argument("--duration", type=positive_float, metavar="S", help="stop after S s")
    opts = parser.add_argument_group("stream parameters (for the kinds they apply to)")
    opts.add_argument("--depth", type=non_negative_int, help="order-book levels / trades history")
    opts.add_argument("--frequency", type=non_negative_int, metavar="MS", help="conflation")
    opts.add_argument("--tf", type=int, help="bars: timeframe in seconds (default 60)")
    opts.add_argument("--from", dest="from_time", type=int, metavar="UNIX", help="bars: start")
    opts.add_argument("--skip-history", action="store_true", default=None, help="no snapshot")
    parser.set_defaults(handler=run)


def streams_of(args: argparse.Namespace) -> list[RecordedStream]:
    """The streams named by ``KIND KEY`` pairs, with the flags that apply to each."""
    pairs: list[str] = args.pairs
    if len(pairs) % 2:
        raise UsageError("give streams as KIND KEY pairs, e.g. quotes SBER order-book SBER")
    streams: list[RecordedStream] = []
    for index in range(0, len(pairs), 2):
        name, key = pairs[index], pairs[index + 1]
        kind = KINDS.get(name)
        if kind is None:
            raise UsageError(f"unknown kind {name!r}; kinds: {', '.join(sorted(KINDS))}")
        own = argparse.Namespace(**vars(args))
        own.kind = name
        for dest in ("board", "split_adjust", "include_virtual_trades", "order_statuses"):
            setattr(own, dest, None)
        for dest in _STREAM_FLAGS:
            if dest not in kind.flags:
                setattr(own, dest, None)
        params = build_params(kind, own)
        exchange, fmt = params.pop("exchange"), params.pop("format")
        streams.append(RecordedStream(len(streams), kind.opcode.value, key, exchange, fmt, params))
    return streams


def run(args: argparse.Namespace, console: Console) -> int:
    streams = streams_of(args)
    done = threading.Event()

    def counted(total: int) -> None:
        if args.count is not None and total >= args.count:
            done.set()

    console.rejections_reported = True
    with (
        open_target(args, console) as target,
        open_client(target, console) as client,
        Recorder(client, args.out, streams, on_frame=counted) as recorder,
    ):
        wait_until_done(done, recorder.subscriptions, args.duration)
        frames = recorder.frames
    console.progress(f"recorded {frames} payloads of {len(streams)} streams into {args.out}")
    return 0
