"""The every-frame fast path: a socket read's frames handed over per route in one lock round
(``Dispatcher.deliver_many``), batches without markers drained by the plain loop, and raw frames
parsed inline by ``StreamDelivery.handle_raw``. Each must behave exactly as the general path.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from alor_sync.data.delivery import StreamDelivery
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import Gap, OverflowPolicy, Route, RouteStatistics
from alor_sync.errors import MalformedFrameError
from alor_sync.wire import Format, Opcode
from tests.test_client_scale_fastpath import Manual

LOSSLESS = OverflowPolicy.LOSSLESS
LATEST = OverflowPolicy.LATEST_WINS
TIMEOUT = 5.0


def _counts(stats: RouteStatistics) -> tuple[int, ...]:
    return (
        stats.received, stats.delivered, stats.conflated, stats.dropped, stats.gaps,
        stats.queue_depth, stats.max_queue_depth,
    )  # fmt: skip


class Pair:
    """Two identical routes: one fed item by item with deliver(), one with deliver_many()."""

    def __init__(self, policy: OverflowPolicy, limit: int = 100) -> None:
        self.executor = Manual()
        self.dispatcher = Dispatcher(executor=self.executor)
        self.events: dict[str, list[Any]] = {"one": [], "many": []}
        self.routes = {name: self._route(name, policy, limit) for name in self.events}

    def _route(self, name: str, policy: OverflowPolicy, limit: int) -> Route:
        events = self.events[name]
        replaced = (lambda item: events.append(("replaced", item))) if policy is LATEST else None
        return self.dispatcher.add_route(
            name, handler=events.append, policy=policy, limit=limit,
            on_overflow=lambda route: events.append("overflow"),
            on_gap=lambda gap: events.append(("gap", gap.dropped)),
            on_replaced=replaced,
        )  # fmt: skip

    def feed(self, items: list[Any]) -> tuple[int, int]:
        later: list[Route] = []
        one = max([self.dispatcher.deliver(self.routes["one"], item, later) for item in items])
        many = self.dispatcher.deliver_many(self.routes["many"], items, later)
        assert later.count(self.routes["one"]) == later.count(self.routes["many"]) <= 1
        self.dispatcher.submit_later(later)
        return one, many

    def check_same(self) -> None:
        one, many = self.events["one"], self.events["many"]
        assert one == many
        stats = [_counts(self.routes[name].statistics()) for name in ("one", "many")]
        assert stats[0] == stats[1]


@pytest.mark.parametrize("sizes", [[5], [1, 1, 1], [3, 40, 2], [120], [60, 60, 60]])
def test_deliver_many_counts_and_orders_as_deliver_item_by_item(sizes: list[int]) -> None:
    pair = Pair(LOSSLESS, limit=100)
    n = 0
    for size in sizes:
        items = list(range(n, n + size))
        n += size
        one, many = pair.feed(items)
        assert many >= one  # the depth after the read (the caller's catch-up hint)
    pair.check_same()  # nothing ran yet: queued the same, overflowed the same
    pair.executor.run_all()
    pair.check_same()
    assert pair.dispatcher.close(TIMEOUT)


def test_deliver_many_overflows_at_the_same_item_with_the_hook_in_between() -> None:
    pair = Pair(LOSSLESS, limit=4)
    pair.feed([0, 1, 2])
    pair.feed([3, 4, 5, 6, 7])  # 3 fits; 4 overflows the queue: 0-3 dropped, a gap, 4-7
    pair.check_same()
    assert pair.events["many"] == ["overflow"]
    pair.executor.run_all()
    pair.check_same()
    assert pair.events["many"] == ["overflow", ("gap", 4), 4, 5, 6, 7]
    assert pair.dispatcher.close(TIMEOUT)


def test_deliver_many_on_latest_wins_replaces_as_deliver_does() -> None:
    pair = Pair(LATEST)
    pair.feed(["a", "b", "c"])
    pair.check_same()
    pair.executor.run_all()
    pair.check_same()
    assert pair.events["many"] == [("replaced", "a"), ("replaced", "b"), "c"]
    assert pair.dispatcher.close(TIMEOUT)


def test_deliver_many_to_a_removed_route_counts_every_item_dropped() -> None:
    pair = Pair(LOSSLESS)
    for name in ("one", "many"):
        pair.dispatcher.remove_route(name)
    assert pair.feed([1, 2, 3]) == (0, 0)
    pair.check_same()
    assert _counts(pair.routes["many"].statistics())[:4] == (3, 0, 0, 3)
    assert pair.dispatcher.close(TIMEOUT)


def test_deliver_many_while_the_drain_runs_needs_no_second_token() -> None:
    executor = Manual()
    dispatcher = Dispatcher(executor=executor)
    seen: list[Any] = []
    route: Route

    def handler(item: Any) -> None:
        seen.append(item)
        if item == 0:  # the network thread hands a read over meanwhile
            later: list[Route] = []
            assert dispatcher.deliver_many(route, [1, 2], later) == 2
            assert later == []  # the running drain holds the token and will look again

    route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
    later: list[Route] = []
    dispatcher.deliver_many(route, [0], later)
    dispatcher.submit_later(later)
    executor.run_all()
    assert seen == [0, 1, 2] and route.statistics().delivered == 3
    assert dispatcher.close(TIMEOUT)


def test_removal_inside_a_plain_batch_drops_the_rest_and_decode_errors_are_counted() -> None:
    executor = Manual()
    errors: list[BaseException] = []
    dispatcher = Dispatcher(executor=executor, on_error=lambda exc, key: errors.append(exc))
    seen: list[Any] = []

    def decode(item: int) -> int:
        if item == 1:
            raise ValueError("bad item")
        return item * 10

    def handler(item: int) -> None:
        seen.append(item)
        if item == 20:
            dispatcher.remove_route("r")

    route = dispatcher.add_route("r", handler=handler, decode=decode, policy=LOSSLESS)
    later: list[Route] = []
    dispatcher.deliver_many(route, [0, 1, 2, 3, 4], later)
    dispatcher.submit_later(later)
    executor.run_all()
    assert seen == [0, 20] and [str(e) for e in errors] == ["bad item"]
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.dropped, stats.errors) == (5, 3, 2, 1)
    assert stats.last_lag is not None and stats.max_lag is not None
    assert stats.max_lag >= stats.last_lag >= 0
    assert dispatcher.close(TIMEOUT)


# ------------------------------------------------------------------ raw frames, parsed inline


class Handle:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.on_gap = None
        self.on_state = None
        self.closed = False

    def callback(self, item: Any) -> None:
        self.items.append(item)


def _raw_delivery(opcode: Opcode, **request: Any) -> tuple[StreamDelivery, list[Any]]:
    malformed: list[None] = []
    d = StreamDelivery(
        guid="g", opcode=opcode, fmt=Format.SIMPLE, request=request, raw=True, to_model=None,
        on_error=lambda exc, guid: None, on_gap=lambda notice: None,
        count_malformed=lambda: malformed.append(None),
    )  # fmt: skip
    return d, malformed


def _frame(data: str, guid: str = "g") -> str:
    return '{ "data": ' + data + ', "guid":"' + guid + '" }'


def test_handle_raw_gives_what_handle_gives_and_reports_what_it_reports() -> None:
    fast, fast_malformed = _raw_delivery(Opcode.ORDER_BOOK)
    slow, slow_malformed = _raw_delivery(Opcode.ORDER_BOOK)
    handles = {"fast": [Handle(), Handle()], "slow": [Handle(), Handle()]}
    fast.handles.extend(handles["fast"][:1])
    slow.handles.extend(handles["slow"][:1])
    items: list[Any] = [_frame('{"a": 1}'), {"parsed": True}, _frame('{"a": 2}', guid="other")]
    items += ["[1, 2", _frame("[1]"), _frame('{"a": 3}')]
    for n, item in enumerate(items):
        if n == 3:  # a second handle: every callback gets each item
            fast.handles.append(handles["fast"][1])
            slow.handles.append(handles["slow"][1])
        outcomes = []
        for run in (fast.handle_raw, slow.handle):
            try:
                run(item)
                outcomes.append("ok")
            except MalformedFrameError as exc:
                outcomes.append(str(exc))
        assert outcomes[0] == outcomes[1]
    for got, expected in zip(handles["fast"], handles["slow"], strict=True):
        assert got.items == expected.items
    assert handles["fast"][0].items == [{"a": 1}, {"parsed": True}, {"a": 3}]
    assert len(fast_malformed) == len(slow_malformed) == 3


def test_handle_raw_keeps_the_replay_rule_of_a_trade_stream() -> None:
    d, _ = _raw_delivery(Opcode.ALL_TRADES, depth=10)
    handle = Handle()
    d.handles.append(handle)
    for trade_id in (1, 2, 3):
        d.handle_raw(_frame(f'{{"id": {trade_id}}}'))
    d.on_gap(Gap("g", 0, 0.0, "reconnect"))
    for trade_id in (2, 3, 4):  # the replay repeats 2 and 3
        d.handle_raw(_frame(f'{{"id": {trade_id}}}'))
    assert [item["id"] for item in handle.items] == [1, 2, 3, 4]


def test_the_lag_of_a_reads_items_starts_when_the_caller_says() -> None:
    executor = Manual()
    dispatcher = Dispatcher(executor=executor)
    route = dispatcher.add_route("r", handler=lambda item: None, policy=LOSSLESS)
    later: list[Route] = []
    dispatcher.deliver_many(route, [1, 2, 3], later, time.monotonic() - 60.0)
    dispatcher.submit_later(later)
    executor.run_all()
    stats = route.statistics()
    assert stats.last_lag is not None and stats.max_lag is not None
    assert 60.0 <= stats.last_lag <= stats.max_lag < 60.0 + TIMEOUT
    assert dispatcher.close(TIMEOUT)
