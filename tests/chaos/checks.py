"""Invariant checkers of a chaos run: per-subscription order and loss, errors, commands, memory.

Rules of this module:

* Checkers never raise inside a callback: a broken invariant is appended to ``violations`` and
  the run goes on, so that one failure report lists everything that went wrong.
* Each checker documents the thread it is called on; shared state is guarded by a lock, except
  in :class:`StreamChecker`, whose methods run on one subscription's worker, one at a time (if
  they did not, that is the overlap it reports).

The sequence invariant (raw subscriptions of an emulator with ``stamp_sequence=True``): the server
numbers the frames of each server-side subscription 1, 2, 3, ... and every resubscription (a new
connection, or an unsubscribe + subscribe on the same one) starts again at 1. Call the frames of
one server-side subscription an *epoch*. Then, as seen by the callback:

* event (lossless) streams: within an epoch each frame is the previous one + 1. Any other step
  (a jump, or a restart into a new epoch) is allowed only after a gap notice for that subscription
  was delivered (in stream order) and before the next restart. Anything else is a silent loss.
* full-state (latest-wins) streams: within an epoch the numbers only grow (skipped numbers are
  conflated frames: their total may not exceed the route's ``conflated`` counter).
* both: a step back starts a new epoch, and every epoch needs its own cause: the steps back
  never outnumber the connections opened plus the resubscriptions sent since the subscription
  was made. (Counted rather than compared per epoch because a callback runs behind the socket:
  by the time it sees an epoch begin, the next resubscription may already have been sent.)
"""

from __future__ import annotations

import collections
import gc
import logging
import threading
import tracemalloc
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import attrs

from alor_sync.commands.channel import OrderResult
from alor_sync.errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    CommandNotSentError,
    CommandTimeoutError,
    ConnectionLostError,
    DecodeError,
    MalformedFrameError,
    OutcomeUnknownError,
)
from alor_sync.events import GapNotice
from tests.chaos.tape import TapeRecord

__all__ = [
    "CommandLedger",
    "ErrorLedger",
    "LogWatch",
    "MemoryProbe",
    "Outcome",
    "StreamChecker",
    "own_copy",
]


def own_copy(text: str) -> str:
    """A copy of ``text`` allocated here: keeping the client's own string objects would show up
    as memory held by the client (the probe attributes memory to where it was allocated)."""
    return text.encode().decode()


EpochCauses = Callable[[], int]
"""Connections opened so far plus resubscriptions of this subscription: a new epoch needs one."""


def _no_causes() -> int:
    return 1 << 62  # a detached checker sees no more frames; nothing left to check


