"""One chaos run: an emulator, a client streaming every kind of subscription and placing orders,
a seeded schedule of faults (see :mod:`tests.chaos.schedule`), and the invariants checked after.

Rules of this module:

* The chaos thread (the test's) owns the run: it subscribes, injects faults, recovers and checks.
  Callbacks and hooks only feed the checkers of :mod:`tests.chaos.checks`; the orders thread only
  issues commands and records their outcomes.
* Waiting is always on a condition with a timeout (``wait_active``, a hook counter, a future).
  Holding a fault for a while (``hold``) is the schedule's pacing, not a wait for a result.
* Every invariant failure is collected, never raised mid-run, so that the final report lists all
  of them next to the summary of what was injected.
"""

from __future__ import annotations

import collections
import concurrent.futures
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from alor_sync.client import AlorClient
from alor_sync.commands.channel import CommandChannel, OrderResult
from alor_sync.data.subscriptions import LATEST_WINS_OPCODES, Subscription, SubscriptionState
from alor_sync.emulator import Emulator
from alor_sync.errors import (
    AlorError,
    APIError,
    ClientClosedError,
    CommandTimeoutError,
)
from alor_sync.events import ConnectionChange, GapNotice, ResubscribeReport
from alor_sync.wire import Opcode
from tests.chaos.checks import (
    CommandLedger,
    ErrorLedger,
    LogWatch,
    MemoryProbe,
    StreamChecker,
    own_copy,
)
from tests.chaos.tape import TapeRecord
from tests.client_helpers import wait_until

__all__ = ["ChaosRun", "StreamSpec", "stream_specs"]

WAIT = 30.0  # upper bound for anything the run waits for on a noisy 2-core machine
RECOVERY_TIMEOUT = 45.0  # every subscription must be active again within this after a fault
# ...and within this, or the run fails: what a flapping server with rejection windows allows.
RECOVERY_BOUND = 2.0
ZOMBIE_WAIT = 5.0  # after the run: the server holds exactly the live guids within this
_TRADE_STREAMS = (Opcode.ALL_TRADES, Opcode.TRADES)
TOKEN_TTL = 15.0  # emulator JWT lifetime: the client refreshes several times per quick run
SLOW_CALLBACK = 0.002  # seconds a callback takes while the "slow callbacks" fault is on
ORDER_PACE = 0.05  # seconds between two order round trips
MEMORY_SAMPLE_EVERY = 5.0  # seconds between two memory samples (a snapshot is not free)
LOSSLESS_LIMIT = 300  # the client's lossless queue bound: small, so slow callbacks overflow it
PORTFOLIO, EXCHANGE = "D39004", "MOEX"
LIMIT_ORDER: dict[str, Any] = {  # a resting buy well below the market; deleted right after
    "portfolio": PORTFOLIO, "exchange": EXCHANGE, "symbol": "SBER", "side": "buy",
    "quantity": 1, "price": 200.0,
}  # fmt: skip

Subscribe = Callable[[AlorClient, Callable[[Any], None], bool], Subscription]


@attrs.frozen
class StreamSpec:
    """One subscription the run keeps alive (subscribed twice: raw and typed)."""

    label: str
    opcode: Opcode
    subscribe: Subscribe
    silence_timeout: float | None = None


