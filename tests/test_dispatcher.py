"""Behaviour of alor_sync.dispatch.dispatcher: order, parallelism, policies, errors, lifecycle,
statistics.

Every wait is on an Event/Barrier/Condition with a timeout; nothing sleeps to wait.
"""

from __future__ import annotations

import logging
import threading
import time
import tracemalloc
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from alor_sync.dispatch.dispatcher import DEFAULT_WORKERS, Dispatcher
from alor_sync.dispatch.routes import OVERFLOW, Gap, OverflowPolicy, Route
from alor_sync.dispatch.workers import WorkerPool
from alor_sync.errors import ClientClosedError, DecodeError, InvalidArgumentError
from tests.client_helpers import wait_until

TIMEOUT = 10.0
LOSSLESS = OverflowPolicy.LOSSLESS
LATEST = OverflowPolicy.LATEST_WINS


class ManualExecutor:
    """Queues drain tasks; the test runs them (an event loop that the test pumps by hand)."""

    def __init__(self) -> None:
        self.tasks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        self.tasks.append((fn, args))

    def run_next(self, index: int = 0) -> None:
        fn, args = self.tasks.pop(index)
        fn(*args)

    def run_all(self) -> None:
        while self.tasks:
            self.run_next()


class Gate:
    """A handler that records items and blocks on ``item == block_on`` until released."""

    def __init__(self, block_on: object = None) -> None:
        self.block_on = block_on
        self.items: list[object] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, item: object) -> None:
        self.items.append(item)
        if item == self.block_on:
            self.entered.set()
            assert self.release.wait(TIMEOUT), "the test never released the gate"


@pytest.fixture
def dispatchers() -> Iterator[Callable[..., Dispatcher]]:
    """Makes dispatchers and closes them all at teardown (so that no test leaks a worker)."""
    made: list[Dispatcher] = []

    def make(**kwargs: Any) -> Dispatcher:
        dispatcher = Dispatcher(**kwargs)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        assert dispatcher.close(timeout=TIMEOUT)


def recorder() -> tuple[list[object], Callable[[object], None]]:
    items: list[object] = []
    return items, items.append


# -- order and parallelism -----------------------------------------------------------------------


def test_items_of_one_route_arrive_in_order_on_a_named_worker(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=3)
    threads: set[str] = set()
    items: list[int] = []

    def handler(item: int) -> None:
        threads.add(threading.current_thread().name)
        items.append(item)

    route = dispatcher.add_route("guid-1", handler=handler, policy=LOSSLESS)
    for n in range(2_000):
        dispatcher.deliver(route, n)
    assert dispatcher.wait_idle(TIMEOUT)
    assert items == list(range(2_000))
    assert threads <= {f"alor-sync-dispatch-{n}" for n in (1, 2, 3)}
    assert threading.current_thread().name not in threads


