"""Bookkeeping of the order channel's commands: waiting, in flight, and outcome-unknown.

Rules of this module:

* Not thread-safe on purpose: every :class:`CommandBook` method runs under the owning session's
  lock, and none sends, blocks or settles a future. Methods return *settlements* for the caller
  to apply with :func:`settle` once the lock is released (a future's callbacks are user code).
* A command is in exactly one place: the queue (never sent; bounded), being written by the
  writer thread, in flight (sent, no reply yet), the outcome-unknown map (bounded; the oldest
  entry is dropped first), or nowhere (settled).
* Only a command that was (or is being) written can become outcome-unknown; a queued one always
  ends with a :class:`~alor_sync.errors.CommandNotSentError` that says it was not placed.
* One guid, one command: a second command with the guid of a pending one joins it (one frame,
  one reply for both futures), so an idempotency key never makes two orders here either.
"""

from __future__ import annotations

import collections
import enum
import logging
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from typing import TypeAlias

import attrs

from alor_sync import protocol
from alor_sync.commands.results import CommandFuture, OrderResult
from alor_sync.errors import (
    CommandQueueFullError,
    InvalidArgumentError,
    NotSentTimeoutError,
    OutcomeUnknownError,
)

__all__ = ["Command", "CommandBook", "Settlement", "Stage", "result_of", "settle"]

logger = logging.getLogger("alor_sync.commands")

Settlement: TypeAlias = tuple[tuple[CommandFuture, ...], OrderResult | BaseException]


class Stage(enum.Enum):
    QUEUED = "queued"  # waiting for an authorized connection; certainly not on the wire
    WRITING = "writing"  # taken by the writer thread; the write's outcome decides
    SENT = "sent"  # written; the reply decides
    DONE = "done"  # settled


_ON_THE_WIRE = (Stage.WRITING, Stage.SENT)


@attrs.define(eq=False)
class Command:
    """One command: its guid, its serialised frame (no token inside) and its future (plus the
    futures of later calls with the same guid, which share its one reply)."""

    guid: str
    frame: bytes
    future: CommandFuture
    retryable: bool  # False when sent with check_duplicates=False: a re-send would execute again
    stage: Stage = Stage.QUEUED
    epoch: int = 0  # the connection it was written on
    joined: list[CommandFuture] = attrs.Factory(list)

    def futures(self) -> tuple[CommandFuture, ...]:
        return (self.future, *self.joined)


@attrs.define(eq=False)
class Unknown:
    """An outcome-unknown command, and its reply if a 200 arrived late."""

    command: Command
    late: OrderResult | None = None


def result_of(reply: protocol.Confirmation) -> OrderResult:
    return OrderResult(reply.request_guid, reply.order_number or "", reply.message, reply.http_code)


def settle(settlements: list[Settlement]) -> None:
    """Resolve futures. No lock may be held: done-callbacks are user code and may call back."""
    for futures, outcome in settlements:
        for future in futures:
            try:
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            except InvalidStateError:  # a bug: every command is settled once
                logger.exception("command %s settled twice", future.request_guid)


