"""AlorClient under faults: drops, silence, restarts, token rejection, misbehaving callbacks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from alor_sync.auth import RefreshTokenProvider
from alor_sync.client import AlorClient
from alor_sync.data.subscriptions import SubscriptionState
from alor_sync.emulator import Emulator
from alor_sync.errors import (
    AuthenticationError,
    CommandTimeoutError,
    DecodeError,
    MalformedFrameError,
)
from alor_sync.events import ConnectionChange, GapNotice, GapReason, ResubscribeReport
from tests.client_helpers import WAIT, Recorder, running

RETRYING = SubscriptionState.RETRYING


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=50, seed=3) as emulator:
        yield emulator


def _new_frames(recorder: Recorder, count: int = 2) -> bool:
    start = len(recorder.items)
    return recorder.wait_count(start + count)


@pytest.mark.parametrize("mode", ["close", "eof", "reset"])
def test_reconnects_after_a_dropped_connection_with_every_subscription_back(
    emu: Emulator, mode: str
) -> None:
    quotes, book, trades = Recorder(), Recorder(), Recorder()
    connects, disconnects, resubscribed, gaps = Recorder(), Recorder(), Recorder(), Recorder()
    with running(
        emu,
        on_connect=connects,
        on_disconnect=disconnects,
        on_resubscribed=resubscribed,
        on_gap=gaps,
    ) as client:
        subs = [
            client.subscribe_quotes("SBER", quotes),
            client.subscribe_order_book("SBER", book),
            client.subscribe_all_trades("SBER", trades),
        ]
        for sub in subs:
            sub.wait_active(WAIT)
        assert _new_frames(quotes)
        assert emu.faults.drop_connections(mode, path="/ws") == 1

        assert resubscribed.wait_count(1)
        report = resubscribed.items[0]
        assert isinstance(report, ResubscribeReport) and report.count == 3
        assert all(s.state is SubscriptionState.ACTIVE for s in subs)
        assert _new_frames(quotes) and _new_frames(book)
        # the server knows the same guids again, on the new connection
        live = {s.guid for c in emu.connections() for s in c.subscriptions}
        assert {s.guid for s in subs} <= live

        assert disconnects.wait_count(1)
        change = disconnects.items[0]
        assert isinstance(change, ConnectionChange) and not change.connected and change.will_retry
        assert connects.wait_count(2)
        # the event stream lost whatever was in flight: that is reported, the snapshots are not
        assert gaps.wait_count(1)
        notice = gaps.items[0]
        assert isinstance(notice, GapNotice) and notice.reason is GapReason.RECONNECT
        assert notice.guid == subs[2].guid
        assert client.statistics().connection.reconnects == 1


def test_silent_connection_is_detected_by_the_pong_deadline(emu: Emulator) -> None:
    quotes, resubscribed = Recorder(), Recorder()
    with running(emu, on_resubscribed=resubscribed, heartbeat_interval=0.2, pong_timeout=0.5) as c:
        c.subscribe_quotes("SBER", quotes).wait_active(WAIT)
        assert emu.faults.freeze("/ws") == 1
        assert resubscribed.wait_count(1), "a frozen socket was not replaced"
        assert _new_frames(quotes)
        emu.faults.thaw()


def test_server_restart_loses_subscriptions_and_the_client_restores_them(emu: Emulator) -> None:
    quotes, resubscribed = Recorder(), Recorder()
    with running(emu, on_resubscribed=resubscribed) as client:
        sub = client.subscribe_quotes("SBER", quotes)
        sub.wait_active(WAIT)
        emu.faults.restart(downtime=0.3)
        assert resubscribed.wait_count(1)
        assert sub.state is SubscriptionState.ACTIVE
        assert _new_frames(quotes)
        assert client.statistics().connection.reconnects >= 1


class _StaleUntilForced(RefreshTokenProvider):
    """Hands out a token the server rejects (bad signature) until a forced refresh."""

    forced = 0

    def get_token(self) -> str:
        return self._forged(super().get_token())

    def cached_token(self) -> str:
        return self._forged(super().cached_token())

    def _forged(self, token: str) -> str:
        if self.forced:
            return token
        header, payload, _signature = token.split(".")
        return f"{header}.{payload}.forged"

    def force_refresh(self, stale_token: str | None = None) -> str:
        self.forced += 1
        return super().force_refresh(stale_token)


def test_a_401_forces_one_token_refresh_and_a_resend(emu: Emulator) -> None:
    quotes = Recorder()
    tokens = _StaleUntilForced(emu.refresh_token, emu.oauth_url)
    client = AlorClient(token_provider=tokens, ws_url=emu.ws_url, oauth_url=emu.oauth_url,
                        cws_url=emu.cws_url)  # fmt: skip
    with client:
        subs = [client.subscribe_quotes(code, quotes) for code in ("SBER", "GAZP")]
        for sub in subs:
            sub.wait_active(WAIT)  # survived the first 401 without the user noticing
        # one forced refresh per rejected request at most: no refresh loop
        assert 1 <= tokens.forced <= 2
        assert quotes.wait_count(2)


def test_a_persistent_401_keeps_the_subscription_retrying_until_tokens_pass(
    emu: Emulator,
) -> None:
    """401 is transient: the subscription is held, visible as RETRYING in its own on_state and
    in wait_active's message, and confirmed as soon as the server accepts tokens again."""
    states = Recorder()
    with running(emu) as client:
        emu.faults.reject_tokens()
        sub = client.subscribe_quotes("SBER", Recorder(), on_state=states)
        assert states.wait_for(lambda seen: any(s.state is RETRYING for s in seen))
        assert sub.state is RETRYING and isinstance(sub.error, AuthenticationError)
        with pytest.raises(CommandTimeoutError, match="401"):
            sub.wait_active(timeout=0)
        emu.faults.accept_tokens()
        sub.wait_active(WAIT)
        assert states.wait_for(lambda seen: seen[-1].state is SubscriptionState.ACTIVE)
        assert {s.guid for s in states.items} == {sub.guid}


