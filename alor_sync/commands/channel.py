"""Order commands over ``/cws``: blocking, thread-safe, correlated by guid, never re-sent blindly.

Rules of this module:

* Each command gets a fresh guid, is checked and serialised once by :mod:`alor_sync.protocol`
  (so an impossible order fails with ``InvalidArgumentError`` before anything is sent), and ends
  with *its own* reply, matched by ``requestGuid``.
* The library never re-sends an order by itself. A command that was sent and got no reply raises
  :class:`~alor_sync.errors.OutcomeUnknownError`; only :meth:`CommandChannel.retry` sends it
  again, with the same guid (the server executes a guid at most once).
* This module is the facade: the state machine (authorization, queue, correlation) lives in
  :mod:`alor_sync.commands.session`, the socket in :mod:`alor_sync.transport.connection`. It
  owns two threads: the connection (reader) thread and the writer thread; neither runs user code.

Which outcome a command has (the rule the README quotes):

Every error below carries the command's ``request_guid``. The ``CommandNotSentError`` family
means the order was NOT placed; each subclass also derives from the class raised before it
existed (in brackets), so older ``except`` clauses keep working.

==========================================================  ====================================
what happened                                               outcome
==========================================================  ====================================
refused by the client-side checks                           ``InvalidArgumentError``; not sent
reply with ``httpCode`` 200                                 :class:`OrderResult`
reply with another code                                     ``APIError`` subclass (400 ->
                                                            ``BadRequestError``...); the server
                                                            did not execute it
not sent yet (no authorized connection) when it times out   ``NotSentTimeoutError``
                                                            [``CommandTimeoutError``]
not sent yet when authorization fails (401 after a refresh) ``NotAuthorizedError``
                                                            [``AuthenticationError``]
``max_queued`` commands already wait                        ``CommandQueueFullError``
not sent yet when the connection drops, or its write fails  keeps waiting; goes out (once) after
                                                            the next ``authorize`` is confirmed
not sent when the connection gives up for good              ``NotSentConnectionLostError``
                                                            [``ConnectionLostError``]
not sent yet at ``close()``                                 ``NotSentClosedError``
                                                            [``ClientClosedError``]
sent, then no reply: timeout, dropped connection, close     ``OutcomeUnknownError``; the order
                                                            may exist (``retry`` or check)
==========================================================  ====================================

A ``guid=`` given to a command is its idempotency key: a second call with the same guid is the
same order. While the first is pending, the second shares its reply (nothing more is sent);
after that, the same frame goes out again and the server answers with its first reply instead
of executing it (unless ``check_duplicates=False``, which turns the server's check off).

A failed write counts as "not sent": a socket write fails only for bytes it did not take, and the
server cannot act on half a frame (the guid guards the rest; commands sent with
``check_duplicates=False`` are judged conservatively and become outcome-unknown instead).
"""

from __future__ import annotations

import concurrent.futures
import math
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from alor_sync import protocol
from alor_sync.auth import TokenProvider
from alor_sync.commands.book import Command
from alor_sync.commands.callbacks import CallbackRunner
from alor_sync.commands.methods import OrderCommandMethods, command_arguments
from alor_sync.commands.results import ChannelState, CommandFuture, CommandStatistics, OrderResult
from alor_sync.commands.session import CommandSession, new_guid
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.errors import InvalidArgumentError
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.connection import ReconnectingWebSocket
from alor_sync.transport.options import ConnectionOptions
from alor_sync.transport.status import ConnectionEvent
from alor_sync.wire import COMMAND_OPCODES, CommandOpcode

__all__ = [
    "ChannelState",
    "CommandChannel",
    "CommandFuture",
    "CommandStatistics",
    "OrderResult",
    "start_channel",
]

# Commands that may wait for an authorized connection at once; beyond it submit() refuses.
DEFAULT_MAX_QUEUED = 1000

_OPCODES_BY_LOWER = {op.value.lower(): op for op in COMMAND_OPCODES}