def stream_specs() -> list[StreamSpec]:
    """Every stream kind (and a second instrument for the busiest ones)."""
    since = int(time.time()) - 3600
    acct: dict[str, Any] = {"exchange": EXCHANGE}

    def spec(label: str, opcode: Opcode, fn: Subscribe, silence: float | None = None) -> StreamSpec:
        return StreamSpec(label, opcode, fn, silence)

    return [
        spec("book-SBER", Opcode.ORDER_BOOK,
             lambda c, cb, raw: c.subscribe_order_book("SBER", cb, depth=10, raw=raw)),
        spec("quotes-SBER", Opcode.QUOTES,
             lambda c, cb, raw: c.subscribe_quotes("SBER", cb, raw=raw)),
        spec("quotes-GAZP", Opcode.QUOTES,
             lambda c, cb, raw: c.subscribe_quotes("GAZP", cb, raw=raw)),
        spec("trades-SBER", Opcode.ALL_TRADES,
             lambda c, cb, raw: c.subscribe_all_trades("SBER", cb, depth=5, raw=raw)),
        spec("trades-GAZP", Opcode.ALL_TRADES,
             lambda c, cb, raw: c.subscribe_all_trades("GAZP", cb, raw=raw)),
        spec("bars-SBER", Opcode.BARS,
             lambda c, cb, raw: c.subscribe_bars("SBER", cb, tf=60, from_time=since, raw=raw)),
        spec("instrument-SBER", Opcode.INSTRUMENTS,
             lambda c, cb, raw: c.subscribe_instruments("SBER", cb, raw=raw), silence=3.0),
        spec("positions", Opcode.POSITIONS,
             lambda c, cb, raw: c.subscribe_positions(PORTFOLIO, cb, raw=raw, **acct)),
        spec("summaries", Opcode.SUMMARIES,
             lambda c, cb, raw: c.subscribe_summaries(PORTFOLIO, cb, raw=raw, **acct)),
        spec("risks", Opcode.RISKS,
             lambda c, cb, raw: c.subscribe_risks(PORTFOLIO, cb, raw=raw, **acct), silence=3.0),
        spec("spectra", Opcode.SPECTRA_RISKS,
             lambda c, cb, raw: c.subscribe_spectra_risks("7500PUQ", cb, raw=raw, **acct)),
        spec("own-trades", Opcode.TRADES,
             lambda c, cb, raw: c.subscribe_trades(PORTFOLIO, cb, raw=raw, **acct)),
        spec("orders", Opcode.ORDERS,
             lambda c, cb, raw: c.subscribe_orders(PORTFOLIO, cb, raw=raw, **acct)),
        spec("stop-orders", Opcode.STOP_ORDERS,
             lambda c, cb, raw: c.subscribe_stop_orders(PORTFOLIO, cb, raw=raw, **acct)),
    ]  # fmt: skip


@attrs.define
class _Live:
    spec: StreamSpec
    raw: bool
    handle: Subscription
    checker: StreamChecker


class _Abort(Exception):
    """The run cannot meaningfully go on (a subscription never came back)."""


