"""Randomised checks of the dispatcher's invariants.

1. A reference model: random interleavings of deliver(), report_gap() and task runs on a pumped
   executor must give exactly the handler calls, gaps, pending tasks and counters that the model
   predicts.
2. Real threads, with a tiny GIL switch interval to shake out races: per-route order, never two
   handlers of one route at once, and every item accounted for.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import Gap, OverflowPolicy, Route

TIMEOUT = 20.0


class ManualExecutor:
    def __init__(self) -> None:
        self.tasks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        self.tasks.append((fn, args))


@attrs.define
class ModelRoute:
    """What a route should do, written as plainly as possible."""

    latest_wins: bool
    limit: int
    # ("item", n), ("gap:overflow", dropped) or ("gap:reconnect", 0)
    queue: list[tuple[str, int]] = attrs.Factory(list)
    scheduled: bool = False
    received: int = 0
    delivered: int = 0
    conflated: int = 0
    dropped: int = 0
    gaps: int = 0

    def deliver(self, n: int) -> bool:
        """True if a drain task must be submitted."""
        self.received += 1
        if self.queue and self.latest_wins:
            if self.queue[-1][0] == "item":
                self.queue[-1] = ("item", n)
                self.conflated += 1
            else:
                self.queue.append(("item", n))
            return False
        items = sum(1 for kind, _ in self.queue if kind == "item")
        if self.queue and items >= self.limit:
            self.queue = [entry for entry in self.queue if entry[0] != "item"]
            self.queue.append(("gap:overflow", items))
            self.dropped += items
            self.gaps += 1
        return self.append(("item", n))

    def report_gap(self) -> bool:
        self.gaps += 1
        return self.append(("gap:reconnect", 0))

    def append(self, entry: tuple[str, int]) -> bool:
        self.queue.append(entry)
        if self.scheduled:
            return False
        self.scheduled = True
        return True

    def drain(self, batch: int) -> tuple[list[tuple[str, int]], bool]:
        """The entries one drain handles, and whether it resubmits itself."""
        taken, self.queue = self.queue[:batch], self.queue[batch:]
        self.delivered += sum(1 for kind, _ in taken if kind == "item")
        self.scheduled = bool(self.queue)
        return taken, self.scheduled


route_setups = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=1, max_value=4)), min_size=1, max_size=3
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("deliver"), st.integers(min_value=0, max_value=2)),
        st.tuples(st.just("run"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("report_gap"), st.integers(min_value=0, max_value=2)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(setups=route_setups, ops=operations, batch=st.integers(min_value=1, max_value=4))
def test_the_dispatcher_behaves_like_the_reference_model(
    setups: list[tuple[bool, int]], ops: list[tuple[str, int]], batch: int
) -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor, batch_size=batch)
    seen: list[tuple[int, str, int]] = []
    expected: list[tuple[int, str, int]] = []
    models = [ModelRoute(latest, limit) for latest, limit in setups]
    model_tasks: list[int] = []
    routes: list[Route] = []
    for key, (latest, limit) in enumerate(setups):

        def record(item: int, key: int = key) -> None:
            seen.append((key, "item", item))

        def record_gap(gap: Gap, key: int = key) -> None:
            seen.append((key, f"gap:{gap.reason}", gap.dropped))

        policy = OverflowPolicy.LATEST_WINS if latest else OverflowPolicy.LOSSLESS
        routes.append(
            dispatcher.add_route(key, handler=record, policy=policy, limit=limit, on_gap=record_gap)
        )

    def run_task(index: int) -> None:
        key = model_tasks.pop(index)
        taken, again = models[key].drain(batch)
        expected.extend((key, kind, value) for kind, value in taken)
        if again:
            model_tasks.append(key)
        fn, args = executor.tasks.pop(index)
        fn(*args)

    n = 0
    for op, arg in ops:
        if op == "deliver":
            key = arg % len(routes)
            if models[key].deliver(n):
                model_tasks.append(key)
            dispatcher.deliver(routes[key], n)
            n += 1
        elif op == "report_gap":
            key = arg % len(routes)
            if models[key].report_gap():
                model_tasks.append(key)
            dispatcher.report_gap(routes[key], reason="reconnect")
        elif model_tasks:
            run_task(arg % len(model_tasks))
        assert [args[0].key for _, args in executor.tasks] == model_tasks
        assert seen == expected
    while model_tasks:
        run_task(0)
    assert seen == expected
    for route, model in zip(routes, models, strict=True):
        stats = route.statistics()
        assert (stats.received, stats.delivered, stats.conflated) == (
            model.received,
            model.delivered,
            model.conflated,
        )
        assert (stats.dropped, stats.gaps, stats.queue_depth) == (model.dropped, model.gaps, 0)
        assert stats.received == stats.delivered + stats.conflated + stats.dropped
    assert dispatcher.close(timeout=TIMEOUT)


@pytest.fixture
def fast_thread_switching() -> Iterator[None]:
    """Make the interpreter switch threads every 10 us, so that races get their chance."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    workers=st.integers(min_value=1, max_value=4),
    batch=st.integers(min_value=1, max_value=8),
    policies=st.lists(st.sampled_from(["lossless", "latest", "small"]), min_size=1, max_size=5),
    producers=st.integers(min_value=1, max_value=3),
    per_producer=st.integers(min_value=50, max_value=400),
)
def test_threads_keep_order_never_overlap_and_account_for_every_item(
    fast_thread_switching: None,
    workers: int,
    batch: int,
    policies: list[str],
    producers: int,
    per_producer: int,
) -> None:
    dispatcher = Dispatcher(workers=workers, batch_size=batch)
    guard = threading.Lock()
    active = [0] * len(policies)
    overlaps: list[int] = []
    seen: list[list[tuple[int, int]]] = [[] for _ in policies]
    gaps: list[list[Gap]] = [[] for _ in policies]
    overflows: dict[Hashable, int] = dict.fromkeys(range(len(policies)), 0)

    def make_handler(key: int) -> Callable[[tuple[int, int]], None]:
        def handler(item: tuple[int, int]) -> None:
            with guard:
                active[key] += 1
                if active[key] != 1:
                    overlaps.append(key)
            seen[key].append(item)
            with guard:
                active[key] -= 1

        return handler

    def count_overflow(route: Route) -> None:
        with guard:  # runs on whichever producer thread overflowed the queue
            overflows[route.key] += 1

    routes = []
    for key, kind in enumerate(policies):
        routes.append(
            dispatcher.add_route(
                key,
                handler=make_handler(key),
                policy=OverflowPolicy.LATEST_WINS if kind == "latest" else OverflowPolicy.LOSSLESS,
                limit=3 if kind == "small" else 10**6,
                on_overflow=count_overflow,
                on_gap=gaps[key].append,
            )
        )
    start = threading.Barrier(producers)

    def produce(producer: int) -> None:
        start.wait(TIMEOUT)
        for seq in range(per_producer):
            dispatcher.deliver(routes[seq % len(routes)], (producer, seq))

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert dispatcher.wait_idle(TIMEOUT)
    stats = dispatcher.statistics().routes
    assert dispatcher.close(timeout=TIMEOUT)

    assert overlaps == []
    for key, kind in enumerate(policies):
        route_stats = stats[key]
        assert route_stats.received == len(range(key, per_producer, len(policies))) * producers
        assert route_stats.delivered == len(seen[key])
        assert route_stats.received == (
            route_stats.delivered + route_stats.conflated + route_stats.dropped
        )
        assert route_stats.queue_depth == 0
        assert route_stats.gaps == len(gaps[key]) == overflows[key]
        assert route_stats.dropped == sum(gap.dropped for gap in gaps[key])
        for producer in range(producers):
            mine = [seq for p, seq in seen[key] if p == producer]
            assert mine == sorted(mine), (key, producer)
            if kind == "lossless":
                assert mine == list(range(key, per_producer, len(policies)))
