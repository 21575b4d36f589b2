"""One ``/ws`` connection's subscriptions: sending, resubscribing, routing frames, confirmations.

Rules of this module:

* The network thread (``on_open``, ``on_frame``, ``on_state``) only sends, routes and updates
  state; anything that may block (token refresh over HTTP) goes to the control loop, and anything
  that is user code goes through the dispatcher. Data frames are routed by guid without being
  parsed (the worker parses and decodes them); its only wait is a 1 ms pause after a read that
  left a lossless queue a quarter full (``_CATCH_UP_PAUSE``).
* Every request leaves with the token current at send time, including resubscriptions; requests
  are kept without their token.
* A frame is never lost silently: data for an unknown guid, malformed frames and lost events on a
  reconnect are counted and reported (``on_error`` / gap notices).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from alor_sync import protocol
from alor_sync.auth import TokenProvider
from alor_sync.converter import decoder_for, frame_decoder_for
from alor_sync.dispatcher import Dispatcher, Gap, OverflowPolicy, Route
from alor_sync.errors import (
    AlorError,
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    MalformedFrameError,
)
from alor_sync.events import GapNotice, GapReason, ResubscribeReport
from alor_sync.protocol.frames import data_guid, data_payload
from alor_sync.scheduler import ControlLoop
from alor_sync.subscriptions import (
    LATEST_WINS_OPCODES,
    ServerStream,
    Subscription,
    SubscriptionRegistry,
    SubscriptionState,
    SubscriptionStatistics,
    new_stream,
)
from alor_sync.transport import ConnectionEvent, ConnectionEventKind
from alor_sync.wire import Format, Opcode

__all__ = ["DataSession", "SessionHooks"]

logger = logging.getLogger("alor_sync.session")

_UNAUTHORIZED = 401
# When a lossless queue is a quarter full after a socket read, the network thread pauses this long
# (once per read). Under the GIL reading and decoding share one core in time slices; reading costs
# a quarter of what decoding does per frame, so without the pause it would fill the queue to
# overflow while the workers still had CPU to catch up (measured: 10,000 frames lost in 50,000).
_CATCH_UP_PAUSE = 0.001


class SessionHooks:
    """Where a session reports what the user must hear about (all called off the network thread
    by the owner's wiring: these callables must themselves only enqueue)."""

    def __init__(
        self,
        *,
        on_error: Callable[[BaseException, str | None], None],
        on_gap: Callable[[GapNotice], None],
        on_resubscribed: Callable[[ResubscribeReport], None],
    ) -> None:
        self.on_error = on_error
        self.on_gap = on_gap
        self.on_resubscribed = on_resubscribed


class _StreamCalls:
    """What the dispatcher calls for one stream, on the worker (``on_overflow``: on the network
    thread). One small object with bound methods instead of four closures: about 600 bytes less
    a subscription, which matters at 5,000 of them.
    """

    __slots__ = ("_frame_to_model", "_handles", "_session", "_stream", "_to_model")

    def __init__(
        self,
        session: DataSession,
        stream: ServerStream,
        to_model: Callable[[dict[str, Any]], Any] | None,
        frame_to_model: Callable[[str, str], Any] | None = None,
    ) -> None:
        self._session = session
        self._stream = stream
        self._handles = stream.handles
        self._to_model = to_model  # a data dict parsed on the network thread -> model
        self._frame_to_model = frame_to_model  # a frame routed unparsed -> model, in one pass

    def handle(self, item: Any) -> None:
        """Decode one item and run every handle's callback (each failure reported on its own).

        Items are frame texts routed unparsed by :meth:`DataSession.on_frame`, or ``data`` dicts
        parsed on the network thread; decoding here, not in a separate step, saves a call.
        """
        to_model, frame_to_model = self._to_model, self._frame_to_model
        try:
            if item.__class__ is dict:
                value = item if to_model is None else to_model(item)
            elif frame_to_model is None:
                value = data_payload(item, self._stream.guid)
            else:
                value = frame_to_model(item, self._stream.guid)
        except MalformedFrameError:
            self._session._count_malformed()
            raise
        handles = self._handles
        if len(handles) == 1:
            handles[0].callback(value)
            return
        for handle in list(handles):
            try:
                handle.callback(value)
            except Exception as exc:
                self._session._hooks.on_error(exc, self._stream.guid)

    def on_overflow(self, route: object) -> None:
        self._session._on_overflow(self._stream)

    def on_replaced(self, item: Any) -> None:
        """Network thread: a latest-wins frame is superseded before its turn. It is parsed here
        all the same, so that a malformed frame is reported rather than silently replaced;
        this costs a parse only when frames come faster than the callback takes them."""
        if item.__class__ is dict:
            return
        try:
            data_payload(item, self._stream.guid)
        except MalformedFrameError as exc:
            self._session._report_malformed(exc, self._stream.guid)

    def on_gap(self, gap: Gap) -> None:
        self._session._on_gap(self._stream, gap)


class DataSession:
    """The subscriptions of one ``/ws`` connection and the glue between socket and dispatcher.

    Thread-safety: :meth:`subscribe` and handle methods may be called from any thread;
    :meth:`on_open`, :meth:`on_frame` and :meth:`on_state` are the transport's callbacks and run
    on its connection thread; token refreshes and watchdog checks run on the control thread.
    """

    def __init__(
        self,
        *,
        name: str,
        send: Callable[[str | bytes], None],
        reconnect: Callable[[str], bool],
        tokens: TokenProvider,
        dispatcher: Dispatcher,
        control: ControlLoop,
        hooks: SessionHooks,
        lossless_limit: int,
        exact: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._send_frame = send
        self._reconnect = reconnect
        self._tokens = tokens
        self._dispatcher = dispatcher
        self._control = control
        self._hooks = hooks
        self._lossless_limit = lossless_limit
        self._exact = exact
        self._clock = clock
        self.registry = SubscriptionRegistry()
        # Serialises "register + send" against "resend everything" so that a subscription made
        # while the connection opens is sent exactly once on it.
        self._send_lock = threading.RLock()
        self._resubscribing: set[str] = set()
        self._resubscribe_total = 0
        self.unrouted_frames = 0
        self.malformed_frames = 0
        self._counter_lock = threading.Lock()
        self._lookup = self.registry.lookup
        self._deliver = dispatcher.deliver
        # Routes that got frames during the current socket read and need a worker: submitted in
        # one go by on_frames_done (network thread only).
        self._later: list[Route] = []
        self._deepest = 0  # the deepest lossless queue seen during the current read
        self._catch_up_depth = max(1, lossless_limit // 4)

    # ------------------------------------------------------------------ user threads

    def subscribe(
        self,
        opcode: Opcode,
        fmt: Format,
        request: Mapping[str, Any],
        callback: Callable[[Any], None],
        *,
        raw: bool,
        silence_timeout: float | None = None,
        conflate: bool = True,
    ) -> Subscription:
        """Register ``callback`` for ``request`` (built by :mod:`alor_sync.protocol`, with a guid
        and without a token) and send it now if connected, else on the next connect.

        ``conflate=False`` delivers every frame of a full-state stream (lossless, like events).
        """
        with self._send_lock:
            latest_wins = conflate and opcode in LATEST_WINS_OPCODES
            stream = self.registry.find_shared(opcode, request, raw, latest_wins)
            is_new = stream is None
            if stream is None:
                stream = new_stream(
                    str(request["guid"]), opcode, fmt, request, raw,
                    conflate=conflate, silence_timeout=silence_timeout,
                )  # fmt: skip
                self._add_route(stream)
                self.registry.add(stream)
            handle = Subscription(
                stream,
                callback,
                on_unsubscribe=self._unsubscribe_handle,
                on_statistics=self.statistics_of,
            )
            # Attached before the request leaves: the snapshot may arrive before send() returns.
            self.registry.attach(stream, handle)
            if is_new:
                self._send_subscribe(stream)
            return handle

    def _unsubscribe_handle(self, handle: Subscription) -> None:
        stream = handle._stream
        if not self.registry.detach(handle, stream):
            return
        self._dispatcher.remove_route(stream.guid)
        self._send_quietly(protocol.unsubscribe_request(stream.guid))

    def close(self) -> None:
        """Mark every subscription closed (the transport is closed by the owner)."""
        for stream in self.registry.close_all():
            self._dispatcher.remove_route(stream.guid)

    # ------------------------------------------------------------------ routing to callbacks

    def _add_route(self, stream: ServerStream) -> None:
        to_model = frame_to_model = None
        if not stream.raw:
            to_model = decoder_for(stream.opcode, stream.format, exact=self._exact)
            frame_to_model = frame_decoder_for(stream.opcode, stream.format, exact=self._exact)
        calls = _StreamCalls(self, stream, to_model, frame_to_model)
        route = self._dispatcher.add_route(
            stream.guid,
            handler=calls.handle,
            policy=OverflowPolicy.LATEST_WINS if stream.latest_wins else OverflowPolicy.LOSSLESS,
            limit=self._lossless_limit,
            on_overflow=calls.on_overflow,
            on_gap=calls.on_gap,
            on_replaced=calls.on_replaced if stream.latest_wins else None,
        )
        stream.route = route

    def _count_malformed(self) -> None:
        with self._counter_lock:  # workers count concurrently; this is the rare path
            self.malformed_frames += 1

    def _on_gap(self, stream: ServerStream, gap: Gap) -> None:
        reason = GapReason(gap.reason) if gap.reason else GapReason.OVERFLOW
        notice = GapNotice(
            guid=stream.guid, opcode=stream.opcode.value, reason=reason, dropped=gap.dropped
        )
        self._hooks.on_gap(notice)

    def _on_overflow(self, stream: ServerStream) -> None:
        """A lossless queue overflowed (network thread): ask the server for a fresh snapshot.

        One renewal at a time: further overflows before it is confirmed are already covered by
        the snapshot it will bring (each still gets its own gap notice).
        """
        if stream.state is SubscriptionState.PENDING and stream.acks_expected > 0:
            return
        self._resend(stream, unsubscribe_first=True)

    # ------------------------------------------------------------------ transport callbacks

    def on_open(self) -> None:
        """Connection thread, before any frame is read: re-send every live subscription."""
        with self._send_lock:
            streams = self.registry.live_streams()
            self._resubscribing = {s.guid for s in streams if s.ever_active}
            self._resubscribe_total = len(self._resubscribing)
            token = self._tokens.get_token()
            for stream in streams:
                stream.resubscribes += stream.ever_active
                try:
                    self._send_subscribe(stream, token=token, propagate=True)
                except ConnectionLostError:
                    # The link broke mid-way (the transport is already replacing it): the
                    # streams not sent stay pending and the next on_open sends them all.
                    logger.info("%s: connection lost while resubscribing", self.name)
                    return

    def on_state(self, event: ConnectionEvent) -> None:
        """Connection thread: a dropped connection loses events; tell lossless subscribers."""
        if event.kind is not ConnectionEventKind.DISCONNECTED or not event.will_retry:
            return  # a connection we close ourselves loses nothing anyone still waits for
        for stream in self.registry.live_streams():
            self.registry.mark_pending(stream)
            route = stream.route
            lossless = not stream.latest_wins
            # Not only confirmed streams: the server sends the snapshot before the confirmation,
            # so a stream still pending may have delivered events that now stop mid-way.
            seen_data = stream.ever_active or stream.received > 0
            if route is not None and seen_data and lossless:
                self._dispatcher.report_gap(route, reason=GapReason.RECONNECT.value)

    def on_frame(self, text: str) -> None:
        """Connection thread, per frame: route data, apply confirmations, report garbage.

        The hot path: a data frame is routed by the guid in its last member and handed over
        unparsed: its worker parses it right before decoding, on the thread and in the cache
        where the result is used (measured: about a fifth less time from socket to callback
        than parsing here). A frame a latest-wins stream supersedes before its turn is parsed here
        instead (``_StreamCalls.on_replaced``), so a malformed frame is always reported.
        Anything else is classified by :func:`~alor_sync.protocol.classify`.
        """
        guid = data_guid(text)
        if guid is not None:
            stream = self._lookup(guid)
            if stream is not None:
                route = stream.route
                if route is not None:
                    stream.received += 1
                    depth = self._deliver(route, text, self._later)
                    if depth > self._deepest:
                        self._deepest = depth
                    return
        self._on_other_frame(text)

    def on_frames_done(self) -> None:
        """Connection thread, after the frames of one read: wake the workers they need, and let
        them catch up for a moment when a lossless queue is getting deep (see _CATCH_UP_PAUSE)."""
        if self._later:
            self._dispatcher.submit_later(self._later)
        if self._deepest >= self._catch_up_depth:
            time.sleep(_CATCH_UP_PAUSE)
        self._deepest = 0

    def _on_other_frame(self, text: str) -> None:
        frame = protocol.classify(text)
        if type(frame) is protocol.DataFrame:
            stream = self._lookup(frame.guid)
            if stream is None or stream.route is None:
                self.unrouted_frames += 1
                return
            stream.received += 1
            self._deliver(stream.route, frame.data, self._later)
        elif type(frame) is protocol.Confirmation:
            self._on_confirmation(frame)
        else:
            assert isinstance(frame, protocol.MalformedFrame)
            error = MalformedFrameError(f"malformed frame from the server: {frame.reason}")
            self._report_malformed(error, None)

    def _report_malformed(self, error: MalformedFrameError, guid: str | None) -> None:
        self._count_malformed()
        self._hooks.on_error(error, guid)

    def on_malformed_frame(self, error: MalformedFrameError) -> None:
        """Connection thread: the transport could not even decode a frame as text."""
        self._report_malformed(error, None)

    # ------------------------------------------------------------------ confirmations

    def _on_confirmation(self, reply: protocol.Confirmation) -> None:
        if reply.request_guid == "" and reply.http_code == _UNAUTHORIZED:
            # The server sometimes fails to echo the guid on 401: every pending request was
            # sent with the same rejected token, so each gets the one forced refresh.
            for pending in self.registry.pending_streams():
                self._on_rejected(pending, reply)
            return
        stream = self.registry.get(reply.request_guid)
        if stream is None:
            return  # the confirmation of an unsubscribe, or of a stream closed meanwhile
        if stream.acks_expected > 1:
            stream.acks_expected -= 1  # the unsubscribe half of a resubscription
            return
        stream.acks_expected = 0
        if reply.ok:
            self._on_confirmed(stream)
        else:
            self._on_rejected(stream, reply)

    def _on_confirmed(self, stream: ServerStream) -> None:
        self.registry.mark_active(stream)
        if stream.guid in self._resubscribing:
            self._resubscribing.discard(stream.guid)
            if not self._resubscribing:
                report = ResubscribeReport(connection=self.name, count=self._resubscribe_total)
                self._hooks.on_resubscribed(report)

    def _on_rejected(self, stream: ServerStream, reply: protocol.Confirmation) -> None:
        error = reply.error()
        if isinstance(error, AuthenticationError) and not stream.auth_retried:
            stream.auth_retried = True
            stale = stream.sent_with_token
            self._control.call_soon(lambda: self._refresh_and_resend(stream, stale))
            return
        self._resubscribing.discard(stream.guid)
        self.registry.mark_failed(stream, error)
        self._dispatcher.remove_route(stream.guid)
        self._hooks.on_error(error, stream.guid)

    def _refresh_and_resend(self, stream: ServerStream, stale_token: str) -> None:
        """Control thread: one forced refresh (shared by concurrent 401s), then send again."""
        try:
            self._tokens.force_refresh(stale_token)
        except AlorError as exc:
            self.registry.mark_failed(stream, AuthenticationError(401, str(exc), stream.guid))
            self._dispatcher.remove_route(stream.guid)
            self._hooks.on_error(exc, stream.guid)
            return
        self._resend(stream, unsubscribe_first=False)

    # ------------------------------------------------------------------ sending

    def _resend(self, stream: ServerStream, *, unsubscribe_first: bool) -> None:
        with self._send_lock:
            if self.registry.get(stream.guid) is not stream:
                return  # unsubscribed or failed meanwhile
            stream.resubscribes += 1
            if unsubscribe_first:
                self._send_quietly(protocol.unsubscribe_request(stream.guid))
            self._send_subscribe(stream, extra_acks=int(unsubscribe_first))

    def _send_subscribe(
        self,
        stream: ServerStream,
        *,
        token: str | None = None,
        extra_acks: int = 0,
        propagate: bool = False,
    ) -> None:
        """Send the stream's request with a current token; a down link just waits for on_open."""
        token = token if token is not None else self._tokens.get_token()
        self.registry.mark_pending(stream)
        stream.sent_with_token = token
        stream.acks_expected = 1 + extra_acks
        try:
            self._send_frame(protocol.dumps(protocol.with_token(stream.request, token)))
        except ConnectionLostError:
            if propagate:
                raise
        except ClientClosedError:
            pass  # the client is shutting down; nothing waits for this request any more

    def _send_quietly(self, request: Mapping[str, Any]) -> None:
        try:
            token = self._tokens.get_token()
            self._send_frame(protocol.dumps(protocol.with_token(request, token)))
        except (ConnectionLostError, ClientClosedError):
            pass  # the server forgets every subscription of a dropped connection anyway
        except AlorError as exc:
            self._hooks.on_error(exc, str(request.get("guid")))

    # ------------------------------------------------------------------ watchdog, statistics

    def check_silence(self) -> None:
        """Control thread: resubscribe any active stream quiet for longer than its timeout.

        Only streams with a timeout are looked at; data is noticed by its counter moving since
        the last look, so the network thread pays nothing per frame for this watchdog.
        """
        now = self._clock()
        for stream in self.registry.watched_streams():
            limit = stream.silence_timeout
            received = stream.received
            if received != stream.watched_received:
                stream.watched_received = received
                stream.last_data_at = now
            if limit is None or stream.state is not SubscriptionState.ACTIVE:
                continue
            if now - max(stream.last_data_at, stream.active_since) > limit:
                logger.info("%s: subscription %s silent for %.1f s", self.name, stream.guid, limit)
                route = stream.route
                if route is not None and not stream.latest_wins:
                    self._dispatcher.report_gap(route, reason=GapReason.SILENCE.value)
                stream.active_since = now
                self._resend(stream, unsubscribe_first=True)

    def statistics_of(self, stream: ServerStream) -> SubscriptionStatistics:
        route = stream.route
        r = route.statistics() if route is not None else None
        return SubscriptionStatistics(
            guid=stream.guid,
            opcode=stream.opcode.value,
            state=stream.state,
            received=stream.received,
            delivered=r.delivered if r else 0,
            conflated=r.conflated if r else 0,
            dropped=r.dropped if r else 0,
            gaps=r.gaps if r else 0,
            errors=r.errors if r else 0,
            queue_depth=r.queue_depth if r else 0,
            last_lag=r.last_lag if r else None,
            max_lag=r.max_lag if r else None,
            resubscribes=stream.resubscribes,
        )

    @staticmethod
    def new_guid() -> str:
        """A fresh subscription guid (any unique string is accepted by the server)."""
        return uuid.uuid4().hex
