"""Subscriptions never die: the lifecycle rules end to end, against a hostile emulator.

Each test reproduces one failure of the old lifecycle (token-rejection windows, empty-guid 401s,
history replayed twice, unsubscribes refused, backoff under a flapping link, four races) and
checks the rule that replaced it. The faults are as harsh as the reference allows: rejection
windows longer than a refresh, every 401 without its guid.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from alor_sync.client import AlorClient
from alor_sync.data.subscriptions import Subscription
from alor_sync.emulator import Emulator
from alor_sync.errors import ClientClosedError
from alor_sync.events import ConnectionChange, GapNotice, StateChange, SubscriptionState
from tests.client_helpers import WAIT, Recorder, client_for, running, wait_until

ACTIVE, PENDING = SubscriptionState.ACTIVE, SubscriptionState.PENDING
RETRYING, FAILED = SubscriptionState.RETRYING, SubscriptionState.FAILED


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=50, seed=5) as emulator:
        yield emulator


def _emulator_guids(emu: Emulator) -> set[str]:
    return {s.guid for c in emu.connections() if c.path == "/ws" for s in c.subscriptions}


def _five_streams(client: AlorClient, states: Recorder) -> list[Subscription]:
    subs = [client.subscribe_quotes(code, Recorder(), on_state=states) for code in ("SBER", "GAZP")]
    subs.append(client.subscribe_order_book("SBER", Recorder(), depth=5, on_state=states))
    subs.append(client.subscribe_all_trades("SBER", Recorder(), depth=5, on_state=states))
    subs.append(client.subscribe_positions("D39004", Recorder(), on_state=states))
    for sub in subs:
        sub.wait_active(WAIT)
    return subs


def test_a_rejection_window_longer_than_a_refresh_kills_no_subscription(emu: Emulator) -> None:
    """1. A reconnect lands in 2 s of 401s while /refresh works: every stream stays held
    (RETRYING), and all are back once the window ends."""
    states = Recorder()
    with running(emu) as client:
        subs = _five_streams(client, states)
        emu.faults.reject_tokens(seconds=2.0)
        emu.faults.drop_connections("reset", path="/ws")
        assert states.wait_for(lambda seen: any(s.state is RETRYING for s in seen))
        for sub in subs:
            sub.wait_active(WAIT)
        assert not [s for s in states.items if s.state is FAILED]
        assert _emulator_guids(emu) == {sub.guid for sub in subs}


def test_a_burst_of_empty_guid_401s_is_not_a_rejection_of_every_stream(emu: Emulator) -> None:
    """2. Every 401 after the reconnect comes without its requestGuid (as production sends
    them): none may count against all pending streams."""
    states = Recorder()
    with running(emu) as client:
        subs = _five_streams(client, states)
        emu.faults.reject_tokens(seconds=1.0, empty_guid=1.0)
        emu.faults.drop_connections("reset", path="/ws")
        for sub in subs:
            sub.wait_active(WAIT)
        assert not [s for s in states.items if s.state is FAILED]
        assert client.tokens.statistics().refreshes <= 3  # shared, not one per stream


def test_all_trades_history_is_not_delivered_twice_after_a_reconnect() -> None:
    """3. The resubscription repeats ``depth``; trades the callback had are dropped and the
    gap notice says the replay reached back (healed)."""
    ids, gaps = Recorder(), Recorder()
    with Emulator(speed=0) as emu, running(emu) as client:
        for _ in range(30):
            emu.tick()
        sub = client.subscribe_all_trades(
            "SBER", lambda t: ids(t.id), depth=10, on_gap=gaps
        )  # fmt: skip
        sub.wait_active(WAIT)
        assert ids.wait_count(10)
        emu.faults.drop_connections("reset", path="/ws")
        assert wait_until(lambda: sub.statistics().resubscribes >= 1)
        sub.wait_active(WAIT)
        tape = emu.trade_tape("SBER")
        while len(emu.trade_tape("SBER")) < len(tape) + 3:
            emu.tick()
        assert gaps.wait_count(1)
        assert ids.wait_for(lambda got: len(got) >= 13)
        tape = emu.trade_tape("SBER")
    assert ids.items == tape[tape.index(ids.items[0]) :][: len(ids.items)]  # once, in order
    assert len(set(ids.items)) == len(ids.items)
    notice = gaps.items[0]
    assert (notice.reason.value, notice.healed) == ("reconnect", True)


def test_bars_are_re_requested_from_the_last_bar_after_a_reconnect() -> None:
    """3. Bars: the history is not replayed from the original ``from``; the current candle
    comes again as an update (same time), never an older one."""
    bars, gaps = Recorder(), Recorder()
    with Emulator(speed=0) as emu, running(emu) as client:
        sub = client.subscribe_bars("SBER", bars, tf=60, from_time=0, on_gap=gaps)
        sub.wait_active(WAIT)
        assert bars.wait_count(2)
        before = len(bars.items)
        last = bars.items[-1].timestamp_s
        emu.faults.drop_connections("reset", path="/ws")
        assert wait_until(lambda: sub.statistics().resubscribes >= 1)
        sub.wait_active(WAIT)
        emu.tick(5)
        assert gaps.wait_count(1)
    after = bars.items[before:]
    assert after and all(bar.timestamp_s >= last for bar in after)
    assert gaps.items[0].healed is True
    times = [bar.timestamp_s for bar in bars.items]
    assert times == sorted(times)


def test_an_unsubscribe_answered_401_is_retried_until_the_server_drops_the_guid(
    emu: Emulator,
) -> None:
    """4. The server would keep streaming (and hold a slot) for an unsubscribe it refused."""
    with running(emu) as client:
        sub = client.subscribe_quotes("SBER", Recorder())
        sub.wait_active(WAIT)
        emu.faults.reject_tokens(seconds=1.0)
        sub.unsubscribe()
        assert sub.state is SubscriptionState.CLOSED
        assert sub.guid in _emulator_guids(emu)  # refused: still held by the server
        assert wait_until(lambda: sub.guid not in _emulator_guids(emu)), "never unsubscribed"


def test_a_flapping_link_is_rejoined_at_once_every_time(emu: Emulator) -> None:
    """5. Each connection opens and its subscriptions are confirmed: the backoff resets, so the
    attempt counter stays at 0 and the delay at its first step (10 s of health are not needed)."""
    drops = Recorder()
    connects = Recorder()
    with running(emu, on_disconnect=drops, on_connect=connects, reconnect_delay=0.5,
                 max_reconnect_delay=30.0) as client:  # fmt: skip
        sub = client.subscribe_quotes("SBER", Recorder())
        sub.wait_active(WAIT)
        for n in range(5):
            assert wait_until(lambda: sub.state is ACTIVE)
            emu.faults.drop_connections("reset", path="/ws")
            assert drops.wait_count(n + 1)
            assert connects.wait_count(n + 2)
        sub.wait_active(WAIT)
    changes: list[ConnectionChange] = drops.items[:5]  # the sixth is the close at the end
    # Without the reset the counter would read 1, 2, 3... and the delay double each time.
    assert [c.attempt for c in changes] == [0] * 5
    assert all(c.next_attempt_in is not None and c.next_attempt_in <= 0.5 for c in changes)


def test_per_subscription_hooks_run_on_its_worker_in_stream_order() -> None:
    log: list[tuple[str, Any]] = []
    threads: set[str] = set()
    done = Recorder()

    def record(kind: str) -> Any:
        def hook(value: Any) -> None:
            threads.add(threading.current_thread().name)
            log.append((kind, value))
            done(kind)

        return hook

    with Emulator(speed=0) as emu, running(emu) as client:
        sub = client.subscribe_all_trades(
            "SBER", record("trade"), on_gap=record("gap"), on_state=record("state")
        )  # fmt: skip
        sub.wait_active(WAIT)
        assert done.wait_for(lambda kinds: "state" in kinds)  # ACTIVE
        while not [k for k, _ in log if k == "trade"]:
            emu.tick()
        emu.faults.drop_connections("reset", path="/ws")
        assert done.wait_for(lambda kinds: kinds.count("state") >= 3)
    kinds = [k if k != "state" else v.state.value for k, v in log]
    first_trade = kinds.index("trade")
    assert kinds[:first_trade] == ["active"]
    assert kinds[-3:] == ["gap", "pending", "active"]
    notice: GapNotice = next(v for k, v in log if k == "gap")
    assert notice.healed is False  # depth 0: nothing replayed, trades may be missing
    changes: list[StateChange] = [v for k, v in log if k == "state"]
    assert changes[1].reason == "reconnecting" and changes[1].previous is ACTIVE
    assert all(name.startswith("alor-sync-dispatch") for name in threads), threads


def test_a_second_identical_full_state_subscription_gets_the_latest_state_at_once() -> None:
    """6c. It shares the server stream: without a replay it would wait for the market to move."""
    with Emulator(speed=0) as emu, running(emu) as client:  # a frozen market
        first = Recorder()
        client.subscribe_quotes("SBER", first).wait_active(WAIT)
        assert first.wait_count(1)
        second = Recorder()
        handle = client.subscribe_quotes("SBER", second)
        assert second.wait_count(1), "the joiner got nothing"
        assert second.items[0] == first.items[-1]
        assert handle.state is ACTIVE and len(_emulator_guids(emu)) == 1


def test_joining_a_shared_stream_while_its_last_handle_leaves_never_yields_a_dead_handle(
    emu: Emulator,
) -> None:
    """6b. Join and leave race on one shared stream; the joiner always ends up live."""
    with running(emu) as client:
        for _ in range(20):
            old = client.subscribe_quotes("SBER", Recorder())
            old.wait_active(WAIT)
            joined: list[Subscription] = []
            got = Recorder()
            start = threading.Barrier(2)

            def join(
                got: Recorder = got,
                joined: list[Subscription] = joined,
                start: threading.Barrier = start,
            ) -> None:
                start.wait(WAIT)
                joined.append(client.subscribe_quotes("SBER", got))

            joiner = threading.Thread(target=join, name="test-joiner")
            joiner.start()
            start.wait(WAIT)
            old.unsubscribe()
            joiner.join(WAIT)
            (new,) = joined
            new.wait_active(WAIT)
            assert got.wait_count(1), "a joined handle whose callback never runs"
            new.unsubscribe()


def test_close_during_start_leaves_no_socket_and_no_thread(emu: Emulator) -> None:
    """6d. close() while start() waits for the first token: the client ends closed and bare."""
    gate, entered = threading.Event(), threading.Event()
    client = client_for(emu)
    real_get = client.tokens.get_token

    def slow_first_token() -> str:
        entered.set()
        assert gate.wait(WAIT)
        return real_get()

    client.tokens.get_token = slow_first_token  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def start() -> None:
        try:
            client.start()
        except ClientClosedError as exc:
            errors.append(exc)

    starter = threading.Thread(target=start, name="test-starter")
    starter.start()
    assert entered.wait(WAIT)
    client.close()
    gate.set()
    starter.join(WAIT)
    assert errors, "start() after close() must say the client was closed"
    assert emu.connections() == []  # and nothing was opened (the thread check runs after)


def test_final_counters_can_be_read_after_close(emu: Emulator) -> None:
    """Issue 12: statistics() answers after close() with the final counters, the command
    channel's included; a closed client opens no new channel."""
    with running(emu) as client:
        client.subscribe_quotes("SBER", Recorder()).wait_active(WAIT)
        channel = client.commands
        channel.create_limit(portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy",
                             quantity=1, price=200.0)  # fmt: skip
    assert client.commands is channel
    assert channel.statistics().sent >= 1
    stats = client.statistics()
    assert stats.connection.connects >= 1 and stats.subscriptions_per_connection == (0,)
    fresh = client_for(emu)
    fresh.start()
    fresh.close()
    with pytest.raises(ClientClosedError):
        fresh.commands  # noqa: B018 (the property is the call under test)