def test_order_per_route_with_several_producers_and_routes(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=4, batch_size=8)
    routes_count, producers_count, per_producer = 6, 4, 1_500
    seen: dict[int, list[tuple[int, int]]] = {r: [] for r in range(routes_count)}
    routes = [
        dispatcher.add_route(r, handler=seen[r].append, policy=LOSSLESS, limit=10**6)
        for r in range(routes_count)
    ]
    start = threading.Barrier(producers_count)

    def produce(producer: int) -> None:
        start.wait(TIMEOUT)
        for seq in range(per_producer):
            dispatcher.deliver(routes[seq % routes_count], (producer, seq))

    producers = [threading.Thread(target=produce, args=(p,)) for p in range(producers_count)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join(TIMEOUT)
    assert dispatcher.wait_idle(TIMEOUT)
    for r, items in seen.items():
        for producer in range(producers_count):
            mine = [seq for p, seq in items if p == producer]
            assert mine == list(range(r, per_producer, routes_count)), (r, producer)


def test_a_route_never_runs_two_handlers_at_once(dispatchers: Callable[..., Dispatcher]) -> None:
    dispatcher = dispatchers(workers=4, batch_size=2)
    active = dict.fromkeys(range(3), 0)
    overlaps: list[int] = []
    guard = threading.Lock()

    def handler_for(key: int) -> Callable[[int], None]:
        def handler(item: int) -> None:
            with guard:
                active[key] += 1
                if active[key] > 1:
                    overlaps.append(key)
            sum(range(200))  # a little work, so that overlaps would have a chance to show
            with guard:
                active[key] -= 1

        return handler

    routes = [dispatcher.add_route(k, handler=handler_for(k), policy=LOSSLESS) for k in range(3)]
    for n in range(3_000):
        dispatcher.deliver(routes[n % 3], n)
    assert dispatcher.wait_idle(TIMEOUT)
    assert overlaps == []
    stats = dispatcher.statistics().routes
    assert [stats[k].delivered for k in range(3)] == [1_000, 1_000, 1_000]


def test_an_item_that_arrives_during_the_handler_waits_for_the_running_drain() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    items: list[int] = []
    tasks_during_handler: list[int] = []

    def handler(item: int) -> None:
        items.append(item)
        if item == 0:  # the network thread delivers while this handler runs on the last item
            dispatcher.deliver(route, 1)
            tasks_during_handler.append(len(executor.tasks))

    route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
    dispatcher.deliver(route, 0)
    executor.run_next()
    assert tasks_during_handler == [0]  # no second drain: the running one took item 1 itself
    assert items == [0, 1]
    assert executor.tasks == []
    assert dispatcher.close(TIMEOUT)


def test_a_free_worker_never_picks_up_a_route_whose_handler_is_running(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=2)
    gate = Gate(block_on=0)
    probe_ran = threading.Event()
    route = dispatcher.add_route("busy", handler=gate, policy=LOSSLESS)
    probe = dispatcher.add_route("probe", handler=lambda _: probe_ran.set(), policy=LOSSLESS)
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)  # worker 1 is inside the handler, the queue is empty
    dispatcher.deliver(route, 1)
    dispatcher.deliver(probe, 0)  # the free worker 2 takes whatever was submitted first
    assert probe_ran.wait(TIMEOUT)
    assert gate.items == [0]  # item 1 waits for the drain that is still running
    gate.release.set()
    assert dispatcher.wait_idle(TIMEOUT)
    assert gate.items == [0, 1]


def test_a_blocked_route_does_not_stop_another_route(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=2)
    b_ran = threading.Event()
    a_saw_b: list[bool] = []
    route_a = dispatcher.add_route(
        "a", handler=lambda _: a_saw_b.append(b_ran.wait(TIMEOUT)), policy=LOSSLESS
    )
    route_b = dispatcher.add_route("b", handler=lambda _: b_ran.set(), policy=LOSSLESS)
    dispatcher.deliver(route_a, 1)
    dispatcher.deliver(route_b, 1)
    assert dispatcher.wait_idle(TIMEOUT)
    assert a_saw_b == [True]


def test_a_long_route_yields_its_worker_after_a_batch() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor, batch_size=2)
    order: list[tuple[str, int]] = []
    route_a = dispatcher.add_route("a", handler=lambda n: order.append(("a", n)), policy=LOSSLESS)
    route_b = dispatcher.add_route("b", handler=lambda n: order.append(("b", n)), policy=LOSSLESS)
    for n in range(5):
        dispatcher.deliver(route_a, n)
    dispatcher.deliver(route_b, 0)
    assert len(executor.tasks) == 2  # one drain per route, however many items
    executor.run_all()
    assert order == [("a", 0), ("a", 1), ("b", 0), ("a", 2), ("a", 3), ("a", 4)]
    assert dispatcher.close(TIMEOUT)


def _deliver_behind_gate(dispatcher: Dispatcher, route: Route, gate: Gate, count: int) -> None:
    """Items 0..count-1: the rest queue while the handler blocks on 0; then let them run."""
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    for n in range(1, count):
        dispatcher.deliver(route, n)
    gate.release.set()
    assert dispatcher.wait_idle(TIMEOUT)


def test_a_route_queued_again_by_its_own_worker_wakes_nobody_unless_others_wait() -> None:
    drained: list[str] = []
    both = threading.Event()

    def drain(route: Any) -> None:
        drained.append(route)
        if len(drained) == 2:
            both.set()

    pool = WorkerPool(2, drain)  # plain strings stand in for routes
    try:
        assert wait_until(lambda: len(pool._parked) == 2)
        pool.resubmit("a")  # type: ignore[arg-type]
        assert len(pool._parked) == 2  # nothing else waits: the calling worker would take it
        pool.resubmit("b")  # type: ignore[arg-type]
        assert len(pool._parked) == 1  # "a" waits too: a worker is woken for the line
        assert both.wait(TIMEOUT)
        assert drained == ["a", "b"]
    finally:
        pool.stop()
        assert pool.join(time.monotonic() + TIMEOUT)