def _check_timeout(name: str, value: float | None) -> None:
    valid = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if value is not None and not valid:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, got {value!r}")


def _parse_command(command: CommandOpcode | str) -> CommandOpcode:
    key = command.value if isinstance(command, CommandOpcode) else str(command)
    found = _OPCODES_BY_LOWER.get(key.lower())
    if found is None:
        known = ", ".join(op.value for op in COMMAND_OPCODES)
        raise InvalidArgumentError(f"unknown order command {command!r}; known: {known}")
    return found


def _builder_params(params: dict[str, Any]) -> dict[str, Any]:
    """snake_case arguments of a command -> keyword arguments of its protocol builder."""
    if "stop_end_time" in params:
        raise InvalidArgumentError("the expiry of a stop order is stop_end_unix_time")
    if "stop_end_unix_time" in params:
        params["stop_end_time"] = params.pop("stop_end_unix_time")
    return params


class CommandChannel(OrderCommandMethods):
    """Order commands on the ``/cws`` connection (``client.commands``).

    One connection in the thread ``name`` (``alor-sync-cws``), reconnected with ``backoff``
    (reset as soon as an ``authorize`` is confirmed). Every connection is authorized
    (``authorize``) before any command goes out on it, and again with a fresh token
    ``reauthorize_margin`` seconds (at most half the token's life) before the token expires, or
    whenever ``tokens`` issues a new one; an ``authorize`` unanswered for ``authorize_timeout``
    seconds replaces the connection. Commands issued while there is no authorized connection wait
    in order (their timeout runs; at most ``max_queued`` of them, beyond that
    ``CommandQueueFullError``) and go out once, after the next confirmed ``authorize``. The
    channel starts itself on first use if :meth:`start` was not called.

    Blocking methods (``create_limit``...) wait up to ``timeout`` seconds (default
    ``default_timeout``; queueing time included) for the command's own reply and return an
    :class:`OrderResult` or raise (see the module docstring for every outcome); ``guid=`` sets
    the command's idempotency key. :meth:`submit` is the non-blocking form; it returns a
    :class:`CommandFuture`.

    Threads: ``<name>`` reads replies, ``<name>-writer`` writes commands; neither runs user
    code or waits for HTTP. Futures' done-callbacks run on ``dispatcher`` (the client's pool or
    your ``executor``; without one, a private one-worker dispatcher). ``control``: the client's
    control loop for token refreshes and async timeouts; without one the channel runs its own
    thread ``<name>-control``. ``on_connection_event`` is called on the connection thread after
    each connect/disconnect was applied; it must only enqueue.

    Thread-safety: every method may be called from any thread, ``close()`` included (also from a
    future's done-callback). Many threads may wait for replies at once; none blocks another, and
    a blocking command works from a done-callback, a subscription callback or a hook.
    """

    def __init__(
        self,
        cws_url: str,
        tokens: TokenProvider,
        *,
        ssl_context: ssl.SSLContext | None = None,
        heartbeat_interval: float | None = 5.0,
        pong_timeout: float = 5.0,
        connect_timeout: float = 10.0,
        send_timeout: float = 10.0,
        backoff: Backoff | None = None,
        default_timeout: float = 10.0,
        reauthorize_margin: float = 600.0,
        authorize_timeout: float = 10.0,
        retry_limit: int = 1000,
        max_queued: int = DEFAULT_MAX_QUEUED,
        control: ControlLoop | None = None,
        dispatcher: Dispatcher | None = None,
        on_connection_event: Callable[[ConnectionEvent], None] | None = None,
        name: str = "alor-sync-cws",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_timeout("default_timeout", default_timeout)
        _check_timeout("authorize_timeout", authorize_timeout)
        if not reauthorize_margin >= 0:
            raise InvalidArgumentError(
                f"reauthorize_margin must be >= 0 seconds, got {reauthorize_margin!r}"
            )
        for option, count, low in (("retry_limit", retry_limit, 0), ("max_queued", max_queued, 1)):
            if not (isinstance(count, int) and not isinstance(count, bool) and count >= low):
                raise InvalidArgumentError(f"{option} must be an int >= {low}, got {count!r}")
        self._tokens = tokens
        self._default_timeout = float(default_timeout)
        self._owns_control = control is None
        self._control = control or ControlLoop(name=f"{name}-control", clock=clock)
        self._on_connection_event = on_connection_event
        self._callbacks = CallbackRunner(dispatcher)
        self._writable = threading.Event()
        self._session = CommandSession(
            name=name,
            send=self._send_frame,
            reconnect=self._reconnect,
            tokens=tokens,
            control=self._control,
            reauthorize_margin=float(reauthorize_margin),
            authorize_timeout=float(authorize_timeout),
            unknown_limit=retry_limit,
            max_queued=max_queued,
            wake_writer=self._writable.set,
            mark_healthy=self._mark_healthy,
            hand_off=self._callbacks.run,
        )
        self._transport = ReconnectingWebSocket(
            cws_url,
            name=name,
            on_open=self._session.on_open,
            on_frame=self._session.on_frame,
            on_state=self._on_state,
            on_malformed_frame=self._session.on_malformed_frame,
            heartbeat_interval=heartbeat_interval,
            pong_timeout=pong_timeout,
            connect_timeout=connect_timeout,
            send_timeout=send_timeout,
            backoff=backoff,
            ssl_context=ssl_context,
            clock=clock,
        )
        self._writer = threading.Thread(target=self._write_loop, name=f"{name}-writer", daemon=True)
        self._lifecycle = threading.Lock()
        self._started = self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Connect in the background (idempotent); returns at once. See :meth:`wait_authorized`."""
        with self._lifecycle:
            if self._closed or self._started:
                return self
            self._started = True
        self._tokens.add_listener(self._session.on_new_token)
        if self._owns_control:
            self._control.start()
        self._writer.start()
        self._transport.start()
        return self

    def wait_authorized(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds until commands would go out at once.

        False on timeout, after an authorization failure (state ``UNAUTHORIZED``; the next
        command tries again) or once closed.
        """
        self._ensure_started()
        return self._session.wait_authorized(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Fail what waits (never sent: ``NotSentClosedError``; sent and unanswered:
        ``OutcomeUnknownError``), close the connection and join the threads up to ``timeout``
        seconds each; done-callbacks still queued get that long to run, later ones run on the
        calling thread. Idempotent; :meth:`statistics` keeps answering (final counters)."""
        with self._lifecycle:
            if self._closed:
                return
            self._closed = True
            started = self._started
        self._session.close()
        if started:
            self._tokens.remove_listener(self._session.on_new_token)
        self._transport.close(timeout)  # first: it ends a write blocked on a stuck socket
        if started:
            self._writer.join(timeout)
        self._callbacks.close(timeout)
        if self._owns_control:
            self._control.close(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ introspection

    @property
    def state(self) -> ChannelState:
        return self._session.state

    def statistics(self) -> CommandStatistics:
        """A snapshot of the counters (no secrets); after :meth:`close`, the final ones."""
        return self._session.statistics(reconnects=self._transport.statistics().reconnects)

    def outcome_unknown_guids(self) -> tuple[str, ...]:
        """Guids :meth:`retry` accepts (oldest first; the newest ``retry_limit`` are kept)."""
        return self._session.retryable_guids()

    def __repr__(self) -> str:
        return f"<CommandChannel {self._transport.name} {self.state.value}>"

    # ------------------------------------------------------------------ generic API

    def submit(
        self,
        command: CommandOpcode | str,
        /,
        *,
        timeout: float | None = None,
        guid: str | None = None,
        **params: Any,
    ) -> CommandFuture:
        """Send any order command without waiting; returns its :class:`CommandFuture`.

        ``command`` names it (``"create:limit"``, ``CommandOpcode.DELETE_STOP``; any casing);
        ``params`` are the keyword arguments of the matching method (``create_limit``...).
        ``guid`` (optional) is the idempotency key to use; by default a fresh UUID. After
        ``timeout`` seconds the future fails like the blocking call would; that timer runs on
        the control thread, so it may fire late while a token refresh is in progress. The
        future's done-callbacks run on the dispatcher, never on a network thread.
        """
        _check_timeout("timeout", timeout)
        future = self._submit(_parse_command(command), command_arguments(params), guid)
        seconds = self._default_timeout if timeout is None else timeout
        if not math.isinf(seconds):
            expire = self._session.expire
            self._control.call_later(seconds, lambda: expire(future.request_guid, future))
        return future

    def retry(self, guid: str, *, timeout: float | None = None) -> OrderResult:
        """Send an outcome-unknown command again with the same guid and wait for its reply.

        Only for guids an :class:`~alor_sync.errors.OutcomeUnknownError` named (see
        :meth:`outcome_unknown_guids`). The server executes a guid at most once and answers a
        repeat with the first reply, so this never makes a second order. If the original reply
        arrived late meanwhile, it is returned without sending anything. Refused
        (``InvalidArgumentError``) for a command sent with ``check_duplicates=False``.
        """
        _check_timeout("timeout", timeout)
        self._ensure_started()
        return self._wait(self._session.resubmit(guid), timeout)

    # ------------------------------------------------------------------ plumbing

    def _ensure_started(self) -> None:
        if not self._started:
            self.start()

    def _submit(
        self, opcode: CommandOpcode, params: dict[str, Any], guid: str | None
    ) -> CommandFuture:
        guid = new_guid() if guid is None else guid
        request = protocol.command_request(opcode, guid, **_builder_params(params))
        command = Command(
            guid,
            protocol.dumps(request),
            self._session.new_future(guid),
            retryable=params.get("check_duplicates") is not False,
        )
        self._ensure_started()
        self._session.submit(command)
        return command.future

    def _call(
        self,
        opcode: CommandOpcode,
        arguments: dict[str, Any],
        timeout: float | None,
        guid: str | None = None,
    ) -> OrderResult:
        _check_timeout("timeout", timeout)
        return self._wait(self._submit(opcode, arguments, guid), timeout)

    def _wait(self, future: CommandFuture, timeout: float | None) -> OrderResult:
        seconds = self._default_timeout if timeout is None else timeout
        done, _ = concurrent.futures.wait((future,), None if math.isinf(seconds) else seconds)
        if not done:
            self._session.expire(future.request_guid, future)
        return future.result()

    def _write_loop(self) -> None:
        """The writer thread: write what the session has due, sleep until woken, until closed."""
        session, writable = self._session, self._writable
        while True:
            writable.wait()
            writable.clear()
            while session.write_next():
                pass
            if session.state is ChannelState.CLOSED:
                return

    def _send_frame(self, frame: bytes) -> None:
        self._transport.send(frame)

    def _reconnect(self, reason: str) -> bool:
        return self._transport.reconnect(reason)

    def _mark_healthy(self) -> None:
        self._transport.mark_healthy()

    def _on_state(self, event: ConnectionEvent) -> None:
        self._session.on_state(event)
        if self._on_connection_event is not None:
            self._on_connection_event(event)


def start_channel(
    cws_url: str,
    tokens: TokenProvider,
    options: ConnectionOptions,
    *,
    control: ControlLoop,
    dispatcher: Dispatcher | None,
    on_connection_event: Callable[[ConnectionEvent], None],
) -> CommandChannel:
    """The channel of a client (``client.commands``): its socket options, its control loop and
    its dispatcher (futures' done-callbacks run on the pool or the user's executor, in order),
    started."""
    channel = CommandChannel(
        cws_url,
        tokens,
        ssl_context=options.ssl_context,
        heartbeat_interval=options.heartbeat_interval,
        pong_timeout=options.pong_timeout,
        connect_timeout=options.connect_timeout,
        backoff=options.backoff(),
        control=control,
        dispatcher=dispatcher,
        on_connection_event=on_connection_event,
    )
    channel.start()
    return channel
