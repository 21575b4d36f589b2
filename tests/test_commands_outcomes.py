"""Outcomes a caller can tie to its command: errors with guids, guid= keys, bounds, statistics.

Against the emulator, which keeps guid -> first reply as the reference (3.4) says.
"""

from __future__ import annotations

import pickle
import re
import socket
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alor_sync import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    CommandNotSentError,
    CommandQueueFullError,
    CommandTimeoutError,
    ConnectionLostError,
    NotAuthorizedError,
    NotSentClosedError,
    NotSentConnectionLostError,
    NotSentTimeoutError,
    OutcomeUnknownError,
)
from alor_sync.auth import StaticTokenProvider
from alor_sync.commands.channel import CommandChannel
from alor_sync.emulator import Emulator
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.status import ConnectionEventKind
from tests.client_helpers import running, wait_until
from tests.test_commands_support import WAIT, Harness, StreamWatcher

README = Path(__file__).resolve().parents[1] / "README.md"


def _unreachable_url() -> str:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/cws"


def _offline(h: Harness, **options: object) -> CommandChannel:
    return CommandChannel(
        _unreachable_url(),
        StaticTokenProvider(h.emu.issue_token()),
        backoff=Backoff(initial=0.05, maximum=0.1),
        **options,  # type: ignore[arg-type]
    )


def _orders_with(orders: StreamWatcher, comment: str) -> set[str]:
    return {o["id"] for o in orders.matching(lambda o: o.get("comment") == comment)}


# ---------------------------------------------------------------------- the not-sent family


def test_a_timeout_before_sending_names_its_command_and_is_still_a_command_timeout() -> None:
    with Harness(start=False) as h:
        channel = _offline(h, default_timeout=0.2)
        try:
            with pytest.raises(NotSentTimeoutError, match="NOT placed") as caught:
                channel.create_limit(**h.limit(), guid="my-key-1")
            error = caught.value
            assert error.request_guid == "my-key-1"
            assert isinstance(error, CommandNotSentError) and isinstance(error, CommandTimeoutError)
            assert not isinstance(error, APIError | OutcomeUnknownError)
            again = pickle.loads(pickle.dumps(error))
            assert (type(again), again.request_guid) == (NotSentTimeoutError, "my-key-1")
        finally:
            channel.close(WAIT)


def test_close_ends_waiting_commands_as_not_sent_with_their_guids() -> None:
    with Harness(start=False) as h:
        channel = _offline(h)
        waiting = channel.submit("create:limit", timeout=60, **h.limit())
        channel.close(WAIT)
        error = waiting.exception(WAIT)
        assert isinstance(error, NotSentClosedError) and isinstance(error, ClientClosedError)
        assert error.request_guid == waiting.request_guid
        with pytest.raises(NotSentClosedError) as refused:
            channel.create_limit(**h.limit(), guid="after-close")
        assert refused.value.request_guid == "after-close"


def test_a_connection_that_gives_up_fails_waiting_commands_as_not_sent() -> None:
    with Harness(start=False) as h:
        channel = CommandChannel(
            _unreachable_url(),
            StaticTokenProvider(h.emu.issue_token()),
            backoff=Backoff(initial=0.01, maximum=0.02),
        )
        channel._transport._max_attempts = 2  # the client passes max_reconnect_attempts here
        try:
            future = channel.submit("create:limit", timeout=60, **h.limit())
            error = future.exception(WAIT)
            assert isinstance(error, NotSentConnectionLostError)
            assert isinstance(error, ConnectionLostError) and error.request_guid
            with pytest.raises(NotSentConnectionLostError):
                channel.create_limit(**h.limit())
        finally:
            channel.close(WAIT)


def test_failed_authorization_is_not_sent_and_a_401_to_the_command_is_the_servers_answer() -> None:
    with Harness(start=False) as h:
        h.emu.faults.reject_tokens()
        h.channel.start()
        assert not h.channel.wait_authorized(WAIT)
        with pytest.raises(NotAuthorizedError) as refused:
            h.channel.create_limit(**h.limit(), guid="auth-key")
        error = refused.value
        assert isinstance(error, AuthenticationError) and isinstance(error, CommandNotSentError)
        assert (error.request_guid, error.http_code) == ("auth-key", 401)
        assert h.channel.statistics().sent == 0

        h.emu.faults.accept_tokens()
        assert h.channel.create_limit(**h.limit()).order_number  # the next command tries again
        h.emu.faults.reject_tokens()  # now the command itself reaches the server: 401 to it
        with pytest.raises(AuthenticationError) as answered:
            h.channel.create_limit(**h.limit(), guid="answered-key")
        assert not isinstance(answered.value, CommandNotSentError)
        assert answered.value.request_guid == "answered-key"


def test_the_queue_of_waiting_commands_is_bounded_with_a_clear_error() -> None:
    with Harness(start=False) as h:
        channel = _offline(h, max_queued=2)
        try:
            waiting = [channel.submit("create:limit", timeout=60, **h.limit()) for _ in range(2)]
            with pytest.raises(CommandQueueFullError, match="max_queued") as full:
                channel.submit("create:limit", guid="third", **h.limit())
            assert full.value.request_guid == "third"
            assert isinstance(full.value, CommandNotSentError)
            stats = channel.statistics()
            assert (stats.queued, stats.queue_full) == (2, 1)
        finally:
            channel.close(WAIT)
        assert all(isinstance(f.exception(0), NotSentClosedError) for f in waiting)


