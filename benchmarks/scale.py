"""Target 4: thousands of quiet subscriptions on one connection, and more than one connection holds.

Run by ``run.py`` in a fresh interpreter (``python -m benchmarks.scale --subs N ...``, one JSON
line on stdout) so that memory and CPU figures are this client's alone; the emulator runs in yet
another process (``benchmarks.emulator_proc``).

Rules of this module:

* Subscriptions are quotes of one instrument with distinct ``frequency`` values, so every one is
  its own server subscription (identical requests would be shared) and, with the market frozen
  (``speed=0``), quiet after its snapshot.
* Memory is the growth of Python allocations (``tracemalloc``) and of the resident set from the
  connected client to the client holding every subscription confirmed, divided by their number.
* Idle CPU is the process CPU time (all threads) over a quiet stretch, as a share of one core.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from typing import Any

from alor_sync import AlorClient
from alor_sync.events import ConnectionChange, ResubscribeReport

__all__ = ["EmulatorProcess", "measure_scale", "measure_spread"]

_WAIT = 120.0


class EmulatorProcess:
    """``benchmarks.emulator_proc`` in a child process; stop it with :meth:`close`."""

    def __init__(self, *, max_subscriptions: int = 5000) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.emulator_proc",
             "--max-subscriptions", str(max_subscriptions)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )  # fmt: skip
        self.urls: dict[str, str] = self._read()

    def _read(self) -> Any:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process ended unexpectedly")
        return json.loads(line)

    def command(self, text: str) -> Any:
        assert self._proc.stdin is not None
        self._proc.stdin.write(text + "\n")
        self._proc.stdin.flush()
        return self._read()

    def client(self, **options: Any) -> AlorClient:
        urls = self.urls
        return AlorClient(
            urls["refresh_token"], ws_url=urls["ws_url"], cws_url=urls["cws_url"],
            oauth_url=urls["oauth_url"], **options,
        )  # fmt: skip

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(30)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Resubscribed:
    """Records when every subscription of a connection was confirmed again after a drop."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reports: list[tuple[float, ResubscribeReport]] = []
        self.disconnected_at: float | None = None

    def on_resubscribed(self, report: ResubscribeReport) -> None:
        self.reports.append((time.monotonic(), report))
        self.done.set()

    def on_disconnect(self, change: ConnectionChange) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()


def _subscribe_quiet(client: AlorClient, count: int) -> float:
    started = time.monotonic()
    handles = [client.subscribe_quotes("SBER", _no_op, frequency=25 + n) for n in range(count)]
    for handle in handles:
        handle.wait_active(_WAIT)
    return time.monotonic() - started


def _no_op(item: object) -> None:
    pass


def measure_scale(subs: int, idle_seconds: float) -> dict[str, Any]:
    """Memory, idle CPU and re-subscription time of ``subs`` quiet subscriptions on one
    connection (default client settings).

    Two clients in turn: the first measures the resident set (no tracing, whose own bookkeeping
    would swell it), idle CPU and the re-subscription; the second the traced allocations.
    """
    emulator = EmulatorProcess(max_subscriptions=max(5000, subs))
    try:
        result = _rss_idle_and_resubscribe(emulator, subs, idle_seconds)
        result["bytes_per_subscription_traced"] = _traced_memory(emulator, subs) / subs
    finally:
        emulator.close()
    return result


def _rss_idle_and_resubscribe(
    emulator: EmulatorProcess, subs: int, idle_seconds: float
) -> dict[str, Any]:
    events = _Resubscribed()
    with emulator.client(
        on_resubscribed=events.on_resubscribed, on_disconnect=events.on_disconnect
    ) as client:
        assert client.wait_connected(_WAIT)
        gc.collect()
        rss_before = _rss_bytes()
        subscribe_seconds = _subscribe_quiet(client, subs)
        gc.collect()
        rss = _rss_bytes() - rss_before
        idle = _idle_cpu(idle_seconds)
        dropped_at = time.monotonic()
        emulator.command("drop")
        if not events.done.wait(_WAIT):
            raise RuntimeError("the subscriptions were not re-established")
        confirmed_at, report = events.reports[0]
        backoff = client.statistics().connection.backoff_delay
    return {
        "subscriptions": subs,
        "subscribe_seconds": subscribe_seconds,
        "bytes_per_subscription_rss": rss / subs,
        "idle_cpu_share": idle,
        "idle_seconds": idle_seconds,
        "resubscribed": report.count,
        "resubscribe_seconds": confirmed_at - dropped_at,
        "reconnect_wait_seconds": backoff or 0.0,
    }


def _traced_memory(emulator: EmulatorProcess, subs: int) -> int:
    """Bytes of Python allocations ``subs`` confirmed subscriptions keep alive."""
    with emulator.client() as client:
        assert client.wait_connected(_WAIT)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            _subscribe_quiet(client, subs)
            time.sleep(0.5)  # the last snapshots leave the dispatcher
            gc.collect()
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()


def _idle_cpu(seconds: float) -> float:
    """Process CPU time (every thread) over ``seconds`` of quiet, as a share of one core."""
    time.sleep(1.0)  # let the last snapshots and confirmations settle
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (time.monotonic() - wall)


def measure_spread(subs: int, per_connection: int) -> dict[str, Any]:
    """``subs`` subscriptions with ``per_connection`` allowed on each connection (the emulator
    enforces the same cap): how many connections the client opened and how they are filled."""
    emulator = EmulatorProcess(max_subscriptions=per_connection)
    try:
        with emulator.client(max_subscriptions_per_connection=per_connection) as client:
            assert client.wait_connected(_WAIT)
            seconds = _subscribe_quiet(client, subs)
            stats = client.statistics()
            server = emulator.command("stats")
    finally:
        emulator.close()
    return {
        "subscriptions": subs,
        "per_connection": per_connection,
        "seconds": seconds,
        "connections": len(stats.connections),
        "per_connection_counts": list(stats.subscriptions_per_connection),
        "server_subscriptions": server["subscriptions"],
        "server_connections": server["connections"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subs", type=int, default=5000)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--spread-subs", type=int, default=12000)
    parser.add_argument("--spread-per-connection", type=int, default=5000)
    args = parser.parse_args()
    result = {
        "scale": measure_scale(args.subs, args.idle_seconds),
        "spread": measure_spread(args.spread_subs, args.spread_per_connection),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