class StreamChecker:
    """The callback-side invariants of one subscription handle.

    Thread: :meth:`item` and :meth:`gap` run on the subscription's dispatcher worker.
    ``sequenced``: payloads are raw dicts carrying the emulator's ``seq``; ``epoch_causes`` is read
    only at discontinuities (it is not cheap) and compared with ``causes_before``, its value
    (connections only) read before the subscription was made.
    """

    def __init__(
        self,
        label: str,
        *,
        latest_wins: bool,
        sequenced: bool,
        epoch_causes: EpochCauses,
        causes_before: int,
    ) -> None:
        self.label = label
        self.latest_wins = latest_wins
        self.sequenced = sequenced
        self._epoch_causes = epoch_causes
        self._causes_before = causes_before
        self.guid = ""
        self.violations: list[str] = []
        self.items = 0
        self.foreign = 0  # raw items without a seq: injected by a fault (binary, wrong types)
        self.gaps: collections.Counter[str] = collections.Counter()
        self.restarts = 0
        self.skipped = 0  # latest-wins: numbers never seen inside an epoch (conflated)
        self.licensed_jumps = 0  # lossless: discontinuities covered by a gap notice
        self._busy = False
        self._last: int | None = None
        self._licensed = False
        self.tape: TapeRecord | None = None  # trades streams: ids against the trade tape

    def detach(self) -> None:
        """The subscription was replaced: let go of it (``epoch_causes`` holds the handle)."""
        self._epoch_causes = _no_causes

    # -- called on the subscription's worker ------------------------------------------------

    def item(self, payload: Any, slow: Callable[[], None] | None = None) -> None:
        self._enter("callback")
        try:
            self.items += 1
            if self.tape is not None:
                self.tape.trade(payload)
            if self.sequenced:
                self._check_sequence(payload)
            if slow is not None:
                slow()
        finally:
            self._busy = False

    def gap(self, notice: GapNotice) -> None:
        self._enter("gap notice")
        try:
            self.gaps[notice.reason.value] += 1
            self._licensed = True
            if self.tape is not None:
                self.tape.gap(notice)
        finally:
            self._busy = False

    # -- internals ----------------------------------------------------------------------------

    def _enter(self, what: str) -> None:
        if self._busy:
            self._violate(f"{what} overlapped another callback of the same subscription")
        self._busy = True

    def _violate(self, text: str) -> None:
        if len(self.violations) < 20:  # enough to diagnose, bounded for long runs
            self.violations.append(f"{self.label} [{self.guid}]: {text}")

    def _check_sequence(self, payload: Any) -> None:
        seq = payload.get("seq") if isinstance(payload, dict) else None
        if not isinstance(seq, int):
            self.foreign += 1
            return
        last = self._last
        self._last = seq
        if last is None:
            if seq != 1 and not self.latest_wins and not self._licensed:
                self._violate(f"the first frame has seq {seq}: frames 1..{seq - 1} were lost")
            self.skipped += seq - 1 if self.latest_wins else 0
            return
        if self.latest_wins:
            self._check_latest_wins(last, seq)
        else:
            self._check_lossless(last, seq)

    def _check_latest_wins(self, last: int, seq: int) -> None:
        if seq > last:
            self.skipped += seq - last - 1
            return
        self._new_epoch(last, seq)
        self.skipped += seq - 1

    def _check_lossless(self, last: int, seq: int) -> None:
        if seq == last + 1:
            return
        if not self._licensed:
            self._violate(f"silent loss: seq {last} -> {seq} without a gap notice before it")
        else:
            self.licensed_jumps += 1
        if seq <= last:
            self._new_epoch(last, seq)
        if seq == 1:
            self._licensed = False

    def _new_epoch(self, last: int, seq: int) -> None:
        self.restarts += 1
        causes = self._epoch_causes() - self._causes_before
        if self.restarts > causes:
            self._violate(
                f"out of order: seq {last} -> {seq} is epoch {self.restarts + 1}, but only "
                f"{causes} connections and resubscriptions were made since subscribing"
            )


class ErrorLedger:
    """Everything ``on_error`` received, and what the faults injected that may explain it.

    A broken frame (``injected_bad``) must produce exactly one error: a ``MalformedFrameError``,
    or a ``DecodeError`` naming the subscription when the frame still names it (a truncated
    frame whose tail ``"guid":"..."`` survived: ``bad_targets``). A wrongly typed payload for a
    typed subscription, or a binary copy of its last payload (a dummy one when it sent none yet),
    (``may_not_decode``) produces at most one ``DecodeError`` naming it (a full-state stream may
    conflate the frame away before decoding it).

    Thread: :meth:`record` runs on a dispatcher worker; the rest on the chaos thread.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.errors: list[tuple[str, str | None, str]] = []  # (type, guid, text)
        self.malformed = 0  # MalformedFrameError received
        self.decode_errors: collections.Counter[str] = collections.Counter()  # by guid
        self.auth_failures: collections.Counter[str] = collections.Counter()  # by guid
        self.unexpected: list[str] = []
        self.injected_bad = 0
        self.bad_targets: collections.Counter[str] = collections.Counter()
        self.may_not_decode: collections.Counter[str] = collections.Counter()
        self.token_faults = 0

    def record(self, error: BaseException, guid: str | None) -> None:
        guid = None if guid is None else own_copy(guid)
        with self._changed:
            self.errors.append((type(error).__name__, guid, own_copy(str(error))[:200]))
            if isinstance(error, MalformedFrameError):
                self.malformed += 1
            elif isinstance(error, DecodeError) and guid is not None:
                self.decode_errors[guid] += 1
            elif isinstance(error, AuthenticationError) and guid is not None:
                self.auth_failures[guid] += 1
            elif len(self.unexpected) < 20:
                self.unexpected.append(f"{type(error).__name__} (guid {guid}): {error}")
            self._changed.notify_all()

    def frame_errors(self) -> int:
        """Errors about frames so far (malformed or undecodable)."""
        with self._changed:
            return self.malformed + sum(self.decode_errors.values())

    def wait_frame_errors(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: self.malformed + sum(self.decode_errors.values()) >= count, timeout
            )

    def violations(self) -> list[str]:
        found = [f"unexpected error in on_error: {text}" for text in self.unexpected]
        explained = self.injected_bad + sum(self.may_not_decode.values())
        if self.malformed > self.injected_bad:
            found.append(f"{self.malformed} MalformedFrameErrors for {self.injected_bad} "
                         "broken frames injected")  # fmt: skip
        if self.malformed + sum(self.decode_errors.values()) > explained:
            found.append(f"more frame errors than bad frames injected ({explained})")
        for guid, count in self.decode_errors.items():
            allowed = self.may_not_decode[guid] + self.bad_targets[guid]
            if count > allowed:
                texts = [text for kind, g, text in self.errors if g == guid][:3]
                found.append(
                    f"{count} DecodeErrors for {guid}, which got {allowed} bad frames: {texts}"
                )
        if self.auth_failures and not self.token_faults:
            found.append(f"401 failures without a token fault: {dict(self.auth_failures)}")
        return found


# CommandNotSentError is the family; its members also derive from the older classes.
_NOT_SENT = (CommandNotSentError, CommandTimeoutError, ClientClosedError, ConnectionLostError)


@attrs.frozen
class Outcome:
    """How a command ended, kept small: holding the results or exceptions themselves would keep
    their tracebacks and the client's strings alive and show up as client memory growth."""

    kind: str  # ok, outcome-unknown, api, not-sent, other
    name: str  # the result's or exception's class name
    code: int | None = None  # the APIError's http_code
    order_number: str = ""

    @classmethod
    def of(cls, outcome: object) -> Outcome:
        name = type(outcome).__name__
        if isinstance(outcome, OrderResult):
            return cls("ok", name, 200, "#" + outcome.order_number)
        if isinstance(outcome, OutcomeUnknownError):
            return cls("outcome-unknown", name)
        if isinstance(outcome, APIError):
            return cls("api", name, outcome.http_code)
        if isinstance(outcome, _NOT_SENT):
            return cls("not-sent", name)
        return cls("other", f"{name}: {outcome!r}"[:200])

    def label(self) -> str:
        return f"api-{self.code}" if self.kind == "api" else self.kind