def test_invalid_max_queued_is_refused_by_name() -> None:
    with Harness(start=False) as h, pytest.raises(ValueError, match="max_queued"):
        _offline(h, max_queued=0)


# ---------------------------------------------------------------------- guid= idempotency keys


def test_the_same_guid_twice_is_one_order_answered_with_the_first_reply() -> None:
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        key = str(uuid.uuid4())
        first = h.channel.create_limit(**h.limit(comment="idem"), guid=key)
        again = h.channel.create_limit(**h.limit(comment="idem"), guid=key)
        assert first.request_guid == again.request_guid == key
        assert again.order_number == first.order_number
        assert again.message == first.message  # the server replayed its first reply
        orders.wait_for(lambda o: o["id"] == first.order_number)
        assert _orders_with(orders, "idem") == {first.order_number}
        assert h.channel.statistics().sent == 2  # it did go out twice; the server made one


def test_a_guid_reused_while_its_command_waits_shares_the_one_reply() -> None:
    with Harness(start=False) as h:
        key = str(uuid.uuid4())
        one = h.channel.submit("create:limit", guid=key, **h.limit(comment="shared"))
        two = h.channel.submit("create:limit", guid=key, **h.limit(comment="shared"))
        h.channel.start()
        assert one.result(WAIT) == two.result(WAIT)
        stats = h.channel.statistics()
        assert (stats.sent, stats.joined) == (1, 1)


def test_update_and_delete_take_a_guid_too() -> None:
    with Harness() as h:
        placed = h.channel.create_limit(**h.limit())
        moved = h.channel.update_limit(order_id=placed.order_number, **h.limit(), guid="u-1")
        assert moved.request_guid == "u-1"
        replay = h.channel.update_limit(order_id=placed.order_number, **h.limit(), guid="u-1")
        assert replay.order_number == moved.order_number  # not a second replacement
        common = {"portfolio": h.limit()["portfolio"], "exchange": h.limit()["exchange"]}
        cancelled = h.channel.delete_limit(order_id=moved.order_number, guid="d-1", **common)
        assert cancelled.request_guid == "d-1"


def test_a_guid_must_be_a_non_empty_string() -> None:
    with Harness(start=False) as h, pytest.raises(ValueError, match="guid"):
        h.channel.create_limit(**h.limit(), guid="")


# ---------------------------------------------------------------------- statistics, reconnects


def test_statistics_after_close_are_the_final_counters() -> None:
    with Harness() as h:
        h.channel.create_limit(**h.limit())
        h.channel.close(WAIT)
        stats = h.channel.statistics()
        assert (stats.sent, stats.replies, stats.state.value) == (1, 1, "closed")


def test_a_confirmed_authorize_resets_the_backoff_so_drops_are_rejoined_at_once() -> None:
    # A backoff that would grow to seconds if it were not reset: 0.05, 0.1, 0.2, 0.4 ...
    with Harness(backoff=Backoff(initial=0.05, maximum=30.0)) as h:
        for _ in range(4):
            assert h.channel.wait_authorized(WAIT)
            h.emu.faults.drop_connections(path="/cws")
            dropped = h.wait_event(ConnectionEventKind.DISCONNECTED)
            # Each connection was healthy (authorized) before it dropped: no failed attempt
            # counts, and the next try comes after at most the initial delay.
            assert dropped.failed_attempts == 0, dropped
            assert dropped.next_attempt_in is not None and dropped.next_attempt_in <= 0.05
            h.wait_event(ConnectionEventKind.CONNECTED)


def test_commands_queued_across_drops_go_out_once_after_the_next_authorize() -> None:
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        assert h.channel.wait_authorized(WAIT)
        h.emu.faults.drop_confirmations("authorize")  # connections come up, never authorized
        _drop_cws(h)
        h.wait_event(ConnectionEventKind.DISCONNECTED)
        h.wait_event(ConnectionEventKind.CONNECTED)
        futures = [
            h.channel.submit("create:limit", **h.limit(comment=f"across-{i}")) for i in range(3)
        ]
        _drop_cws(h)  # another drop while they wait
        h.wait_event(ConnectionEventKind.DISCONNECTED)
        h.wait_event(ConnectionEventKind.CONNECTED)
        assert h.channel.statistics().sent == 0
        h.emu.faults.restore_confirmations()
        _drop_cws(h)  # the next connection is authorized
        numbers = [f.result(WAIT).order_number for f in futures]
        for i, number in enumerate(numbers):
            orders.wait_for(lambda o, n=number: o["id"] == n)
            assert _orders_with(orders, f"across-{i}") == {number}
        stats = h.channel.statistics()
        assert (stats.sent, stats.outcome_unknown) == (3, 0)


def _drop_cws(h: Harness) -> None:
    """Drop the /cws connection, waiting until the server holds it: the client reports
    CONNECTED when its handshake ends, a moment before the server's handler registers the
    connection, and a drop in that moment would find nothing to drop (measured: 2 runs in 12)."""
    assert wait_until(lambda: h.emu.faults.drop_connections(path="/cws") > 0)


def test_the_readme_guid_snippet_runs_against_the_emulator() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (snippet,) = [b for b in blocks if "guid=key" in b]
    with Emulator(speed=0) as emu, running(emu) as client:
        namespace: dict[str, Any] = {"orders": client.commands, "Decimal": Decimal}
        exec(compile(snippet, "README", "exec"), namespace)
        assert namespace["first"].request_guid == namespace["key"]
