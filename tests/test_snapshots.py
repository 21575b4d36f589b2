"""One-shot gets end to end: they return the snapshot or history, stop at its end, and leave no
subscription behind, whatever order the server sends confirmation and data in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from alor_sync import models
from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator
from alor_sync.errors import BadRequestError, CommandTimeoutError, InvalidArgumentError
from tests.client_helpers import WAIT, Recorder, running

PORTFOLIO = "D39004"


def _with_orders(emulator: Emulator) -> Emulator:
    """A filled market order and a working stop in the account (history for every stream)."""
    with emulator.venue() as hub:
        instrument = {"symbol": "SBER", "exchange": "MOEX"}
        user = {"portfolio": PORTFOLIO}
        reply = hub.account.execute(
            "create:market",
            {"guid": "m1", "side": "buy", "quantity": 1, "instrument": instrument, "user": user},
        )
        assert reply.http_code == 200, reply
        reply = hub.account.execute(
            "create:stop",
            {
                "guid": "s1", "side": "sell", "quantity": 1, "condition": "Less",
                "triggerPrice": 1, "instrument": instrument, "user": user,
            },
        )  # fmt: skip
        assert reply.http_code == 200, reply
    return emulator


@pytest.fixture(scope="module", params=["snapshot-first", "ack-first"])
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A quiet market (speed 0: no live frame ever ends a get early), in both frame orders."""
    with Emulator(speed=0, seed=3, ack_first=request.param == "ack-first") as emulator:
        yield _with_orders(emulator)


def assert_nothing_left(emu: Emulator, client: AlorClient) -> None:
    """Neither the client nor the server holds a subscription of the gets any more.

    A later request on the same connection is handled after every earlier unsubscribe: once
    the probe is confirmed, the server's list is final.
    """
    assert client.statistics().subscriptions == ()
    probe = client.subscribe_quotes("GAZP", Recorder())
    probe.wait_active(WAIT)
    held = {s.guid for c in emu.connections() if c.path == "/ws" for s in c.subscriptions}
    assert held == {probe.guid}
    probe.unsubscribe()


def test_full_state_gets_return_the_current_snapshot(emu: Emulator) -> None:
    with running(emu) as client:
        book = client.get_order_book("SBER", depth=5, timeout=WAIT)
        assert isinstance(book, models.OrderBook) and 0 < len(book.bids) <= 5
        quote = client.get_quote("SBER", timeout=WAIT)
        assert isinstance(quote, models.Quote) and quote.symbol == "SBER"
        instrument = client.get_instrument("SBER", timeout=WAIT)
        assert isinstance(instrument, models.Instrument) and instrument.is_full
        assert isinstance(client.get_summary(PORTFOLIO, timeout=WAIT), models.Summary)
        assert isinstance(client.get_risks(PORTFOLIO, timeout=WAIT), models.Risk)
        assert isinstance(client.get_spectra_risks("7500PUQ", timeout=WAIT), models.SpectraRisk)
        assert_nothing_left(emu, client)


def test_portfolio_gets_return_the_whole_history_once(emu: Emulator) -> None:
    with running(emu) as client:
        positions = client.get_positions(PORTFOLIO, timeout=WAIT)
        assert {p.symbol for p in positions} >= {"SBER", "RUB"}
        assert len({(p.exchange, p.symbol) for p in positions}) == len(positions)
        (order,) = client.get_orders(PORTFOLIO, timeout=WAIT)
        assert isinstance(order, models.Order) and order.existing is True
        (trade,) = client.get_trades(PORTFOLIO, timeout=WAIT)
        assert trade.order_id == order.id
        (stop,) = client.get_stop_orders(PORTFOLIO, timeout=WAIT)
        assert isinstance(stop, models.StopOrder)
        assert client.get_orders(PORTFOLIO, order_statuses=["working"], timeout=WAIT) == []
        assert_nothing_left(emu, client)


def test_an_empty_history_is_an_empty_list(emu: Emulator) -> None:
    with running(emu) as client:
        assert client.get_orders("D39004", exchange="SPBX", timeout=WAIT) == []
        assert_nothing_left(emu, client)


def test_bars_come_oldest_first_each_once_and_stop_at_to_time(emu: Emulator) -> None:
    now = int(time.time())
    with running(emu) as client:
        everything = client.get_bars("SBER", 60, now - 7200, timeout=WAIT)
        times = [bar.timestamp_s for bar in everything]
        assert len(times) > 100 and times == sorted(set(times))
        until = now - 3600
        part = client.get_bars("SBER", 60, now - 7200, until, timeout=WAIT)
        assert part == [bar for bar in everything if bar.timestamp_s <= until]
        # the same answer from the rule's end (a newer bar) and from the quiet end
        assert client.get_bars("SBER", "D", now - 10 * 86400, timeout=WAIT)
        assert_nothing_left(emu, client)


def test_all_trades_depth_is_the_last_trades_each_once() -> None:
    with Emulator(speed=0, seed=5) as emu:
        emu.tick(200)  # a tape to read
        with running(emu) as client:
            trades = client.get_all_trades("SBER", 5, timeout=WAIT)
            assert len(trades) == 5 and len({t.id for t in trades}) == 5
            assert all(t.existing for t in trades)
            more = client.get_all_trades("SBER", 5000, timeout=WAIT)
            assert 5 < len(more) < 5000  # fewer than asked: the quiet end
            assert [t.id for t in more[-5:]] == [t.id for t in trades]
            assert_nothing_left(emu, client)


