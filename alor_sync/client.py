"""``AlorClient``: the facade a user holds. It composes; it does not implement.

Rules of this module:

* Composition only: token provider, dispatcher, control loop, transport, data session and the
  command channel are built and wired here; protocol details live in their own modules.
* Nothing connects before :meth:`AlorClient.start` (or ``with``); :meth:`AlorClient.close`
  undoes everything ``start`` did, from any thread, and leaves no thread behind.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from alor_sync import protocol
from alor_sync.auth import RefreshTokenProvider, StaticTokenProvider, TokenProvider
from alor_sync.backoff import Backoff
from alor_sync.dispatcher import DEFAULT_LOSSLESS_LIMIT, Dispatcher, Executor
from alor_sync.endpoints import Endpoints, resolve_endpoints
from alor_sync.errors import ClientClosedError, InvalidArgumentError
from alor_sync.events import ConnectionChange, GapNotice, ResubscribeReport
from alor_sync.hooks import ErrorHook, HookRunner
from alor_sync.scheduler import ControlLoop
from alor_sync.session import DataSession, SessionHooks
from alor_sync.streams import StreamMethods
from alor_sync.subscriptions import Subscription, SubscriptionStatistics
from alor_sync.transport import (
    ConnectionEvent,
    ConnectionEventKind,
    ReconnectingWebSocket,
    TransportStatistics,
)
from alor_sync.wire import Opcode, parse_format, parse_opcode

if TYPE_CHECKING:
    from alor_sync.commands import CommandChannel

__all__ = ["AlorClient", "ClientStatistics"]

# How often the control thread renews the token ahead of expiry and checks silent subscriptions.
_HOUSEKEEPING_INTERVAL = 1.0


@attrs.frozen
class ClientStatistics:
    """A snapshot of the whole client: the data connection, each subscription, dropped frames.

    ``unrouted_frames``: data frames for a guid no subscription owns (after an unsubscribe, say);
    ``malformed_frames``: frames that were not JSON of a known shape (each also went to
    ``on_error``); ``token_expires_in``: seconds left on the current access token.
    """

    connection: TransportStatistics
    subscriptions: tuple[SubscriptionStatistics, ...]
    unrouted_frames: int
    malformed_frames: int
    workers_busy: int
    token_expires_in: float | None


def _make_tokens(
    refresh_token: str | None,
    access_token: str | None,
    token_provider: TokenProvider | None,
    oauth_url: str,
    ssl_context: ssl.SSLContext | None,
) -> TokenProvider:
    given = [x for x in (refresh_token, access_token, token_provider) if x is not None]
    if len(given) != 1:
        raise InvalidArgumentError(
            "pass exactly one of refresh_token, access_token or token_provider"
        )
    if token_provider is not None:
        return token_provider
    if access_token is not None:
        return StaticTokenProvider(access_token)
    assert refresh_token is not None
    return RefreshTokenProvider(refresh_token, oauth_url, ssl_context=ssl_context)


class AlorClient(StreamMethods):
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
    """

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
        ssl_context: ssl.SSLContext | None = None,
        on_connect: Callable[[ConnectionChange], None] | None = None,
        on_disconnect: Callable[[ConnectionChange], None] | None = None,
        on_resubscribed: Callable[[ResubscribeReport], None] | None = None,
        on_gap: Callable[[GapNotice], None] | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        self.endpoints = resolve_endpoints(env, ws_url=ws_url, cws_url=cws_url, oauth_url=oauth_url)
        self.tokens = _make_tokens(
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
        self._exact = exact
        self._lossless_queue_limit = lossless_queue_limit
        self._ssl_context = ssl_context
        self._transport_options: dict[str, Any] = {
            "heartbeat_interval": heartbeat_interval,
            "pong_timeout": pong_timeout,
            "connect_timeout": connect_timeout,
            "max_attempts": max_reconnect_attempts,
            "ssl_context": ssl_context,
        }
        self._backoff = (reconnect_delay, max_reconnect_delay)
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._dispatcher: Dispatcher | None = None
        self._control: ControlLoop | None = None
        self._transport: ReconnectingWebSocket | None = None
        self._session: DataSession | None = None
        self._commands: CommandChannel | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> AlorClient:
        """Fetch a first token (fails fast on bad credentials), then connect in the background.

        Returns at once after the token call; use :meth:`wait_connected` to wait for the socket.
        Raises :class:`~alor_sync.errors.TokenRefreshError` for a rejected refresh token.
        """
        with self._lock:
            if self._closed:
                raise ClientClosedError("this AlorClient was closed; create a new one")
            if self._started:
                return self
            self._started = True
        self.tokens.get_token()
        dispatcher = Dispatcher(
            workers=self._workers if self._executor is None else None,
            executor=self._executor,
            on_error=self._hooks.worker_error,
        )
        self._hooks.attach(dispatcher)
        control = ControlLoop()
        transport = self._build_transport(dispatcher, control)
        self._dispatcher, self._control, self._transport = dispatcher, control, transport
        control.start()
        control.call_every(_HOUSEKEEPING_INTERVAL, self._housekeeping)
        transport.start()
        return self

    def _build_transport(
        self, dispatcher: Dispatcher, control: ControlLoop
    ) -> ReconnectingWebSocket:
        holder: list[ReconnectingWebSocket] = []
        session = DataSession(
            name="ws",
            send=lambda data: holder[0].send(data),
            reconnect=lambda reason: holder[0].reconnect(reason),
            tokens=self.tokens,
            dispatcher=dispatcher,
            control=control,
            hooks=SessionHooks(
                on_error=self._hooks.emit_error,
                on_gap=self._hooks.gap,
                on_resubscribed=self._hooks.emit_resubscribed,
            ),
            lossless_limit=self._lossless_queue_limit,
            exact=self._exact,
        )
        initial, maximum = self._backoff
        transport = ReconnectingWebSocket(
            self.endpoints.ws_url,
            name="alor-sync-ws",
            on_open=session.on_open,
            on_frame=session.on_frame,
            on_state=lambda event: self._on_state(session, event),
            on_malformed_frame=session.on_malformed_frame,
            backoff=Backoff(initial=initial, maximum=maximum),
            **self._transport_options,
        )
        holder.append(transport)
        self._session = session
        return transport

    def _on_state(self, session: DataSession, event: ConnectionEvent) -> None:
        """Connection thread: update subscriptions, then queue the user's hook."""
        session.on_state(event)
        self._report_connection("ws", event)

    def _report_connection(self, connection: str, event: ConnectionEvent) -> None:
        """Any connection thread: turn a transport event into an ``on_connect``/``on_disconnect``.

        Repeated failed attempts while the server is down are reported once, not per attempt.
        """
        if event.kind is ConnectionEventKind.CONNECTED:
            self._hooks.emit_connection(ConnectionChange(connection=connection, connected=True))
        elif event.kind is not ConnectionEventKind.CONNECT_FAILED or event.failed_attempts == 1:
            self._hooks.emit_connection(
                ConnectionChange(
                    connection=connection,
                    connected=False,
                    reason=event.reason,
                    will_retry=event.will_retry,
                    next_attempt_in=event.next_attempt_in,
                    attempt=event.failed_attempts,
                )
            )

    def _housekeeping(self) -> None:
        """Control thread: keep the token fresh so no network thread ever waits for HTTP."""
        try:
            self.tokens.get_token()
        except Exception as exc:
            self._hooks.emit_error(exc, None)
        if self._session is not None:
            self._session.check_silence()

    def close(self, timeout: float | None = 10.0) -> None:
        """Unsubscribe nothing, just stop: close sockets, stop threads, fail pending waits.

        Idempotent; callable from any thread, including from inside a callback (then the
        calling worker itself is not joined). ``timeout`` bounds each join, in seconds.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._commands is not None:
            self._commands.close(timeout)
        if self._transport is not None:
            self._transport.close(timeout)
        if self._control is not None:
            self._control.close(timeout)
        if self._session is not None:
            self._session.close()
        if self._dispatcher is not None:
            self._dispatcher.close(timeout)

    def __enter__(self) -> AlorClient:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds until the data connection is open; False otherwise."""
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
        callback: Callable[[Any], None],
        *,
        raw: bool = False,
        silence_timeout: float | None = None,
        **params: Any,
    ) -> Subscription:
        """Subscribe to ``opcode`` with its parameters in snake_case (see ``subscribe_*``).

        ``callback`` runs on a dispatcher worker with the typed model (or the payload dict when
        ``raw``). Raises :class:`~alor_sync.errors.InvalidArgumentError` for a bad parameter.
        """
        self._require_started()
        if not callable(callback):
            raise InvalidArgumentError(f"callback must be callable, not {callback!r}")
        if silence_timeout is not None and silence_timeout <= 0:
            raise InvalidArgumentError("silence_timeout must be a positive number of seconds")
        op = parse_opcode(opcode)
        chosen = {k: v for k, v in params.items() if v is not None}
        request = protocol.subscription_request(op, DataSession.new_guid(), **chosen)
        fmt = parse_format(request.get("format", "Simple"))
        session = self._session
        assert session is not None
        return session.subscribe(
            op, fmt, request, callback, raw=raw, silence_timeout=silence_timeout
        )

    # ------------------------------------------------------------------ commands

    @property
    def commands(self) -> CommandChannel:
        """Order commands over ``/cws`` on their own connection (``alor-sync-cws``), opened on
        first use; see :class:`~alor_sync.commands.CommandChannel`."""
        with self._lock:
            if self._closed:
                raise ClientClosedError("this AlorClient was closed")
            if self._commands is None:
                self._commands = self._build_commands()
            return self._commands

    def _build_commands(self) -> CommandChannel:
        from alor_sync.commands import CommandChannel

        if self._control is None:
            raise ClientClosedError("the client is not started: call start() or use 'with'")
        initial, maximum = self._backoff
        options = self._transport_options
        channel = CommandChannel(
            self.endpoints.cws_url,
            self.tokens,
            ssl_context=self._ssl_context,
            heartbeat_interval=options["heartbeat_interval"],
            pong_timeout=options["pong_timeout"],
            connect_timeout=options["connect_timeout"],
            backoff=Backoff(initial=initial, maximum=maximum),
            control=self._control,
            on_connection_event=lambda event: self._report_connection("cws", event),
        )
        channel.start()
        return channel

    # ------------------------------------------------------------------ introspection

    def statistics(self) -> ClientStatistics:
        """Counters of the connection and of every live subscription."""
        transport = self._require_started()
        session, dispatcher = self._session, self._dispatcher
        assert session is not None and dispatcher is not None
        streams = session.registry.live_streams()
        return ClientStatistics(
            connection=transport.statistics(),
            subscriptions=tuple(session.statistics_of(s) for s in streams),
            unrouted_frames=session.unrouted_frames,
            malformed_frames=session.malformed_frames,
            workers_busy=dispatcher.statistics().busy,
            token_expires_in=self.tokens.expires_in(),
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("started" if self._started else "new")
        return f"<AlorClient {self.endpoints.ws_url} {state}>"

