"""Soak run: thousands of messages a second for minutes, through reconnects; the client's memory
and thread count must stay flat and no invariant may break. Not part of the test suite::

    .venv/bin/python -m tests.chaos.soak --minutes 10 --rate 3000 --report soak.txt

Rules of this module:

* The emulator runs in a child process (it keeps market and order history, which grows), so the
  resident memory measured here is the client's alone. The parent drives it over a pipe: flood
  these subscriptions, inject this fault, report.
* The same invariants as the chaos run (:mod:`tests.chaos.checks`): per-subscription order and
  no silent loss (sequence-stamped raw subscriptions), nothing unexpected in ``on_error``, no
  error logged or thread crashed (in either process), every order command accounted for.
* Pacing waits on the stop event, never on a result. Exit code 0 when every check passed, 1
  otherwise; the report is printed (and written with ``--report``).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import multiprocessing
import random
import statistics
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from alor_sync.client import AlorClient
from alor_sync.commands.channel import OrderResult
from alor_sync.data.subscriptions import Subscription
from alor_sync.errors import AlorError
from alor_sync.events import GapNotice
from tests.chaos.checks import (
    CommandLedger,
    ErrorLedger,
    LogWatch,
    MemoryProbe,
    StreamChecker,
    own_copy,
)

__all__ = ["main"]

WAIT = 30.0
FLOODED = ("SBER", "GAZP", "SiZ6")  # one raw lossless quotes subscription each, blasted at --rate/3
PORTFOLIO, EXCHANGE = "D39004", "MOEX"


def _rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    import resource

    return pages * resource.getpagesize()


# --- the emulator process --------------------------------------------------------------------


def _emulator_process(pipe: Connection, seed: int) -> None:
    """Child process: an emulator with stamped sequences, blasters and faults on request."""
    from alor_sync.emulator import Emulator
    from alor_sync.errors import InvalidArgumentError

    stop = threading.Event()
    ledger = CommandLedger()
    blasters: list[threading.Thread] = []

    def flood(emu: Emulator, guid: str, rate: float) -> None:
        while not stop.is_set():
            try:
                emu.blast(guid, max(1, int(rate)), rate=rate, timeout=WAIT)
            except InvalidArgumentError:
                stop.wait(0.05)  # between connections: nothing to blast into yet

    with LogWatch() as logs, Emulator(speed=10.0, seed=seed, stamp_sequence=True) as emu:
        with emu.venue() as hub:
            ledger.wrap(hub)
        pipe.send((emu.refresh_token, emu.ws_url, emu.cws_url, emu.oauth_url))
        while True:
            command, argument = pipe.recv()
            if command == "flood":
                guids, rate = argument
                for guid in guids:
                    thread = threading.Thread(target=flood, args=(emu, guid, rate))
                    thread.start()
                    blasters.append(thread)
                pipe.send("ok")
            elif command == "fault":
                if argument == "restart":
                    emu.faults.restart(0.5)
                else:
                    emu.faults.drop_connections(argument)
                pipe.send("ok")
            else:  # "finish"
                stop.set()
                for thread in blasters:
                    thread.join(WAIT * 2)
                break
    pipe.send((dict(ledger.executions), dict(ledger.first_reply), logs.violations(), _rss_bytes()))


class _EmulatorProcess:
    """The parent's handle on the emulator process (one request at a time, from one thread)."""

    def __init__(self, seed: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_emulator_process, args=(child, seed), name="soak-emulator"
        )
        self._process.start()
        if not self._pipe.poll(WAIT * 2):
            raise RuntimeError("the emulator process did not start")
        self.refresh_token, self.ws_url, self.cws_url, self.oauth_url = self._pipe.recv()

    def call(self, command: str, argument: Any = None) -> Any:
        self._pipe.send((command, argument))
        if not self._pipe.poll(WAIT * 3):
            raise RuntimeError(f"the emulator process did not answer {command!r}")
        return self._pipe.recv()

    def finish(self) -> tuple[dict[str, int], dict[str, tuple[int, str]], list[str], int]:
        result: tuple[dict[str, int], dict[str, tuple[int, str]], list[str], int] = self.call(
            "finish"
        )
        self._process.join(WAIT)
        return result


# --- the client process ----------------------------------------------------------------------