def test_a_busy_route_keeps_one_worker_through_its_batches(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=4, batch_size=2)
    gate = Gate(block_on=0)
    names: list[str] = []

    def handler(item: object) -> None:
        names.append(threading.current_thread().name)
        gate(item)

    route = dispatcher.add_route("busy", handler=handler, policy=LOSSLESS)
    _deliver_behind_gate(dispatcher, route, gate, 21)
    assert gate.items == list(range(21))
    assert len(set(names)) == 1, f"ten full batches moved between workers: {sorted(set(names))}"


# -- custom executors ----------------------------------------------------------------------------


def test_a_single_thread_executor_keeps_order_and_runs_every_handler_on_it() -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gui") as gui:
        dispatcher = Dispatcher(executor=gui, batch_size=4)
        seen: dict[str, list[int]] = {"x": [], "y": []}
        names: set[str] = set()

        def handler_for(key: str) -> Callable[[int], None]:
            def handler(item: int) -> None:
                names.add(threading.current_thread().name)
                seen[key].append(item)

            return handler

        routes = {k: dispatcher.add_route(k, handler=handler_for(k), policy=LOSSLESS) for k in seen}
        for n in range(500):
            dispatcher.deliver(routes["x"], n)
            dispatcher.deliver(routes["y"], -n)
        assert dispatcher.wait_idle(TIMEOUT)
        assert seen == {"x": list(range(500)), "y": [-n for n in range(500)]}
        assert {name.split("_")[0] for name in names} == {"gui"}
        assert dispatcher.statistics().workers == 0
        assert dispatcher.close(TIMEOUT)


def test_a_pumped_executor_keeps_order_whatever_order_it_runs_tasks_in() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor, batch_size=3)
    seen: dict[int, list[int]] = {k: [] for k in range(4)}
    routes = [dispatcher.add_route(k, handler=seen[k].append, policy=LOSSLESS) for k in range(4)]
    n = 0
    for round_ in range(30):
        for _ in range(7):
            dispatcher.deliver(routes[n % 4], n)
            n += 1
        while executor.tasks and round_ % 3:
            executor.run_next(-1)  # newest task first: the opposite of a fair queue
    executor.run_all()
    assert all(seen[k] == list(range(k, n, 4)) for k in range(4))
    assert dispatcher.close(TIMEOUT)


def test_an_executor_that_refuses_work_costs_counted_drops_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Refusing:
        def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
            raise RuntimeError("cannot schedule new futures after shutdown")

    dispatcher = Dispatcher(executor=Refusing())
    route = dispatcher.add_route("r", handler=lambda _: None, policy=LOSSLESS)
    with caplog.at_level(logging.ERROR, logger="alor_sync"):
        dispatcher.deliver(route, 1)
        dispatcher.deliver(route, 2)
    stats = route.statistics()
    assert (stats.received, stats.dropped, stats.queue_depth) == (2, 2, 0)
    assert "cannot schedule route 'r'" in caplog.text
    assert dispatcher.wait_idle(TIMEOUT)
    assert dispatcher.close(TIMEOUT)


# -- overflow policies ---------------------------------------------------------------------------


def test_latest_wins_keeps_only_the_newest_undelivered_item() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    items, handler = recorder()
    route = dispatcher.add_route("book", handler=handler, policy=LATEST)
    for n in range(5):
        dispatcher.deliver(route, n)
    assert route.statistics().queue_depth == 1
    executor.run_all()
    dispatcher.deliver(route, 5)
    executor.run_all()
    assert items == [4, 5]
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.conflated, stats.dropped) == (6, 2, 4, 0)
    assert (stats.gaps, stats.queue_depth, stats.max_queue_depth) == (0, 0, 1)
    assert dispatcher.close(TIMEOUT)


def test_latest_wins_while_the_handler_is_busy(dispatchers: Callable[..., Dispatcher]) -> None:
    dispatcher = dispatchers(workers=2)
    gate = Gate(block_on=0)
    route = dispatcher.add_route("quotes", handler=gate, policy=LATEST)
    _deliver_behind_gate(dispatcher, route, gate, 10)
    assert gate.items == [0, 9]
    assert route.statistics().conflated == 8


