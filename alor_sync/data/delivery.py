"""What runs on a subscription's worker: decoding, its replay rule, and the handles' callbacks.

Rules of this module:

* Everything here runs on the stream's dispatcher worker (or the user's executor), one item at
  a time and in stream order; the network thread only hands items over. The handles' list is
  read here and changed by the session (appends arrive as posted calls, so a joiner never gets
  a frame twice).
* After a gap (reconnect, overflow, silence) a stream is renewed and the server replays what it
  keeps. The replay rule (one per stream kind, see :func:`replay_rule`) decides what of that the
  callback gets: trades it already had are dropped, the current bar comes as an update, and the
  ``GapNotice`` says whether the replay reached back (``healed``) or a snapshot follows.
* A callback or hook that raises is reported to ``on_error`` with the guid; delivery goes on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

import orjson

from alor_sync.dispatch.routes import Gap
from alor_sync.errors import MalformedFrameError
from alor_sync.events import GapNotice, GapReason, StateChange
from alor_sync.protocol.frames import data_payload
from alor_sync.protocol.specs import SPECS, ReplayRule
from alor_sync.wire import Format, Opcode

__all__ = ["Handle", "ReplayRule", "StreamDelivery", "replay_rule"]


class Handle(Protocol):
    """What delivery needs of a subscription handle."""

    callback: Callable[[Any], None]
    on_gap: Callable[[GapNotice], None] | None
    on_state: Callable[[StateChange], None] | None

    @property
    def closed(self) -> bool: ...


def replay_rule(opcode: Opcode) -> ReplayRule:
    """The stream's replay rule, as its spec states it."""
    return SPECS[opcode].replay


# Own trades replay the session's trades: the ids of this many recent ones are kept to drop
# what the callback already had (all trades keep ``depth`` of them: that is all they replay,
# and at least ``MIN_IDS_KEPT``, so that no trade is ever handed over twice).
OWN_TRADES_KEPT = 1000
MIN_IDS_KEPT = 64


def replays_history(opcode: Opcode, request: Mapping[str, Any]) -> bool:
    """Whether a renewed subscription sends items the callback may already have."""
    if opcode is Opcode.ALL_TRADES:
        return bool(request.get("depth"))
    if opcode is Opcode.BARS:
        return True  # re-requested from the last delivered bar (see StreamDelivery.resume)
    return not request.get("skipHistory")


def _ids_kept(opcode: Opcode, request: Mapping[str, Any]) -> int:
    if not replays_history(opcode, request):
        return MIN_IDS_KEPT
    if opcode is Opcode.ALL_TRADES:
        return max(MIN_IDS_KEPT, int(request.get("depth") or 0))
    return OWN_TRADES_KEPT


_loads = orjson.loads
_NO_IDS: frozenset[Any] = frozenset()
_NO_ORDER: deque[Any] = deque(maxlen=0)  # shared and never appended to


class _PendingGap:
    __slots__ = ("dropped", "reached_back", "reason")

    def __init__(self, reason: GapReason, dropped: int) -> None:
        self.reason = reason
        self.dropped = dropped
        self.reached_back = False


