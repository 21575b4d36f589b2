"""``AlorClient``: the facade a user holds. It composes; it does not implement.

Rules of this module:

* Composition only: token provider, dispatcher, control loop, data connections and the command
  channel are wired here; their layers build them (option checks in
  :mod:`alor_sync.client_options`, ``/ws`` connections in :mod:`alor_sync.data.links`, the
  ``/cws`` channel in :mod:`alor_sync.commands.channel`). Methods here only delegate.
* Nothing connects before :meth:`AlorClient.start` (or ``with``); :meth:`AlorClient.close`
  undoes everything ``start`` did, from any thread, and leaves no thread behind.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from alor_sync.auth import TokenProvider
from alor_sync.client_options import ClientOptions, check_options, make_tokens
from alor_sync.data.connections import DataConnections
from alor_sync.data.links import (
    ClientStatistics,
    LinkBuilder,
    checked_subscription,
    client_statistics,
    first_connection_error,
    housekeeping,
    report_connection,
)
from alor_sync.data.session import DataSession
from alor_sync.data.snapshot_methods import SnapshotMethods
from alor_sync.data.stream_methods import StreamMethods
from alor_sync.data.subscriptions import Subscription
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import DEFAULT_LOSSLESS_LIMIT, Dispatcher, Executor
from alor_sync.dispatch.hooks import ErrorHook, HookRunner
from alor_sync.endpoints import Endpoints, resolve_endpoints
from alor_sync.errors import ClientClosedError, ConnectFailedError, InvalidArgumentError
from alor_sync.events import ConnectionChange, GapNotice, ResubscribeReport, StateChange
from alor_sync.models.values import P
from alor_sync.transport.connection import ReconnectingWebSocket
from alor_sync.transport.options import ConnectionOptions, positive_seconds
from alor_sync.wire import Opcode

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from alor_sync.commands.channel import CommandChannel

__all__ = ["AlorClient", "ClientStatistics"]

# How often the control thread renews the token ahead of expiry and checks silent subscriptions.
_HOUSEKEEPING_INTERVAL = 1.0
# ALOR's documented limits: subscriptions per connection, connections per user (/cws included).
MAX_SUBSCRIPTIONS_PER_CONNECTION = 5000
MAX_CONNECTIONS = 10


class AlorClient(SnapshotMethods[P], StreamMethods[P]):
    """A connection to ALOR's ``/ws`` data API (and, through :attr:`commands`, ``/cws``).

    Threads: ``alor-sync-ws`` reads the socket and routes frames (never runs user code);
    ``alor-sync-dispatch-N`` (or your ``executor``) run callbacks and hooks; ``alor-sync-control``
    refreshes tokens and runs watchdogs; ``alor-sync-cws`` serves order commands once used.
    Every public method is thread-safe and may be called from inside a callback.

    Hooks (keyword arguments, all run on a dispatcher worker, in order):
    ``on_connect(ConnectionChange)``, ``on_disconnect(ConnectionChange)``,
    ``on_resubscribed(ResubscribeReport)`` once every live subscription was confirmed again after
    a reconnect, ``on_gap(GapNotice)`` in the subscription's own order when frames were lost,
    ``on_error(error, guid_or_None)`` for callback exceptions, undecodable frames and rejected
    subscriptions (default: logged).

    Scale: one ``/ws`` connection carries up to ``max_subscriptions_per_connection`` (ALOR's cap,
    5,000); beyond that the client opens more by itself (threads ``alor-sync-ws-2``...), up to
    ``max_connections`` in all, counting the ``/cws`` connection once it is in use.

    Types: ``AlorClient(...)`` is an ``AlorClient[float]`` and ``AlorClient(..., exact=True)`` an
    ``AlorClient[Decimal]``; its callbacks and gets carry models of that price type
    (``Quote[float]``, ``list[Bar[Decimal]]``...), so price arithmetic type-checks as written.
    """

    @overload
    def __init__(
        self: AlorClient[float],
        refresh_token: str | None = None,
        *,
        exact: Literal[False] = False,
        **options: Unpack[ClientOptions],
    ) -> None: ...

    @overload
    def __init__(
        self: AlorClient[Decimal],
        refresh_token: str | None = None,
        *,
        exact: Literal[True],
        **options: Unpack[ClientOptions],
    ) -> None: ...

    @overload
    def __init__(
        self: AlorClient[Any],
        refresh_token: str | None = None,
        *,
        exact: bool,
        **options: Unpack[ClientOptions],
    ) -> None: ...

    def __init__(
        self,
        refresh_token: str | None = None,
        *,
        access_token: str | None = None,
        token_provider: TokenProvider | None = None,
        env: str | Endpoints = "prod",
        ws_url: str | None = None,
        cws_url: str | None = None,
        oauth_url: str | None = None,
        workers: int | None = None,
        executor: Executor | None = None,
        exact: bool = False,
        heartbeat_interval: float | None = 5.0,
        pong_timeout: float = 5.0,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 30.0,
        max_reconnect_attempts: int | None = None,
        lossless_queue_limit: int = DEFAULT_LOSSLESS_LIMIT,
        max_subscriptions_per_connection: int = MAX_SUBSCRIPTIONS_PER_CONNECTION,
        max_connections: int = MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
        on_connect: Callable[[ConnectionChange], None] | None = None,
        on_disconnect: Callable[[ConnectionChange], None] | None = None,
        on_resubscribed: Callable[[ResubscribeReport], None] | None = None,
        on_gap: Callable[[GapNotice], None] | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        self._connection_options = connection = ConnectionOptions(
            heartbeat_interval=heartbeat_interval,
            pong_timeout=pong_timeout,
            connect_timeout=connect_timeout,
            reconnect_delay=reconnect_delay,
            max_reconnect_delay=max_reconnect_delay,
            max_reconnect_attempts=max_reconnect_attempts,
            ssl_context=ssl_context,
        )
        check_options(
            connection,
            workers=workers,
            counts={
                "lossless_queue_limit": lossless_queue_limit,
                "max_subscriptions_per_connection": max_subscriptions_per_connection,
                "max_connections": max_connections,
            },
            executor=executor,
            hooks={
                "on_connect": on_connect,
                "on_disconnect": on_disconnect,
                "on_resubscribed": on_resubscribed,
                "on_gap": on_gap,
                "on_error": on_error,
            },
        )
        self.endpoints = resolve_endpoints(env, ws_url=ws_url, cws_url=cws_url, oauth_url=oauth_url)
        self.tokens = make_tokens(
            refresh_token, access_token, token_provider, self.endpoints.oauth_url, ssl_context
        )
        self._hooks = HookRunner(
            on_connect=on_connect,
            on_disconnect=on_disconnect,
            on_resubscribed=on_resubscribed,
            on_gap=on_gap,
            on_error=on_error,
        )
        self._workers = workers
        self._executor = executor
        self._per_connection = max_subscriptions_per_connection
        self._max_connections = max_connections
        self._links = LinkBuilder(
            self.endpoints.ws_url,
            tokens=self.tokens,
            hooks=self._hooks,
            connection=connection,
            lossless_limit=lossless_queue_limit,
            exact=exact,
        )
        self._lock = threading.Lock()
        # One bound method shared by every handle (not one per subscription: memory per
        # subscription is a benchmark target).
        self._explain_unsent = self._connection_error
        self._started = False
        self._closed = False
        self._dispatcher: Dispatcher | None = None
        self._control: ControlLoop | None = None
        self._data: DataConnections | None = None
        # The first data connection (kept for callers that know only one).
        self._transport: ReconnectingWebSocket | None = None
        self._session: DataSession | None = None
        self._commands: CommandChannel | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, wait: float | None = None) -> Self:
        """Fetch a first token (fails fast on bad credentials), then connect in the background.

        Without ``wait`` it returns after the token call (see :meth:`wait_connected`). With
        ``wait`` (seconds) it also blocks until the first data connection attempt has ended:
        it returns once connected; when that attempt failed (or did not end within ``wait``)
        the client is closed (no thread left) and :class:`~alor_sync.errors.ConnectFailedError`
        says why: refused, DNS, TLS, the HTTP status of a rejected handshake, or no answer in
        time. (To keep retrying in the background instead, start without ``wait``.) Raises
        :class:`~alor_sync.errors.TokenRefreshError` for a rejected refresh token.
        """
        if wait is not None and not positive_seconds(wait):
            raise InvalidArgumentError(f"wait must be a positive number of seconds, got {wait!r}")
        self._start()
        if wait is not None:
            self._wait_first_connection(wait)
        return self

    def _wait_first_connection(self, wait: float) -> None:
        transport = self._require_started()
        decided = self._links.first_attempt_ended.wait(wait)
        # ever_connected: it opened (and maybe dropped since); from now on it reconnects as usual.
        if transport.ever_connected:
            return
        if self._closed:
            raise ClientClosedError("this AlorClient was closed while start() waited")
        error = first_connection_error(transport, self.endpoints.ws_url, wait, decided)
        self.close()
        raise error

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise ClientClosedError("this AlorClient was closed; create a new one")
            if self._started:
                return
            self._started = True
        try:
            self.tokens.get_token()
        except BaseException:
            with self._lock:
                self._started = False  # nothing was built yet: start() may be called again
            raise
        try:
            # Under the lock: a close() that came during the token call is seen here, and one
            # that comes now waits until there are threads for it to stop.
            with self._lock:
                if self._closed:
                    raise ClientClosedError("this AlorClient was closed while it started")
                self._start_threads()
        except ClientClosedError:
            raise
        except BaseException:
            self.close()  # a half-built client leaves no thread behind (`with` never closes it)
            raise

    def _start_threads(self) -> None:
        dispatcher = Dispatcher(
            workers=self._workers if self._executor is None else None,
            executor=self._executor,
            on_error=self._hooks.worker_error,
        )
        self._hooks.attach(dispatcher)
        control = ControlLoop()
        data = DataConnections(
            lambda number: self._links.build(number, dispatcher, control),
            per_connection=self._per_connection,
            max_connections=self._data_connections_allowed,
        )
        self._dispatcher, self._control, self._data = dispatcher, control, data
        control.start()
        control.call_every(_HOUSEKEEPING_INTERVAL, self._housekeeping)
        first = data.start()
        self._session, self._transport = first.session, first.transport

    def _data_connections_allowed(self) -> int:
        return self._max_connections - (1 if self._commands is not None else 0)

    def _housekeeping(self) -> None:
        housekeeping(self.tokens, self._hooks, self._data)

    def close(self, timeout: float | None = 10.0) -> None:
        """Unsubscribe nothing, just stop: close sockets, stop threads, fail pending waits.

        Idempotent; callable from any thread, including from inside a callback (then the
        calling worker itself is not joined). ``timeout`` bounds each join, in seconds.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # In this order: the users of the control loop and the pool before the loop and the pool.
        for part in (self._commands, self._data, self._control, self._dispatcher):
            if part is not None:
                part.close(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds until the (first) data connection is open; False
        otherwise."""
        return self._require_started().wait_connected(timeout)

    def _require_started(self) -> ReconnectingWebSocket:
        transport = self._transport
        if self._closed:
            raise ClientClosedError("this AlorClient was closed")
        if transport is None:
            raise ClientClosedError("the client is not started: call start() or use 'with'")
        return transport

    # ------------------------------------------------------------------ subscriptions

    def subscribe(
        self,
        opcode: Opcode | str,
        callback: Callable[[Any], None] | None,
        *,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: Callable[[GapNotice], None] | None = None,
        on_state: Callable[[StateChange], None] | None = None,
        **params: Any,
    ) -> Subscription[Any]:
        """Subscribe to ``opcode`` with its parameters in snake_case (see ``subscribe_*``).

        ``callback`` runs on a dispatcher worker with the typed model (or the payload dict when
        ``raw``). ``conflate=False`` makes a full-state stream (order book, quotes, summaries,
        risks) deliver every frame instead of only the newest when the callback falls behind:
        lossless up to ``lossless_queue_limit``, then a gap and a renewal, like event streams.
        ``on_gap(GapNotice)`` and ``on_state(StateChange)`` run on the same worker, in stream
        order with the frames (the client-wide ``on_gap`` runs too).
        Raises :class:`~alor_sync.errors.InvalidArgumentError` for a bad parameter.
        """
        self._require_started()
        op, fmt, request, callback = checked_subscription(
            opcode, callback, raw=raw, silence_timeout=silence_timeout, conflate=conflate,
            on_gap=on_gap, on_state=on_state, params=params,
        )  # fmt: skip
        data = self._data
        assert data is not None
        handle = data.subscribe(
            op, fmt, request, callback, raw=raw, silence_timeout=silence_timeout,
            conflate=conflate, on_gap=on_gap, on_state=on_state,
        )  # fmt: skip
        handle._connection_error = self._explain_unsent  # for wait_active's message
        return handle

    def _connection_error(self) -> ConnectFailedError | None:
        """Why a data connection cannot be made right now, if one cannot (any thread)."""
        links = () if self._data is None else self._data.links
        return next((e for link in links if (e := link.transport.connect_error())), None)

    # ------------------------------------------------------------------ commands

    @property
    def commands(self) -> CommandChannel:
        """Order commands over ``/cws`` on their own connection (``alor-sync-cws``), opened on
        first use; see :class:`~alor_sync.commands.channel.CommandChannel`. After :meth:`close` the
        channel that was used stays readable (its final ``statistics()``); none is opened."""
        with self._lock:
            if self._commands is None:
                if self._closed:
                    raise ClientClosedError("this AlorClient was closed")
                self._commands = self._build_commands()
            return self._commands

    def _build_commands(self) -> CommandChannel:
        from alor_sync.commands.channel import start_channel

        if self._control is None:
            raise ClientClosedError("the client is not started: call start() or use 'with'")
        return start_channel(
            self.endpoints.cws_url,
            self.tokens,
            self._connection_options,
            control=self._control,
            dispatcher=self._dispatcher,
            on_connection_event=lambda event: report_connection(self._hooks, "cws", event),
        )

    # ------------------------------------------------------------------ introspection

    def statistics(self) -> ClientStatistics:
        """Counters of the connections and of every live subscription; after :meth:`close`, the
        final counters."""
        data, dispatcher = self._data, self._dispatcher
        if data is None or dispatcher is None:
            raise ClientClosedError("the client is not started: call start() or use 'with'")
        return client_statistics(data, dispatcher, self.tokens)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("started" if self._started else "new")
        return f"<AlorClient {self.endpoints.ws_url} {state}>"
