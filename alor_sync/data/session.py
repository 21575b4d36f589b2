"""One ``/ws`` connection's channel: socket events into the lifecycle machine, its actions out.

Rules of this module:

* Every stream's state lives in the :class:`~alor_sync.data.lifecycle.StreamLifecycle`; this module
  only translates (a frame, an open, a drop, a timer, a user's call) into one of its events,
  under ``_lock``, and performs the actions it returns (sends, refreshes, notices) before
  letting go, so the sends of one event leave in the machine's order.
* The network thread never waits for HTTP: every request is sent with the cached token; a forced
  refresh runs on the control thread. User code never runs here: callbacks, ``on_gap`` and
  ``on_state`` go through the dispatcher in stream order. Data frames are routed by guid without
  taking the lock or being parsed, and held per route until the read ends (or another frame
  needs acting on): a route gets a read's frames in one round of its lock. The network thread's
  only other wait is a 1 ms pause after a read that left a lossless queue a quarter full
  (``_CATCH_UP_PAUSE``).
* Owns the session's front: subscribing and leaving (user threads), the transport callbacks and
  frame routing (connection thread), the routes and the silence watchdog. Carrying out the
  machine's actions, and the control thread's refresh and timer, is
  :class:`~alor_sync.data.session_actions.SessionActions`, this class's other half.
* A frame is never lost silently: data for an unknown guid, malformed frames and events lost on
  a reconnect are counted and reported (``on_error`` / gap notices).
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
from alor_sync.codec.converter import decoder_for, frame_decoder_for
from alor_sync.data.delivery import StreamDelivery
from alor_sync.data.lifecycle import StreamLifecycle
from alor_sync.data.lifecycle_types import (
    LATEST_WINS_OPCODES,
    GapOnReconnect,
    StateChanged,
    StreamRecord,
    share_key,
)
from alor_sync.data.session_actions import SessionActions, SessionHooks
from alor_sync.data.subscriptions import Subscription, SubscriptionStatistics
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import OverflowPolicy, Route
from alor_sync.errors import MalformedFrameError
from alor_sync.events import (
    GapNotice,
    GapReason,
    StateChange,
    SubscriptionState,
)
from alor_sync.protocol.frames import data_guid
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind
from alor_sync.wire import Format, Opcode

__all__ = ["DataSession", "SessionHooks"]

logger = logging.getLogger("alor_sync.session")

# When a lossless queue is a quarter full after a socket read, the network thread pauses this long
# (once per read). Under the GIL reading and decoding share one core in time slices; reading costs
# a quarter of what decoding does per frame, so without the pause it would fill the queue to
# overflow while the workers still had CPU to catch up (measured: 10,000 frames lost in 50,000).
_CATCH_UP_PAUSE = 0.001


class DataSession(SessionActions):
    """The subscriptions of one ``/ws`` connection and the glue between socket and dispatcher.

    Thread-safety: :meth:`subscribe` and handle methods may be called from any thread;
    :meth:`on_open`, :meth:`on_frame`, :meth:`on_frames_done` and :meth:`on_state` are the
    transport's callbacks: ``on_open`` and ``on_state`` run on its connection thread, the frame
    callbacks on whichever thread reads the link (the connection thread or a dispatch worker
    reading in its place, one at a time; "network thread" below); refreshes, retry timers and
    the silence watchdog run on the control thread.
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
        mark_healthy: Callable[[], None] | None = None,
        lifecycle: StreamLifecycle | None = None,
    ) -> None:
        self.name = name
        self._send_frame = send
        self._reconnect = reconnect
        self._mark_healthy = mark_healthy
        self._tokens = tokens
        self._dispatcher = dispatcher
        self._control = control
        self._hooks = hooks
        self._lossless_limit = lossless_limit
        self._exact = exact
        self._clock = clock
        # Guards the machine; held while its actions are performed, so that what one event
        # sends leaves before what the next one sends (re-entrant: a send may report back).
        self._lock = threading.RLock()
        self._machine = lifecycle if lifecycle is not None else StreamLifecycle()
        self._timer_due: float | None = None
        self.unrouted_frames = 0
        self.malformed_frames = 0
        self._counter_lock = threading.Lock()
        self._lookup = self._machine.get
        self._deliver = dispatcher.deliver
        self._deliver_many = dispatcher.deliver_many
        # Data frames of the current socket read, by route, in arrival order: handed over in one
        # round of each route's lock before anything else is done about the read (_hand_over).
        self._held: dict[Route, list[str]] = {}
        self._read_at = 0.0  # when the first of them was routed
        # Routes that got frames during the current socket read and need a worker: submitted in
        # one go by on_frames_done (network thread only).
        self._later: list[Route] = []
        self._deepest = 0  # the deepest lossless queue seen during the current read
        self._catch_up_depth = max(1, lossless_limit // 4)
        self._overflow_hook = self._on_overflow  # bound once, shared by every route

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
        on_gap: Callable[[GapNotice], None] | None = None,
        on_state: Callable[[StateChange], None] | None = None,
    ) -> Subscription:
        """Register ``callback`` for ``request`` (built by :mod:`alor_sync.protocol`, with a guid
        and without a token) and send it now if connected, else on the next connect.

        ``conflate=False`` delivers every frame of a full-state stream (lossless, like events).
        """
        latest_wins = conflate and opcode in LATEST_WINS_OPCODES
        key = share_key(opcode, request, raw, latest_wins)
        token = self._token()  # before the lock: a provider may make this thread wait
        with self._lock:
            record = self._machine.find_shared(key)
            if record is not None:
                handle = self._new_handle(record, callback, on_gap, on_state)
                self._perform(self._machine.join(record, handle))
                return handle
            record = StreamRecord(
                guid=str(request["guid"]), opcode=opcode, format=fmt, request=request,
                share_key=key, raw=raw, latest_wins=latest_wins, silence_timeout=silence_timeout,
            )  # fmt: skip
            self._add_route(record)
            handle = self._new_handle(record, callback, on_gap, on_state)
            # Attached before the request leaves: the snapshot may arrive before send() returns.
            record.delivery.handles.append(handle)
            self._perform(self._machine.add(record, handle, token))
            return handle

    def _new_handle(
        self,
        record: StreamRecord,
        callback: Callable[[Any], None],
        on_gap: Callable[[GapNotice], None] | None,
        on_state: Callable[[StateChange], None] | None,
    ) -> Subscription:
        return Subscription(
            record, callback, on_gap=on_gap, on_state=on_state,
            on_unsubscribe=self._unsubscribe_handle, on_statistics=self.statistics_of,
        )  # fmt: skip

    def _unsubscribe_handle(self, handle: Subscription) -> None:
        record = handle._stream
        delivery: StreamDelivery = record.delivery
        if handle in delivery.handles:
            delivery.handles.remove(handle)  # no frame reaches it from now on
        token = self._token()  # before the lock, as in subscribe()
        with self._lock:
            self._perform(self._machine.leave(record, handle, token, self._clock()))

    def close(self) -> None:
        """Mark every subscription closed (the transport is closed by the owner)."""
        with self._lock:
            self._perform(self._machine.close_all())

    # ------------------------------------------------------------------ what the owner asks

    def __len__(self) -> int:
        return len(self._machine)

    def find_shared(
        self, opcode: Opcode, request: Mapping[str, Any], raw: bool, conflate: bool
    ) -> StreamRecord | None:
        """The live stream an identical request would join (a hint: :meth:`subscribe` checks
        again under the lock)."""
        latest_wins = conflate and opcode in LATEST_WINS_OPCODES
        with self._lock:
            return self._machine.find_shared(share_key(opcode, request, raw, latest_wins))

    def live_streams(self) -> list[StreamRecord]:
        with self._lock:
            return self._machine.live()

    # ------------------------------------------------------------------ transport callbacks

    def on_open(self) -> None:
        """Connection thread, before any frame is read: send every live subscription."""
        with self._lock:
            self._perform(self._machine.opened(self._token()))

    def on_state(self, event: ConnectionEvent) -> None:
        """Connection thread: a lost connection takes every server subscription with it."""
        if event.kind is ConnectionEventKind.CONNECTED:
            return
        with self._lock:
            if not self._machine.connected:
                return
            actions = self._machine.disconnected()
            if not event.will_retry:  # closed for good: nobody waits for notices any more
                actions = [a for a in actions if not isinstance(a, GapOnReconnect | StateChanged)]
            self._perform(actions)

    def on_frame(self, text: str) -> None:
        """Connection thread, per frame: route data, hand confirmations to the machine.

        The hot path: a data frame is routed by the guid in its last member and handed over
        unparsed: its worker parses it right before decoding, on the thread and in the cache
        where the result is used (measured: about a fifth less time from socket to callback
        than parsing here). It is held until the read ends (:meth:`_hand_over`): a read of a
        busy stream brings ~200 frames, and one ``deliver_many`` costs less than 200 deliveries.
        Frames of a stream not yet confirmed are delivered too (production sends the snapshot
        before the confirmation). Anything else is classified by
        :func:`~alor_sync.protocol.classify`.
        """
        guid = data_guid(text)
        if guid is not None:
            record = self._lookup(guid)
            if record is not None:
                route = record.route
                if route is not None:
                    record.received += 1
                    held = self._held.get(route)
                    if held is None:
                        if not self._held:  # the lag of the read's frames starts here
                            self._read_at = time.monotonic()
                        self._held[route] = [text]
                    else:
                        held.append(text)
                    return
        self._on_other_frame(text)

    def _hand_over(self) -> None:
        """Deliver the frames held during this read, one round per route (network thread): at
        the read's end, and before any other frame is acted on, so that what it makes the
        session post (a state change, a gap) comes after the frames that preceded it."""
        held, self._held = self._held, {}
        deliver_many, later, read_at = self._deliver_many, self._later, self._read_at
        for route, texts in held.items():
            depth = deliver_many(route, texts, later, read_at)
            if depth > self._deepest:
                self._deepest = depth

    def on_frames_done(self) -> None:
        """Connection thread, after the frames of one read: wake the workers they need, and let
        them catch up for a moment when a lossless queue is getting deep (see _CATCH_UP_PAUSE)."""
        if self._held:
            self._hand_over()
        if self._later:
            self._dispatcher.submit_later(self._later)
        if self._deepest >= self._catch_up_depth:
            time.sleep(_CATCH_UP_PAUSE)
        self._deepest = 0

    def _on_other_frame(self, text: str) -> None:
        if self._held:  # what this frame causes (a posted call, a gap) comes after them
            self._hand_over()
        frame = protocol.classify(text)
        if type(frame) is protocol.DataFrame:
            record = self._lookup(frame.guid)
            if record is None or record.route is None:
                self.unrouted_frames += 1
                return
            record.received += 1
            self._deliver(record.route, frame.data, self._later)
        elif type(frame) is protocol.Confirmation:
            self._on_confirmation(frame)
        else:
            assert isinstance(frame, protocol.MalformedFrame)
            error = MalformedFrameError(f"malformed frame from the server: {frame.reason}")
            self._report_malformed(error, None)

    def _on_confirmation(self, reply: protocol.Confirmation) -> None:
        error = None if reply.ok else reply.error()
        with self._lock:
            token, now = self._token(), self._clock()
            if reply.request_guid == "":
                actions = self._machine.anonymous_reply(reply.http_code, error, token, now)
            else:
                guid = reply.request_guid
                actions = self._machine.reply(guid, reply.http_code, error, token, now)
            self._perform(actions)

    def _report_malformed(self, error: MalformedFrameError, guid: str | None) -> None:
        self._count_malformed()
        self._hooks.on_error(error, guid)

    def on_malformed_frame(self, error: MalformedFrameError) -> None:
        """Connection thread: the transport could not even decode a frame as text."""
        self._report_malformed(error, None)

    # ------------------------------------------------------------------ routing to callbacks

    def _add_route(self, record: StreamRecord) -> None:
        to_model = frame_to_model = None
        if not record.raw:
            to_model = decoder_for(record.opcode, record.format, exact=self._exact)
            frame_to_model = frame_decoder_for(record.opcode, record.format, exact=self._exact)
        delivery = StreamDelivery(
            guid=record.guid, opcode=record.opcode, fmt=record.format, request=record.request,
            raw=record.raw, to_model=to_model, frame_to_model=frame_to_model,
            on_error=self._hooks.on_error,
            on_gap=self._hooks.on_gap, count_malformed=self._count_malformed,
        )  # fmt: skip
        record.delivery = delivery
        record.route = self._dispatcher.add_route(
            record.guid,
            handler=delivery.handle_raw if record.raw else delivery.handle,
            policy=OverflowPolicy.LATEST_WINS if record.latest_wins else OverflowPolicy.LOSSLESS,
            limit=self._lossless_limit,
            on_overflow=self._overflow_hook,
            on_gap=delivery.on_gap,
            on_replaced=delivery.on_replaced if record.latest_wins else None,
        )

    def _count_malformed(self) -> None:
        with self._counter_lock:  # workers count concurrently; this is the rare path
            self.malformed_frames += 1

    def _on_overflow(self, route: Route) -> None:
        """A lossless queue overflowed (network thread): ask the server for a fresh snapshot.
        One bound method for every route (a partial per stream would cost 256 bytes each)."""
        record = self._lookup(str(route.key))
        if record is None:
            return  # unsubscribed meanwhile
        token = self._token()
        with self._lock:
            self._perform(self._machine.renew(record, token, "renewing after a gap"))

    # ------------------------------------------------------------------ watchdog, statistics

    def check_silence(self) -> None:
        """Control thread: renew any active stream quiet for longer than its timeout.

        Data is noticed by its counter moving since the last look, so the network thread pays
        nothing per frame for this watchdog.
        """
        now = self._clock()
        for record in self.live_streams():
            limit = record.silence_timeout
            if limit is None:
                continue
            received = record.received
            if received != record.watched_received:
                record.watched_received = received
                record.last_data_at = now
            if record.state is not SubscriptionState.ACTIVE:
                continue
            if now - max(record.last_data_at, record.active_since) > limit:
                logger.info("%s: subscription %s silent for %.1f s", self.name, record.guid, limit)
                route = record.route
                if route is not None and not record.latest_wins:
                    self._dispatcher.report_gap(route, reason=GapReason.SILENCE.value)
                record.active_since = now
                with self._lock:
                    self._perform(self._machine.renew(record, self._token(), "renewing: silent"))

    def statistics_of(self, record: StreamRecord) -> SubscriptionStatistics:
        route = record.route
        r = route.statistics() if route is not None else None
        return SubscriptionStatistics(
            guid=record.guid,
            opcode=record.opcode.value,
            state=record.state,
            received=record.received,
            delivered=r.delivered if r else 0,
            conflated=r.conflated if r else 0,
            dropped=r.dropped if r else 0,
            gaps=r.gaps if r else 0,
            errors=r.errors if r else 0,
            queue_depth=r.queue_depth if r else 0,
            last_lag=r.last_lag if r else None,
            max_lag=r.max_lag if r else None,
            resubscribes=record.resubscribes,
        )

    @staticmethod
    def new_guid() -> str:
        """A fresh subscription guid (any unique string is accepted by the server)."""
        return uuid.uuid4().hex
