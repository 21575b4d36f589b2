"""AlorClient at scale: subscriptions spread over connections, and every-frame full-state streams.

The emulator enforces a small per-connection cap (``max_subscriptions``) and the client is given
the same cap, so a handful of subscriptions exercise what 5,000 a connection would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from alor_sync import models
from alor_sync.data.subscriptions import Subscription, SubscriptionState
from alor_sync.emulator import Emulator
from alor_sync.errors import InvalidArgumentError, MalformedFrameError
from alor_sync.events import ResubscribeReport
from tests.client_helpers import WAIT, Recorder, client_for, running

CAP = 2


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=0, max_subscriptions=CAP) as emulator:
        yield emulator


def _quotes(client: Any, count: int, callback: Any = None) -> list[Subscription]:
    """``count`` distinct quote subscriptions (distinct frequencies: none is shared)."""
    handles = [
        client.subscribe_quotes("SBER", callback or Recorder(), frequency=100 + n)
        for n in range(count)
    ]
    for handle in handles:
        handle.wait_active(WAIT)
    return handles


def _ws_connections(emu: Emulator) -> list[int]:
    return sorted(len(c.subscriptions) for c in emu.connections() if c.path == "/ws")


def test_subscriptions_beyond_the_cap_open_more_connections(emu: Emulator) -> None:
    with running(emu, max_subscriptions_per_connection=CAP) as client:
        handles = _quotes(client, 5)
        stats = client.statistics()
        assert stats.subscriptions_per_connection == (2, 2, 1)
        assert [c.state.value for c in stats.connections] == ["open"] * 3
        assert stats.connection is stats.connections[0]
        assert len(stats.subscriptions) == 5
        assert _ws_connections(emu) == [1, 2, 2]
        names = {t.name for t in threading.enumerate()}
        assert {"alor-sync-ws", "alor-sync-ws-2", "alor-sync-ws-3"} <= names
        assert all(h.state is SubscriptionState.ACTIVE for h in handles)
    assert not {"alor-sync-ws-2", "alor-sync-ws-3"} & {t.name for t in threading.enumerate()}


def test_no_more_connections_than_allowed(emu: Emulator) -> None:
    with running(emu, max_subscriptions_per_connection=CAP, max_connections=2) as client:
        _quotes(client, 4)
        with pytest.raises(InvalidArgumentError, match="every data connection holds 2"):
            client.subscribe_quotes("SBER", Recorder(), frequency=999)
        assert client.statistics().subscriptions_per_connection == (2, 2)


def test_the_command_channel_counts_against_the_connection_limit(emu: Emulator) -> None:
    with running(emu, max_subscriptions_per_connection=CAP, max_connections=2) as client:
        assert client.commands is not None  # opens /cws: one data connection left
        _quotes(client, 2)
        with pytest.raises(InvalidArgumentError, match="no more than 1 may be open"):
            client.subscribe_quotes("SBER", Recorder(), frequency=999)


def test_identical_requests_share_one_subscription_across_connections(emu: Emulator) -> None:
    with running(emu, max_subscriptions_per_connection=CAP) as client:
        first = client.subscribe_quotes("SBER", Recorder())
        _quotes(client, 2)  # the first connection is now full
        again = client.subscribe_quotes("SBER", Recorder())
        again.wait_active(WAIT)
        assert again.guid == first.guid
        assert client.statistics().subscriptions_per_connection == (2, 1)


def test_an_unsubscribe_makes_room_on_its_connection(emu: Emulator) -> None:
    with running(emu, max_subscriptions_per_connection=CAP) as client:
        handles = _quotes(client, 2)
        handles[0].unsubscribe()
        _quotes(client, 1)
        assert client.statistics().subscriptions_per_connection == (2,)


def test_every_connection_resubscribes_its_own_after_a_drop(emu: Emulator) -> None:
    reports = Recorder()
    with running(emu, max_subscriptions_per_connection=CAP, on_resubscribed=reports) as client:
        handles = _quotes(client, 5)
        assert emu.faults.drop_connections("eof", path="/ws") == 3
        assert reports.wait_count(3)
        seen: list[ResubscribeReport] = reports.items
        assert sorted((r.connection, r.count) for r in seen) == [
            ("ws", 2), ("ws-2", 2), ("ws-3", 1),
        ]  # fmt: skip
        for handle in handles:
            handle.wait_active(WAIT)
        assert client.statistics().subscriptions_per_connection == (2, 2, 1)
        assert _ws_connections(emu) == [1, 2, 2]


def test_connection_options_are_checked() -> None:
    with Emulator(speed=0) as emu:
        for bad in (0, -1, 1.5, True):
            with pytest.raises(InvalidArgumentError, match="max_subscriptions_per_connection"):
                client_for(emu, max_subscriptions_per_connection=bad)
        with pytest.raises(InvalidArgumentError, match="max_connections"):
            client_for(emu, max_connections=0)


# ------------------------------------------------------------------ every frame of a book


def _blocked_book(client: Any, conflate: bool) -> tuple[Subscription, Recorder, threading.Event]:
    """An order book whose callback blocks on its first frame until the event is set."""
    release = threading.Event()

    def block(_: Any) -> None:
        release.wait(WAIT)

    books = Recorder(block)
    handle = client.subscribe(
        "OrderBookGetAndSubscribe", books, code="SBER", exchange="MOEX", depth=5,
        conflate=conflate,
    )  # fmt: skip
    handle.wait_active(WAIT)
    return handle, books, release


@pytest.mark.parametrize("conflate", [True, False])
def test_conflate_false_delivers_every_frame_of_a_full_state_stream(conflate: bool) -> None:
    copies = 50
    total = copies + 1  # and the snapshot
    with Emulator(speed=0) as emu, running(emu) as client:
        handle, books, release = _blocked_book(client, conflate)
        marker = Recorder()
        marker_handle = client.subscribe_quotes("GAZP", marker)
        marker_handle.wait_active(WAIT)
        assert marker.wait_count(1)
        assert emu.blast(handle.guid, copies, timeout=WAIT) == copies
        # Frames are read in order: once the marker's next frame arrived, so had every book.
        assert emu.blast(marker_handle.guid, 1) == 1
        assert marker.wait_count(2)
        assert handle.statistics().received == total
        release.set()
        assert books.wait_count(2 if conflate else total)
        stats = handle.statistics()
        assert all(isinstance(book, models.OrderBook) for book in books.items)
        if conflate:
            assert (stats.delivered, stats.conflated, stats.dropped) == (2, total - 2, 0)
        else:
            assert (stats.delivered, stats.conflated, stats.dropped) == (total, 0, 0)
        assert len(books.items) == stats.delivered


@pytest.mark.parametrize("raw", [True, False])
def test_a_malformed_frame_of_an_event_stream_reaches_on_error_with_its_guid(raw: bool) -> None:
    errors = Recorder()
    with Emulator(speed=0) as emu, running(emu, on_error=errors) as client:
        trades = Recorder()
        handle = client.subscribe_all_trades("SBER", trades, depth=3, raw=raw)
        handle.wait_active(WAIT)
        assert trades.wait_count(3)
        assert emu.faults.send_malformed(handle.guid, "invalid_json") == 1
        assert errors.wait_count(1)
        error, guid = errors.items[0]
        assert isinstance(error, MalformedFrameError) and guid == handle.guid == error.guid
        assert client.statistics().malformed_frames == 1
