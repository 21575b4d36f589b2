"""The ``/cws`` state machine: authorization, sending in order, routing replies to commands.

Rules of this module:

* A command frame is written only on a connection whose ``authorize`` was confirmed (state READY),
  and never twice by this module: a second frame with a guid comes only from the user (``retry``,
  or a new call with the same ``guid=``).
* Who writes: ``on_open`` writes a new connection's ``authorize`` (the transport lets only the
  connection thread send until ``on_open`` returns); everything else, commands and renewed
  ``authorize`` frames alike, is written by the one writer thread through :meth:`write_next`.
  So the reader never writes a backlog, and no lock is ever held while a frame is written.
* ``_lock`` guards the state and the :class:`CommandBook`; it is held for bookkeeping only.
  The control-thread half (when and with which token to authorize) lives in
  :mod:`alor_sync.commands.authorization`; the two files are one object under these rules.
  Futures are settled with it released. Nothing here waits for HTTP on a network thread: the
  reader and ``on_open`` use ``cached_token()``; refreshes run on the control loop.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

from alor_sync import protocol
from alor_sync.auth import Secret, TokenProvider
from alor_sync.commands.authorization import (
    CONNECTED,
    FINAL,
    UNAUTHORIZED,
    AuthAttempt,
    AuthorizationFlow,
    new_guid,
)
from alor_sync.commands.book import Command, CommandBook, Settlement, settle
from alor_sync.commands.results import (
    CallbackHandOff,
    ChannelState,
    CommandFuture,
    CommandStatistics,
)
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.errors import (
    AlorError,
    ClientClosedError,
    ConnectionLostError,
    MalformedFrameError,
    NotSentClosedError,
    NotSentConnectionLostError,
    NotSentTimeoutError,
)
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind

__all__ = ["CommandSession", "new_guid"]

logger = logging.getLogger("alor_sync.commands")


class CommandSession(AuthorizationFlow):
    """Authorization and command flow of one ``/cws`` channel, across its connections.

    Threads: ``on_open``, ``on_frame``, ``on_state`` and ``on_malformed_frame`` run on the
    connection thread, :meth:`write_next` on the writer thread (one caller at a time), ``_*_job``
    methods on the control thread; the rest on any thread. ``wake_writer()`` is called with no
    lock held whenever there may be something to write; ``mark_healthy()`` on the connection
    thread once an ``authorize`` was confirmed.
    """

    def __init__(
        self,
        *,
        name: str,
        send: Callable[[bytes], None],
        reconnect: Callable[[str], bool],
        tokens: TokenProvider,
        control: ControlLoop,
        reauthorize_margin: float,
        authorize_timeout: float,
        unknown_limit: int,
        max_queued: int = 10_000,
        wake_writer: Callable[[], None] | None = None,
        mark_healthy: Callable[[], None] | None = None,
        hand_off: CallbackHandOff | None = None,
    ) -> None:
        self._name = name
        self._send = send
        self._reconnect = reconnect
        self._authorize_timeout = authorize_timeout
        self._tokens = tokens
        self._control = control
        self._margin = reauthorize_margin
        self._wake_writer = wake_writer or (lambda: None)
        self._mark_healthy = mark_healthy or (lambda: None)
        self._hand_off = hand_off
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._book = CommandBook(name, unknown_limit, max_queued)
        self._outbox: collections.deque[AuthAttempt] = collections.deque()  # for the writer
        self._state = ChannelState.CONNECTING
        self._epoch = 0  # +1 per connection
        self._generation = 0  # +1 per confirmed authorization; stale refresh timers check it
        self._auth: AuthAttempt | None = None  # the authorize in flight (or in the outbox)
        self._authorized: Secret | None = None  # the token of the last confirmed authorize
        self._rejected: Secret | None = None  # the token of the last refused one
        self._auth_job_scheduled = False
        self._broken_epoch = 0  # a connection a write failed on: commands wait for the next

    # ------------------------------------------------------------------ any thread

    @property
    def state(self) -> ChannelState:
        return self._state

    def new_future(self, guid: str) -> CommandFuture:
        """A future whose done-callbacks run where the channel says (never on this thread)."""
        return CommandFuture(guid, self._hand_off)

    def submit(self, command: Command) -> None:
        """Queue ``command`` for the writer (it goes out at once when READY).

        Raises a :class:`CommandNotSentError` (with the command's guid) when the channel is
        closed, gave up, or its queue is full.
        """
        with self._lock:
            self._check_usable(command.guid)
            settlement = self._book.add(command)
            ready = self._state is ChannelState.READY
            kick = not ready and self._claim_authorization_job()
        if settlement is not None:
            settle([settlement])
        if ready:
            self._wake_writer()
        if kick:
            self._schedule_authorization(self._rejected)

    def expire(self, guid: str, future: CommandFuture) -> None:
        """The command's timeout ran out: unsent -> NotSentTimeoutError, sent -> outcome unknown."""
        with self._lock:
            command = self._book.pending.get(guid)
            if command is None or future not in command.futures():
                return  # settled meanwhile
            settlement: Settlement | None
            if future is not command.future:  # a later call with the same guid: only it ends
                settlement = self._book.leave(command, future)
            else:
                settlement = self._book.give_up(command, "no reply within the timeout")
            if settlement is None:
                error = NotSentTimeoutError(
                    guid,
                    "the /cws channel was not authorized before its timeout "
                    f"(state {self._state.value})",
                )
                settlement = self._book.finish(command, error)
        settle([settlement] if settlement else [])

    def resubmit(self, guid: str) -> CommandFuture:
        """Send an outcome-unknown command again, same guid and frame (the user's ``retry``)."""
        with self._lock:
            self._check_usable(guid)
            entry = self._book.take_unknown(guid)
        if entry.late is not None:
            future = self.new_future(guid)
            future.set_result(entry.late)
            return future
        command = Command(guid, entry.command.frame, self.new_future(guid), retryable=True)
        try:
            self.submit(command)
        except BaseException:
            with self._lock:
                self._book.unknown[guid] = entry
            raise
        return command.future

    def retryable_guids(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._book.unknown)

    def statistics(self, *, reconnects: int) -> CommandStatistics:
        """The counters; also after :meth:`close` (then the final ones)."""
        with self._lock:
            book, state = self._book, self._state
            counts = book.counters.copy()
            queued, pending, retryable = len(book.queue), len(book.pending), len(book.unknown)
        return CommandStatistics(
            state=state,
            authorized=state is ChannelState.READY,
            sent=counts["sent"],
            replies=counts["replies"],
            errors=counts["errors"],
            outcome_unknown=counts["outcome_unknown"],
            late_replies=counts["late_replies"],
            unknown_replies=counts["unknown_replies"],
            malformed_frames=counts["malformed_frames"],
            pending=pending,
            queued=queued,
            in_flight=pending - queued,
            retryable=retryable,
            authorizations=counts["authorizations"],
            authorization_failures=counts["authorization_failures"],
            reconnects=reconnects,
            not_sent=counts["not_sent"],
            queue_full=counts["queue_full"],
            joined=counts["joined"],
        )

    def wait_authorized(self, timeout: float | None) -> bool:
        """Block until READY (True) or a state that does not get there by itself (False)."""
        ends = (ChannelState.READY, ChannelState.UNAUTHORIZED, *FINAL)
        with self._changed:
            self._changed.wait_for(lambda: self._state in ends, timeout)
            return self._state is ChannelState.READY

    def on_new_token(self) -> None:
        """Token listener (any thread, maybe a network one): only schedules."""
        self._control.call_soon(self._adopt_new_token_job)

    def close(self) -> None:
        """Settle everything: unsent -> NotSentClosedError, sent -> outcome unknown."""
        with self._changed:
            if self._state is ChannelState.CLOSED:
                return
            self._set_state(ChannelState.CLOSED)
            self._auth = None
            self._outbox.clear()
            reason = "the channel was closed before the reply"
            settlements = [
                s
                for c in list(self._book.pending.values())
                if (s := self._book.give_up(c, reason, keep=False)) is not None
            ]
            settlements += self._fail_queued(
                lambda guid: NotSentClosedError(guid, "the channel was closed first")
            )
        settle(settlements)
        self._wake_writer()

    # ------------------------------------------------------------------ writer thread

    def write_next(self) -> bool:
        """Write the next frame due (an ``authorize``, else the oldest waiting command while
        READY); False when there is nothing to write. Writer thread only: never two at once."""
        with self._lock:
            if self._state in FINAL:
                return False
            attempt = self._outbox.popleft() if self._outbox else None
            command = None
            writable = self._state is ChannelState.READY and self._broken_epoch != self._epoch
            if attempt is None and writable:
                command = self._book.next_queued(self._epoch)
        if attempt is not None:
            self._write_authorize(attempt)
            return True
        if command is None:
            return False
        settlements: list[Settlement] = []
        self._write_command(command, settlements)
        settle(settlements)
        return True

    def _write_command(self, command: Command, settlements: list[Settlement]) -> None:
        try:
            self._send(command.frame)
            failure: BaseException | None = None
        except ConnectionLostError as exc:
            # The write raised, so part of the frame was never written (a socket send fails
            # only for bytes it did not take) and the server cannot act on half a frame: the
            # command waits for the next connection. check_duplicates=False commands are the
            # exception, judged conservatively: there the guid would not guard a double.
            failure = exc
        except ClientClosedError as exc:
            failure = exc
        with self._lock:
            if failure is None:
                current = self._epoch if self._state in CONNECTED else None
                settlement = self._book.written(command, current)
            elif isinstance(failure, ConnectionLostError) and command.retryable:
                self._book.unsend(command)
                self._broken_epoch = command.epoch  # nothing more on it: wait for on_open
                settlement = None
            elif isinstance(failure, ClientClosedError):
                error = NotSentClosedError(command.guid, "the channel was closed first")
                settlement = self._book.finish(command, error)
            else:
                settlement = self._book.give_up(command, "the connection broke while sending it")
        if settlement is not None:
            settlements.append(settlement)

    def _write_authorize(self, attempt: AuthAttempt) -> None:
        try:
            self._send(attempt.frame())
        except (ConnectionLostError, ClientClosedError):
            self._forget(attempt)  # the drop (on_state) or on_open starts over

    def _forget(self, attempt: AuthAttempt) -> None:
        """An ``authorize`` that could not be written is not in flight."""
        with self._lock:
            if self._auth is attempt:
                self._auth = None

    # ------------------------------------------------------------------ connection thread

    def on_open(self) -> None:
        """A new connection: ``authorize`` first; commands wait for its confirmation."""
        with self._changed:
            if self._state in FINAL:
                return
            self._epoch += 1
            epoch = self._epoch
            self._auth = None
            self._outbox.clear()  # renewals meant for the old connection
            self._set_state(ChannelState.AUTHORIZING)  # from here on commands wait
        try:
            token = self._tokens.cached_token()  # never HTTP here: the control thread renews
        except AlorError:
            # No token yet (a channel used without a client): the control thread fetches one.
            with self._lock:
                schedule = self._claim_authorization_job(force=True)
            if schedule:
                self._schedule_authorization(None)
            return
        attempt = self._begin_authorize(epoch, token, retried=False, blocking=True)
        if attempt is None:
            return
        try:
            self._send(attempt.frame())
        except (ConnectionLostError, ClientClosedError):
            self._forget(attempt)
            raise  # the transport drops this connection and reconnects
        self._watch_authorize(attempt)

    def on_frame(self, text: str) -> None:
        """Route one inbound frame: the authorize reply or a command's reply."""
        frame = protocol.classify(text)
        if type(frame) is not protocol.Confirmation:
            with self._lock:
                self._book.counters["malformed_frames"] += 1
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s: ignoring a frame that is not a reply: %r", self._name, frame)
            return
        auth = self._auth
        if auth is not None and (
            frame.request_guid == auth.guid
            or (frame.request_guid == "" and frame.http_code == UNAUTHORIZED)
        ):
            self._on_authorize_reply(auth, frame)
        else:
            self._on_command_reply(frame)

    def on_malformed_frame(self, error: MalformedFrameError) -> None:
        """The transport got a frame that is not UTF-8 text (it logged it already)."""
        with self._lock:
            self._book.counters["malformed_frames"] += 1

    def on_state(self, event: ConnectionEvent) -> None:
        """A connection ended: in-flight commands become outcome-unknown, queued ones wait."""
        if event.kind is ConnectionEventKind.CONNECTED:
            return
        reason = event.reason or event.kind.value
        with self._changed:
            if self._state is ChannelState.CLOSED:
                return
            self._auth = None
            self._outbox.clear()
            lost = f"the connection dropped before the reply: {reason}"
            # A command being written is the writer's to judge (its write may yet fail).
            settlements = self._book.give_up_in_flight(lost)
            if event.kind is ConnectionEventKind.GAVE_UP:
                self._set_state(ChannelState.FAILED)
                settlements += self._fail_queued(
                    lambda guid: NotSentConnectionLostError(
                        guid, f"the /cws connection gave up ({reason})"
                    )
                )
            else:
                self._set_state(ChannelState.CONNECTING)
        settle(settlements)

    def _on_authorize_reply(self, attempt: AuthAttempt, reply: protocol.Confirmation) -> None:
        settlements: list[Settlement] = []
        generation: int | None = None
        retry = schedule = False
        with self._changed:
            if self._auth is not attempt:
                return
            self._auth = None
            if reply.ok:
                self._authorized = attempt.token
                self._generation += 1
                generation = self._generation
                self._book.counters["authorizations"] += 1
                self._set_state(ChannelState.READY)
            elif reply.http_code == UNAUTHORIZED and not attempt.retried:
                retry = True
                schedule = self._claim_authorization_job(force=True)
        if generation is not None:
            self._mark_healthy()  # a confirmed authorize: the backoff starts from scratch
            self._wake_writer()  # the writer, not this reader, sends what waited
            self._schedule_refresh(generation)
            return
        if not retry:
            settlements = self._authorize_refused(attempt, reply)
        settle(settlements)
        if schedule:
            self._schedule_authorization(attempt.token, blocking=attempt.blocking)

    def _on_command_reply(self, reply: protocol.Confirmation) -> None:
        reauthorize = False
        with self._lock:
            command, settlement = self._book.answer(reply)
            this_link = command is None or command.epoch == self._epoch
            if reply.http_code == UNAUTHORIZED and this_link:
                reauthorize = self._begin_blocking_reauthorization()
            stale = self._authorized
        settle([settlement] if settlement else [])
        if reauthorize:
            self._schedule_authorization(stale)

    # ------------------------------------------------------------------ helpers (locks noted)

    def _check_usable(self, guid: str) -> None:  # _lock held
        if self._state is ChannelState.CLOSED:
            raise NotSentClosedError(guid, f"the {self._name} command channel was closed")
        if self._state is ChannelState.FAILED:
            raise NotSentConnectionLostError(guid, f"the {self._name} connection gave up")