def test_a_live_market_ends_histories_by_their_data() -> None:
    """With live data flowing no get waits for the quiet interval (settle is made huge)."""
    with Emulator(speed=50, seed=9) as emu, running(emu) as client:
        emu.tick(50)
        start = time.monotonic()
        trades = client.get_all_trades("SBER", 5000, timeout=WAIT, settle=60)
        bars = client.get_bars("SBER", 60, int(time.time()) - 600, timeout=WAIT, settle=60)
        assert trades and bars and time.monotonic() - start < WAIT
        assert_nothing_left(emu, client)


def test_a_get_joining_a_quiet_subscription_the_user_holds_still_answers() -> None:
    """The get shares the user's server subscription; a quiet market sends no new frame, so the
    answer must come from the latest state replayed to the joining handle."""
    with Emulator(speed=0, seed=3) as emu, running(emu) as client:
        mine = Recorder()
        client.subscribe_quotes("SBER", mine).wait_active(WAIT)
        assert mine.wait_count(1)
        assert client.get_quote("SBER", timeout=WAIT).symbol == "SBER"
        assert len(client.statistics().subscriptions) == 1  # the user's, still there
        assert len(mine.items) == 1  # the replay went to the get's handle only


def test_a_rejected_get_raises_the_server_error_and_leaves_nothing() -> None:
    with Emulator(speed=0) as emu, running(emu) as client:
        with pytest.raises(BadRequestError, match="Unknown instrument"):
            client.get_quote("NOSUCH", timeout=WAIT)
        with pytest.raises(BadRequestError):
            client.get_bars("NOSUCH", 60, 0, timeout=WAIT)
        assert_nothing_left(emu, client)


@pytest.mark.parametrize("missing", ["confirmation", "end of history"])
def test_a_get_that_times_out_leaves_no_stream_behind(missing: str) -> None:
    with Emulator(speed=0) as emu, running(emu) as client:
        if missing == "confirmation":
            emu.faults.drop_confirmations("subscribe")
            message = "did not confirm the request within 0.5 s"
        else:
            message = r"no complete answer within 0.5 s \(\d+ item"
        with pytest.raises(CommandTimeoutError, match=message):
            # a quiet interval longer than the timeout: the history never counts as complete
            client.get_positions(PORTFOLIO, timeout=0.5, settle=5)
        emu.faults.restore_confirmations()
        assert_nothing_left(emu, client)


def test_a_late_confirmation_still_gives_the_whole_history() -> None:
    with Emulator(speed=0, seed=3) as emu, running(emu) as client:
        _with_orders(emu)
        expected = client.get_positions(PORTFOLIO, timeout=WAIT)
        emu.faults.delay_confirmations(0.5, "subscribe")
        assert client.get_positions(PORTFOLIO, timeout=WAIT) == expected
        emu.faults.restore_confirmations()
        assert_nothing_left(emu, client)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.get_all_trades("SBER", 0), "depth"),
        (lambda c: c.get_all_trades("SBER", 5001), "depth"),
        (lambda c: c.get_bars("SBER", 60, 100, 99), "to_time"),
        (lambda c: c.get_bars("SBER", 60, -1), "from_time"),
        (lambda c: c.get_quote("SBER", timeout=0), "timeout"),
        (lambda c: c.get_quote("SBER", timeout=float("inf")), "finite"),
        (lambda c: c.get_quote("SBER", timeout=True), "timeout"),
        (lambda c: c.get_positions(PORTFOLIO, settle=-1), "settle"),
        (lambda c: c.get_order_book("SBER", depth=51), "depth"),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(call: object, match: str) -> None:
    with Emulator(speed=0) as emu, running(emu) as client:
        with pytest.raises(InvalidArgumentError, match=match):
            call(client)  # type: ignore[operator]
        assert client.statistics().subscriptions == ()


def test_identical_gets_from_many_threads_each_get_the_snapshot() -> None:
    """On a quiet market a get joining another get's subscription sees no new frame: each must
    still answer (from the replayed latest state)."""
    with Emulator(speed=0, seed=3) as emu, running(emu) as client:
        results: list[object] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def get() -> None:
            for _ in range(5):
                start.wait(WAIT)
                try:
                    outcome: object = client.get_quote("SBER", timeout=2.0)
                except Exception as exc:  # reported below, with the others
                    outcome = exc
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=get) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 2)
        assert len(results) == 40
        assert all(isinstance(r, models.Quote) for r in results), results
        assert_nothing_left(emu, client)


def test_a_get_survives_a_reconnect_before_its_confirmation() -> None:
    """The connection drops while the get waits: the client resubscribes, the server sends the
    history again, and the get still returns each item once."""
    with Emulator(speed=0, seed=3) as emu, running(emu) as client:
        _with_orders(emu)
        since = int(time.time()) - 3600
        expected = client.get_positions(PORTFOLIO, timeout=WAIT)
        bars_expected = [b.timestamp_s for b in client.get_bars("SBER", 60, since, timeout=WAIT)]
        emu.faults.delay_confirmations(1.0, "subscribe")
        results: list[object] = []
        getter = threading.Thread(
            target=lambda: results.append(
                (
                    client.get_positions(PORTFOLIO, timeout=WAIT),
                    client.get_bars("SBER", 60, since, timeout=WAIT),
                )
            )
        )
        getter.start()
        assert emu.faults.drop_connections(path="/ws") == 1
        getter.join(WAIT * 3)
        emu.faults.restore_confirmations()
        ((positions, bars),) = results
        assert positions == expected
        times = [b.timestamp_s for b in bars]
        assert times == sorted(set(times))  # each candle once, though sent twice
        # the same candles (a minute may have begun meanwhile: the last one may differ)
        assert times[: len(bars_expected) - 1] == bars_expected[:-1]
        assert client.wait_connected(WAIT)
        assert_nothing_left(emu, client)