class ChaosRun:
    """Build with the run's length and seed, then :meth:`execute`; read :attr:`violations` and
    :meth:`summary`. Thread: the caller's (the chaos thread)."""

    def __init__(self, *, seconds: float, seed: int) -> None:
        self.seconds = seconds
        self.seed = seed
        self.rng = random.Random(seed)
        self.emu = Emulator(speed=20.0, seed=seed, stamp_sequence=True, token_ttl=TOKEN_TTL)
        self.errors = ErrorLedger()
        self.commands = CommandLedger()
        self.injected: collections.Counter[str] = collections.Counter()
        self.fault_log: list[str] = []
        self.violations: list[str] = []
        self.slow = threading.Event()
        self.stop = threading.Event()
        self.client: AlorClient | None = None
        self.live: dict[str, _Live] = {}  # "label/raw" or "label/typed" -> live subscription
        self.retired: list[StreamChecker] = []
        self._by_guid: dict[str, StreamChecker] = {}
        self._hooks = threading.Condition()
        self.disconnects: collections.Counter[str] = collections.Counter()
        self.resubscribed = 0
        self.orphan_gaps = 0
        self.replaced = 0
        self.threads_seen: list[int] = []
        self.memory: MemoryProbe | None = None
        self._last_memory_sample = 0.0
        self._orders_thread: threading.Thread | None = None
        self.started_at = time.monotonic()
        self.duration = 0.0
        self.final_stats: dict[str, Any] = {}
        self.emulator_notices = 0
        self.recoveries: list[tuple[str, float]] = []  # (after which fault, seconds)

    # -- the whole run ----------------------------------------------------------------------

    def execute(self, schedule: Callable[[ChaosRun], None]) -> None:
        """Run ``schedule`` (which injects faults and calls :meth:`recover`), then check."""
        self.started_at = time.monotonic()
        with LogWatch() as logs, self.emu:
            with self.emu.venue() as hub:
                self.commands.wrap(hub)
            self.memory = MemoryProbe()
            try:
                self._run(schedule)
            finally:
                self.memory.close()
        self.violations += self.commands.violations()
        self.violations += logs.violations()
        self.emulator_notices = logs.emulator_internal_errors
        self.duration = time.monotonic() - self.started_at

    def _run(self, schedule: Callable[[ChaosRun], None]) -> None:
        client = self.client = self._new_client()
        try:
            client.start()
            if not client.wait_connected(WAIT):
                raise _Abort("the client never connected")
            for spec in stream_specs():
                for raw in (True, False):
                    self._subscribe(spec, raw)
            self.recover("start")
            self._orders_thread = threading.Thread(target=self._orders, name="chaos-orders")
            self._orders_thread.start()
            schedule(self)
            self._stop_orders()
            self.recover("end")
            self._final_checks(client)
        except _Abort as abort:
            self.violate(f"run aborted: {abort}")
        finally:
            self._stop_orders()
            client.close()
            self._check_client_threads_ended()

    def _new_client(self) -> AlorClient:
        emu = self.emu
        return AlorClient(
            emu.refresh_token,
            ws_url=emu.ws_url,
            cws_url=emu.cws_url,
            oauth_url=emu.oauth_url,
            heartbeat_interval=0.5,
            pong_timeout=1.0,
            reconnect_delay=0.05,
            max_reconnect_delay=0.5,
            lossless_queue_limit=LOSSLESS_LIMIT,
            on_connect=self._on_connection,
            on_disconnect=self._on_connection,
            on_resubscribed=self._on_resubscribed,
            on_gap=self._on_gap,
            on_error=self.errors.record,
        )

    # -- subscriptions ----------------------------------------------------------------------

    def _subscribe(self, spec: StreamSpec, raw: bool) -> None:
        client = self.client
        assert client is not None
        key = f"{spec.label}/{'raw' if raw else 'typed'}"
        holder: list[Subscription] = []

        def epoch_causes() -> int:
            connects = client.statistics().connection.connects
            return connects + (holder[0].statistics().resubscribes if holder else 0)

        trades = spec.opcode in _TRADE_STREAMS
        checker = StreamChecker(
            key,
            latest_wins=spec.opcode in LATEST_WINS_OPCODES,
            # Trade streams drop replayed ids the callback had, so their stamps jump by design:
            # they are checked against the trade tape instead.
            sequenced=raw and not trades,
            epoch_causes=epoch_causes,
            causes_before=client.statistics().connection.connects,
        )
        if trades:
            symbol = spec.label.split("-")[1] if spec.opcode is Opcode.ALL_TRADES else None
            checker.tape = TapeRecord(key, symbol)
        slow = self._maybe_slow

        def callback(payload: Any) -> None:
            checker.item(payload, slow)

        handle = spec.subscribe(client, callback, raw)
        holder.append(handle)
        checker.guid = own_copy(handle.guid)
        with self._hooks:
            self._by_guid[handle.guid] = checker
        self.live[key] = _Live(spec, raw, handle, checker)

    def _maybe_slow(self) -> None:
        if self.slow.is_set():
            time.sleep(SLOW_CALLBACK)  # a slow user callback (simulated work, not a wait)

    def replace(self, key: str) -> None:
        """Unsubscribe ``key`` (if still live) and subscribe it again with a new guid."""
        old = self.live.pop(key)
        old.handle.unsubscribe()
        old.checker.detach()
        self.retired.append(old.checker)
        self._subscribe(old.spec, old.raw)
        self.replaced += 1

    def raw_keys(self) -> list[str]:
        return [key for key, live in self.live.items() if live.raw]

    # -- hooks (dispatcher workers) -----------------------------------------------------------

    def _on_connection(self, change: ConnectionChange) -> None:
        if not change.connected:
            with self._hooks:
                self.disconnects[change.connection] += 1
                self._hooks.notify_all()

    def _on_resubscribed(self, report: ResubscribeReport) -> None:
        with self._hooks:
            self.resubscribed += 1

    def _on_gap(self, notice: GapNotice) -> None:
        checker = self._by_guid.get(notice.guid)
        if checker is None:
            with self._hooks:
                self.orphan_gaps += 1
            return
        checker.gap(notice)

    def disconnect_count(self, connection: str) -> int:
        with self._hooks:
            return self.disconnects[connection]

    def wait_disconnects(self, connection: str, count: int, timeout: float) -> bool:
        with self._hooks:
            return self._hooks.wait_for(lambda: self.disconnects[connection] >= count, timeout)

    # -- schedule helpers (chaos thread) ------------------------------------------------------

    def hold(self, seconds: float) -> None:
        """Keep the current fault on for ``seconds`` (pacing; the run's stop event ends it)."""
        self.stop.wait(seconds)

    def note(self, fault: str, description: str) -> None:
        self.injected[fault] += 1
        elapsed = time.monotonic() - self.started_at
        self.fault_log.append(f"{elapsed:7.2f}s {description}")

    def violate(self, text: str) -> None:
        self.violations.append(text)

    def recover(self, after: str) -> None:
        """Clear every fault and wait until every live subscription is active again."""
        self.emu.faults.clear()
        self.slow.clear()
        started = time.monotonic()
        deadline = started + RECOVERY_TIMEOUT
        for key in list(self.live):
            self._wait_active(key, deadline, after)
        took = time.monotonic() - started
        self.recoveries.append((after, took))
        if after != "start" and took > RECOVERY_BOUND:
            self.violate(
                f"subscriptions back {took:.2f} s after {after!r} (bound {RECOVERY_BOUND:g} s)"
            )
        self._checkpoint()

    def _wait_active(self, key: str, deadline: float, after: str) -> None:
        for _ in range(5):  # a replaced subscription may meet the tail of a token fault once more
            live = self.live[key]
            try:
                live.handle.wait_active(max(0.0, deadline - time.monotonic()))
                return
            except CommandTimeoutError:
                raise _Abort(
                    f"{key} not active again {RECOVERY_TIMEOUT:g} s after {after!r} "
                    f"(state {live.handle.state.value})"
                ) from None
            except (APIError, ClientClosedError) as exc:
                # A held subscription is never given up on a transient answer (401 included).
                self.violate(f"{key} ended with {exc!r} after {after!r}")
                self.replace(key)
        raise _Abort(f"{key} could not be restored after {after!r}")

    def _checkpoint(self) -> None:
        self.threads_seen.append(threading.active_count())
        now = time.monotonic()
        if self.memory is not None and now - self._last_memory_sample >= MEMORY_SAMPLE_EVERY:
            self._last_memory_sample = now
            self.memory.sample()

    # -- orders (thread chaos-orders) ---------------------------------------------------------

    def _orders(self) -> None:
        assert self.client is not None
        rng = random.Random(self.seed + 1)
        channel = self.client.commands
        number = 0
        while not self.stop.is_set():
            number += 1
            timeout = rng.choice((1.0, 3.0))
            outcome = self._command(
                channel, "create:limit", timeout, **LIMIT_ORDER, comment=f"chaos-{number}"
            )
            if self._is_unknown(outcome) and rng.random() < 0.5:
                outcome = self._retry(channel, outcome)
            if isinstance(outcome, OrderResult) and outcome.order_number:
                self._command(
                    channel, "delete:limit", timeout, order_id=outcome.order_number,
                    portfolio=PORTFOLIO, exchange=EXCHANGE,
                )  # fmt: skip
            self.stop.wait(ORDER_PACE)

    @staticmethod
    def _is_unknown(outcome: object) -> bool:
        return type(outcome).__name__ == "OutcomeUnknownError"

    def _command(self, channel: CommandChannel, kind: str, timeout: float, **params: Any) -> object:
        try:
            future = channel.submit(kind, timeout=timeout, **params)
        except AlorError as exc:
            self.violate(f"submit({kind}) raised {exc!r}")
            return exc
        self.commands.issued(future.request_guid, kind)
        done, _ = concurrent.futures.wait((future,), timeout + WAIT)
        if not done:
            return None  # never ended: the ledger reports it
        error = future.exception()
        outcome: object = future.result() if error is None else error
        self.commands.ended(future.request_guid, outcome)
        return outcome

    def _retry(self, channel: CommandChannel, unknown: Any) -> object:
        guid = unknown.request_guid
        try:
            outcome: object = channel.retry(guid, timeout=3.0)
        except AlorError as exc:
            outcome = exc
            if type(exc).__name__ == "InvalidArgumentError":
                self.violate(f"retry({guid}) was refused: {exc}")
        self.commands.retried(guid, outcome)
        return outcome

    def _stop_orders(self) -> None:
        self.stop.set()
        thread = self._orders_thread
        if thread is not None:
            thread.join(WAIT * 2)
            if thread.is_alive():
                self.violate("the orders thread did not end (a command never returned)")
        self.stop = threading.Event()  # holds of a final recovery must not return at once
        self._orders_thread = None

    # -- final checks -------------------------------------------------------------------------

    def _final_checks(self, client: AlorClient) -> None:
        stats = client.statistics()
        commands = client.commands.statistics()
        self.final_stats = {
            "ws_connects": stats.connection.connects,
            "ws_reconnects": stats.connection.reconnects,
            "cws_reconnects": commands.reconnects,
            "unrouted": stats.unrouted_frames,
            "malformed": stats.malformed_frames,
            "commands_sent": commands.sent,
            "late_replies": commands.late_replies,
        }
        for live in self.live.values():
            s = live.handle.statistics()
            checker = live.checker
            if s.state is not SubscriptionState.ACTIVE:
                self.violate(f"{checker.label} ends {s.state.value}")
            if checker.latest_wins and checker.sequenced and checker.skipped > s.conflated:
                self.violate(
                    f"{checker.label}: {checker.skipped} sequence numbers never delivered but only "
                    f"{s.conflated} frames conflated: frames were lost"
                )
        for checker in self.checkers():
            self.violations += checker.violations
            if checker.tape is not None:
                symbol = checker.tape.symbol
                tape = None if symbol is None else self.emu.trade_tape(symbol)
                self.violations += checker.tape.check(tape)
        self.violations += self.errors.violations()
        self._check_no_zombies()
        self._check_memory()

    def _check_no_zombies(self) -> None:
        """Every unsubscribe was carried out: the server streams exactly the live guids."""
        live = {live.handle.guid for live in self.live.values()}

        def held() -> set[str]:
            return {s.guid for c in self.emu.connections() if c.path == "/ws"
                    for s in c.subscriptions}  # fmt: skip

        if not wait_until(lambda: held() == live, ZOMBIE_WAIT):
            extra, missing = held() - live, live - held()
            self.violate(f"the server holds {len(extra)} unsubscribed guids, lacks {len(missing)}")

    def checkers(self) -> list[StreamChecker]:
        return [live.checker for live in self.live.values()] + self.retired

    def _check_memory(self) -> None:
        samples = self.memory.samples if self.memory is not None else []
        if len(samples) < 2:
            return
        baseline = min(samples[: max(1, len(samples) // 3)])
        growth = samples[-1] - baseline
        # Bounded by design: queues are bounded, and the largest legitimate growth is the
        # outcome-unknown map of the command channel (at most 1000 small entries).
        if growth > 4_000_000:
            self.violate(f"client memory grew by {growth / 1e6:.1f} MB: {samples}")
        if max(self.threads_seen) > min(self.threads_seen) + 12:
            self.violate(f"thread count not flat: {self.threads_seen}")

    def _check_client_threads_ended(self) -> None:
        deadline = time.monotonic() + WAIT
        for thread in threading.enumerate():
            name = thread.name
            if name.startswith("alor-sync-") and not name.startswith("alor-sync-emulator"):
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    self.violate(f"thread {name} still runs after close()")

    # -- report -------------------------------------------------------------------------------

    def summary(self) -> str:
        checkers = self.checkers()
        gaps: collections.Counter[str] = collections.Counter()
        for checker in checkers:
            gaps.update(checker.gaps)
        samples = self.memory.samples if self.memory is not None else []
        recoveries = [r for r in self.recoveries if r[0] != "start"] or [("none", 0.0)]
        tapes = [c.tape for c in checkers if c.tape is not None]
        errors = self.errors
        step = max(1, len(samples) // 10)
        series = " ".join(f"{size / 1e6:.2f}" for size in [*samples[::step], *samples[-1:]])
        memory = (
            f"{samples[0] / 1e6:.2f} MB -> {samples[-1] / 1e6:.2f} MB "
            f"(peak {max(samples) / 1e6:.2f} MB, {len(samples)} samples: {series})"
            if samples
            else "not sampled"
        )
        lines = [
            f"chaos run: seed {self.seed}, {self.duration:.1f} s "
            f"(schedule {self.seconds:g} s), {sum(self.injected.values())} faults",
            f"  faults injected: {dict(sorted(self.injected.items()))}",
            f"  connections: {dict(self.final_stats)}; disconnects seen: {dict(self.disconnects)};"
            f" resubscribed reports: {self.resubscribed}",
            f"  subscriptions: {len(self.live)} live, {self.replaced} replaced after 401s/churn",
            f"  delivered: {sum(c.items for c in checkers)} callbacks; gaps: {dict(gaps)}; "
            f"epoch restarts: {sum(c.restarts for c in checkers)}; conflated-away seqs: "
            f"{sum(c.skipped for c in checkers)}; injected frames seen: "
            f"{sum(c.foreign for c in checkers)}; orphan gaps: {self.orphan_gaps}",
            f"  on_error: {len(errors.errors)} (frame errors {errors.frame_errors()} for "
            f"{errors.injected_bad} broken frames injected: malformed {errors.malformed}, "
            f"decode {sum(errors.decode_errors.values())}; 401 "
            f"{sum(errors.auth_failures.values())})",
            f"  commands: {dict(self.commands.counts())}; retries: "
            f"{sum(self.commands.retries.values())}; emulator executions: "
            f"{sum(self.commands.executions.values())}",
            f"  client memory (tracemalloc, alor_sync minus emulator): {memory}",
            f"  recovery after each fault: max {max(t for _, t in recoveries):.2f} s, median "
            f"{statistics.median(t for _, t in recoveries):.2f} s ({len(recoveries)} faults)",
            f"  trade tapes: {sum(t.healed for t in tapes)} healed gaps, "
            f"{sum(t.unhealed for t in tapes)} reported as possibly missing trades, "
            f"{sum(1 for t in tapes for k, _ in t.events if k == 'id')} trades checked",
            f"  threads at checkpoints: min {min(self.threads_seen, default=0)}, "
            f"max {max(self.threads_seen, default=0)}",
            f"  emulator-side websockets internal errors (not the client's): "
            f"{self.emulator_notices}",
            f"  violations: {len(self.violations)}",
        ]
        return "\n".join(lines)
