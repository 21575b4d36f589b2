"""The worker side of a subscription: replay rules, gap notices and joiners, without sockets.

Items are fed the way the dispatcher hands them over (``data`` dicts, raw mode), markers the way
the session posts them; what reaches the callback and ``on_gap`` is checked.
"""

from __future__ import annotations

from typing import Any

from alor_sync.data.delivery import StreamDelivery
from alor_sync.dispatch.routes import Gap
from alor_sync.events import GapNotice
from alor_sync.wire import Format, Opcode


class Handle:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.gaps: list[GapNotice] = []
        self.on_state = None
        self.closed = False

    def callback(self, item: Any) -> None:
        self.items.append(item)

    def on_gap(self, notice: GapNotice) -> None:
        self.gaps.append(notice)


def delivery(opcode: Opcode, **request: Any) -> tuple[StreamDelivery, Handle, list[GapNotice]]:
    hooked: list[GapNotice] = []
    errors: list[BaseException] = []
    d = StreamDelivery(
        guid="g", opcode=opcode, fmt=Format.SIMPLE, request=request, raw=True, to_model=None,
        on_error=lambda exc, guid: errors.append(exc), on_gap=hooked.append,
        count_malformed=lambda: None,
    )  # fmt: skip
    handle = Handle()
    d.handles.append(handle)
    return d, handle, hooked


def trades(d: StreamDelivery, *ids: Any) -> None:
    for trade_id in ids:
        d.handle({"id": trade_id})


def gap(reason: str = "reconnect", dropped: int = 0) -> Gap:
    return Gap("g", dropped, 0.0, reason)


def ids(handle: Handle) -> list[Any]:
    return [item["id"] for item in handle.items]


def test_a_replay_that_reaches_back_is_healed_and_repeats_nothing() -> None:
    d, handle, hooked = delivery(Opcode.ALL_TRADES, depth=5)
    trades(d, 1, 2, 3)
    d.on_gap(gap())
    assert handle.gaps == []  # told with the first new trade, once healed is known
    trades(d, 1, 2, 3, 4, 5)
    assert ids(handle) == [1, 2, 3, 4, 5]
    (notice,) = handle.gaps
    assert (notice.healed, notice.reason.value, notice.snapshot) == (True, "reconnect", False)
    assert hooked == [notice]  # the client-wide hook too


def test_a_replay_that_starts_later_says_trades_may_be_missing() -> None:
    d, handle, _ = delivery(Opcode.ALL_TRADES, depth=2)
    trades(d, 1, 2, 3)
    d.on_gap(gap())
    trades(d, 7, 8)
    assert ids(handle) == [1, 2, 3, 7, 8]
    assert handle.gaps[0].healed is False


def test_older_duplicates_without_the_last_trade_do_not_count_as_healed() -> None:
    """Only the replay holding the *last* trade delivered proves nothing was missed."""
    d, handle, _ = delivery(Opcode.ALL_TRADES, depth=5)
    trades(d, 1, 2, 3)
    d.on_gap(gap())
    trades(d, 2, 9)  # 2 is old, 3 is absent: trades between 3 and 9 may be missing
    assert handle.gaps[0].healed is False and ids(handle) == [1, 2, 3, 9]


def test_frames_of_the_old_subscription_after_an_overflow_are_left_to_the_replay() -> None:
    """After an overflow the old subscription streams on until its unsubscribe is answered;
    delivered then, its trades would come before the older ones the renewal replays."""
    d, handle, _ = delivery(Opcode.ALL_TRADES, depth=10)
    trades(d, 1, 2)
    d.on_gap(gap("overflow", dropped=3))  # 3, 4, 5 were dropped
    trades(d, 6, 7)  # the old subscription's tail
    d.old_epoch_ended()
    trades(d, 2, 3, 4, 5, 6, 7, 8)  # the renewal's replay, then live
    assert ids(handle) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert handle.gaps[0].healed is True and handle.gaps[0].dropped == 3


def test_a_pending_notice_is_settled_by_the_confirmation_on_a_quiet_stream() -> None:
    d, handle, _ = delivery(Opcode.ALL_TRADES, depth=5)
    trades(d, 1)
    d.on_gap(gap())
    d.on_confirmed()
    assert [n.healed for n in handle.gaps] == [False]
    trades(d, 1, 2)  # a replay after the confirmation: still never twice
    assert ids(handle) == [1, 2] and len(handle.gaps) == 1


def test_without_a_replay_the_notice_comes_at_once_and_no_trade_comes_twice() -> None:
    d, handle, _ = delivery(Opcode.ALL_TRADES)  # depth 0: nothing is replayed
    trades(d, 1, 1, 2)  # a repeated frame is not a second trade
    d.on_gap(gap())
    assert [n.healed for n in handle.gaps] == [False]
    assert ids(handle) == [1, 2]


def test_ids_of_the_wrong_shape_pass_through_untouched() -> None:
    d, handle, _ = delivery(Opcode.ALL_TRADES, depth=5)
    trades(d, [1], None, 1)
    assert ids(handle) == [[1], None, 1]


def test_bars_resume_from_the_last_bar_and_take_its_resend_as_an_update() -> None:
    d, handle, _ = delivery(Opcode.BARS, tf="60", **{"from": 0})
    assert d.resume({"from": 0, "tf": "60"}) == {"from": 0, "tf": "60"}  # nothing delivered yet
    for t in (60, 120, 180):
        d.handle({"time": t, "close": 1})
    assert d.resume({"from": 0, "tf": "60"}) == {"from": 180, "tf": "60", "skipHistory": False}
    d.on_gap(gap())
    d.handle({"time": 120, "close": 1})  # older: the callback had it
    d.handle({"time": 180, "close": 2})  # the current bar again: an update
    d.handle({"time": 240, "close": 3})
    assert [(b["time"], b["close"]) for b in handle.items] == [
        (60, 1), (120, 1), (180, 1), (180, 2), (240, 3),
    ]  # fmt: skip
    assert handle.gaps[0].healed is True


def test_snapshot_streams_say_a_snapshot_follows() -> None:
    d, handle, _ = delivery(Opcode.ORDERS, portfolio="D39004")
    d.handle({"id": "1", "existing": True})
    d.on_gap(gap())
    assert [(n.healed, n.snapshot) for n in handle.gaps] == [(None, True)]
    d, handle, _ = delivery(Opcode.ORDERS, portfolio="D39004", skipHistory=True)
    d.on_gap(gap())
    assert [(n.healed, n.snapshot) for n in handle.gaps] == [(None, False)]


def test_a_joiner_gets_the_latest_state_unless_it_left_first() -> None:
    d, first, _ = delivery(Opcode.QUOTES)
    d.handle({"seq": 1})
    joiner, gone = Handle(), Handle()
    d.attach(joiner)
    assert joiner.items == [{"seq": 1}]
    gone.closed = True
    d.attach(gone)
    d.handle({"seq": 2})
    assert gone.items == [] and joiner.items == [{"seq": 1}, {"seq": 2}]
    assert first.items == [{"seq": 1}, {"seq": 2}]
