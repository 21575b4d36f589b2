"""Carrying out what a ``/ws`` session's lifecycle machine decided, and its control-thread side.

Rules of this module:

* Owns the effects of :mod:`alor_sync.data.lifecycle_types` actions: sends (with the cached
  token), state notices and gaps posted to the dispatcher in stream order, errors and
  resubscribe reports to the hooks, refreshes, health and reconnects handed to their owners, and
  the one retry timer on the control thread. Deciding is the machine's; this only performs.
* :meth:`SessionActions._perform` runs with the session's ``_lock`` held (on whichever thread
  fed the machine), so that what one event sends leaves before what the next one sends. The
  forced refresh and the timer run on the control thread. User code never runs here.
* :class:`SessionActions` is the half of :class:`~alor_sync.data.session.DataSession` that
  performs; the attributes it uses are declared below and set by that class.
* :class:`SessionHooks`, the client-wide hooks those effects report to, lives here too, so that
  the session imports this module and never the other way round.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from alor_sync import protocol
from alor_sync.auth import TokenProvider
from alor_sync.data.delivery import StreamDelivery
from alor_sync.data.lifecycle import StreamLifecycle
from alor_sync.data.lifecycle_types import (
    Action,
    EpochEnded,
    Failed,
    GapOnReconnect,
    Healthy,
    Reconnect,
    Refresh,
    ReplayLatest,
    RequestKind,
    Resubscribed,
    Send,
    StateChanged,
    StreamRecord,
)
from alor_sync.data.subscriptions import STATE_CHANGED
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.errors import AlorError, ClientClosedError, ConnectionLostError
from alor_sync.events import (
    GapNotice,
    GapReason,
    ResubscribeReport,
    StateChange,
    SubscriptionState,
)

__all__ = ["SessionActions", "SessionHooks"]

logger = logging.getLogger("alor_sync.session")


class SessionHooks:
    """Where a session reports what the user must hear about (the client-wide hooks). They are
    called on network, control and worker threads: each must itself only enqueue, except
    ``on_gap``, which runs on the subscription's worker in stream order."""

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


class SessionActions:
    """Performs a session's actions; see the module rules."""

    # Set once by the subclass's constructor.
    name: str
    _send_frame: Callable[[str | bytes], None]
    _reconnect: Callable[[str], bool]
    _mark_healthy: Callable[[], None] | None
    _tokens: TokenProvider
    _dispatcher: Dispatcher
    _control: ControlLoop
    _hooks: SessionHooks
    _clock: Callable[[], float]
    _machine: StreamLifecycle
    # Guarded by _lock (the session's, re-entrant).
    _lock: threading.RLock
    _timer_due: float | None

    def _perform(self, actions: list[Action]) -> None:
        """Carry out what the machine decided, in order (caller holds ``_lock``)."""
        for action in actions:
            if isinstance(action, Send):
                self._send(action)
            elif isinstance(action, StateChanged):
                self._state_changed(action)
            elif isinstance(action, GapOnReconnect):
                route = action.record.route
                if route is not None:
                    self._dispatcher.report_gap(route, reason=GapReason.RECONNECT.value)
            elif isinstance(action, EpochEnded):
                self._post(action.record, action.record.delivery.old_epoch_ended)
            elif isinstance(action, ReplayLatest):
                self._post(action.record, functools.partial(action.record.delivery.attach,
                                                            action.handle))  # fmt: skip
            elif isinstance(action, Failed):
                self._hooks.on_error(action.error, action.record.guid)
            elif isinstance(action, Refresh):
                self._control.call_soon(functools.partial(self._refresh, action.stale))
            elif isinstance(action, Healthy):
                if self._mark_healthy is not None:
                    self._mark_healthy()
            elif isinstance(action, Resubscribed):
                self._hooks.on_resubscribed(ResubscribeReport(self.name, action.count))
            elif isinstance(action, Reconnect):
                logger.warning("%s: %s; replacing the connection", self.name, action.reason)
                self._reconnect(action.reason)
        self._arm_timer()

    def _send(self, action: Send) -> None:
        record = action.record
        if action.kind is RequestKind.SUBSCRIBE:
            request = record.delivery.resume(record.request)
        else:
            request = protocol.unsubscribe_request(record.guid)
        try:
            self._send_frame(protocol.dumps(protocol.with_token(request, action.token)))
        except ConnectionLostError:
            # Not sent (the link is down or not ready yet): a real drop resets everything on
            # the next open; a link that was only not ready gets it again from the retry queue.
            self._perform(self._machine.send_failed(record, self._clock()))
        except ClientClosedError:
            pass  # the client is shutting down; nothing waits for this request any more

    def _state_changed(self, action: StateChanged) -> None:
        record = action.record
        with STATE_CHANGED:
            STATE_CHANGED.notify_all()
        if record.state is SubscriptionState.CLOSED:
            self._dispatcher.remove_route(record.guid)  # queued frames are discarded
            return
        change = StateChange(
            guid=record.guid, opcode=record.opcode.value, state=record.state,
            previous=action.previous, reason=action.reason, error=action.error,
        )  # fmt: skip
        delivery: StreamDelivery = record.delivery
        notify = functools.partial(delivery.notify_state, change)
        if record.state is SubscriptionState.FAILED:
            # The route goes once the handles heard of it, in stream order.
            self._post(record, lambda: (notify(), self._dispatcher.remove_route(record.guid)))
        else:
            if record.state is SubscriptionState.ACTIVE and delivery.settles_on_confirmation:
                self._post(record, delivery.on_confirmed)
            if any(handle.on_state is not None for handle in delivery.handles):
                self._post(record, notify)

    def _post(self, record: StreamRecord, call: Callable[[], object]) -> None:
        route = record.route
        if route is not None:
            self._dispatcher.post(route, call)

    # ------------------------------------------------------------------ control thread

    def _refresh(self, stale: str) -> None:
        """Control thread: the one forced refresh the machine asked for, then probe again."""
        try:
            self._tokens.force_refresh(stale)
        except AlorError as exc:
            self._hooks.on_error(exc, None)  # the retries go on with the token there is
        with self._lock:
            self._perform(self._machine.refreshed(self._token(), self._clock()))

    def _arm_timer(self) -> None:
        due = self._machine.next_due()
        if due is None or (self._timer_due is not None and self._timer_due <= due):
            return
        self._timer_due = due
        self._control.call_later(max(0.0, due - self._clock()), self._on_timer)

    def _on_timer(self) -> None:
        with self._lock:
            self._timer_due = None
            self._perform(self._machine.timer(self._clock(), self._token()))

    def _token(self) -> str:
        return self._tokens.cached_token()
