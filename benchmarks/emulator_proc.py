"""The emulator in its own process, driven over stdin/stdout, so that its threads never share the
benchmarked client's GIL or CPU account.

Run as ``python -m benchmarks.emulator_proc [--max-subscriptions N] [--speed S]``. It prints one
JSON line with ``ws_url``, ``cws_url``, ``oauth_url`` and ``refresh_token``, then answers one JSON
line per command line: ``drop`` (cut every ``/ws`` connection without a close frame),
``stats`` (the emulator's counters), ``blast <guid> <count>`` (send copies of a subscription's
last frame as fast as the client reads; answers the emulator's rate). EOF on stdin stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from alor_sync.emulator import Emulator


def _serve(emu: Emulator) -> None:
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "drop":
            answer: dict[str, object] = {"dropped": emu.faults.drop_connections("eof", path="/ws")}
        elif words[0] == "stats":
            stats = emu.statistics()
            answer = {"subscriptions": stats.subscriptions, "connections": stats.connections_open}
        elif words[0] == "blast":
            guid, count = words[1], int(words[2])
            started = time.perf_counter()
            sent = emu.blast(guid, count, timeout=60)
            answer = {"sent": sent, "seconds": time.perf_counter() - started}
        else:
            answer = {"error": f"unknown command {words[0]!r}"}
        print(json.dumps(answer), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-subscriptions", type=int, default=5000)
    parser.add_argument("--speed", type=float, default=0.0)
    args = parser.parse_args()
    with Emulator(speed=args.speed, max_subscriptions=args.max_subscriptions) as emu:
        urls = {
            "ws_url": emu.ws_url,
            "cws_url": emu.cws_url,
            "oauth_url": emu.oauth_url,
            "refresh_token": emu.refresh_token,
        }
        print(json.dumps(urls), flush=True)
        _serve(emu)


if __name__ == "__main__":
    main()
