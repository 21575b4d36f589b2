"""Building the client's ``/ws`` connections from its options, and reporting on them.

Owns: making data connection ``number`` (a :class:`~alor_sync.data.session.DataSession` wired
to its own :class:`~alor_sync.transport.connection.ReconnectingWebSocket`), turning transport
events into the user's ``on_connect``/``on_disconnect`` changes (the facade also routes the
``/cws`` channel's events through :func:`report_connection`), the control thread's
housekeeping, why the first connection failed, :class:`ClientStatistics` across every link,
and turning the arguments of ``subscribe()`` into the checked request a link carries.

Rules of this module:

* Builds, never starts: :class:`~alor_sync.data.connections.DataConnections` starts what
  :meth:`LinkBuilder.build` returns, under its own lock.
* Runs no user code and never blocks: hooks are only queued (:class:`HookRunner` runs them on a
  dispatcher worker).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from alor_sync import protocol
from alor_sync.auth import TokenProvider
from alor_sync.data.connections import DataConnections, DataLink
from alor_sync.data.session import DataSession, SessionHooks
from alor_sync.data.subscriptions import SubscriptionStatistics
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.hooks import HookRunner
from alor_sync.errors import ConnectFailedError, InvalidArgumentError
from alor_sync.events import ConnectionChange, GapNotice, StateChange
from alor_sync.transport.connection import ReconnectingWebSocket
from alor_sync.transport.options import ConnectionOptions, positive_seconds
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind, TransportStatistics
from alor_sync.wire import Format, Opcode, parse_format, parse_opcode

__all__ = [
    "ClientStatistics",
    "LinkBuilder",
    "checked_subscription",
    "client_statistics",
    "first_connection_error",
    "housekeeping",
    "report_connection",
]


@attrs.frozen
class ClientStatistics:
    """A snapshot of the whole client: the data connections, each subscription, dropped frames.

    ``connection``: the first data connection; ``connections``: every data connection opened
    (more than one once the subscriptions outgrow ``max_subscriptions_per_connection``), with
    ``subscriptions_per_connection`` in the same order; ``unrouted_frames``: data frames for a guid
    no subscription owns (after an unsubscribe, say); ``malformed_frames``: frames that were not
    JSON of a known shape (each also went to ``on_error``); ``token_expires_in``: seconds left on
    the current access token.
    """

    connection: TransportStatistics
    subscriptions: tuple[SubscriptionStatistics, ...]
    unrouted_frames: int
    malformed_frames: int
    workers_busy: int
    token_expires_in: float | None
    connections: tuple[TransportStatistics, ...] = ()
    subscriptions_per_connection: tuple[int, ...] = ()


class LinkBuilder:
    """Makes the data connections of one client (``build`` is what ``DataConnections`` calls).

    Thread-safety: :meth:`build` runs on whichever thread subscribes (under the
    ``DataConnections`` lock); the connection's ``on_state`` runs on its connection thread and
    sets ``first_attempt_ended`` once its first attempt opened, failed or gave up.
    """

    def __init__(
        self,
        ws_url: str,
        *,
        tokens: TokenProvider,
        hooks: HookRunner,
        connection: ConnectionOptions,
        lossless_limit: int,
        exact: bool,
    ) -> None:
        self._url = ws_url
        self._tokens = tokens
        self._hooks = hooks
        self._connection = connection
        self._lossless_limit = lossless_limit
        self._exact = exact
        self.first_attempt_ended = threading.Event()

    def build(self, number: int, dispatcher: Dispatcher, control: ControlLoop) -> DataLink:
        """Data connection ``number``: ``ws`` and thread ``alor-sync-ws``, then ``ws-2``..."""
        name = "ws" if number == 1 else f"ws-{number}"
        holder: list[ReconnectingWebSocket] = []
        hooks = self._hooks
        session = DataSession(
            name=name,
            send=lambda data: holder[0].send(data),
            reconnect=lambda reason: holder[0].reconnect(reason),
            tokens=self._tokens,
            dispatcher=dispatcher,
            control=control,
            hooks=SessionHooks(
                on_error=hooks.emit_error,
                on_gap=hooks.gap,
                on_resubscribed=hooks.emit_resubscribed,
            ),
            lossless_limit=self._lossless_limit,
            exact=self._exact,
            mark_healthy=lambda: holder[0].mark_healthy(),
        )
        options = self._connection
        transport = ReconnectingWebSocket(
            self._url,
            name=f"alor-sync-{name}",
            on_open=session.on_open,
            on_frame=session.on_frame,
            on_state=lambda event: self._on_state(session, event),
            on_malformed_frame=session.on_malformed_frame,
            on_frames_done=session.on_frames_done,
            backoff=options.backoff(),
            heartbeat_interval=options.heartbeat_interval,
            pong_timeout=options.pong_timeout,
            connect_timeout=options.connect_timeout,
            max_attempts=options.max_reconnect_attempts,
            ssl_context=options.ssl_context,
            lender=dispatcher.lender,
        )
        holder.append(transport)
        return DataLink(name, session, transport)

    def _on_state(self, session: DataSession, event: ConnectionEvent) -> None:
        """Connection thread: update subscriptions, then queue the user's hook."""
        session.on_state(event)
        report_connection(self._hooks, session.name, event)
        if event.kind is not ConnectionEventKind.DISCONNECTED:
            self.first_attempt_ended.set()  # opened, failed or gave up: start(wait=) decides