class StreamDelivery:
    """One stream's worker-side state: its handles, decoder, last key and replay rule.

    Thread: every method runs on the stream's worker, except :meth:`resume`, which the network
    thread calls to build a renewed request, and :meth:`on_replaced` (network thread too).
    """

    __slots__ = (
        "_discarding",
        "_frame_to_model",
        "_gap",
        "_guid",
        "_ids_kept",
        "_key_of",
        "_last_bar",
        "_last_id",
        "_latest",
        "_on_error",
        "_on_gap",
        "_opcode",
        "_recent",
        "_recent_order",
        "_replays",
        "_rule",
        "_to_model",
        "count_malformed",
        "handles",
    )

    def __init__(
        self,
        *,
        guid: str,
        opcode: Opcode,
        fmt: Format,
        request: Mapping[str, Any],
        raw: bool,
        to_model: Callable[[dict[str, Any]], Any] | None,
        frame_to_model: Callable[[str, str], Any] | None = None,
        on_error: Callable[[BaseException, str | None], None],
        on_gap: Callable[[GapNotice], None],
        count_malformed: Callable[[], None],
    ) -> None:
        self._guid = guid
        self._opcode = opcode
        self._to_model = to_model  # a data dict parsed on the network thread -> model
        self._frame_to_model = frame_to_model  # a frame routed unparsed -> model, in one pass
        self._on_error = on_error
        self._on_gap = on_gap
        self.count_malformed = count_malformed
        self.handles: list[Handle] = []
        self._rule = replay_rule(opcode)
        self._replays = replays_history(opcode, request)
        self._key_of = self._key_reader(raw, fmt)
        self._last_bar: int | None = None  # the open time of the last bar delivered
        # The ids of the last ``_ids_kept`` items delivered, to drop them from a replay; a set,
        # not the last id alone, because nothing documents that replays come in id order.
        # Allocated for trade streams only: both cost about 1 KB a stream even when empty.
        ids = self._rule is ReplayRule.IDS
        self._ids_kept = _ids_kept(opcode, request) if ids else 0
        self._recent: AbstractSet[Any] = set() if ids else _NO_IDS
        self._recent_order: deque[Any] = deque() if ids else _NO_ORDER
        self._last_id: Any = None
        self._latest: Any = None
        self._gap: _PendingGap | None = None
        # After an overflow or a silence, until the renewal's unsubscribe is answered: frames of
        # the old subscription still arriving, dropped because the renewal replays them in order
        # (delivered now, they would come before older replayed ones).
        self._discarding = False

    def _key_reader(self, raw: bool, fmt: Format) -> Callable[[Any], Any] | None:
        if self._rule is ReplayRule.IDS:
            return (lambda d: d.get("id")) if raw else (lambda v: v.id)
        if self._rule is ReplayRule.BAR_TIMES:
            field = "t" if fmt is Format.SLIM else "time"
            return (lambda d: d.get(field)) if raw else (lambda v: v.timestamp_s)
        return None

    # ------------------------------------------------------------------ the hot path

    def handle(self, item: Any) -> None:
        """Decode one item (a frame text or a parsed ``data`` dict) and run the callbacks."""
        to_model, frame_to_model = self._to_model, self._frame_to_model
        try:
            if item.__class__ is dict:
                value = item if to_model is None else to_model(item)
            elif frame_to_model is None:
                value = data_payload(item, self._guid)
            else:
                value = frame_to_model(item, self._guid)
        except MalformedFrameError:
            self.count_malformed()
            raise
        self._hand_out(value)

    def _hand_out(self, value: Any) -> None:
        """The callbacks' part of :meth:`handle` and :meth:`handle_raw`: the replay rule, then
        every handle (one alone is called directly: its error goes to the dispatcher)."""
        key_of = self._key_of
        if key_of is not None and not self._admit(key_of(value)):
            return
        self._latest = value
        handles = self.handles
        if len(handles) == 1:
            handles[0].callback(value)
            return
        for handle in list(handles):
            try:
                handle.callback(value)
            except Exception as exc:
                self._on_error(exc, self._guid)

    def handle_raw(self, item: Any) -> None:
        """:meth:`handle` for a raw stream (the callbacks get the frame's ``data`` dict): a frame
        of the usual shape is parsed and checked inline; anything else (a dict parsed on the
        network thread, a malformed frame) takes :meth:`handle`, which parses and reports."""
        if item.__class__ is str:
            try:
                message = _loads(item)
            except ValueError:
                message = None
            if message.__class__ is dict:
                data = message.get("data")
                if data.__class__ is dict and message.get("guid") == self._guid:
                    self._hand_out(data)
                    return
        self.handle(item)

    def _admit(self, key: Any) -> bool:
        """Whether an item of an id or bar stream is new to the callback (False: a replayed one
        it already had, dropped); the first new one after a gap settles the gap's notice."""
        gap = self._gap
        if self._discarding:
            return False
        if self._rule is ReplayRule.IDS:
            if key.__class__ is not int and key.__class__ is not str:
                return True  # no usable id (a raw payload of the wrong shape): as it came
            if key in self._recent:
                if gap is not None and key == self._last_id:
                    gap.reached_back = True  # the replay holds the last trade delivered
                return False
            self._remember(key)
            self._last_id = key
            if gap is not None:
                self._emit(gap, healed=gap.reached_back)
            return True
        last = self._last_bar
        if last is not None and key.__class__ is int and key < last:
            if gap is not None:
                gap.reached_back = True
            return False  # an older bar the callback already had
        if gap is not None:  # a newer bar, or the current one again: an update
            self._emit(gap, healed=gap.reached_back or key == last)
        if key.__class__ is int:
            self._last_bar = key
        return True

    def _remember(self, key: Any) -> None:
        recent = self._recent
        assert isinstance(recent, set)  # a trade stream's own set (see __init__)
        recent.add(key)
        order = self._recent_order
        order.append(key)
        if len(order) > self._ids_kept:
            recent.discard(order.popleft())

    # ------------------------------------------------------------------ markers, in order

    def on_gap(self, gap: Gap) -> None:
        """A gap marker (the dispatcher's overflow, or a reconnect or silence reported)."""
        reason = GapReason(gap.reason) if gap.reason else GapReason.OVERFLOW
        # A renewal follows an overflow or a silence; after a reconnect the old frames are over.
        self._discarding = self._key_of is not None and reason is not GapReason.RECONNECT
        pending = self._gap
        if pending is not None:  # a second loss before the first was resolved: one notice
            pending.dropped += gap.dropped
            return
        pending = _PendingGap(reason, gap.dropped)
        if self._key_of is None or self._latest is None:  # nothing delivered: nothing to heal
            self._emit(pending, healed=None)
        elif self._replays:
            self._gap = pending  # told with the first item after it, once healed is known
        else:
            self._emit(pending, healed=False)

    def _emit(self, gap: _PendingGap, *, healed: bool | None) -> None:
        self._gap = None
        notice = GapNotice(
            guid=self._guid,
            opcode=self._opcode.value,
            reason=gap.reason,
            dropped=gap.dropped,
            healed=healed,
            snapshot=self._rule is ReplayRule.SNAPSHOT and self._replays,
        )
        for handle in list(self.handles):
            if handle.on_gap is not None:
                self._call(handle.on_gap, notice)
        self._on_gap(notice)

    def old_epoch_ended(self) -> None:
        """A posted call: the renewal's unsubscribe was answered; what follows is the renewed
        subscription's."""
        self._discarding = False

    def on_confirmed(self) -> None:
        """A posted call: the renewed subscription is confirmed. The server sends its history
        before the confirmation, so a notice still pending is settled now: no quiet stream
        keeps its gap untold."""
        self._discarding = False
        gap = self._gap
        if gap is not None:
            self._emit(gap, healed=gap.reached_back)

    @property
    def settles_on_confirmation(self) -> bool:
        """Whether :meth:`on_confirmed` has anything to do for this stream kind."""
        return self._key_of is not None

    def notify_state(self, change: StateChange) -> None:
        """A posted call: the subscription's state changed (in stream order)."""
        for handle in list(self.handles):
            if handle.on_state is not None:
                self._call(handle.on_state, change)

    def attach(self, handle: Handle) -> None:
        """A posted call: ``handle`` joins and gets the latest state the others saw."""
        if handle.closed:
            return  # unsubscribed before its turn came
        self.handles.append(handle)
        latest = self._latest
        if latest is not None:
            self._call(handle.callback, latest)

    def _call(self, fn: Callable[[Any], None], value: Any) -> None:
        try:
            fn(value)
        except Exception as exc:
            self._on_error(exc, self._guid)

    # ------------------------------------------------------------------ other threads

    def resume(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """Network thread: the request to renew with. Bars restart at the last delivered bar,
        so the history is not replayed from the original ``from``."""
        last = self._last_bar
        if self._rule is not ReplayRule.BAR_TIMES or last is None:
            return request
        return {**request, "from": last, "skipHistory": False}

    def on_replaced(self, item: Any) -> None:
        """Network thread: a latest-wins frame is superseded before its turn. It is parsed here
        all the same, so that a malformed frame is reported rather than silently replaced; this
        costs a parse only when frames come faster than the callback takes them."""
        if item.__class__ is dict:
            return
        try:
            data_payload(item, self._guid)
        except MalformedFrameError as exc:
            self.count_malformed()
            self._on_error(exc, self._guid)
