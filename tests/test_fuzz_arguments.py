# ruff: noqa: E501  (one table row per line reads better than wrapped rows)
"""Bad arguments to every public entry point fail fast: ``InvalidArgumentError`` naming the
argument, raised before anything is sent (and, for the constructor, before any thread starts).

Table-driven: each row is a call and a fragment its message must contain. Unknown keyword
arguments of the typed methods are Python's own ``TypeError`` (also immediate and clear).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from alor_sync.client import AlorClient
from alor_sync.commands.channel import CommandChannel
from alor_sync.emulator import Emulator
from alor_sync.errors import InvalidArgumentError
from tests.chaos.fake_broker import unsigned_jwt
from tests.client_helpers import WAIT, running


def _noop(_item: Any) -> None:
    return None


def _non_verifying() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


ClientCall = Callable[[AlorClient], object]
SUBSCRIBE: list[Any] = [
    pytest.param(lambda c: c.subscribe_order_book(None, _noop), "code", id="code None"),
    pytest.param(lambda c: c.subscribe_order_book(123, _noop), "code", id="code int"),
    pytest.param(lambda c: c.subscribe_order_book(" ", _noop), "code", id="code blank"),
    pytest.param(lambda c: c.subscribe_order_book("SBER", _noop, depth=0), "depth", id="depth 0"),
    pytest.param(lambda c: c.subscribe_order_book("SBER", _noop, depth=51), "depth", id="depth 51"),
    pytest.param(lambda c: c.subscribe_order_book("SBER", _noop, depth="5"), "depth", id="depth str"),
    pytest.param(lambda c: c.subscribe_order_book("SBER", _noop, depth=True), "depth", id="depth bool"),
    pytest.param(lambda c: c.subscribe_order_book("SBER", _noop, exchange=1), "exchange", id="exchange int"),
    pytest.param(lambda c: c.subscribe_order_book("SBER", _noop, format="Fat"), "format", id="format"),
    pytest.param(lambda c: c.subscribe_quotes("SBER", _noop, frequency=-1), "frequency", id="frequency"),
    pytest.param(lambda c: c.subscribe_quotes("SBER", "print"), "callback", id="callback"),
    pytest.param(lambda c: c.subscribe_quotes("SBER", _noop, silence_timeout=0), "silence_timeout", id="silence 0"),
    pytest.param(lambda c: c.subscribe_quotes("SBER", _noop, silence_timeout="5"), "silence_timeout", id="silence str"),
    pytest.param(lambda c: c.subscribe_quotes("SBER", _noop, silence_timeout=float("nan")), "silence_timeout", id="silence nan"),
    pytest.param(lambda c: c.subscribe_quotes("SBER", _noop, raw="yes"), "raw", id="raw str"),
    pytest.param(lambda c: c.subscribe_bars("SBER", _noop, tf="5 minutes", from_time=0), "tf", id="tf text"),
    pytest.param(lambda c: c.subscribe_bars("SBER", _noop, tf=0, from_time=0), "tf", id="tf 0"),
    pytest.param(lambda c: c.subscribe_bars("SBER", _noop, tf=60, from_time=-1), "from_time", id="from -1"),
    pytest.param(lambda c: c.subscribe_bars("SBER", _noop, tf=60, from_time="today"), "from_time", id="from str"),
    pytest.param(lambda c: c.subscribe_bars("SBER", _noop, tf=60, from_time=None), "from_time", id="from None"),
    pytest.param(lambda c: c.subscribe_all_trades("SBER", _noop, depth=5001), "depth", id="trades depth"),
    pytest.param(lambda c: c.subscribe_positions("", _noop), "portfolio", id="portfolio empty"),
    pytest.param(lambda c: c.subscribe_positions(None, _noop), "portfolio", id="portfolio None"),
    pytest.param(lambda c: c.subscribe_trades("D39004", _noop, skip_history="no"), "skip_history", id="skip_history"),
    pytest.param(lambda c: c.subscribe_orders("D39004", _noop, order_statuses=["open"]), "order_statuses", id="statuses"),
    pytest.param(lambda c: c.subscribe("Nope", _noop), "opcode", id="opcode"),
    pytest.param(lambda c: c.subscribe("QuotesSubscribe", _noop, code="SBER", colour="red"), "colour", id="unknown param"),
]  # fmt: skip

LIMIT: dict[str, Any] = {
    "portfolio": "D39004", "exchange": "MOEX", "symbol": "SBER", "side": "buy", "quantity": 1,
    "price": Decimal("200"),
}  # fmt: skip
STOP: dict[str, Any] = {
    "portfolio": "D39004", "exchange": "MOEX", "symbol": "SBER", "side": "sell", "quantity": 1,
    "condition": "less", "trigger_price": 100,
}  # fmt: skip
CANCEL: dict[str, Any] = {"portfolio": "D39004", "exchange": "MOEX"}
CommandCall = Callable[[CommandChannel], object]
COMMANDS: list[Any] = [
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "quantity": 0}), "quantity", id="quantity 0"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "quantity": 1.5}), "quantity", id="quantity float"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "quantity": "1"}), "quantity", id="quantity str"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "price": None}), "price", id="price None"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "price": -1}), "price", id="price negative"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "price": float("nan")}), "price", id="price nan"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "price": "200"}), "price", id="price str"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "price": Decimal("200.00000000000000001")}), "price", id="price digits"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "side": "long"}), "side", id="side"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "symbol": ""}), "symbol", id="symbol"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "portfolio": None}), "portfolio", id="portfolio"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "comment": "x" * 101}), "comment", id="comment long"),
    pytest.param(lambda ch: ch.create_limit(**{**LIMIT, "time_in_force": "forever"}), "time_in_force", id="tif"),
    pytest.param(lambda ch: ch.create_limit(**LIMIT, timeout=0), "timeout", id="timeout 0"),
    pytest.param(lambda ch: ch.create_limit(**LIMIT, timeout=float("nan")), "timeout", id="timeout nan"),
    pytest.param(lambda ch: ch.create_stop(**{**STOP, "protecting_seconds": 301}), "protecting_seconds", id="protecting"),
    pytest.param(lambda ch: ch.create_stop(**{**STOP, "condition": "around"}), "condition", id="condition"),
    pytest.param(lambda ch: ch.create_stop(**{**STOP, "trigger_price": None}), "trigger_price", id="trigger None"),
    pytest.param(lambda ch: ch.delete_limit(order_id="", **CANCEL), "order_id", id="order_id empty"),
    pytest.param(lambda ch: ch.update_limit(order_id=True, **LIMIT), "order_id", id="order_id bool"),
    pytest.param(lambda ch: ch.submit("create:moon", **LIMIT), "order command", id="submit unknown"),
    pytest.param(lambda ch: ch.submit("create:limit", guid=5, **LIMIT), "guid", id="submit guid"),
    pytest.param(lambda ch: ch.retry("never-sent"), "never-sent", id="retry unknown"),
]  # fmt: skip

CONSTRUCTOR: list[Any] = [
    pytest.param({}, "refresh_token", id="no token"),
    pytest.param({"refresh_token": "r", "access_token": unsigned_jwt()}, "exactly one", id="two tokens"),
    pytest.param({"refresh_token": ""}, "refresh_token", id="refresh empty"),
    pytest.param({"access_token": "abc"}, "JWT", id="access not a JWT"),
    pytest.param({"refresh_token": "r", "env": "moon"}, "env", id="env"),
    pytest.param({"refresh_token": "r", "ws_url": "http://example.com/ws"}, "ws_url", id="ws_url scheme"),
    pytest.param({"refresh_token": "r", "ws_url": "ws://example.com/ws"}, "unencrypted", id="plain ws"),
    pytest.param({"refresh_token": "r", "oauth_url": "http://example.com/r"}, "unencrypted", id="plain http"),
    pytest.param({"refresh_token": "r", "heartbeat_interval": 0}, "heartbeat_interval", id="heartbeat"),
    pytest.param({"refresh_token": "r", "heartbeat_interval": "5"}, "heartbeat_interval", id="heartbeat str"),
    pytest.param({"refresh_token": "r", "pong_timeout": -1}, "pong_timeout", id="pong"),
    pytest.param({"refresh_token": "r", "connect_timeout": 0}, "connect_timeout", id="connect"),
    pytest.param({"refresh_token": "r", "reconnect_delay": 0}, "reconnect_delay", id="delay"),
    pytest.param({"refresh_token": "r", "reconnect_delay": 5, "max_reconnect_delay": 1}, "max_reconnect_delay", id="max delay"),
    pytest.param({"refresh_token": "r", "max_reconnect_attempts": 0}, "max_reconnect_attempts", id="attempts"),
    pytest.param({"refresh_token": "r", "lossless_queue_limit": 0}, "lossless_queue_limit", id="queue limit"),
    pytest.param({"refresh_token": "r", "workers": 0}, "workers", id="workers"),
    pytest.param({"refresh_token": "r", "executor": object()}, "executor", id="executor"),
    pytest.param({"refresh_token": "r", "on_error": "log"}, "on_error", id="on_error"),
    pytest.param({"refresh_token": "r", "ssl_context": _non_verifying()}, "ssl_context", id="no TLS check"),
]  # fmt: skip


@pytest.fixture(scope="module")
def session() -> Iterator[tuple[Emulator, AlorClient]]:
    """One emulator and one client (its order channel authorized) for the whole table."""
    with Emulator(speed=0) as emu, running(emu) as client:
        assert client.commands.wait_authorized(WAIT)
        yield emu, client


def _server_subscriptions(emu: Emulator) -> int:
    return sum(len(connection.subscriptions) for connection in emu.connections())


@pytest.mark.parametrize(("call", "names"), SUBSCRIBE)
def test_bad_subscription_arguments_fail_before_anything_is_sent(
    session: tuple[Emulator, AlorClient], call: ClientCall, names: str
) -> None:
    emu, client = session
    before = (_server_subscriptions(emu), len(client.statistics().subscriptions))
    with pytest.raises(InvalidArgumentError, match=names):
        call(client)
    assert (_server_subscriptions(emu), len(client.statistics().subscriptions)) == before


@pytest.mark.parametrize(("call", "names"), COMMANDS)
def test_bad_order_arguments_fail_before_anything_is_sent(
    session: tuple[Emulator, AlorClient], call: CommandCall, names: str
) -> None:
    _, client = session
    sent = client.commands.statistics().sent
    with pytest.raises(InvalidArgumentError, match=names):
        call(client.commands)
    assert client.commands.statistics().sent == sent


def test_unknown_keywords_of_typed_methods_are_type_errors(
    session: tuple[Emulator, AlorClient],
) -> None:
    _, client = session
    with pytest.raises(TypeError, match="colour"):
        client.subscribe_quotes("SBER", _noop, colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="colour"):
        client.commands.create_limit(**LIMIT, colour="red")  # type: ignore[call-arg]


@pytest.mark.parametrize(("options", "names"), CONSTRUCTOR)
def test_bad_client_options_fail_at_construction(options: dict[str, Any], names: str) -> None:
    before = threading.active_count()
    urls = {"ws_url": "ws://127.0.0.1:9/ws", "oauth_url": "http://127.0.0.1:9/refresh"}
    with pytest.raises(InvalidArgumentError, match=names):
        AlorClient(**{**urls, **options})
    assert threading.active_count() == before