class CommandBook:
    """Where every command of one channel is; see the module rules (caller holds the lock)."""

    def __init__(self, name: str, unknown_limit: int, max_queued: int) -> None:
        self._name = name
        self._unknown_limit = unknown_limit
        self._max_queued = max_queued
        self.queue: collections.deque[Command] = collections.deque()
        self.pending: dict[str, Command] = {}  # queued and in flight, by guid
        self.unknown: collections.OrderedDict[str, Unknown] = collections.OrderedDict()
        self.counters: collections.Counter[str] = collections.Counter()

    def add(self, command: Command) -> Settlement | None:
        """Queue a new command for the writer, or join the pending one with its guid.

        A guid in the outcome-unknown map leaves it (this is its retry); if its reply arrived
        late, that reply is the outcome and nothing is queued. Raises
        :class:`CommandQueueFullError` when ``max_queued`` commands already wait.
        """
        existing = self.pending.get(command.guid)
        if existing is not None:
            existing.joined.append(command.future)
            self.counters["joined"] += 1
            return None
        entry = self.unknown.get(command.guid)
        if entry is not None and entry.late is not None:
            del self.unknown[command.guid]
            return ((command.future,), entry.late)
        if len(self.queue) >= self._max_queued:
            self.counters["queue_full"] += 1
            raise CommandQueueFullError(
                command.guid,
                f"{self._max_queued} commands already wait for the /cws connection (max_queued)",
            )
        self.unknown.pop(command.guid, None)
        self.pending[command.guid] = command
        self.queue.append(command)
        return None

    def mark_sent(self, command: Command, epoch: int) -> None:
        command.stage = Stage.SENT
        command.epoch = epoch
        self.counters["sent"] += 1

    def next_queued(self, epoch: int) -> Command | None:
        """The oldest waiting command, handed to the writer for connection ``epoch``."""
        if not self.queue:
            return None
        command = self.queue.popleft()
        self.mark_sent(command, epoch)
        command.stage = Stage.WRITING
        return command

    def written(self, command: Command, epoch: int | None) -> Settlement | None:
        """The writer wrote ``command``. ``epoch``: the connection that is up now (None: none).

        On the connection it was taken for, it is in flight; if that connection was replaced
        meanwhile, the frame went out on a dying or a not yet authorized link: outcome unknown.
        """
        if command.stage is not Stage.WRITING:
            return None  # answered, expired or closed meanwhile
        if command.epoch == epoch:
            command.stage = Stage.SENT
            return None
        return self.give_up(command, "the connection was replaced while it was being written")

    def unsend(self, command: Command) -> bool:
        """A write that never left: back to the head of the queue (False if settled meanwhile)."""
        if command.stage not in _ON_THE_WIRE:
            return False
        command.stage = Stage.QUEUED
        self.counters["sent"] -= 1
        self.queue.appendleft(command)
        return True

    def finish(self, command: Command, outcome: OrderResult | BaseException) -> Settlement | None:
        """End a command with ``outcome`` (None if it was settled meanwhile)."""
        if command.stage is Stage.DONE:
            return None
        if command.stage is Stage.QUEUED:
            self.queue.remove(command)
        del self.pending[command.guid]
        command.stage = Stage.DONE
        return (command.futures(), outcome)

    def leave(self, command: Command, future: CommandFuture) -> Settlement:
        """A later call that joined ``command`` timed out: it alone ends; the command goes on."""
        command.joined.remove(future)
        if command.stage is Stage.QUEUED:
            error: BaseException = NotSentTimeoutError(
                command.guid, "the /cws channel was not authorized before its timeout"
            )
        else:
            error = OutcomeUnknownError(
                command.guid, "no reply within the timeout (the command with this guid waits on)"
            )
        return ((future,), error)

    def give_up(self, command: Command, reason: str, *, keep: bool = True) -> Settlement | None:
        """A sent command without a reply: outcome unknown (kept for ``retry`` if ``keep``)."""
        if command.stage not in _ON_THE_WIRE:
            return None
        self.counters["outcome_unknown"] += 1
        if keep:
            self.unknown[command.guid] = Unknown(command)
            while len(self.unknown) > self._unknown_limit:
                self.unknown.popitem(last=False)
        logger.warning("%s: outcome unknown for command %s: %s", self._name, command.guid, reason)
        return self.finish(command, OutcomeUnknownError(command.guid, reason))

    def give_up_in_flight(self, reason: str) -> list[Settlement]:
        in_flight = [c for c in self.pending.values() if c.stage is Stage.SENT]
        return [s for c in in_flight if (s := self.give_up(c, reason)) is not None]

    def fail_queued(self, make_error: Callable[[str], BaseException]) -> list[Settlement]:
        queued = list(self.queue)
        return [s for c in queued if (s := self.finish(c, make_error(c.guid))) is not None]

    def answer(self, reply: protocol.Confirmation) -> tuple[Command | None, Settlement | None]:
        """Match a reply to the command in flight with its guid; a stray one is noted."""
        command = self.pending.get(reply.request_guid)
        if command is None or command.stage not in _ON_THE_WIRE:
            self._note_stray(reply)
            return None, None
        self.counters["replies"] += 1
        if reply.ok:
            return command, self.finish(command, result_of(reply))
        self.counters["errors"] += 1
        return command, self.finish(command, reply.error())

    def _note_stray(self, reply: protocol.Confirmation) -> None:
        entry = self.unknown.get(reply.request_guid)
        if entry is None:
            self.counters["unknown_replies"] += 1
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s: reply for unknown guid %r (%d)",
                    self._name,
                    reply.request_guid,
                    reply.http_code,
                )
            return
        self.counters["late_replies"] += 1
        if reply.ok and entry.late is None:
            entry.late = result_of(reply)
        logger.info(
            "%s: late reply for command %s (its outcome was unknown): %d %s",
            self._name,
            reply.request_guid,
            reply.http_code,
            reply.message,
        )

    def take_unknown(self, guid: str) -> Unknown:
        """Remove an outcome-unknown command for a retry; refuse what cannot be retried."""
        entry = self.unknown.get(guid)
        if entry is None:
            raise InvalidArgumentError(
                f"no command with an unknown outcome has guid {guid!r}: it got its reply, is "
                f"still waiting, or is older than the last {self._unknown_limit} unknown ones"
            )
        if not entry.command.retryable:
            raise InvalidArgumentError(
                f"command {guid} was sent with check_duplicates=False, so the server would "
                "execute it again: check the orders stream and send a new command instead"
            )
        del self.unknown[guid]
        return entry