def test_callback_exceptions_go_to_on_error_and_delivery_continues(emu: Emulator) -> None:
    calls = Recorder()

    def explode(quote: Any) -> None:
        calls(quote)
        raise RuntimeError("strategy bug")

    errors = Recorder()
    with running(emu, on_error=errors) as client:
        sub = client.subscribe_quotes("SBER", explode)
        sub.wait_active(WAIT)
        assert calls.wait_count(3), "delivery stopped after an exception"
        assert errors.wait_count(2)
        error, guid = errors.items[0]
        assert isinstance(error, RuntimeError) and guid == sub.guid
        assert client.statistics().connection.state.value == "open"


def test_a_malformed_frame_is_reported_and_the_stream_goes_on(emu: Emulator) -> None:
    quotes, errors = Recorder(), Recorder()
    with running(emu, on_error=errors) as client:
        sub = client.subscribe_quotes("SBER", quotes)
        sub.wait_active(WAIT)
        assert emu.faults.send_malformed(sub.guid, "invalid_json") == 1
        assert emu.faults.send_malformed(sub.guid, "wrong_types") == 1
        assert errors.wait_for(
            lambda items: (
                any(isinstance(e, MalformedFrameError) for e, _ in items)
                and any(isinstance(e, DecodeError) and e.guid == sub.guid for e, _ in items)
            )
        )
        assert _new_frames(quotes)
        assert client.statistics().malformed_frames >= 1


def test_a_slow_callback_delays_neither_other_subscriptions_nor_heartbeats(
    emu: Emulator,
) -> None:
    release = threading.Event()
    slow_started = threading.Event()

    def slow(item: Any) -> None:
        slow_started.set()
        release.wait(WAIT)

    fast = Recorder()
    with running(emu, heartbeat_interval=0.1, pong_timeout=2.0) as client:
        client.subscribe_order_book("SBER", slow).wait_active(WAIT)
        assert slow_started.wait(WAIT)
        client.subscribe_quotes("GAZP", fast).wait_active(WAIT)
        assert fast.wait_count(3), "a blocked callback starved another subscription"
        pongs = client.statistics().connection.pongs_received
        assert _new_frames(fast, 3)
        assert client.statistics().connection.pongs_received > pongs
        release.set()


def test_close_from_inside_a_callback(emu: Emulator) -> None:
    done = threading.Event()
    holder: list[Any] = []

    def close_now(item: Any) -> None:
        holder[0].close()
        done.set()

    with running(emu) as client:
        holder.append(client)
        client.subscribe_quotes("SBER", close_now)
        assert done.wait(WAIT)
    # no thread left behind: the autouse fixture checks


def test_a_user_executor_runs_the_callbacks_in_order(emu: Emulator) -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gui") as gui:
        quotes = Recorder()
        with running(emu, executor=gui) as client:
            client.subscribe_quotes("SBER", quotes).wait_active(WAIT)
            assert quotes.wait_count(3)
        assert quotes.threads and all(name.startswith("gui") for name in quotes.threads)