def test_lossless_overflow_drops_the_backlog_and_queues_a_gap_in_order(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=2)
    gate = Gate(block_on=0)
    overflows: list[tuple[Route, str]] = []
    events: list[object] = []
    gate_handler = gate.__call__

    def handler(item: object) -> None:
        events.append(item)
        gate_handler(item)

    route = dispatcher.add_route(
        "trades",
        handler=handler,
        policy=LOSSLESS,
        limit=3,
        on_overflow=lambda r: overflows.append((r, threading.current_thread().name)),
        on_gap=events.append,
    )
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    for n in (1, 2, 3):  # fills the queue to its limit
        dispatcher.deliver(route, n)
    assert overflows == []
    dispatcher.deliver(route, 4)  # overflow: 1, 2, 3 are dropped, a gap takes their place
    assert overflows == [(route, threading.current_thread().name)]
    dispatcher.deliver(route, 5)  # accepted while the client resubscribes
    gate.release.set()
    assert dispatcher.wait_idle(TIMEOUT)
    assert len(events) == 4
    assert events[0] == 0 and events[2:] == [4, 5]
    gap = events[1]
    assert isinstance(gap, Gap)
    assert (gap.route_key, gap.dropped) == ("trades", 3)
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.dropped, stats.gaps) == (6, 3, 3, 1)
    assert stats.received == stats.delivered + stats.conflated + stats.dropped
    assert stats.max_queue_depth == 3


def test_each_overflow_is_its_own_gap_and_old_gap_markers_survive() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    events: list[object] = []
    overflows: list[Route] = []
    route = dispatcher.add_route(
        "orders",
        handler=events.append,
        policy=LOSSLESS,
        limit=2,
        on_overflow=overflows.append,
        on_gap=events.append,
    )
    for n in range(7):  # [0 1] 2-> gap(2) [2] 3 -> [2 3] 4 -> gap(2) [4] ... 6 -> [4 5] 6
        dispatcher.deliver(route, n)
    executor.run_all()
    kinds = [("gap", e.dropped) if isinstance(e, Gap) else e for e in events]
    assert kinds == [("gap", 2), ("gap", 2), ("gap", 2), 6]
    assert len(overflows) == 3
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.dropped, stats.gaps) == (7, 1, 6, 3)
    assert stats.queue_depth == 0
    assert dispatcher.close(TIMEOUT)


def test_a_failing_on_overflow_hook_is_logged_and_delivery_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    items, handler = recorder()

    def on_overflow(route: Route) -> None:
        raise RuntimeError("resubscribe failed")

    route = dispatcher.add_route(
        "r",
        handler=handler,
        policy=LOSSLESS,
        limit=1,
        on_overflow=on_overflow,
        on_gap=lambda g: None,
    )
    with caplog.at_level(logging.ERROR, logger="alor_sync"):
        for n in range(3):
            dispatcher.deliver(route, n)
    executor.run_all()
    assert items == [2]
    assert "on_overflow hook of route 'r' raised" in caplog.text
    assert dispatcher.close(TIMEOUT)


def test_a_gap_without_on_gap_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    route = dispatcher.add_route("g", handler=lambda _: None, policy=LOSSLESS, limit=1)
    dispatcher.deliver(route, 0)
    dispatcher.deliver(route, 1)
    with caplog.at_level(logging.WARNING, logger="alor_sync"):
        executor.run_all()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "route 'g' lost 1 items" in caplog.text
    assert dispatcher.close(TIMEOUT)


def test_report_gap_queues_a_notice_after_the_items_already_queued() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    events: list[object] = []
    route = dispatcher.add_route(
        "trades", handler=events.append, policy=LOSSLESS, on_gap=events.append
    )
    dispatcher.report_gap(route, reason="reconnect")  # an idle route gets a drain for the notice
    assert len(executor.tasks) == 1
    executor.run_all()
    dispatcher.deliver(route, 1)
    dispatcher.report_gap(route, reason="silence")
    dispatcher.deliver(route, 2)
    executor.run_all()
    assert [(e.reason, e.dropped) if isinstance(e, Gap) else e for e in events] == [
        ("reconnect", 0),
        1,
        ("silence", 0),
        2,
    ]
    stats = route.statistics()
    assert (stats.gaps, stats.dropped, stats.delivered, stats.queue_depth) == (2, 0, 2, 0)
    dispatcher.remove_route("trades")
    dispatcher.report_gap(route, reason="reconnect")  # a removed route: nothing to tell anyone
    assert executor.tasks == []
    assert dispatcher.close(TIMEOUT)


