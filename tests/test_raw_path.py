"""The every-frame fast path: a socket read's frames handed over per route in one lock round
(``Dispatcher.deliver_many``). It must behave exactly as one ``deliver`` per item.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import OverflowPolicy, Route, RouteStatistics
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
