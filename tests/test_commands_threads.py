"""Where order-command code runs: user code never on a network thread, network threads never wait.

Against the emulator: a blocking command from a future's done-callback, from a subscription
callback and from a lifecycle hook; callbacks on the dispatcher or the user's executor. Without a
network: the reader and ``on_open`` never wait for HTTP or for a write in progress.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alor_sync import protocol
from alor_sync.auth import (
    JwtClaims,
    RefreshTokenProvider,
    StaticTokenProvider,
    TokenProvider,
    TokenStatistics,
)
from alor_sync.commands.book import Command
from alor_sync.commands.channel import CommandChannel
from alor_sync.commands.results import ChannelState, CommandFuture, OrderResult
from alor_sync.commands.session import CommandSession
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.emulator import Emulator
from alor_sync.errors import NotSentClosedError, OutcomeUnknownError
from alor_sync.events import ConnectionChange
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind
from tests.client_helpers import Recorder, client_for, running
from tests.test_commands_support import WAIT, Harness, resting_limit

NETWORK_THREADS = ("alor-sync-cws", "alor-sync-ws", "alor-sync-control")


def _limit(comment: str) -> dict[str, Any]:
    return resting_limit(comment=comment)


class Outcome:
    """What a callback's blocking command ended with, and on which thread it ran."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: OrderResult | BaseException | None = None
        self.thread = ""

    def place(self, place: Callable[[], OrderResult]) -> None:
        self.thread = threading.current_thread().name
        try:
            self.result = place()
        except BaseException as exc:  # recorded for the assertion, never swallowed silently
            self.result = exc
        self.done.set()

    def check(self) -> OrderResult:
        assert self.done.wait(WAIT), "the callback never ran"
        assert not self.thread.startswith(NETWORK_THREADS), self.thread
        assert isinstance(self.result, OrderResult), self.result
        assert self.result.order_number
        return self.result


@pytest.fixture
def emu() -> Any:
    emulator = Emulator(speed=0)
    emulator.start()
    yield emulator
    emulator.stop()


# ---------------------------------------------------------------------- against the emulator


def test_a_done_callback_places_the_next_order_with_a_blocking_call(emu: Emulator) -> None:
    outcome = Outcome()
    with running(emu) as client:
        orders = client.commands
        entry = orders.submit("create:limit", **_limit("entry"))
        # "When the entry is placed, place the stop": a blocking call inside the callback.
        entry.add_done_callback(
            lambda _: outcome.place(lambda: orders.create_limit(**_limit("stop"), timeout=WAIT))
        )
        second = outcome.check()
        assert second.order_number != entry.result(0).order_number
        assert orders.statistics().outcome_unknown == 0


def test_a_subscription_callback_places_an_order_with_a_blocking_call(emu: Emulator) -> None:
    outcome = Outcome()
    fired = threading.Event()
    with running(emu) as client:
        orders = client.commands

        def on_quote(quote: object) -> None:
            if not fired.is_set():
                fired.set()
                outcome.place(lambda: orders.create_limit(**_limit("from-quote")))

        client.subscribe_quotes("SBER", on_quote)
        outcome.check()


def test_a_lifecycle_hook_places_an_order_with_a_blocking_call(emu: Emulator) -> None:
    outcome = Outcome()
    holder: list[Any] = []
    ready = threading.Event()

    def on_connect(change: ConnectionChange) -> None:
        if ready.is_set() and change.connection == "ws" and not outcome.done.is_set():
            outcome.place(lambda: holder[0].commands.create_limit(**_limit("from-hook")))

    with running(emu, on_connect=on_connect) as client:
        holder.append(client)
        ready.set()
        # The client is open a moment before the emulator lists the connection: wait for it,
        # or the drop finds nothing to drop.
        assert emu.wait_for_connections(1, path="/ws", timeout=WAIT)
        assert emu.faults.drop_connections(path="/ws") == 1  # the reconnect fires on_connect
        outcome.check()


def test_done_callbacks_run_in_order_on_the_users_executor(emu: Emulator) -> None:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="user-exec") as executor:
        threads = Recorder()
        with running(emu, executor=executor) as client:
            future = client.commands.submit("create:limit", **_limit("exec"))
            future.add_done_callback(lambda f: threads(("first", f.result().order_number)))
            future.add_done_callback(lambda f: threads(("second", f.result().order_number)))
            assert threads.wait_count(2)
        assert [name for name, _ in threads.items] == ["first", "second"]
        assert all(t.startswith("user-exec") for t in threads.threads), threads.threads


def test_a_standalone_channel_runs_callbacks_off_its_network_threads() -> None:
    outcome = Outcome()
    with Harness() as h:
        future = h.channel.submit("create:limit", **_limit("alone"))
        future.add_done_callback(
            lambda _: outcome.place(lambda: h.channel.create_limit(**_limit("next")))
        )
        outcome.check()


class BlockedRefresh(RefreshTokenProvider):
    """A provider whose HTTP refresh hangs until released: only ``cached_token`` answers."""

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu.refresh_token, emu.oauth_url)
        self.first = super().get_token()  # the one token obtained before the outage
        self.release = threading.Event()
        self.blocked = threading.Event()

    def get_token(self) -> str:
        self.blocked.set()
        assert self.release.wait(WAIT)
        return super().get_token()

    def force_refresh(self, stale_token: str | None = None) -> str:
        return self.get_token()


def test_the_channel_authorizes_and_sends_while_a_token_refresh_hangs() -> None:
    with Harness(tokens=BlockedRefresh) as h:
        tokens = h.tokens
        assert isinstance(tokens, BlockedRefresh)
        try:
            # Any get_token() now hangs in "HTTP": the cws thread must not be the one asking.
            assert h.channel.wait_authorized(WAIT)
            assert h.channel.create_limit(**_limit("no-http")).order_number
            assert not tokens.blocked.is_set()
        finally:
            tokens.release.set()


