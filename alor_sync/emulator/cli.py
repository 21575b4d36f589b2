"""``alor-sync emulator``: run the emulator in the foreground until Ctrl+C.

Rules of this module:

* Argument parsing and printing only; everything else is ``Emulator``'s.
* Prints the URLs and the emulator's refresh token (a secret of this local emulator only, never of
  a user) and flushes, so scripts can read them from a pipe.
* Exit code 0 on Ctrl+C, 2 on bad arguments (argparse's convention).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence

from alor_sync.emulator.catalogue import catalogue_lines
from alor_sync.emulator.config import EmulatorConfig
from alor_sync.emulator.emulator import Emulator
from alor_sync.emulator.profile import PROFILES
from alor_sync.errors import InvalidArgumentError

__all__ = ["build_parser", "main"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def build_parser(prog: str = "alor-sync emulator") -> argparse.ArgumentParser:
    """The argument parser of the ``emulator`` command."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local ALOR-compatible server with a simulated market.",
        epilog="it serves:\n  " + "\n  ".join(catalogue_lines())
        + "\n\nor, with --replay FILE, the streams of a recording ('alor-sync record').",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="TCP port (0 picks a free one; default 8765)")
    add("--seed", type=int, default=0, help="seed of the simulated market (default 0)")
    add(
        "--speed",
        type=float,
        default=10.0,
        help="market ticks per second (0 = frozen market); with --replay the playback rate "
        "(1 = as recorded, inf = at once)",
    )
    add(
        "--profile",
        choices=sorted(PROFILES),
        default="production",
        help="production (default: 19-digit ids, 272.00, nulls, split frames...) or polite",
    )
    add("--replay", metavar="FILE", help="serve this recording as the market")
    add("--certfile", help="TLS certificate (PEM); with --keyfile serves wss://")
    add("--keyfile", help="TLS private key (PEM)")
    add("--reject-plain-ws", action="store_true", help="answer plain ws:// upgrades with 406")
    add("--refresh-token", help="accept this refresh token instead of a random one")
    add("--token-ttl", type=float, default=1800.0, help="access token lifetime, s (default 1800)")
    add("--max-connections", type=int, default=10, help="connections per user (default 10)")
    add("--max-subscriptions", type=int, default=5000, help="per connection (default 5000)")
    add(
        "--max-backlog",
        type=int,
        default=5000,
        help="unsent frames before a slow reader is dropped",
    )
    add("--ack-first", action="store_true", help="confirm before the snapshot (prod: after)")
    add("--stamp-sequence", action="store_true", help='add "seq":n to every data frame')
    return parser


def _config(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        speed=args.speed,
        certfile=args.certfile,
        keyfile=args.keyfile,
        reject_plain_ws=args.reject_plain_ws,
        refresh_token=args.refresh_token,
        token_ttl=args.token_ttl,
        max_connections=args.max_connections,
        max_subscriptions=args.max_subscriptions,
        max_backlog=args.max_backlog,
        ack_first=args.ack_first,
        stamp_sequence=args.stamp_sequence,
        profile=args.profile,
        replay=args.replay,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted; returns the process exit code."""
    started = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        emulator = Emulator(_config(args))
    except (InvalidArgumentError, OSError) as exc:
        parser.error(str(exc))
    stop = threading.Event()
    # Handlers instead of KeyboardInterrupt: a shell starts background jobs with SIGINT ignored.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    with emulator:
        print(f"alor-sync emulator ready in {time.monotonic() - started:.2f} s", flush=True)
        print(f"  ws:            {emulator.ws_url}")
        print(f"  cws:           {emulator.cws_url}")
        print(f"  refresh:       POST {emulator.oauth_url}")
        print(f"  refresh token: {emulator.refresh_token}")
        print(f"  profile:       {emulator.config.profile.name}")
        if args.replay:
            print(f"  replaying:     {args.replay} at speed {args.speed:g}")
            for stream in emulator.replayed_streams():
                print(f"    {stream.opcode} {stream.exchange}:{stream.key} ({stream.format})")
        else:
            for line in catalogue_lines():
                print(f"  {line}")
        print("Press Ctrl+C to stop.", flush=True)
        while not stop.wait(3600):
            pass
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    print("alor-sync emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