def report_connection(hooks: HookRunner, connection: str, event: ConnectionEvent) -> None:
    """Any connection thread: turn a transport event into an ``on_connect``/``on_disconnect``.

    Repeated failed attempts while the server is down are reported once, not per attempt.
    """
    if event.kind is ConnectionEventKind.CONNECTED:
        hooks.emit_connection(ConnectionChange(connection=connection, connected=True))
    elif event.kind is not ConnectionEventKind.CONNECT_FAILED or event.failed_attempts == 1:
        hooks.emit_connection(
            ConnectionChange(
                connection=connection,
                connected=False,
                reason=event.reason,
                will_retry=event.will_retry,
                next_attempt_in=event.next_attempt_in,
                attempt=event.failed_attempts,
                error=event.error,
            )
        )


def housekeeping(tokens: TokenProvider, hooks: HookRunner, data: DataConnections | None) -> None:
    """Control thread: keep the token fresh so no network thread ever waits for HTTP, and run the
    silence watchdog of every data connection."""
    try:
        tokens.get_token()
    except Exception as exc:
        hooks.emit_error(exc, None)
    if data is not None:
        data.check_silence()


def first_connection_error(
    transport: ReconnectingWebSocket, ws_url: str, wait: float, decided: bool
) -> ConnectFailedError:
    """Why the first data connection did not open within ``wait`` seconds (``decided``: its first
    attempt had ended by then). The URL is named without its query: it may carry credentials."""
    where = ws_url.split("?", 1)[0]
    if decided:
        return transport.connect_error() or ConnectFailedError(
            f"cannot connect to {where}: {transport.statistics().last_error}", kind="other"
        )
    return ConnectFailedError(
        f"cannot connect to {where}: no connection within {wait:g} s (the first attempt "
        "had not ended)",
        kind="timeout",
    )


def client_statistics(
    data: DataConnections, dispatcher: Dispatcher, tokens: TokenProvider
) -> ClientStatistics:
    """Counters of every data connection and of every live subscription on them."""
    links = data.links
    connections = tuple(link.transport.statistics() for link in links)
    sessions = [link.session for link in links]
    return ClientStatistics(
        connection=connections[0],
        subscriptions=tuple(
            session.statistics_of(stream)
            for session in sessions
            for stream in session.live_streams()
        ),
        unrouted_frames=sum(session.unrouted_frames for session in sessions),
        malformed_frames=sum(session.malformed_frames for session in sessions),
        workers_busy=dispatcher.statistics().busy,
        token_expires_in=tokens.expires_in(),
        connections=connections,
        subscriptions_per_connection=tuple(len(session) for session in sessions),
    )


def checked_subscription(
    opcode: Opcode | str,
    callback: Callable[[Any], None] | None,
    *,
    raw: object,
    silence_timeout: float | None,
    conflate: object,
    on_gap: Callable[[GapNotice], None] | None,
    on_state: Callable[[StateChange], None] | None,
    params: dict[str, Any],
) -> tuple[Opcode, Format, dict[str, Any], Callable[[Any], None]]:
    """The opcode, format, request (with a fresh guid) and callback of a ``subscribe()`` call, or
    :class:`~alor_sync.errors.InvalidArgumentError` naming the first bad argument (any thread)."""
    if not callable(callback):
        raise InvalidArgumentError(f"callback must be callable, not {callback!r}")
    for name, hook in (("on_gap", on_gap), ("on_state", on_state)):
        if hook is not None and not callable(hook):
            raise InvalidArgumentError(f"{name} must be callable or None, not {hook!r}")
    if silence_timeout is not None and not positive_seconds(silence_timeout):
        raise InvalidArgumentError(
            f"silence_timeout must be a positive number of seconds, got {silence_timeout!r}"
        )
    if not isinstance(raw, bool):
        raise InvalidArgumentError(f"raw must be True or False, got {raw!r}")
    op = parse_opcode(opcode)
    chosen = {k: v for k, v in params.items() if v is not None}
    request = protocol.subscription_request(op, DataSession.new_guid(), **chosen)
    fmt = parse_format(request.get("format", "Simple"))
    if not isinstance(conflate, bool):
        raise InvalidArgumentError(f"conflate must be True or False, got {conflate!r}")
    return op, fmt, request, callback
