"""Read turns: a link's reading lent to worker threads, passed on, given back, taken back.

The unit tests drive :class:`ReadTurn` with a scripted ``step`` and a lender whose "worker" is
a test thread; the client tests check what users see: callbacks on dispatch workers, and a
callback that blocks does not stop the other subscriptions of its link.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from alor_sync.emulator import Emulator
from alor_sync.transport.link import Link
from alor_sync.transport.read_turns import WATCH_INTERVAL, ReadTurn
from tests.client_helpers import Recorder, running, wait_until

WAIT = 5.0


class ThreadLender:
    """Lends each turn to a new test thread running ``script(turn)``; refuses when told to."""

    def __init__(self) -> None:
        self.refuse = False
        self.lent = 0
        self.script: queue.Queue[object] = queue.Queue()
        self.threads: list[threading.Thread] = []

    def lend(self, turn: ReadTurn) -> bool:
        if self.refuse:
            return False
        self.lent += 1
        script = self.script.get(timeout=WAIT)
        thread = threading.Thread(target=script, args=(turn,), name=f"test-holder-{self.lent}")
        self.threads.append(thread)
        thread.start()
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(WAIT)
            assert not thread.is_alive()


def steps(*results: str | None) -> Iterator[str | None]:
    yield from results


def test_the_connection_thread_reads_itself_when_no_thread_is_free() -> None:
    lender = ThreadLender()
    lender.refuse = True
    results = steps(None, None, "ended")
    turn = ReadTurn(lambda: next(results), lender, interrupt=lambda: None)
    assert turn.serve() == "ended"
    assert lender.lent == 0


def test_a_holder_that_finds_the_link_ended_ends_serve_with_its_reason() -> None:
    lender = ThreadLender()
    readers: list[str] = []

    def holder(turn: ReadTurn) -> None:
        turn.take()
        readers.append(threading.current_thread().name)
        assert turn.step() is None
        turn.end(turn.step() or "")

    lender.script.put(holder)
    results = steps(None, "peer closed")
    turn = ReadTurn(lambda: next(results), lender, interrupt=lambda: None)
    assert turn.serve() == "peer closed"
    lender.join()
    assert readers == ["test-holder-1"]


def test_a_turn_given_back_is_read_by_the_connection_thread_then_lent_again() -> None:
    lender = ThreadLender()
    who: list[str] = []
    results = steps(None, None, None, "gone")

    def step() -> str | None:
        who.append(threading.current_thread().name)
        return next(results)

    def give_back_after_one(turn: ReadTurn) -> None:
        turn.take()
        assert turn.step() is None
        lender.refuse = True  # the next lend fails: the connection thread reads once
        turn.give_back()

    lender.script.put(give_back_after_one)
    turn = ReadTurn(step, lender, interrupt=lambda: None)
    assert turn.serve() == "gone"
    lender.join()
    me = threading.current_thread().name
    assert who == ["test-holder-1", me, me, me]
    assert turn.holder is threading.current_thread()


def test_a_pause_longer_than_the_watch_interval_is_taken_back() -> None:
    """A holder stuck in a callback: the connection thread reads on, and the holder, once it
    returns, learns the turn is no longer its own (two readers would corrupt the stream)."""
    lender = ThreadLender()
    release = threading.Event()
    resumed: list[bool] = []
    owner_read = threading.Event()

    def stuck_holder(turn: ReadTurn) -> None:
        turn.take()
        lender.refuse = True  # taken back, the turn stays with the connection thread
        turn.pause()
        assert release.wait(WAIT)  # the "callback" blocks until the owner has read
        resumed.append(turn.resume())

    def step() -> str | None:
        owner_read.set()
        release.set()
        return "done"

    lender.script.put(stuck_holder)
    turn = ReadTurn(step, lender, interrupt=lambda: None)
    started = time.monotonic()
    assert turn.serve() == "done"
    assert time.monotonic() - started >= WATCH_INTERVAL
    lender.join()
    assert owner_read.is_set()
    assert resumed == [False]


def test_a_short_pause_keeps_the_turn() -> None:
    lender = ThreadLender()
    resumed: list[bool] = []

    def quick_holder(turn: ReadTurn) -> None:
        turn.take()
        turn.pause()
        resumed.append(turn.resume())
        turn.end("end")

    lender.script.put(quick_holder)
    turn = ReadTurn(lambda: pytest.fail("the owner must not read"), lender, lambda: None)
    assert turn.serve() == "end"
    lender.join()
    assert resumed == [True]


def test_recall_sets_the_flag_and_interrupts_the_wait() -> None:
    rung: list[int] = []
    turn = ReadTurn(lambda: None, ThreadLender(), interrupt=lambda: rung.append(1))
    assert not turn.recalled
    turn.recall()
    assert turn.recalled and rung == [1]


# ------------------------------------------------------------------------------- the link


class _FakeWs:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


def test_interrupt_ends_one_wait_early_and_a_later_wait_still_blocks() -> None:
    ours, theirs = socket.socketpair()
    link = Link(_FakeWs(ours))
    try:
        link.make_interruptible()
        link.interrupt()
        link.interrupt()  # rung twice before the wait: still one early return
        started = time.monotonic()
        assert link.wait_readable(WAIT) is False
        assert time.monotonic() - started < WAIT / 2
        assert link.wait_readable(0.05) is False  # the doorbell was silenced: a real timeout
        theirs.send(b"\x81\x00")
        assert link.wait_readable(WAIT) is True
    finally:
        theirs.close()
        ours.close()
        for end in link._doorbell or ():  # Link.close() needs a real websocket-client object
            end.close()


def test_interrupt_without_a_doorbell_does_nothing() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        link = Link(_FakeWs(ours))
        link.interrupt()
        assert link.wait_readable(0.02) is False


# ----------------------------------------------------------------------------- the client


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=50, seed=5) as emulator:
        yield emulator


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_a_blocked_callback_does_not_stop_the_other_streams_of_its_link(
    emu: Emulator, workers: int
) -> None:
    """The worker that read a frame drains it in a pause of the reading; a callback that then
    blocks must not hold up the link: the connection thread takes the reading back. With one
    worker the other stream's callbacks wait for it, but its frames still arrive (received)."""
    release = threading.Event()
    blocked = threading.Event()

    def block_once(item: object) -> None:
        if not blocked.is_set():
            blocked.set()
            assert release.wait(WAIT)

    stuck, other = Recorder(block_once), Recorder()
    with running(emu, workers=workers) as client:
        client.subscribe_quotes("SBER", stuck, format="Simple").wait_active(WAIT)
        assert blocked.wait(WAIT)
        second = client.subscribe_quotes("GAZP", other, format="Simple")
        second.wait_active(WAIT)  # its confirmation was read while SBER's callback blocks
        if workers > 1:
            assert other.wait_count(3), "the other stream got nothing while one callback blocked"
        else:
            assert wait_until(lambda: second.statistics().received >= 3)
        release.set()
        assert other.wait_count(3)
        assert stuck.wait_count(2)
        assert all(name.startswith("alor-sync-dispatch-") for name in stuck.threads | other.threads)
