"""Deterministic replays of what the chaos run found, so each stays fixed.

1. A subscription whose confirmation had not arrived yet (the server sends the snapshot first)
   lost the events of a dropped connection without a gap notice.
2. A subscription made while a new connection was opening went out twice on it (once by the
   user's thread, once by the resubscription in ``on_open``): the server replaced it and the
   callback saw the snapshot again, without a gap notice.
3. A ``start()`` that failed (token endpoint down) left the client half-started: it could not be
   started again, and a failure after the worker threads existed left them running.
4. A connection that died while ``on_open`` was sending was logged as a crashed callback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from alor_sync.auth import JwtClaims, RefreshTokenProvider, TokenProvider, TokenStatistics
from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator
from alor_sync.errors import ConnectionLostError, TokenRefreshError
from alor_sync.events import GapNotice
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.connection import ReconnectingWebSocket
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind
from tests.chaos.fake_broker import FakeBroker
from tests.client_helpers import WAIT, Recorder, client_for, running


def _events(recorder: Recorder) -> tuple[Any, Any]:
    """Callbacks that put trade ids and gap notices into one ordered record."""

    def on_item(payload: dict[str, Any]) -> None:
        recorder(("id", payload["id"]))

    def on_gap(notice: GapNotice) -> None:
        recorder(("gap", notice.reason.value, notice.healed))

    return on_item, on_gap


def test_a_drop_before_the_confirmation_still_reports_the_gap() -> None:
    """The history replayed after the drop is not delivered again; the notice, healed, comes
    with the first trade the callback did not have."""
    events = Recorder()
    on_item, on_gap = _events(events)
    with Emulator(speed=0, stamp_sequence=True) as emu, running(emu, on_gap=on_gap) as client:
        emu.faults.delay_confirmations(60.0, "subscribe")
        sub = client.subscribe_all_trades("SBER", on_item, depth=3, raw=True)
        assert events.wait_count(3)  # the history arrived; the subscription is still pending
        emu.faults.restore_confirmations()
        emu.faults.drop_connections("reset", path="/ws")
        sub.wait_active(WAIT)
        tape = emu.trade_tape("SBER")
        while len(emu.trade_tape("SBER")) == len(tape):
            emu.tick()
        new = emu.trade_tape("SBER")[len(tape)]
        assert events.wait_count(5)
    assert events.items == [
        ("id", tape[-3]), ("id", tape[-2]), ("id", tape[-1]), ("gap", "reconnect", True),
        ("id", new),
    ]  # fmt: skip


class _GatedTokens(TokenProvider):
    """Delegates to a real provider; ``get_token`` on the gated thread blocks until released."""

    def __init__(self, inner: TokenProvider) -> None:
        super().__init__()
        self._inner = inner
        self.gated: threading.Thread | None = None
        self.entered = threading.Event()
        self.release = threading.Event()

    def get_token(self) -> str:
        if threading.current_thread() is self.gated:
            self.entered.set()
            assert self.release.wait(WAIT)
        return self._inner.get_token()

    def force_refresh(self, stale_token: str | None = None) -> str:
        return self._inner.force_refresh(stale_token)

    def expires_in(self) -> float | None:
        return self._inner.expires_in()

    def claims(self) -> JwtClaims:
        return self._inner.claims()

    def statistics(self) -> TokenStatistics:
        return self._inner.statistics()


@pytest.fixture
def reused_guids() -> Iterator[list[str]]:
    """The emulator's notices of a guid subscribed twice on one connection."""
    found: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "reused" in record.getMessage():
                found.append(record.getMessage())

    logger = logging.getLogger("alor_sync.emulator.ws_session")
    handler, level = Handler(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield found
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_subscription_made_while_the_connection_opens_is_sent_once(
    reused_guids: list[str],
) -> None:
    events = Recorder()
    on_item, on_gap = _events(events)
    with Emulator(speed=0, stamp_sequence=True) as emu:
        tokens = _GatedTokens(RefreshTokenProvider(emu.refresh_token, emu.oauth_url))
        client = AlorClient(
            token_provider=tokens, ws_url=emu.ws_url, cws_url=emu.cws_url,
            oauth_url=emu.oauth_url, reconnect_delay=0.05, max_reconnect_delay=0.05,
            on_gap=on_gap,
        )  # fmt: skip
        with client:
            assert client.wait_connected(WAIT)
            client.subscribe_quotes("SBER", Recorder()).wait_active(WAIT)
            # White box: on_open of the next connection signals that its link is installed.
            transport = client._transport
            assert transport is not None
            original_on_open, opening = transport._on_open, threading.Event()

            def on_open() -> None:
                opening.set()
                original_on_open()

            transport._on_open = on_open
            handles: list[Any] = []
            user = threading.Thread(
                target=lambda: handles.append(
                    client.subscribe_all_trades("SBER", on_item, depth=2, raw=True)
                ),
                name="test-user-subscribes",
            )
            tokens.gated = user
            emu.faults.drop_connections("reset", path="/ws")
            user.start()  # waits for its token (before taking the session lock)
            assert tokens.entered.wait(WAIT)
            assert opening.wait(WAIT)  # the new link is up and resubscribing
            tokens.release.set()  # the user's subscription races the open: sent once all the same
            user.join(WAIT)
            handles[0].wait_active(WAIT)
            emu.tick(30)
            assert events.wait_count(3)
    ids = [value for kind, value in events.items if kind == "id"]
    tape = emu.trade_tape("SBER")
    assert len(ids) >= 3 and ids == tape[tape.index(ids[0]) :][: len(ids)], events.items
    assert not reused_guids


def _client_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("alor-sync-") and not t.name.startswith("alor-sync-emulator")
    ]


def test_a_failed_start_leaves_no_thread_behind_and_can_be_retried() -> None:
    """3. ``with AlorClient(...)`` whose ``start()`` failed never reached ``close()``."""
    with Emulator(speed=0) as emu:
        client = client_for(emu)
        emu.faults.fail_refresh(503)
        with pytest.raises(TokenRefreshError), client:
            pass  # pragma: no cover - start() raised
        assert not _client_threads()
        emu.faults.restore_refresh()
        with client:  # the refresh endpoint is back: the same client starts
            assert client.wait_connected(WAIT)


def test_a_connection_lost_inside_on_open_is_an_ordinary_reconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """4. A resubscription or ``authorize`` whose send found the new link already dead was
    logged as a crashed callback (ERROR with a traceback), not as the connection loss it is."""
    events: list[ConnectionEvent] = []
    changed = threading.Condition()
    attempts: list[int] = []

    def on_open() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionLostError("alor-sync-test: connection lost while sending")

    def on_state(event: ConnectionEvent) -> None:
        with changed:
            events.append(event)
            changed.notify_all()

    with FakeBroker() as broker:
        transport = ReconnectingWebSocket(
            broker.url, name="alor-sync-test", on_open=on_open, on_frame=lambda _text: None,
            on_state=on_state, backoff=Backoff(initial=0.01, maximum=0.01),
        )  # fmt: skip
        transport.start()
        try:
            assert transport.wait_connected(WAIT)
        finally:
            transport.close(WAIT)
        stats = transport.statistics()
    failed = events[0]
    assert failed.kind is ConnectionEventKind.CONNECT_FAILED
    assert failed.reason.startswith("connection lost in on_open")
    assert stats.callback_errors == 0
    assert not [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("alor_sync")
    ]