def test_frames_of_each_subscription_arrive_in_order_and_never_overlap() -> None:
    """Several subscriptions blasted at full rate; each sees the emulator's sequence in order."""
    with Emulator(speed=0, stamp_sequence=True) as emu:
        seen: dict[str, list[int]] = {}
        busy: dict[str, bool] = {}
        overlaps: list[str] = []
        lock = threading.Lock()
        done = threading.Condition()
        count = 2000

        def recorder_for(name: str) -> Any:
            seen[name] = []
            busy[name] = False

            def on_item(payload: dict[str, Any]) -> None:
                if busy[name]:
                    overlaps.append(name)
                busy[name] = True
                with lock:
                    seen[name].append(payload.get("seq", -1))
                busy[name] = False
                with done:
                    done.notify_all()

            return on_item

        with running(emu) as client:
            subs = [
                # Lossless full-state streams: blast repeats one frame, which an id stream
                # (all trades) would rightly drop as a duplicate.
                client.subscribe_quotes(code, recorder_for(code), raw=True, conflate=False)
                for code in ("SBER", "GAZP")
            ]
            for sub in subs:
                sub.wait_active(WAIT)
            blasters = [threading.Thread(target=emu.blast, args=(sub.guid, count)) for sub in subs]
            for blaster in blasters:
                blaster.start()
            for blaster in blasters:
                blaster.join(WAIT * 3)
            with done:
                assert done.wait_for(
                    lambda: all(len(v) >= count for v in seen.values()), WAIT * 3
                ), {k: len(v) for k, v in seen.items()}
        assert not overlaps
        for name, seqs in seen.items():
            stamped = [s for s in seqs if s != -1]  # the history frame carries no stamp
            assert len(stamped) >= count, f"{name}: stamps missing"
            assert stamped == list(range(stamped[0], stamped[0] + len(stamped))), (
                f"{name}: frames out of order or lost"
            )


def test_silence_watchdog_renews_a_quiet_subscription() -> None:
    with Emulator(speed=0) as emu:  # a frozen market: nothing moves unless the test ticks
        quotes = Recorder()
        with running(emu) as client:
            sub = client.subscribe_quotes("SBER", quotes, silence_timeout=0.3)
            sub.wait_active(WAIT)
            assert quotes.wait_count(1)
            # no tick: the only way a second quote arrives is a renewed subscription's snapshot
            assert quotes.wait_count(2), "the silent subscription was not renewed"
            assert sub.statistics().resubscribes >= 1
            assert sub.state is SubscriptionState.ACTIVE


def test_lossless_overflow_reports_a_gap_in_order_and_resubscribes() -> None:
    """A full-state stream with conflate=False is lossless: a slow callback overflows its queue,
    hears of the gap in order, and the renewed subscription brings the snapshot again."""
    release = threading.Event()
    quotes = Recorder(action=lambda _quote: release.wait(WAIT))
    gaps = Recorder()
    with Emulator(speed=0) as emu, running(emu, lossless_queue_limit=20, on_gap=gaps) as client:
        sub = client.subscribe_quotes("SBER", quotes, raw=True, conflate=False)
        sub.wait_active(WAIT)
        assert emu.blast(sub.guid, 200, timeout=WAIT) == 200
        release.set()
        assert gaps.wait_count(1), "an overflow must be reported"
        notice = gaps.items[0]
        assert notice.reason is GapReason.OVERFLOW and notice.dropped > 0
        assert notice.snapshot and notice.healed is None
        stats = sub.statistics()
        assert stats.dropped >= notice.dropped and stats.gaps >= 1
        assert quotes.wait_for(lambda _items: sub.statistics().resubscribes >= 1)
        sub.wait_active(WAIT)


def test_an_attempt_limit_ends_in_a_terminal_state_and_hook(emu: Emulator) -> None:
    disconnects = Recorder()
    with running(emu, max_reconnect_attempts=2, on_disconnect=disconnects) as client:
        client.subscribe_quotes("SBER", Recorder()).wait_active(WAIT)
        emu.faults.restart(downtime=60)  # every handshake is refused from now on
        assert disconnects.wait_for(lambda items: any(not c.will_retry for c in items))
        final = next(c for c in disconnects.items if not c.will_retry)
        assert final.attempt == 2 and "503" in final.reason
        assert client.statistics().connection.state.value == "gave_up"
        assert not client.wait_connected(0.1)
