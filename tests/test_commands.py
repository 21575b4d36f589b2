"""CommandChannel against the emulator: every command and its effect on the /ws account streams."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alor_sync.auth import StaticTokenProvider
from alor_sync.commands.channel import ChannelState, CommandChannel, CommandFuture, OrderResult
from alor_sync.emulator.account_commands import PRICE_STEP_MESSAGE
from alor_sync.errors import (
    BadRequestError,
    ClientClosedError,
    CommandTimeoutError,
    InvalidArgumentError,
    NotFoundError,
)
from alor_sync.models import Condition, Side, TimeInForce
from alor_sync.wire import CommandOpcode
from tests.test_commands_support import EXCHANGE, PORTFOLIO, WAIT, Harness


def test_limit_order_is_created_moved_and_cancelled_as_the_orders_stream_shows() -> None:
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        created = h.channel.create_limit(
            **h.limit(side="BUY", comment="lifecycle", time_in_force=TimeInForce.ONE_DAY)
        )
        assert isinstance(created, OrderResult)
        assert created.http_code == 200 and created.order_number and created.request_guid
        first = orders.wait_for(lambda o: o["id"] == created.order_number)
        assert (first["status"], first["comment"], first["side"]) == ("working", "lifecycle", "buy")
        assert first["price"] == 200

        moved = h.channel.update_limit(
            order_id=created.order_number, **h.limit(price=Decimal("201.5"), comment="lifecycle")
        )
        assert moved.order_number != created.order_number
        assert moved.request_guid != created.request_guid
        orders.wait_for(lambda o: o["id"] == created.order_number and o["status"] == "canceled")
        new = orders.wait_for(lambda o: o["id"] == moved.order_number)
        assert (new["status"], new["price"]) == ("working", 201.5)

        cancelled = h.channel.delete_limit(
            order_id=moved.order_number, portfolio=PORTFOLIO, exchange=EXCHANGE
        )
        assert cancelled.order_number == moved.order_number
        orders.wait_for(lambda o: o["id"] == moved.order_number and o["status"] == "canceled")
        stats = h.channel.statistics()
        assert (stats.sent, stats.replies, stats.errors, stats.pending) == (3, 3, 0, 0)
        assert stats.authorized and stats.authorizations == 1 and stats.state is ChannelState.READY


def test_market_order_fills_as_the_trades_and_positions_streams_show() -> None:
    with Harness() as h:
        positions = h.watch("PositionsGetAndSubscribeV2")
        trades = h.watch("TradesGetAndSubscribeV2")
        before = positions.wait_for(lambda p: p["symbol"] == "SBER")["qty"]
        bought = h.channel.create_market(
            portfolio=PORTFOLIO,
            symbol="SBER",
            exchange=EXCHANGE,
            instrument_group="TQBR",
            side=Side.BUY,
            quantity=2,
            comment="market",
            time_in_force="immediateOrCancel",
        )
        trade = trades.wait_for(lambda t: t["orderno"] == bought.order_number)
        assert (trade["qty"], trade["side"], trade["comment"]) == (2, "buy", "market")
        positions.wait_for(lambda p: p["symbol"] == "SBER" and p["qty"] == before + 2)

        # A filled market order can no longer be replaced; an unknown one cannot be cancelled.
        with pytest.raises(BadRequestError) as replaced:
            h.channel.update_market(
                order_id=bought.order_number,
                portfolio=PORTFOLIO,
                symbol="SBER",
                exchange=EXCHANGE,
                side="buy",
                quantity=3,
            )
        assert replaced.value.http_code == 400 and "filled" in replaced.value.message
        with pytest.raises(NotFoundError) as missing:
            h.channel.delete_market(order_id="123", portfolio=PORTFOLIO, exchange=EXCHANGE)
        assert missing.value.http_code == 404 and missing.value.request_guid


def test_stop_orders_are_created_moved_and_cancelled_as_the_stop_orders_stream_shows() -> None:
    with Harness() as h:
        stops = h.watch("StopOrdersGetAndSubscribeV2")
        common = {"portfolio": PORTFOLIO, "symbol": "SBER", "exchange": EXCHANGE, "quantity": 1}
        expiry = datetime.now(UTC) + timedelta(days=1)
        stop = h.channel.create_stop(
            **common,
            side="sell",
            condition="LessOrEqual",
            trigger_price=150.0,
            stop_end_unix_time=expiry,
            comment="stop",
            allow_margin=True,
        )
        seen = stops.wait_for(lambda s: s["id"] == stop.order_number)
        assert (seen["type"], seen["status"]) == ("stop", "working")
        assert seen["condition"].lower() == "lessorequal"
        assert seen["stopPrice"] == 150

        moved = h.channel.update_stop(
            order_id=stop.order_number,
            **common,
            side=Side.SELL,
            condition=Condition.LESS,
            trigger_price=149.0,
            stop_end_unix_time=int(expiry.timestamp()),
            protecting_seconds=5,
            allow_margin=True,
        )
        stops.wait_for(lambda s: s["id"] == stop.order_number and s["status"] == "canceled")
        stops.wait_for(lambda s: s["id"] == moved.order_number and s["stopPrice"] == 149)
        h.channel.delete_stop(order_id=moved.order_number, portfolio=PORTFOLIO, exchange=EXCHANGE)
        stops.wait_for(lambda s: s["id"] == moved.order_number and s["status"] == "canceled")

        stop_limit = h.channel.create_stop_limit(
            **common,
            side="buy",
            price=300.0,
            condition=Condition.MORE_OR_EQUAL,
            trigger_price=299.0,
            time_in_force="oneday",
            iceberg_fixed=1,
            activate=False,
            comment="stop-limit",
        )
        seen = stops.wait_for(lambda s: s["id"] == stop_limit.order_number)
        assert (seen["type"], seen["price"], seen["comment"]) == ("stoplimit", 300, "stop-limit")
        moved = h.channel.update_stop_limit(
            order_id=stop_limit.order_number,
            **common,
            side="buy",
            price=301.0,
            condition="moreorequal",
            trigger_price=300.0,
            activate=False,
        )
        stops.wait_for(lambda s: s["id"] == moved.order_number and s["price"] == 301)
        h.channel.delete_stop_limit(
            order_id=moved.order_number, portfolio=PORTFOLIO, exchange=EXCHANGE
        )
        stops.wait_for(lambda s: s["id"] == moved.order_number and s["status"] == "canceled")


def test_server_rejection_raises_bad_request_with_the_server_message_and_guid() -> None:
    with Harness() as h:
        with pytest.raises(BadRequestError) as rejected:
            h.channel.create_limit(**h.limit(price=257.705))
        error = rejected.value
        assert (error.http_code, error.message) == (400, PRICE_STEP_MESSAGE)
        assert error.request_guid and error.request_guid in str(error)
        stats = h.channel.statistics()
        assert (stats.sent, stats.replies, stats.errors, stats.outcome_unknown) == (1, 1, 1, 0)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"quantity": 0}, "quantity"),
        ({"side": "sideways"}, "side"),
        ({"price": -1}, "price"),
        ({"comment": "x" * 101}, "comment"),
        ({"time_in_force": "forever"}, "time_in_force"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_impossible_orders_are_refused_before_anything_is_sent(
    change: dict[str, object], fragment: str
) -> None:
    with Harness() as h:
        with pytest.raises(InvalidArgumentError, match=fragment):
            h.channel.create_limit(**h.limit(**change))  # type: ignore[arg-type]
        assert h.channel.statistics().sent == 0


def test_stop_expiry_must_be_aware_and_unknown_commands_are_refused() -> None:
    with Harness() as h:
        with pytest.raises(InvalidArgumentError, match="timezone-aware"):
            h.channel.create_stop(
                portfolio=PORTFOLIO,
                symbol="SBER",
                exchange=EXCHANGE,
                side="sell",
                quantity=1,
                condition="less",
                trigger_price=100.0,
                stop_end_unix_time=datetime(2030, 1, 1),
            )
        with pytest.raises(InvalidArgumentError, match="unknown order command"):
            h.channel.submit("authorize", token="x")
        with pytest.raises(InvalidArgumentError, match="stop_end_unix_time"):
            h.channel.submit("create:stop", stop_end_time=1)
        assert h.channel.statistics().sent == 0


def test_submit_returns_futures_that_resolve_to_their_own_results() -> None:
    with Harness() as h:
        orders = h.watch("OrdersGetAndSubscribeV2")
        mine = "my-own-guid-1"
        futures = [
            h.channel.submit("CREATE:LIMIT", **h.limit(price=200.0 + i, comment=f"f{i}"))
            for i in range(3)
        ]
        futures.append(
            h.channel.submit(CommandOpcode.CREATE_LIMIT, guid=mine, **h.limit(comment="mine"))
        )
        assert all(isinstance(f, CommandFuture) for f in futures)
        assert not futures[0].cancel()  # a command cannot be called back once issued
        results = [f.result(timeout=WAIT) for f in futures]
        assert [r.request_guid for r in results] == [f.request_guid for f in futures]
        assert results[-1].request_guid == mine
        for i, result in enumerate(results[:3]):
            assert orders.wait_for(lambda o, r=result: o["id"] == r.order_number)["comment"] == (
                f"f{i}"
            )


def _unreachable_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/cws"


def test_a_command_that_never_got_a_connection_times_out_as_not_sent() -> None:
    with Harness(start=False) as h:
        channel = CommandChannel(
            _unreachable_url(), StaticTokenProvider(h.emu.issue_token()), default_timeout=0.2
        )
        try:
            with pytest.raises(CommandTimeoutError, match="NOT placed"):
                channel.create_limit(**h.limit())
            stats = channel.statistics()
            assert (stats.sent, stats.pending, stats.outcome_unknown) == (0, 0, 0)
            assert stats.state is ChannelState.CONNECTING and not stats.authorized
            assert not channel.wait_authorized(timeout=0.05)
        finally:
            channel.close(WAIT)


def test_close_fails_waiting_commands_as_not_sent_and_refuses_new_ones() -> None:
    with Harness(start=False) as h:
        channel = CommandChannel(_unreachable_url(), StaticTokenProvider(h.emu.issue_token()))
        waiting = channel.submit("create:limit", timeout=60, **h.limit())
        assert channel.statistics().queued == 1
        channel.close(WAIT)
        with pytest.raises(ClientClosedError, match="NOT placed"):
            waiting.result(timeout=WAIT)
        with pytest.raises(ClientClosedError):
            channel.create_limit(**h.limit())
        assert channel.state is ChannelState.CLOSED
        channel.close()  # idempotent


def test_channel_is_a_context_manager_and_its_repr_has_no_token() -> None:
    with Harness(start=False) as h:
        token = h.emu.issue_token()
        with CommandChannel(h.emu.cws_url, StaticTokenProvider(token)) as channel:
            assert channel.wait_authorized(timeout=WAIT)
            assert channel.create_limit(**h.limit()).order_number
            assert token not in repr(channel) and token not in repr(channel.statistics())
        assert channel.state is ChannelState.CLOSED
