"""The lifecycle of every server subscription of one ``/ws`` connection: a sans-IO state machine.

Rules of this module:

* Everything that changes a stream (its state, the replies it still expects, its handles, its
  place in the retry queue) happens in a :class:`StreamLifecycle` method, called under the
  owner's lock; each returns the :data:`Action` s the owner must then perform, in order. Nothing
  here sends, sleeps, reads a clock, runs user code or touches a thread.
* A stream the user holds is never given up on a transient answer: anything but 400, 403 and
  404 (401, 429, 5xx...) puts it in the retry queue, from which one *probe* at a time is re-sent
  with jittered backoff; a confirmed probe (or any confirmation) releases the whole queue. Only a
  refusal of the request itself fails a stream.
* Replies for one guid answer its requests in the order they were sent. A reply with an empty
  ``requestGuid`` answers the oldest request still unanswered on the connection (replies come in
  request order); it is never taken as a refusal of every pending request.
* A request whose fate is uncertain is re-sent as ``unsubscribe`` + ``subscribe``, so the server
  never holds one guid twice; an ``unsubscribe`` is retried until confirmed, and a connection
  whose unsubscribe stays unconfirmed for ``unsubscribe_deadline`` seconds is replaced.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import attrs

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
    is_transient,
)
from alor_sync.errors import APIError, AuthenticationError
from alor_sync.events import SubscriptionState
from alor_sync.transport.backoff import Backoff

__all__ = ["StreamLifecycle"]

_LIVE = (SubscriptionState.PENDING, SubscriptionState.ACTIVE, SubscriptionState.RETRYING)


@attrs.frozen
class _Request:
    seq: int
    record: StreamRecord
    kind: RequestKind
    token: str = attrs.field(repr=False)


class StreamLifecycle:
    """Every server stream of one ``/ws`` connection, and the rules of their lifecycle.

    Thread-safety: none of its own. The owner calls every method under one lock and performs the
    returned actions; ``get`` alone is safe without the lock (a dict read, for frame routing).
    ``now`` arguments are monotonic seconds; ``token`` arguments are the token to send with.
    """

    def __init__(
        self,
        *,
        probe_backoff: Backoff | None = None,
        unsubscribe_deadline: float = 10.0,
        min_refresh_interval: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self._by_guid: dict[str, StreamRecord] = {}
        self._by_share_key: dict[tuple[Any, ...], StreamRecord] = {}
        self._closing: dict[str, StreamRecord] = {}
        self._outstanding: dict[int, _Request] = {}  # by sequence number: oldest first
        self._seq = 0
        self._connected = False
        self._retry: deque[StreamRecord] = deque()
        self._probe_backoff = probe_backoff or Backoff(initial=0.1, maximum=1.0, rng=rng)
        self._probe_at: float | None = None
        self._probe: StreamRecord | None = None
        self._unsubscribe_deadline = unsubscribe_deadline
        self._min_refresh_interval = min_refresh_interval
        self._refreshing = False
        self._last_refresh_at: float | None = None
        self._unanswered_since_open: set[str] = set()
        self._resubscribing: set[str] = set()
        self._resubscribe_total = 0
        self._reconnect_asked = False
        # The frame router's lookup, bound once: a plain dict read per frame.
        self.get = self._by_guid.get

    # ------------------------------------------------------------------ introspection

    def __len__(self) -> int:
        return len(self._by_guid)

    @property
    def connected(self) -> bool:
        return self._connected

    def live(self) -> list[StreamRecord]:
        """Every stream the user holds (pending, active or retrying), a snapshot."""
        return list(self._by_guid.values())

    def find_shared(self, key: tuple[Any, ...] | None) -> StreamRecord | None:
        """The live stream a new handle with ``key`` may join, if any."""
        return None if key is None else self._by_share_key.get(key)

    def next_due(self) -> float | None:
        """When :meth:`timer` has work next (a probe or an unsubscribe deadline), if ever."""
        due = [self._probe_at] if self._probe_at is not None and self._connected else []
        due += [r.closing_since + self._unsubscribe_deadline for r in self._closing.values()]
        return min(due) if due else None

    # ------------------------------------------------------------------ the user's side

    def add(self, record: StreamRecord, handle: Any, token: str) -> list[Action]:
        """A new stream with its first handle; sent now when connected."""
        if record.guid in self._by_guid or record.guid in self._closing:
            raise ValueError(f"guid {record.guid!r} is already in use")
        record.handles.append(handle)
        self._by_guid[record.guid] = record
        if record.share_key is not None:
            self._by_share_key[record.share_key] = record
        if not self._connected:
            return []
        return self._send_subscribe(record, token, renew=False)

    def join(self, record: StreamRecord, handle: Any) -> list[Action]:
        """Another handle for a live shared stream: it gets the latest state replayed."""
        record.handles.append(handle)
        return [ReplayLatest(record, handle)]

    def leave(self, record: StreamRecord, handle: Any, token: str, now: float) -> list[Action]:
        """A handle unsubscribed; the stream ends with its last handle (unsubscribe guaranteed)."""
        if handle in record.handles:
            record.handles.remove(handle)
        if record.handles or self._by_guid.get(record.guid) is not record:
            return []
        self._forget(record)
        actions: list[Action] = [self._set(record, SubscriptionState.CLOSED, "unsubscribed")]
        actions += self._settled_since_open(record)
        if self._connected and record.sent_on_connection:
            record.closing, record.closing_since = True, now
            self._closing[record.guid] = record
            actions += self._send(record, RequestKind.UNSUBSCRIBE, token)
        return actions

    def close_all(self) -> list[Action]:
        """The client closes: every stream is closed, nothing is sent."""
        actions: list[Action] = []
        for record in list(self._by_guid.values()):
            self._forget(record)
            actions.append(self._set(record, SubscriptionState.CLOSED, "client closed"))
        self._closing.clear()
        self._outstanding.clear()
        return actions

    # ------------------------------------------------------------------ the connection's side

    def opened(self, token: str) -> list[Action]:
        """A new connection is up: send every live stream (the server knows none of them)."""
        self._connected = True
        self._reconnect_asked = False
        self._probe_backoff.reset()
        self._probe_at = self._probe = None
        self._retry.clear()
        records = list(self._by_guid.values())
        self._unanswered_since_open = {r.guid for r in records}
        self._resubscribing = {r.guid for r in records if r.ever_active}
        self._resubscribe_total = len(self._resubscribing)
        actions: list[Action] = []
        for record in records:
            record.resubscribes += record.ever_active
            actions += self._send_subscribe(record, token, renew=False)
        if not records:
            actions.append(Healthy())
        return actions

    def disconnected(self) -> list[Action]:
        """The connection is gone, and with it every server subscription and unanswered request."""
        self._connected = False
        self._outstanding.clear()
        self._closing.clear()  # the server forgot them with the connection
        self._retry.clear()
        self._probe_at = self._probe = None
        actions: list[Action] = []
        for record in self._by_guid.values():
            record.expected.clear()
            record.sent_on_connection = False
            seen_data = record.ever_active or record.received > 0
            if seen_data and not record.latest_wins:
                actions.append(GapOnReconnect(record))
            if record.state is not SubscriptionState.PENDING:
                actions.append(self._set(record, SubscriptionState.PENDING, "reconnecting"))
        return actions

    def send_failed(self, record: StreamRecord, now: float) -> list[Action]:
        """A send raised before the frame left (the link was not ready): try again soon."""
        record.expected.clear()
        for seq in [s for s, r in self._outstanding.items() if r.record is record]:
            del self._outstanding[seq]
        if self._connected and (record.closing or record.state in _LIVE):
            self._queue_retry(record, now, soon=True)
        return []

    def renew(self, record: StreamRecord, token: str, reason: str) -> list[Action]:
        """Ask for a fresh snapshot (after an overflow or a silence): unsubscribe + subscribe.

        One renewal at a time: while one is unanswered, later overflows are covered by it.
        """
        if self._by_guid.get(record.guid) is not record or not self._connected or record.expected:
            return []
        if record.state is SubscriptionState.RETRYING:
            return []  # already on its way back through the retry queue
        record.resubscribes += 1
        actions: list[Action] = []
        if record.state is not SubscriptionState.PENDING:
            actions.append(self._set(record, SubscriptionState.PENDING, reason))
        return actions + self._send_subscribe(record, token, renew=True)

    # ------------------------------------------------------------------ replies

    def reply(
        self, guid: str, code: int, error: APIError | None, token: str, now: float
    ) -> list[Action]:
        """A confirmation (``error`` None, code 200) or a refusal naming ``guid``."""
        record = self._by_guid.get(guid) or self._closing.get(guid)
        if record is None:
            return []  # a stream closed meanwhile, or a reply from before a reconnect
        if not record.expected:
            return self._stray(record, code, error, token, now)
        request = self._outstanding.pop(record.expected.pop(0))
        if record.expected:  # it answers an earlier request; the latest one's answer decides
            return self._epoch_ended(request)
        return self._answered(request, code, error, token, now)

    def anonymous_reply(
        self, code: int, error: APIError | None, token: str, now: float
    ) -> list[Action]:
        """A reply with an empty ``requestGuid``: it answers the oldest unanswered request."""
        if not self._outstanding:
            return []
        seq, request = next(iter(self._outstanding.items()))
        del self._outstanding[seq]
        record = request.record
        if record.expected and record.expected[0] == seq:
            del record.expected[0]
        if record.expected:
            return self._epoch_ended(request)
        return self._answered(request, code, error, token, now)

    def refreshed(self, token: str, now: float) -> list[Action]:
        """The shared refresh ended (well or not): probe again at once with ``token``."""
        self._refreshing = False
        if self._retry and self._probe is None:
            self._probe_at = now
        return self.timer(now, token)

    def timer(self, now: float, token: str) -> list[Action]:
        """Time passed: send the next probe, replace a connection with a stuck unsubscribe."""
        actions: list[Action] = []
        for record in self._closing.values():
            if now - record.closing_since >= self._unsubscribe_deadline and self._connected:
                if not self._reconnect_asked:
                    self._reconnect_asked = True
                    actions.append(
                        Reconnect(f"the unsubscribe of {record.guid} was not confirmed within "
                                  f"{self._unsubscribe_deadline:g} s")
                    )  # fmt: skip
                break
        due = self._probe_at
        if due is None or now < due or self._probe is not None or not self._connected:
            return actions
        self._probe_at = None
        while self._retry:
            record = self._retry.popleft()
            if record.closing or self._by_guid.get(record.guid) is record:
                self._probe = record
                return actions + self._resend(record, token)
        return actions

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _epoch_ended(request: _Request) -> list[Action]:
        """The first half of an unsubscribe + subscribe was answered: the old subscription's
        frames are over (the server answers in order, and sends the new one's after)."""
        if request.kind is RequestKind.UNSUBSCRIBE and not request.record.closing:
            return [EpochEnded(request.record)]
        return []

    def _answered(
        self, request: _Request, code: int, error: APIError | None, token: str, now: float
    ) -> list[Action]:
        record = request.record
        if self._probe is record:
            self._probe = None
        if error is None:
            return self._confirmed(record, request.kind, token, now)
        if record.closing and request.kind is RequestKind.UNSUBSCRIBE and not is_transient(code):
            self._closing.pop(record.guid, None)  # "not subscribed": just as good
            return []
        if not is_transient(code) and not record.closing:
            return self._fail(record, error)
        return self._refused(record, request, error, now)

    def _confirmed(
        self, record: StreamRecord, kind: RequestKind, token: str, now: float
    ) -> list[Action]:
        self._probe_backoff.reset()
        actions: list[Action] = []
        if record.closing:
            if kind is RequestKind.UNSUBSCRIBE:
                self._closing.pop(record.guid, None)
        elif self._by_guid.get(record.guid) is record:
            record.ever_active, record.active_since, record.last_refusal = True, now, None
            if record.state is not SubscriptionState.ACTIVE:
                actions.append(self._set(record, SubscriptionState.ACTIVE, "confirmed"))
        actions += self._settled_since_open(record)
        # The server accepts requests again: everything waiting in the retry queue goes now.
        while self._retry:
            waiting = self._retry.popleft()
            if waiting.closing or self._by_guid.get(waiting.guid) is waiting:
                actions += self._resend(waiting, token)
        self._probe_at = None
        return actions

    def _refused(
        self,
        record: StreamRecord,
        request: _Request,
        error: APIError,
        now: float,
    ) -> list[Action]:
        actions: list[Action] = []
        if not record.closing:
            record.last_refusal = error
            if record.state is not SubscriptionState.RETRYING:
                actions.append(
                    self._set(record, SubscriptionState.RETRYING, "refused, retrying", error)
                )
        self._queue_retry(record, now, soon=False)  # each refused probe waits longer
        if isinstance(error, AuthenticationError):
            actions += self._maybe_refresh(request.token, now)
        return actions

    def _stray(
        self, record: StreamRecord, code: int, error: APIError | None, token: str, now: float
    ) -> list[Action]:
        """A reply beyond what was expected (an anonymous reply was taken for another request):
        a refusal still counts, so that a stream the server does not hold never looks active."""
        if error is None or record.closing or record.state is SubscriptionState.RETRYING:
            return []
        request = _Request(-1, record, RequestKind.SUBSCRIBE, token)
        if not is_transient(code):
            return self._fail(record, error)
        return self._refused(record, request, error, now)

    def _fail(self, record: StreamRecord, error: APIError) -> list[Action]:
        record.error = error
        self._forget(record)
        actions: list[Action] = [
            self._set(record, SubscriptionState.FAILED, "refused", error),
            Failed(record, error),
        ]
        return actions + self._settled_since_open(record)

    def _settled_since_open(self, record: StreamRecord) -> list[Action]:
        """Connection health and the resubscribe report, once every stream got its answer."""
        actions: list[Action] = []
        if record.guid in self._resubscribing:
            self._resubscribing.discard(record.guid)
            if not self._resubscribing and self._resubscribe_total:
                actions.append(Resubscribed(self._resubscribe_total))
                self._resubscribe_total = 0
        if record.guid in self._unanswered_since_open:
            self._unanswered_since_open.discard(record.guid)
            if not self._unanswered_since_open:
                actions.append(Healthy())
        return actions

    def _maybe_refresh(self, stale: str, now: float) -> list[Action]:
        """One shared refresh for a 401, at most one per ``min_refresh_interval``: a token the
        server keeps rejecting right after a refresh is not cured by refreshing again."""
        if self._refreshing:
            return []
        last = self._last_refresh_at
        if last is not None and now - last < self._min_refresh_interval:
            return []
        self._refreshing, self._last_refresh_at = True, now
        return [Refresh(stale)]

    def _queue_retry(self, record: StreamRecord, now: float, *, soon: bool) -> None:
        if record not in self._retry:
            self._retry.append(record)
        if self._probe is None and self._probe_at is None:
            delay = 0.0 if soon else self._probe_backoff.next_delay()
            self._probe_at = now + delay

    def _resend(self, record: StreamRecord, token: str) -> list[Action]:
        if record.closing:
            return self._send(record, RequestKind.UNSUBSCRIBE, token)
        return self._send_subscribe(record, token, renew=record.sent_on_connection)

    def _send_subscribe(self, record: StreamRecord, token: str, *, renew: bool) -> list[Action]:
        """Subscribe; as unsubscribe + subscribe when the server may still hold the guid."""
        actions: list[Action] = []
        if renew:
            actions += self._send(record, RequestKind.UNSUBSCRIBE, token)
        return actions + self._send(record, RequestKind.SUBSCRIBE, token)

    def _send(self, record: StreamRecord, kind: RequestKind, token: str) -> list[Action]:
        self._seq += 1
        self._outstanding[self._seq] = _Request(self._seq, record, kind, token)
        record.expected.append(self._seq)
        record.sent_on_connection = True
        return [Send(record, kind, token)]

    def _forget(self, record: StreamRecord) -> None:
        if self._by_guid.get(record.guid) is record:
            del self._by_guid[record.guid]
        key = record.share_key
        if key is not None and self._by_share_key.get(key) is record:
            del self._by_share_key[key]
        if record in self._retry:
            self._retry.remove(record)

    @staticmethod
    def _set(
        record: StreamRecord, state: SubscriptionState, reason: str, error: APIError | None = None
    ) -> StateChanged:
        previous, record.state = record.state, state
        return StateChanged(record, previous, reason, error)