class CommandLedger:
    """Every order command the run issued, its outcome, and how often the emulator executed it.

    ``wrap(hub)`` counts the frames the emulator's account was asked to execute, per guid (the
    account answers a repeated guid with its first reply, so counting orders would hide a
    re-send). Threads: :meth:`issued`/:meth:`ended`/:meth:`retried` on the orders thread, the
    wrapper on the emulator's connection threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kinds: dict[str, str] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.retries: collections.Counter[str] = collections.Counter()
        self.retry_outcomes: dict[str, list[Outcome]] = collections.defaultdict(list)
        self.executions: collections.Counter[str] = collections.Counter()
        self.first_reply: dict[str, tuple[int, str]] = {}

    def wrap(self, hub: Any) -> None:
        execute = hub.execute

        def counting(opcode: str, command: Mapping[str, Any]) -> Any:
            reply = execute(opcode, command)
            guid = str(command.get("guid"))
            with self._lock:
                self.executions[guid] += 1
                number = "#" + (reply.order_number or "")
                self.first_reply.setdefault(guid, (reply.http_code, number))
            return reply

        hub.execute = counting

    def issued(self, guid: str, kind: str) -> None:
        guid = own_copy(guid)
        with self._lock:
            self.kinds[guid] = kind

    def ended(self, guid: str, outcome: object) -> None:
        summary = Outcome.of(outcome)
        with self._lock:
            self.outcomes[guid] = summary

    def retried(self, guid: str, outcome: object) -> None:
        guid = own_copy(guid)
        summary = Outcome.of(outcome)
        with self._lock:
            self.retries[guid] += 1
            self.retry_outcomes[guid].append(summary)

    def counts(self) -> collections.Counter[str]:
        with self._lock:
            outcomes = list(self.outcomes.values())
        return collections.Counter(o.label() for o in outcomes)

    def violations(self) -> list[str]:
        with self._lock:
            found = [self._check(guid) for guid in self.kinds]
            found += [
                f"the emulator executed {guid}, which the run never issued"
                for guid in self.executions
                if guid not in self.kinds
            ]
        return [text for text in found if text]

    def _check(self, guid: str) -> str:  # caller holds the lock
        outcome = self.outcomes.get(guid)
        calls, allowed = self.executions[guid], 1 + self.retries[guid]
        reply = self.first_reply.get(guid)
        where = f"{self.kinds[guid]} {guid}"
        if outcome is None:
            return f"{where} never ended"
        if calls > allowed:
            return f"{where} reached the emulator {calls} times ({allowed - 1} retries asked for)"
        if outcome.kind == "ok":
            if reply != (200, outcome.order_number):
                return f"{where} returned {outcome} but the emulator's first reply was {reply}"
        elif outcome.kind == "api":
            if reply is not None and reply[0] != outcome.code:
                return f"{where} raised {outcome} but the emulator answered {reply}"
            if reply is None and outcome.code not in (401, 403):
                return f"{where} raised {outcome} although the emulator never executed it"
        elif outcome.kind == "not-sent":
            if calls:
                return f"{where} raised {outcome.name} (not sent) but was executed"
        elif outcome.kind != "outcome-unknown":  # executed or not: either is consistent
            return f"{where} ended with an unexpected outcome {outcome.name}"
        return self._check_retries(where, guid, reply)

    def _check_retries(self, where: str, guid: str, reply: tuple[int, str] | None) -> str:
        for outcome in self.retry_outcomes.get(guid, ()):
            if outcome.kind == "ok" and reply != (200, outcome.order_number):
                return f"retry of {where} returned {outcome}, the first reply was {reply}"
        return ""


class MemoryProbe:
    """Bytes held by allocations made in the client's own modules (``alor_sync`` minus the
    emulator), measured with :mod:`tracemalloc` (one frame per trace, started here).

    Thread: the chaos thread. :meth:`close` stops tracing if this probe started it.
    """

    _FILTERS = (
        tracemalloc.Filter(True, "*/alor_sync/*"),
        tracemalloc.Filter(False, "*/alor_sync/emulator/*"),
    )

    def __init__(self, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._started = enabled and not tracemalloc.is_tracing()
        if self._started:
            tracemalloc.start(1)
        self.samples: list[int] = []

    def sample(self) -> int:
        """Bytes held now (0, not recorded, when disabled)."""
        if not self._enabled:
            return 0
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(self._FILTERS)
        size = sum(stat.size for stat in snapshot.statistics("filename"))
        self.samples.append(size)
        return size

    def close(self) -> None:
        if self._started and tracemalloc.is_tracing():
            tracemalloc.stop()


class LogWatch(logging.Handler):
    """Watches the ``alor_sync`` loggers (library and emulator) and uncaught thread exceptions.

    An ERROR record means an exception was swallowed somewhere (a network thread, a worker, the
    emulator): always a bug in a chaos run, whose own ``on_error`` replaces the default logger.
    The emulator's INFO notice "guid reused on the same connection" means the client sent one
    subscription twice on one connection. Use as a context manager on the chaos thread.
    """

    _REUSE_LOGGER = "alor_sync.emulator.ws_session"
    # websockets' own safety net in the emulator's connections: it fires on a double end of
    # stream after an abrupt drop (an emulator-side quirk, counted and reported, not a failure).
    _EMULATOR_WEBSOCKETS = "alor_sync.emulator.websockets"

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._lock = threading.Lock()
        self.errors: list[str] = []
        self.reused_guids = 0
        self.emulator_internal_errors = 0
        self._saved_level = logging.NOTSET
        self._saved_hook = threading.excepthook

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            if record.name == self._EMULATOR_WEBSOCKETS and "internal error" in str(record.msg):
                self.emulator_internal_errors += 1
            elif record.levelno >= logging.ERROR and len(self.errors) < 20:
                cause = record.exc_info[1] if record.exc_info else None
                self.errors.append(f"{record.name}: {record.getMessage()} {cause!r}")
            elif record.name == self._REUSE_LOGGER and "reused" in record.getMessage():
                self.reused_guids += 1

    def _thread_died(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        with self._lock:
            self.errors.append(f"uncaught {args.exc_type.__name__} in thread {name}: "
                               f"{args.exc_value!r}")  # fmt: skip
        self._saved_hook(args)

    def __enter__(self) -> LogWatch:
        reuse = logging.getLogger(self._REUSE_LOGGER)
        self._saved_level = reuse.level
        reuse.setLevel(logging.INFO)
        logging.getLogger("alor_sync").addHandler(self)
        self._saved_hook = threading.excepthook
        threading.excepthook = self._thread_died
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        threading.excepthook = self._saved_hook
        logging.getLogger("alor_sync").removeHandler(self)
        logging.getLogger(self._REUSE_LOGGER).setLevel(self._saved_level)

    def violations(self) -> list[str]:
        with self._lock:
            found = [f"logged or uncaught error: {text}" for text in self.errors]
            if self.reused_guids:
                found.append(
                    f"the client sent a subscription twice on one connection "
                    f"{self.reused_guids} times (the emulator replaced it)"
                )
        return found