def test_latest_wins_never_conflates_across_a_reported_gap() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    events: list[object] = []
    route = dispatcher.add_route("book", handler=events.append, policy=LATEST, on_gap=events.append)
    dispatcher.deliver(route, 1)
    dispatcher.report_gap(route, reason="reconnect")
    for n in (2, 3, 4):
        dispatcher.deliver(route, n)
    executor.run_all()
    assert [e.reason if isinstance(e, Gap) else e for e in events] == [1, "reconnect", 4]
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.conflated, stats.gaps) == (4, 2, 2, 1)
    assert dispatcher.close(TIMEOUT)


def test_post_runs_a_call_in_stream_order_as_a_barrier_that_survives_overflow() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    events: list[object] = []
    book = dispatcher.add_route("book", handler=events.append, policy=LATEST)
    dispatcher.deliver(book, 1)
    assert dispatcher.post(book, lambda: events.append("state"))
    for n in (2, 3):
        dispatcher.deliver(book, n)
    executor.run_all()
    assert events == [1, "state", 3]  # 2 is conflated by 3, never across the posted call
    assert book.statistics().queue_depth == 0

    events.clear()
    trades = dispatcher.add_route(
        "trades", handler=events.append, policy=LOSSLESS, limit=2,
        on_gap=lambda gap: events.append("gap"),
    )  # fmt: skip
    dispatcher.deliver(trades, 1)
    dispatcher.post(trades, lambda: events.append("state"))
    for n in (2, 3, 4):  # 3 overflows: 1 and 2 are dropped, the posted call is kept
        dispatcher.deliver(trades, n)
    executor.run_all()
    assert events == ["state", "gap", 3, 4]
    dispatcher.remove_route("trades")
    assert not dispatcher.post(trades, lambda: events.append("late"))
    assert dispatcher.close(TIMEOUT)


def test_a_posted_call_that_raises_goes_to_on_error() -> None:
    executor = ManualExecutor()
    seen: list[tuple[str, object]] = []
    dispatcher = Dispatcher(
        executor=executor, on_error=lambda exc, key: seen.append((str(exc), key))
    )
    route = dispatcher.add_route("r", handler=lambda _: None, policy=LOSSLESS)

    def fail() -> None:
        raise RuntimeError("hook failed")

    dispatcher.post(route, fail)
    executor.run_all()
    assert seen == [("hook failed", "r")]
    assert route.statistics().errors == 1
    assert dispatcher.close(TIMEOUT)


def test_overflow_gaps_say_so() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    gaps: list[Gap] = []
    route = dispatcher.add_route(
        "r", handler=lambda _: None, policy=LOSSLESS, limit=1, on_gap=gaps.append
    )
    dispatcher.deliver(route, 0)
    dispatcher.deliver(route, 1)
    executor.run_all()
    assert [(g.reason, g.dropped, g.route_key) for g in gaps] == [(OVERFLOW, 1, "r")]
    assert dispatcher.close(TIMEOUT)


# -- errors --------------------------------------------------------------------------------------


