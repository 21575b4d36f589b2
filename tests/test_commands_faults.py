"""CommandChannel under faults: lost replies, dropped connections, token trouble, many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from alor_sync.auth import JwtClaims, TokenProvider, TokenStatistics, parse_jwt_claims
from alor_sync.commands.channel import ChannelState, OrderResult
from alor_sync.emulator import Emulator
from alor_sync.errors import (
    AuthenticationError,
    InvalidArgumentError,
    OutcomeUnknownError,
    TokenRefreshError,
)
from alor_sync.transport.status import ConnectionEventKind
from tests.client_helpers import wait_until
from tests.test_commands_support import WAIT, Harness, LogWaiter, StreamWatcher


def _comment_is(comment: str) -> Callable[[dict[str, object]], bool]:
    return lambda order: order["comment"] == comment


def _orders_with_comment(h: Harness, orders: StreamWatcher, comment: str) -> set[object]:
    """Distinct order ids with ``comment``, after the stream has caught up with the venue."""
    marker = h.channel.create_limit(**h.limit(comment=f"marker-{comment}"))
    orders.wait_for(lambda o: o["id"] == marker.order_number)
    return {o["id"] for o in orders.matching(_comment_is(comment))}


def test_retry_of_an_unanswered_command_returns_the_first_reply_and_places_no_second_order() -> (
    None
):
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        h.emu.faults.drop_confirmations("command")
        with pytest.raises(OutcomeUnknownError) as unknown:
            h.channel.create_limit(**h.limit(comment="dup"), timeout=0.3)
        guid = unknown.value.request_guid
        placed = orders.wait_for(_comment_is("dup"))  # it was executed; only the reply was lost
        assert h.channel.outcome_unknown_guids() == (guid,)
        assert h.channel.statistics().outcome_unknown == 1

        h.emu.faults.restore_confirmations()
        again = h.channel.retry(guid)
        assert (again.request_guid, again.order_number) == (guid, placed["id"])
        assert _orders_with_comment(h, orders, "dup") == {placed["id"]}
        with pytest.raises(InvalidArgumentError, match="no command with an unknown outcome"):
            h.channel.retry(guid)  # answered now: nothing is in doubt any more
        with pytest.raises(InvalidArgumentError):
            h.channel.retry("never-sent")


def test_a_late_reply_is_kept_and_retry_returns_it_without_sending() -> None:
    with Harness() as h, LogWaiter("alor_sync.commands", "late reply") as late:
        h.emu.faults.delay_confirmations(0.5, "command")
        with pytest.raises(OutcomeUnknownError) as unknown:
            h.channel.create_limit(**h.limit(comment="late"), timeout=0.1)
        assert late.seen.wait(WAIT)
        sent = h.channel.statistics().sent
        result = h.channel.retry(unknown.value.request_guid)
        assert isinstance(result, OrderResult) and result.order_number
        stats = h.channel.statistics()
        assert (stats.sent, stats.late_replies, stats.retryable) == (sent, 1, 0)


def test_a_command_sent_without_duplicate_check_cannot_be_retried() -> None:
    with Harness() as h:
        h.emu.faults.drop_confirmations("command")
        with pytest.raises(OutcomeUnknownError) as unknown:
            h.channel.create_limit(**h.limit(), check_duplicates=False, timeout=0.2)
        with pytest.raises(InvalidArgumentError, match="check_duplicates=False"):
            h.channel.retry(unknown.value.request_guid)


def test_a_dropped_connection_makes_the_command_in_flight_outcome_unknown_at_once() -> None:
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        h.emu.faults.drop_confirmations("command")
        future = h.channel.submit("create:limit", timeout=60, **h.limit(comment="in-flight"))
        placed = orders.wait_for(_comment_is("in-flight"))
        h.emu.faults.drop_connections(path="/cws")
        with pytest.raises(OutcomeUnknownError, match="connection dropped") as unknown:
            future.result(timeout=WAIT)  # long before the command's own 60 s
        assert unknown.value.request_guid == future.request_guid

        h.emu.faults.restore_confirmations()
        again = h.channel.retry(future.request_guid)
        assert again.order_number == placed["id"]
        assert _orders_with_comment(h, orders, "in-flight") == {placed["id"]}
        stats = h.channel.statistics()
        assert stats.reconnects >= 1 and stats.authorizations >= 2


def test_after_a_reconnect_the_next_command_goes_out_once_authorized_again() -> None:
    with Harness() as h:
        assert h.channel.wait_authorized(WAIT)
        h.emu.faults.drop_connections(path="/cws", mode="reset")
        h.wait_event(ConnectionEventKind.DISCONNECTED)
        result = h.channel.create_limit(**h.limit())
        assert result.order_number
        stats = h.channel.statistics()
        assert (stats.reconnects, stats.authorizations, stats.outcome_unknown) == (1, 2, 0)


def test_commands_issued_while_disconnected_wait_and_go_out_in_order() -> None:
    with Harness() as h:
        assert h.channel.wait_authorized(WAIT)
        h.emu.faults.restart(downtime=1.0)  # drops /ws too: watch the orders afterwards
        h.wait_event(ConnectionEventKind.DISCONNECTED)
        futures = [
            h.channel.submit("create:limit", **h.limit(comment=f"queued-{i}")) for i in range(3)
        ]
        assert h.channel.statistics().queued == 3 and h.channel.statistics().sent == 0
        numbers = [int(f.result(timeout=WAIT).order_number) for f in futures]
        assert numbers == sorted(numbers)  # sent in the order they were issued
        orders = h.watch("OrdersGetAndSubscribeV2")
        for i, number in enumerate(numbers):
            orders.wait_for(
                lambda o, n=number, c=f"queued-{i}": o["id"] == str(n) and (o["comment"] == c)
            )


def test_an_unanswered_authorize_is_replaced_by_a_new_connection() -> None:
    with Harness(start=False, authorize_timeout=0.3) as h:
        h.emu.faults.drop_confirmations("authorize")
        h.channel.start()
        dropped = h.wait_event(ConnectionEventKind.DISCONNECTED)
        assert "authorize got no reply" in dropped.reason
        h.emu.faults.restore_confirmations()
        assert h.channel.wait_authorized(WAIT)
        assert h.channel.create_limit(**h.limit()).order_number


class _FirstTokenBad(TokenProvider):
    """Hands out a token the emulator rejects until forced to refresh."""

    def __init__(self, emu: Emulator) -> None:
        super().__init__()
        self.emu = emu
        self.token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.bm90LXNpZ25lZA"
        self.forced: list[str | None] = []

    def get_token(self) -> str:
        return self.token

    def force_refresh(self, stale_token: str | None = None) -> str:
        self.forced.append(stale_token)
        self.token = self.emu.issue_token()
        return self.token

    def expires_in(self) -> float | None:
        return 1800.0

    def claims(self) -> JwtClaims:
        return parse_jwt_claims(self.token)

    def statistics(self) -> TokenStatistics:
        return TokenStatistics(len(self.forced), 0, 1800.0)


def test_a_401_to_authorize_forces_one_token_refresh_and_authorizes_again() -> None:
    with Harness(tokens=_FirstTokenBad) as h:
        bad = h.tokens.token  # type: ignore[attr-defined]
        assert h.channel.wait_authorized(WAIT)
        assert h.tokens.forced == [bad]  # type: ignore[attr-defined]
        assert h.channel.create_limit(**h.limit()).order_number
        stats = h.channel.statistics()
        assert (stats.authorizations, stats.authorization_failures) == (1, 0)


def test_rejected_tokens_fail_waiting_commands_and_the_next_command_tries_again() -> None:
    with Harness(start=False) as h:
        h.emu.faults.reject_tokens()
        h.channel.start()
        assert not h.channel.wait_authorized(WAIT)  # 401, one forced refresh, 401 again
        assert h.channel.state is ChannelState.UNAUTHORIZED
        with pytest.raises(AuthenticationError) as refused:
            h.channel.create_limit(**h.limit())  # triggers one more attempt, which fails too
        assert refused.value.http_code == 401 and refused.value.request_guid
        assert h.channel.statistics().sent == 0

        h.emu.faults.accept_tokens()
        assert h.channel.create_limit(**h.limit()).order_number
        assert h.channel.state is ChannelState.READY


def test_a_401_to_a_command_raises_and_holds_later_commands_until_authorized_again() -> None:
    with Harness() as h:
        assert h.channel.wait_authorized(WAIT)
        h.emu.faults.reject_tokens()
        with pytest.raises(AuthenticationError, match="Invalid JWT"):
            h.channel.create_limit(**h.limit())
        assert h.channel.statistics().sent == 1
        assert not h.channel.wait_authorized(WAIT)  # re-authorization is refused as well
        h.emu.faults.accept_tokens()
        assert h.channel.create_limit(**h.limit()).order_number
        assert h.channel.statistics().sent == 2


def test_a_static_token_that_cannot_be_refreshed_fails_commands_with_authentication_error() -> None:
    class Unrefreshable(_FirstTokenBad):
        def force_refresh(self, stale_token: str | None = None) -> str:
            raise TokenRefreshError("a static access token cannot be refreshed")

    with Harness(tokens=Unrefreshable) as h:
        with pytest.raises(AuthenticationError, match="cannot be refreshed") as refused:
            h.channel.create_limit(**h.limit())
        assert isinstance(refused.value.__cause__, TokenRefreshError)
        assert h.tokens.token not in str(refused.value)  # type: ignore[attr-defined]


def test_the_channel_reauthorizes_before_the_token_expires_and_keeps_working() -> None:
    refreshed = threading.Event()
    refreshes: list[int] = []

    def on_token() -> None:
        refreshes.append(1)
        if len(refreshes) >= 2:
            refreshed.set()

    with Harness(token_ttl=2.0, refresh_margin=0.5, reauthorize_margin=1.0) as h:
        first = h.tokens.get_token()
        h.tokens.add_listener(on_token)
        assert h.channel.wait_authorized(WAIT)
        # Two proactive refreshes (each ~1 s before expiry) take the channel past the first
        # token's expiry; waiting is bounded by a few token lifetimes.
        assert refreshed.wait(WAIT)
        assert parse_jwt_claims(first).expires_at <= datetime.now(UTC)
        assert h.channel.create_limit(**h.limit()).order_number
        # The re-authorization with the second token is asynchronous (control loop, writer,
        # the server's reply): wait for it to be counted rather than race it.
        assert wait_until(lambda: h.channel.statistics().authorizations >= 3)
        stats = h.channel.statistics()
        assert stats.errors == 0 and stats.reconnects == 0


def test_twenty_threads_each_get_their_own_reply() -> None:
    count = 20
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        assert h.channel.wait_authorized(WAIT)
        start = threading.Barrier(count)
        results: dict[int, OrderResult] = {}
        failures: list[BaseException] = []

        def place(i: int) -> None:
            try:
                start.wait(WAIT)
                results[i] = h.channel.create_limit(
                    **h.limit(price=round(200 + i * 0.01, 2), comment=f"thread-{i}")
                )
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)

        threads = [
            threading.Thread(target=place, args=(i,), name=f"test-placer-{i}") for i in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert not failures and len(results) == count
        assert len({r.request_guid for r in results.values()}) == count
        assert len({r.order_number for r in results.values()}) == count
        for i, result in results.items():
            seen = orders.wait_for(lambda o, r=result: o["id"] == r.order_number)
            assert (seen["comment"], seen["price"]) == (f"thread-{i}", round(200 + i * 0.01, 2))
        stats = h.channel.statistics()
        assert (stats.sent, stats.replies, stats.pending, stats.unknown_replies) == (
            count,
            count,
            0,
            0,
        )


def _place_surely(h: Harness, comment: str) -> OrderResult:
    """What an application does: on an unknown outcome, re-send the same guid (bounded)."""
    try:
        return h.channel.create_limit(**h.limit(comment=comment))
    except OutcomeUnknownError as unknown:
        guid = unknown.request_guid
    for _ in range(5):
        try:
            return h.channel.retry(guid)
        except OutcomeUnknownError:
            continue  # sent on the dying connection again; the server still runs it once
    raise AssertionError(f"{comment}: no reply after 5 retries")


def test_a_drop_under_concurrent_load_never_loses_or_doubles_an_order() -> None:
    threads_count, per_thread = 8, 5
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        assert h.channel.wait_authorized(WAIT)
        halfway = threading.Event()
        placed: dict[str, str] = {}  # comment -> order number
        failures: list[BaseException] = []
        lock = threading.Lock()

        def place(t: int) -> None:
            try:
                for n in range(per_thread):
                    comment = f"load-{t}-{n}"
                    result = _place_surely(h, comment)
                    with lock:
                        placed[comment] = result.order_number
                        if len(placed) == threads_count * per_thread // 2:
                            halfway.set()
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)

        threads = [
            threading.Thread(target=place, args=(t,), name=f"test-load-{t}")
            for t in range(threads_count)
        ]
        for thread in threads:
            thread.start()
        assert halfway.wait(WAIT)
        h.emu.faults.drop_connections(path="/cws", mode="reset")
        for thread in threads:
            thread.join(WAIT)
        assert not failures and len(placed) == threads_count * per_thread
        marker = h.channel.create_limit(**h.limit(comment="load-marker"))
        orders.wait_for(lambda o: o["id"] == marker.order_number)
        for comment, number in placed.items():
            assert {o["id"] for o in orders.matching(_comment_is(comment))} == {number}