class Soak:
    """The soak workload and its bookkeeping; :meth:`run` returns the report's lines."""

    def __init__(self, *, seconds: float, rate: float, fault_every: float, sample_every: float,
                 seed: int, trace: bool = True) -> None:  # fmt: skip
        self.seconds = seconds
        self.rate = rate
        self.fault_every = fault_every
        self.sample_every = sample_every
        self.seed = seed
        self.trace = trace
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.errors = ErrorLedger()
        self.commands = CommandLedger()
        self.checkers: dict[str, StreamChecker] = {}
        self.faults: collections.Counter[str] = collections.Counter()
        self.samples: list[tuple[float, int, int, int, int]] = []  # t, rss, traced, threads, items
        self.emulator_rss = 0
        self.violations: list[str] = []

    def run(self) -> list[str]:
        emulator = _EmulatorProcess(self.seed)
        with LogWatch() as logs:
            memory = MemoryProbe(enabled=self.trace)
            try:
                report = self._run(emulator, memory)
            finally:
                memory.close()
                executions, replies, emulator_logs, self.emulator_rss = emulator.finish()
        self.commands.executions.update(executions)
        self.commands.first_reply.update(replies)
        self.violations += logs.violations() + emulator_logs + self.commands.violations()
        return [*report, f"violations: {len(self.violations)}", *self.violations[:30]]

    def _run(self, emulator: _EmulatorProcess, memory: MemoryProbe) -> list[str]:
        client = AlorClient(
            emulator.refresh_token, ws_url=emulator.ws_url, cws_url=emulator.cws_url,
            oauth_url=emulator.oauth_url, heartbeat_interval=1.0, pong_timeout=3.0,
            reconnect_delay=0.1, max_reconnect_delay=1.0, on_gap=self._on_gap,
            on_error=self.errors.record,
        )  # fmt: skip
        started = time.monotonic()
        with client:
            if not client.wait_connected(WAIT):
                return ["the client never connected"]
            handles = [self._subscribe(client, symbol) for symbol in FLOODED]
            typed = client.subscribe_order_book("SBER", lambda _book: None, depth=20)
            for handle in [*handles, typed]:
                handle.wait_active(WAIT)
            emulator.call("flood", ([h.guid for h in handles], self.rate / len(FLOODED)))
            orders = threading.Thread(target=self._orders, args=(client,), name="soak-orders")
            orders.start()
            try:
                self._main_loop(emulator, memory, started)
            finally:
                self.stop.set()
                orders.join(WAIT * 2)
            stats = client.statistics()
        for checker in self.checkers.values():
            self.violations += checker.violations
        self.violations += self.errors.violations()
        self.violations += self._flatness()
        return self._report(time.monotonic() - started, stats)

    def _subscribe(self, client: AlorClient, symbol: str) -> Subscription:
        holder: list[Subscription] = []

        def epoch_causes() -> int:
            connects = client.statistics().connection.connects
            return connects + (holder[0].statistics().resubscribes if holder else 0)

        checker = StreamChecker(
            f"quotes-{symbol}", latest_wins=False, sequenced=True,
            epoch_causes=epoch_causes, causes_before=client.statistics().connection.connects,
        )  # fmt: skip
        # Lossless quotes: the flood repeats one frame, which an id stream (all trades) would
        # rightly drop as a duplicate after the first.
        handle = client.subscribe_quotes(symbol, checker.item, raw=True, conflate=False)
        holder.append(handle)
        checker.guid = own_copy(handle.guid)
        self.checkers[handle.guid] = checker
        return handle

    def _on_gap(self, notice: GapNotice) -> None:
        checker = self.checkers.get(notice.guid)
        if checker is not None:
            checker.gap(notice)

    def _main_loop(self, emulator: _EmulatorProcess, memory: MemoryProbe, started: float) -> None:
        next_fault = started + self.fault_every
        next_sample = started
        while not self.stop.is_set():
            now = time.monotonic()
            if now - started >= self.seconds:
                return
            if now >= next_sample:
                self._sample(memory, now - started)
                next_sample = now + self.sample_every
            if now >= next_fault:
                kind = self.rng.choice(("reset", "eof", "close", "restart"))
                self.faults[kind] += 1
                emulator.call("fault", kind)
                next_fault = now + self.fault_every
            self.stop.wait(max(0.0, min(next_fault, next_sample) - time.monotonic()))

    def _sample(self, memory: MemoryProbe, elapsed: float) -> None:
        traced = memory.sample()
        items = sum(c.items for c in self.checkers.values())
        self.samples.append((elapsed, _rss_bytes(), traced, threading.active_count(), items))

    # -- orders (thread soak-orders) --------------------------------------------------------

    def _orders(self, client: AlorClient) -> None:
        channel = client.commands
        number = 0
        while not self.stop.wait(0.5):
            number += 1
            try:
                future = channel.submit(
                    "create:limit", timeout=5.0, portfolio=PORTFOLIO, exchange=EXCHANGE,
                    symbol="SBER", side="buy", quantity=1, price=200.0, comment=f"soak-{number}",
                )  # fmt: skip
            except AlorError as exc:
                self.violations.append(f"submit raised {exc!r}")
                continue
            outcome = self._settle(future, "create:limit")
            if isinstance(outcome, OrderResult) and outcome.order_number:
                cancel = channel.submit(
                    "delete:limit", timeout=5.0, order_id=outcome.order_number,
                    portfolio=PORTFOLIO, exchange=EXCHANGE,
                )  # fmt: skip
                self._settle(cancel, "delete:limit")
            # An outcome-unknown order may rest on the book: harmless, cash is ample for a soak.

    def _settle(self, future: Any, kind: str) -> object:
        """Wait for a command's outcome and record it (a future that never ends stays open in
        the ledger, which reports it)."""
        self.commands.issued(future.request_guid, kind)
        done, _ = concurrent.futures.wait((future,), 5.0 + WAIT)
        if not done:
            return None
        error = future.exception()
        outcome: object = future.result() if error is None else error
        self.commands.ended(future.request_guid, outcome)
        return outcome

    # -- verdict ----------------------------------------------------------------------------

    def _flatness(self) -> list[str]:
        """Memory and threads of the last quarter versus the first (after a warm-up sample)."""
        if len(self.samples) < 8:
            return ["too few samples to judge flatness"]
        body = self.samples[1:]
        quarter = max(2, len(body) // 4)
        first, last = body[:quarter], body[-quarter:]
        found = []
        traced_growth = max(s[2] for s in last) - max(s[2] for s in first)
        if traced_growth > 2_000_000:
            found.append(f"client memory grew {traced_growth / 1e6:.2f} MB (first vs last quarter)")
        rss_growth = statistics.median(s[1] for s in last) - statistics.median(s[1] for s in first)
        if rss_growth > 20_000_000:
            found.append(f"client RSS grew {rss_growth / 1e6:.1f} MB (first vs last quarter)")
        if max(s[3] for s in last) > max(s[3] for s in first) + 2:
            found.append(f"thread count grew: {[s[3] for s in self.samples]}")
        return found

    def _report(self, elapsed: float, stats: Any) -> list[str]:
        items = sum(c.items for c in self.checkers.values())
        gaps: collections.Counter[str] = collections.Counter()
        for checker in self.checkers.values():
            gaps.update(checker.gaps)
        restarts = sum(c.restarts for c in self.checkers.values())
        lines = [
            f"soak: {elapsed / 60:.1f} min, seed {self.seed}, target {self.rate:g} msg/s, "
            f"tracemalloc {'on' if self.trace else 'off'}, emulator in a child process",
            f"  delivered {items} frames ({items / elapsed:.0f}/s); gaps {dict(gaps)}; "
            f"epoch restarts {restarts}",
            f"  faults {dict(self.faults)}; ws reconnects {stats.connection.reconnects}",
            f"  commands {dict(self.commands.counts())}",
            "  samples (minute, client RSS MB, client traced MB, threads, frames delivered):",
        ]
        step = max(1, len(self.samples) // 12)
        for t, rss, traced, threads, delivered in [*self.samples[::step], self.samples[-1]]:
            row = f"{t / 60:5.1f} {rss / 1e6:7.1f} {traced / 1e6:6.2f} {threads:4d} {delivered:10d}"
            lines.append("    " + row)
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=3000.0, help="frames per second in total")
    parser.add_argument("--fault-every", type=float, default=20.0, help="seconds between faults")
    parser.add_argument("--sample-every", type=float, default=15.0, help="seconds per sample")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="measure RSS only (no tracing overhead)"
    )
    parser.add_argument("--report", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    soak = Soak(
        seconds=args.minutes * 60, rate=args.rate, fault_every=args.fault_every,
        sample_every=args.sample_every, seed=args.seed, trace=not args.no_tracemalloc,
    )  # fmt: skip
    lines = soak.run()
    text = "\n".join(lines)
    print(text)
    if args.report is not None:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 1 if soak.violations else 0


if __name__ == "__main__":
    sys.exit(main())