def test_errors_in_decode_and_handler_go_to_on_error_and_delivery_goes_on(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    reported: list[tuple[BaseException, Hashable, str]] = []
    dispatcher = dispatchers(
        workers=2,
        on_error=lambda exc, key: reported.append((exc, key, threading.current_thread().name)),
    )
    items: list[str] = []

    def decode(raw: dict[str, int]) -> str:
        if raw["n"] == 2:
            raise DecodeError("bad payload", opcode="QuotesSubscribe", guid="g")
        return f"item-{raw['n']}"

    def handler(item: str) -> None:
        if item == "item-4":
            raise ValueError("user bug")
        items.append(item)

    route = dispatcher.add_route("g", handler=handler, decode=decode, policy=LOSSLESS)
    for n in range(6):
        dispatcher.deliver(route, {"n": n})
    assert dispatcher.wait_idle(TIMEOUT)
    assert items == ["item-0", "item-1", "item-3", "item-5"]
    assert [(type(e), key) for e, key, _ in reported] == [(DecodeError, "g"), (ValueError, "g")]
    assert all(name.startswith("alor-sync-dispatch-") for _, _, name in reported)
    stats = route.statistics()
    assert (stats.delivered, stats.errors) == (6, 2)


def test_the_default_error_hook_logs_with_the_traceback(
    dispatchers: Callable[..., Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = dispatchers(workers=1)

    def handler(item: int) -> None:
        raise ZeroDivisionError("boom")

    route = dispatcher.add_route("q", handler=handler, policy=LOSSLESS)
    with caplog.at_level(logging.ERROR, logger="alor_sync"):
        dispatcher.deliver(route, 1)
        assert dispatcher.wait_idle(TIMEOUT)
    (record,) = caplog.records
    assert record.name.startswith("alor_sync")
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert "'q'" in record.getMessage()


def test_a_failing_on_error_hook_is_logged_and_swallowed(
    dispatchers: Callable[..., Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    def on_error(exc: BaseException, key: Hashable) -> None:
        raise RuntimeError("the hook is broken too")

    dispatcher = dispatchers(workers=1, on_error=on_error)
    items: list[int] = []

    def handler(item: int) -> None:
        if item == 0:
            raise ValueError("first")
        items.append(item)

    route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
    with caplog.at_level(logging.ERROR, logger="alor_sync"):
        dispatcher.deliver(route, 0)
        dispatcher.deliver(route, 1)
        assert dispatcher.wait_idle(TIMEOUT)
    assert items == [1]
    assert "on_error hook raised" in caplog.text


def test_an_on_gap_failure_goes_to_on_error() -> None:
    executor = ManualExecutor()
    reported: list[Hashable] = []
    dispatcher = Dispatcher(executor=executor, on_error=lambda exc, key: reported.append(key))

    def on_gap(gap: Gap) -> None:
        raise RuntimeError("gap handler bug")

    route = dispatcher.add_route(
        "r", handler=lambda _: None, policy=LOSSLESS, limit=1, on_gap=on_gap
    )
    for n in range(2):  # the second overflows: [gap, 1]
        dispatcher.deliver(route, n)
    executor.run_all()
    assert reported == ["r"]
    assert route.statistics().errors == 1
    assert dispatcher.close(TIMEOUT)


# -- lifecycle -----------------------------------------------------------------------------------


def test_close_from_inside_a_handler_does_not_deadlock() -> None:
    dispatcher = Dispatcher(workers=3)
    results: list[bool] = []
    closed = threading.Event()
    after: list[int] = []

    def handler(item: int) -> None:
        if item == 0:
            results.append(dispatcher.close(timeout=TIMEOUT))
            closed.set()
        else:
            after.append(item)

    route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
    for n in range(50):
        dispatcher.deliver(route, n)
    assert closed.wait(TIMEOUT)
    assert results == [True]
    assert after == []  # the rest of the queue was dropped, never delivered
    stats = route.statistics()
    assert (stats.delivered, stats.dropped) == (1, 49)
    assert dispatcher.close(TIMEOUT)  # idempotent, and now joins the worker that closed


def test_close_from_a_handler_on_a_single_thread_executor_with_more_work_queued() -> None:
    with ThreadPoolExecutor(max_workers=1) as gui:
        dispatcher = Dispatcher(executor=gui)
        results: list[bool] = []
        b_items: list[int] = []

        def closer(item: int) -> None:
            results.append(dispatcher.close(timeout=TIMEOUT))

        route_a = dispatcher.add_route("a", handler=closer, policy=LOSSLESS)
        route_b = dispatcher.add_route("b", handler=b_items.append, policy=LOSSLESS)
        gate = threading.Event()
        gui.submit(gate.wait, TIMEOUT)  # hold the GUI thread until both drains are queued
        dispatcher.deliver(route_a, 0)
        dispatcher.deliver(route_b, 0)
        gate.set()
    assert results == [True]
    assert b_items == []
    assert route_b.statistics().dropped == 1


def test_close_with_pending_items_lets_the_running_handler_finish(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=2)
    gate = Gate(block_on=0)
    route = dispatcher.add_route("r", handler=gate, policy=LOSSLESS)
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    for n in range(1, 11):
        dispatcher.deliver(route, n)
    assert dispatcher.close(timeout=0) is False  # the handler is still running
    assert dispatcher.statistics().busy == 1
    dispatcher.deliver(route, 11)  # after close: counted, never delivered
    gate.release.set()
    assert dispatcher.close(timeout=TIMEOUT) is True
    assert gate.items == [0]
    stats = dispatcher.statistics()
    assert stats.closed and stats.busy == 0
    route_stats = stats.routes["r"]
    assert (route_stats.received, route_stats.delivered, route_stats.dropped) == (12, 1, 11)
    assert not [t for t in threading.enumerate() if t.name.startswith("alor-sync-dispatch-")]


def test_close_ends_every_worker_and_refuses_new_routes() -> None:
    before = set(threading.enumerate())
    dispatcher = Dispatcher(workers=3)
    workers = [t for t in threading.enumerate() if t not in before]
    assert sorted(t.name for t in workers) == [f"alor-sync-dispatch-{n}" for n in (1, 2, 3)]
    assert all(t.daemon for t in workers)
    assert dispatcher.close(TIMEOUT)
    assert not any(t.is_alive() for t in workers)
    assert dispatcher.close(TIMEOUT)
    with pytest.raises(ClientClosedError):
        dispatcher.add_route("late", handler=lambda _: None, policy=LOSSLESS)


def test_the_dispatcher_is_a_context_manager() -> None:
    items, handler = recorder()
    with Dispatcher(workers=1) as dispatcher:
        route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
        dispatcher.deliver(route, "x")
        assert dispatcher.wait_idle(TIMEOUT)
    assert items == ["x"]
    assert dispatcher.statistics().closed


def test_remove_route_drops_its_queue_and_later_items(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=2)
    gate = Gate(block_on=0)
    route = dispatcher.add_route("r", handler=gate, policy=LOSSLESS)
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    for n in range(1, 6):
        dispatcher.deliver(route, n)
    assert dispatcher.remove_route("r") is True
    assert dispatcher.remove_route("r") is False
    assert dispatcher.get_route("r") is None
    dispatcher.deliver(route, 6)
    gate.release.set()
    assert dispatcher.wait_idle(TIMEOUT)
    assert gate.items == [0]
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.dropped) == (7, 1, 6)
    assert "r" not in dispatcher.statistics().routes
    again = dispatcher.add_route("r", handler=gate, policy=LOSSLESS)  # the key is free again
    dispatcher.deliver(again, 7)
    assert dispatcher.wait_idle(TIMEOUT)
    assert gate.items == [0, 7]


def test_a_waiting_wait_idle_is_woken_when_the_last_handler_ends(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers(workers=1)
    gate = Gate(block_on=0)
    route = dispatcher.add_route("r", handler=gate, policy=LOSSLESS)
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    waiting = threading.Event()
    outcome: list[tuple[bool, float]] = []

    def wait() -> None:
        waiting.set()
        started = time.monotonic()
        outcome.append((dispatcher.wait_idle(TIMEOUT), time.monotonic() - started))

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert waiting.wait(TIMEOUT)
    gate.release.set()
    waiter.join(TIMEOUT)
    ((idle, waited),) = outcome
    assert idle
    assert waited < TIMEOUT / 2  # woken by the drain, not by its own timeout


def test_wait_idle_times_out_while_a_handler_runs(dispatchers: Callable[..., Dispatcher]) -> None:
    dispatcher = dispatchers(workers=1)
    gate = Gate(block_on=0)
    route = dispatcher.add_route("r", handler=gate, policy=LOSSLESS)
    assert dispatcher.wait_idle(0)
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    assert dispatcher.wait_idle(0.01) is False
    gate.release.set()
    assert dispatcher.wait_idle(TIMEOUT)


# -- statistics and arguments --------------------------------------------------------------------


def test_statistics_report_counts_depths_lags_and_busy_workers(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    dispatcher = dispatchers()
    gate = Gate(block_on=0)
    route = dispatcher.add_route("r", handler=gate, policy=LOSSLESS)
    fresh = route.statistics()
    assert (fresh.received, fresh.delivered, fresh.last_lag, fresh.max_lag) == (0, 0, None, None)
    dispatcher.deliver(route, 0)
    assert gate.entered.wait(TIMEOUT)
    for n in range(1, 4):
        dispatcher.deliver(route, n)
    busy = dispatcher.statistics()
    assert (busy.workers, busy.busy, busy.closed) == (DEFAULT_WORKERS, 1, False)
    during = busy.routes["r"]
    assert (during.received, during.delivered, during.queue_depth) == (4, 1, 3)
    assert during.max_queue_depth == 3
    gate.release.set()
    assert dispatcher.wait_idle(TIMEOUT)
    after = route.statistics()
    assert (after.delivered, after.queue_depth, after.max_queue_depth) == (4, 0, 3)
    assert after.last_lag is not None and after.max_lag is not None
    assert 0.0 <= after.last_lag <= after.max_lag
    assert after.policy is LOSSLESS and after.key == "r"
    assert dispatcher.statistics().busy == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be a positive int"),
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"workers": 2, "executor": ManualExecutor()}, "either workers or executor"),
    ],
)
def test_bad_dispatcher_arguments_fail_fast(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Dispatcher(**kwargs)


def test_bad_route_arguments_fail_fast() -> None:
    dispatcher = Dispatcher(executor=ManualExecutor())
    dispatcher.add_route("r", handler=lambda _: None, policy=LOSSLESS)
    with pytest.raises(InvalidArgumentError, match="already exists"):
        dispatcher.add_route("r", handler=lambda _: None, policy=LOSSLESS)
    with pytest.raises(InvalidArgumentError, match="limit must be a positive int"):
        dispatcher.add_route("s", handler=lambda _: None, policy=LOSSLESS, limit=0)
    with pytest.raises(InvalidArgumentError, match="policy must be an OverflowPolicy"):
        dispatcher.add_route("s", handler=lambda _: None, policy="lossless")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="handler must be callable"):
        dispatcher.add_route("s", handler=None, policy=LOSSLESS)  # type: ignore[arg-type]
    assert dispatcher.close(TIMEOUT)


# -- batches ---------------------------------------------------------------------------------------


class CountingLock:
    """A route lock that counts how often it is taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.taken = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.taken += 1

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def test_a_busy_route_is_drained_a_batch_per_lock_round_in_order() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor, batch_size=8)
    items, handler = recorder()
    route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
    for n in range(20):
        dispatcher.deliver(route, n)
    counting = CountingLock()
    route._lock = counting  # type: ignore[assignment]
    executor.run_next()  # one drain task: one batch of 8, then its token goes to the back
    assert items == list(range(8))
    assert counting.taken == 2  # the batch, then the look whether more is left
    assert len(executor.tasks) == 1
    executor.run_all()
    assert items == list(range(20))
    assert route.statistics().delivered == 20
    assert dispatcher.close(TIMEOUT)


def test_markers_stay_barriers_inside_a_batch() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    events: list[object] = []
    route = dispatcher.add_route(
        "r", handler=events.append, policy=LOSSLESS, on_gap=lambda gap: events.append("gap")
    )
    dispatcher.deliver(route, 1)
    dispatcher.report_gap(route, reason="test")
    dispatcher.deliver(route, 2)
    dispatcher.post(route, lambda: events.append("posted"))
    dispatcher.deliver(route, 3)
    executor.run_all()
    assert events == [1, "gap", 2, "posted", 3]
    stats = route.statistics()
    assert (stats.delivered, stats.queue_depth, stats.gaps) == (3, 0, 1)
    assert route._pending_gaps == 0
    assert dispatcher.close(TIMEOUT)


def test_removing_a_route_mid_batch_drops_the_rest_of_the_batch() -> None:
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    items: list[object] = []

    def handler(item: object) -> None:
        items.append(item)
        if item == 1:
            dispatcher.remove_route("r")

    route = dispatcher.add_route("r", handler=handler, policy=LOSSLESS)
    for n in range(5):
        dispatcher.deliver(route, n)
    dispatcher.post(route, lambda: items.append("posted"))
    executor.run_all()
    assert items == [0, 1]  # the batch held 0..4 and the call; nothing ran after the removal
    stats = route.statistics()
    assert (stats.received, stats.delivered, stats.dropped) == (5, 2, 3)
    assert dispatcher.close(TIMEOUT)


def test_draining_a_route_leaves_no_memory_behind() -> None:
    # 5,000 subscriptions each drained once must not each keep a spare deque block (~530 B).
    executor = ManualExecutor()
    dispatcher = Dispatcher(executor=executor)
    routes = [
        dispatcher.add_route(n, handler=lambda item: None, policy=LOSSLESS) for n in range(500)
    ]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for route in routes:
            for n in range(3):
                dispatcher.deliver(route, n)
        executor.run_all()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # About 280 B a route is the drain's own bookkeeping (lags...); a spare block would add 530.
    assert grown / len(routes) < 450
    assert dispatcher.close(TIMEOUT)