# ---------------------------------------------------------------------- without a network


class FixedTokens(TokenProvider):
    def get_token(self) -> str:
        raise AssertionError("a network thread asked for a token over HTTP")

    def cached_token(self) -> str:
        return "jwt-1"

    def force_refresh(self, stale_token: str | None = None) -> str:
        raise AssertionError("not expected")

    def expires_in(self) -> float | None:
        return None

    def claims(self) -> JwtClaims:
        raise NotImplementedError

    def statistics(self) -> TokenStatistics:
        return TokenStatistics(0, 0, None)


class StuckWire:
    """A send that hangs for command frames (a peer that stopped reading) until released."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.writing = threading.Event()
        self.release = threading.Event()

    def send(self, data: bytes) -> None:
        frame = json.loads(data)
        self.frames.append(frame)
        if frame["opcode"] != "authorize":
            self.writing.set()
            assert self.release.wait(WAIT)


def _command(guid: str) -> Command:
    request = protocol.create_market_request(
        guid, side="buy", quantity=1, symbol="SBER", exchange="MOEX", portfolio="D1"
    )
    return Command(guid, protocol.dumps(request), CommandFuture(guid), True)


def _confirm(session: CommandSession, guid: str) -> None:
    session.on_frame(json.dumps({"requestGuid": guid, "httpCode": 200, "message": "ok"}))


def test_the_reader_never_waits_for_a_write_in_progress() -> None:
    wire, control = StuckWire(), ControlLoop(name="test-control")
    session = CommandSession(
        name="test-cws",
        send=wire.send,
        reconnect=lambda reason: True,
        tokens=FixedTokens(),
        control=control,
        reauthorize_margin=600.0,
        authorize_timeout=30.0,
        unknown_limit=10,
        wake_writer=lambda: writable.set(),
    )
    writable = threading.Event()

    def writer() -> None:
        while session.state is not ChannelState.CLOSED:
            writable.wait(WAIT)
            writable.clear()
            while session.write_next():
                pass

    thread = threading.Thread(target=writer, name="test-writer")
    thread.start()
    try:
        session.on_open()  # cached_token only: FixedTokens.get_token would fail the test
        _confirm(session, wire.frames[0]["guid"])
        first, second = _command("c-1"), _command("c-2")
        session.submit(first)
        session.submit(second)
        assert wire.writing.wait(WAIT)  # the writer is stuck inside the first write
        reader_done = threading.Event()

        def reader() -> None:  # what the connection thread does meanwhile
            session.on_frame(json.dumps({"requestGuid": "x", "httpCode": 200, "message": "m"}))
            session.on_state(
                ConnectionEvent(ConnectionEventKind.DISCONNECTED, "test-cws", "gone", True)
            )
            reader_done.set()

        threading.Thread(target=reader, name="test-reader").start()
        assert reader_done.wait(WAIT), "the reader waited for the stuck write"
        assert session.statistics(reconnects=0).queued == 1  # the second never went out
    finally:
        wire.release.set()
        session.close()
        thread.join(WAIT)
        control.close(WAIT)
    assert isinstance(first.future.exception(0), OutcomeUnknownError)
    assert isinstance(second.future.exception(0), NotSentClosedError)


def test_the_entry_then_stop_snippet_of_the_threading_guide_runs(emu: Emulator) -> None:
    guide = Path(__file__).resolve().parents[1] / "docs" / "threading.md"
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)
    (snippet,) = [b for b in blocks if "place_stop" in b]
    with running(emu) as client:
        stops: list[OrderResult] = []
        recorder = Recorder()
        namespace: dict[str, Any] = {"orders": client.commands, "Decimal": Decimal}
        namespace["stops"] = StopList(stops, recorder)
        exec(compile(snippet, "threading.md", "exec"), namespace)
        assert recorder.wait_count(1)
        assert recorder.items[0].startswith("alor-sync-dispatch"), recorder.items
        assert stops[0].order_number
        assert namespace["entry"].result(0).order_number != stops[0].order_number


class StopList:
    """The snippet's ``stops`` list, which also tells the test when something was appended."""

    def __init__(self, items: list[OrderResult], recorder: Recorder) -> None:
        self.items, self.recorder = items, recorder

    def append(self, item: OrderResult) -> None:
        self.items.append(item)
        self.recorder(threading.current_thread().name)


def test_closing_from_a_callback_still_runs_done_callbacks_queued_behind_it(emu: Emulator) -> None:
    ran, finished = threading.Event(), threading.Event()
    client = client_for(emu, workers=1)  # one worker: the callback below holds it
    with client:
        orders = client.commands

        def on_quote(quote: object) -> None:
            if finished.is_set():
                return
            future = orders.submit("create:limit", **_limit("behind"))
            future.add_done_callback(lambda _: ran.set())
            future.result(WAIT)  # settled by the reader; its callback waits for this worker
            client.close(WAIT)
            finished.set()

        client.subscribe_quotes("SBER", on_quote)
        assert finished.wait(WAIT)
        assert ran.is_set()  # run by close(), not dropped with the dispatcher's queue


def test_a_channel_starts_no_thread_before_it_is_used() -> None:
    with Harness(start=False) as h:
        before = set(threading.enumerate())
        channel = CommandChannel(h.emu.cws_url, StaticTokenProvider(h.emu.issue_token()))
        assert set(threading.enumerate()) == before
        channel.close(WAIT)
