"""Request builders against the broker's own request examples, and every argument check.

Differences from the samples, on purpose:

* ``/ws`` requests carry no ``token``; ``with_token`` adds it, after which they equal the samples.
* ``/cws`` enums are sent in the lowercase schema spelling (``oneday``, ``more``,
  ``lessorequal``); the doc examples mix ``OneDay``/``oneday``, ``More``, ``LessOrEqual`` and the
  server reads them case-insensitively, so the samples are compared with those values lowercased.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from alor_sync import protocol as p
from alor_sync.errors import InvalidArgumentError
from alor_sync.wire import CommandOpcode, Format, Opcode

GUID = "c328fcf1-e495-408a-a0ed-e20f95d6b813"
SAMPLE_TOKEN = "eyJhbGciOiJ..."
SBER: dict[str, Any] = {"code": "SBER", "exchange": "MOEX", "instrument_group": "TQBR"}
ORDER_SBER: dict[str, Any] = {"symbol": "SBER", "exchange": "MOEX", "instrument_group": "TQBR"}
PORTFOLIO: dict[str, Any] = {"portfolio": "D39004", "exchange": "MOEX"}


def untyped(value: object) -> Any:
    """A deliberately wrong value, hidden from the type checker."""
    return value


def load(samples_dir: Path, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((samples_dir / name).read_text(encoding="utf-8"))
    return document


WS_SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "OrderBookGetAndSubscribe": lambda: p.order_book_request(
        GUID, **SBER, depth=10, format="Simple", frequency=250
    ),
    "BarsGetAndSubscribe": lambda: p.bars_request(
        GUID, **SBER, tf="60", from_time=1536557084, skip_history=False, frequency=100
    ),
    "QuotesSubscribe": lambda: p.quotes_request(GUID, **SBER, frequency=250),
    "AllTradesGetAndSubscribe": lambda: p.all_trades_request(
        GUID, **SBER, depth=50, include_virtual_trades=False
    ),
    "InstrumentsGetAndSubscribeV2": lambda: p.instruments_request(GUID, **SBER),
    "PositionsGetAndSubscribeV2": lambda: p.positions_request(
        GUID, **PORTFOLIO, skip_history=False
    ),
    "SummariesGetAndSubscribeV2": lambda: p.summaries_request(
        GUID, **PORTFOLIO, skip_history=False
    ),
    "RisksGetAndSubscribe": lambda: p.risks_request(GUID, **PORTFOLIO, skip_history=False),
    "SpectraRisksGetAndSubscribe": lambda: p.spectra_risks_request(
        GUID, **PORTFOLIO, skip_history=False
    ),
    "TradesGetAndSubscribeV2": lambda: p.trades_request(GUID, **PORTFOLIO, skip_history=False),
    "OrdersGetAndSubscribeV2": lambda: p.orders_request(
        GUID, **PORTFOLIO, skip_history=False, order_statuses=["filled"]
    ),
    "StopOrdersGetAndSubscribeV2": lambda: p.stop_orders_request(
        GUID, **PORTFOLIO, skip_history=False, order_statuses=["Filled"]
    ),
    "unsubscribe": lambda: p.unsubscribe_request(GUID),
}


@pytest.mark.parametrize("name", sorted(WS_SAMPLES))
def test_ws_request_matches_doc_example_once_the_token_is_added(
    samples_dir: Path, name: str
) -> None:
    built = WS_SAMPLES[name]()
    assert "token" not in built
    assert p.with_token(built, SAMPLE_TOKEN) == load(samples_dir, f"{name}.request.json")


def test_every_subscription_opcode_has_a_sample_case() -> None:
    assert {op.value for op in Opcode} - set(WS_SAMPLES) == {"ping"}


LIMIT: dict[str, Any] = {
    "side": "buy",
    "quantity": 300,
    "price": 142.52,
    **ORDER_SBER,
    "portfolio": "D39004",
}
STOP: dict[str, Any] = {"side": "buy", "quantity": 300, "trigger_price": 191.33, **ORDER_SBER}
STOP_OPTIONS: dict[str, Any] = {
    "stop_end_time": 1590094740,
    "protecting_seconds": 15,
    "activate": True,
}
COMMON: dict[str, Any] = {"allow_margin": False, "check_duplicates": True}
DELETE: dict[str, Any] = {"order_id": "18995978560", "exchange": "MOEX", "portfolio": "D39004"}

CWS_SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "create-market": lambda: p.create_market_request(
        GUID, side="buy", quantity=300, **ORDER_SBER, portfolio="D39004", comment="First order",
        time_in_force="oneday", **COMMON,
    ),
    "create-limit": lambda: p.create_limit_request(
        GUID, **LIMIT, comment="Первая заявка", time_in_force="OneDay", iceberg_fixed=100,
        iceberg_variance=2, **COMMON,
    ),
    "create-stop": lambda: p.create_stop_request(
        GUID, **STOP, portfolio="D39004", condition="LessOrEqual", **STOP_OPTIONS,
        comment="First order", **COMMON,
    ),
    "create-stopLimit": lambda: p.create_stop_limit_request(
        GUID, **STOP, price=142.52, portfolio="D39004", condition="More", **STOP_OPTIONS,
        comment="First order", time_in_force="OneDay", iceberg_fixed=100, iceberg_variance=2,
        **COMMON,
    ),
    "update-market": lambda: p.update_market_request(
        GUID, order_id="18995978560", side="buy", quantity=300, **ORDER_SBER,
        portfolio="D39004", comment="First order", time_in_force="oneday", **COMMON,
    ),
    "update-limit": lambda: p.update_limit_request(
        GUID, order_id="18995978560", **LIMIT, comment="First order", iceberg_fixed=100, **COMMON
    ),
    "update-stop": lambda: p.update_stop_request(
        GUID, order_id="18995978560", **STOP, portfolio="D39004", condition="More",
        **STOP_OPTIONS, comment="Первая заявка", **COMMON,
    ),
    "update-stopLimit": lambda: p.update_stop_limit_request(
        GUID, order_id=18995978560, **STOP, price=Decimal("142.52"), portfolio="D39004",
        condition="more", **STOP_OPTIONS, comment="Первая заявка", time_in_force="ONEDAY",
        iceberg_fixed=100, **COMMON,
    ),
    "delete-market": lambda: p.delete_market_request(GUID, **DELETE, check_duplicates=True),
    "delete-limit": lambda: p.delete_limit_request(GUID, **DELETE, check_duplicates=True),
    "delete-stopLimit": lambda: p.delete_stop_limit_request(GUID, **DELETE, check_duplicates=True),
}  # fmt: skip


def lowercase_enums(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v.lower() if k in ("timeInForce", "condition") else v for k, v in request.items()}


@pytest.mark.parametrize("name", sorted(CWS_SAMPLES))
def test_cws_command_matches_doc_example_modulo_enum_casing(samples_dir: Path, name: str) -> None:
    built = CWS_SAMPLES[name]()
    sample = lowercase_enums(load(samples_dir, f"{name}.request.json"))
    # Compared as sent: one case passes a Decimal price, which only equals 142.52 on the wire.
    assert orjson.loads(p.dumps(built)) == sample


def test_delete_stop_has_the_shape_of_the_other_deletes(samples_dir: Path) -> None:
    built = p.delete_stop_request(GUID, **DELETE, check_duplicates=True)
    sample = load(samples_dir, "delete-limit.request.json")
    assert built == {**sample, "opcode": "delete:stop"}


def test_authorize_matches_doc_example(samples_dir: Path) -> None:
    assert p.authorize_request(GUID, SAMPLE_TOKEN) == load(samples_dir, "authorize.request.json")


def test_every_command_opcode_has_a_builder() -> None:
    for op in CommandOpcode:
        if op in (CommandOpcode.AUTHORIZE, CommandOpcode.PING):
            continue
        assert p.command_request(op.value.upper(), "g", **_minimal_command(op))["opcode"] == op


def _minimal_command(op: CommandOpcode) -> dict[str, Any]:
    if op.value.startswith("delete"):
        return dict(DELETE)
    params: dict[str, Any] = {"side": "sell", "quantity": 1, **ORDER_SBER, "portfolio": "D1"}
    if op.value.startswith("update"):
        params["order_id"] = "1"
    if op.value.endswith(("limit", "Limit")):
        params["price"] = 10
    if "stop" in op.value:
        params.update(condition="less", trigger_price=9)
    return params


# --- what is (not) sent ---------------------------------------------------------------------


def test_defaults_stay_out_of_the_request_and_format_is_always_sent() -> None:
    assert p.order_book_request("g", code="SBER", exchange="MOEX") == {
        "opcode": "OrderBookGetAndSubscribe",
        "guid": "g",
        "code": "SBER",
        "exchange": "MOEX",
        "format": "Simple",
    }
    assert p.create_market_request(
        "g", side="sell", quantity=1, symbol="SBER", exchange="MOEX", portfolio="D1"
    ) == {
        "opcode": "create:market",
        "guid": "g",
        "side": "sell",
        "quantity": 1,
        "instrument": {"symbol": "SBER", "exchange": "MOEX"},
        "user": {"portfolio": "D1"},
    }


@pytest.mark.parametrize(
    ("given", "sent"), [("slim", "Slim"), ("HEAVY", "Heavy"), (Format.SLIM, "Slim")]
)
def test_format_is_sent_in_documented_spelling(given: str, sent: str) -> None:
    assert p.quotes_request("g", code="SBER", exchange="MOEX", format=given)["format"] == sent


class Side(enum.StrEnum):
    BUY = "Buy"


class TimeInForce(enum.Enum):
    GOOD_TILL_CANCELLED = "good_till_cancelled"


def test_enum_arguments_accept_any_casing_underscores_and_enum_members() -> None:
    request = p.create_limit_request(
        "g", side=Side.BUY, quantity=1, price=1, symbol="SI", exchange="MOEX", portfolio="7500",
        time_in_force=TimeInForce.GOOD_TILL_CANCELLED,
    )  # fmt: skip
    assert (request["side"], request["timeInForce"]) == ("buy", "goodtillcancelled")


@pytest.mark.parametrize(
    ("tf", "sent"), [(60, "60"), ("300", "300"), (" 060 ", "60"), ("d", "D"), ("W", "W")]
)
def test_timeframe_is_sent_as_a_string(tf: int | str, sent: str) -> None:
    assert p.bars_request("g", code="SBER", exchange="MOEX", tf=tf, from_time=0)["tf"] == sent


def test_from_time_accepts_aware_datetimes() -> None:
    moscow = timezone(timedelta(hours=3))
    when = datetime(2018, 9, 10, 8, 24, 44, 900000, tzinfo=moscow)
    request = p.bars_request("g", code="SBER", exchange="MOEX", tf=60, from_time=when)
    assert request["from"] == 1536557084


def test_stop_end_time_accepts_aware_datetimes() -> None:
    request = p.create_stop_request(
        "g", **STOP, portfolio="D1", condition="more",
        stop_end_time=datetime(2020, 5, 21, 20, 59, tzinfo=UTC),
    )  # fmt: skip
    assert request["stopEndUnixTime"] == 1590094740


def test_frequency_below_the_format_minimum_is_sent_as_given() -> None:
    request = p.order_book_request("g", code="SBER", exchange="MOEX", format="Heavy", frequency=0)
    assert request["frequency"] == 0 < p.MIN_FREQUENCY_MS[Format.HEAVY]


def test_single_order_status_string_and_duplicates() -> None:
    request = p.orders_request("g", **PORTFOLIO, order_statuses="WORKING")
    assert request["orderStatuses"] == ["working"]
    request = p.orders_request("g", **PORTFOLIO, order_statuses=("filled", "Filled", "canceled"))
    assert request["orderStatuses"] == ["filled", "canceled"]


def test_with_token_returns_a_new_dict() -> None:
    request = p.unsubscribe_request("g")
    signed = p.with_token(request, "jwt")
    assert signed == {**request, "token": "jwt"}
    assert "token" not in request


def test_ping_request() -> None:
    assert p.ping_request("p1") == {"opcode": "ping", "guid": "p1", "confirm": True}
    assert p.ping_request("p1", confirm=False)["confirm"] is False


def test_subscription_request_dispatches_by_opcode_in_any_casing() -> None:
    built = p.subscription_request("orderbookgetandsubscribe", "g", code="SBER", exchange="MOEX")
    assert built == p.order_book_request("g", code="SBER", exchange="MOEX")
    assert p.subscription_request(Opcode.POSITIONS, "g", **PORTFOLIO)["portfolio"] == "D39004"


# --- dumps and prices -----------------------------------------------------------------------


def test_dumps_writes_decimals_as_plain_json_numbers() -> None:
    request = p.create_limit_request(
        "g", side="buy", quantity=1, price=Decimal("257.10"), symbol="SBER", exchange="MOEX",
        portfolio="D1",
    )  # fmt: skip
    assert request["price"] == Decimal("257.10")
    assert p.dumps(request).endswith(b'"price":257.1}')
    assert p.dumps({"a": Decimal("100.00"), "b": [Decimal("0.0001")]}) == b'{"a":100,"b":[0.0001]}'


def test_dumps_refuses_what_json_cannot_carry() -> None:
    with pytest.raises(InvalidArgumentError, match="serialised"):
        p.dumps({"when": object()})


def test_price_with_more_precision_than_a_double_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match=r"price=0\.12345678901234567891.*round it"):
        p.create_limit_request(
            "g", side="buy", quantity=1, price=Decimal("0.12345678901234567891"),
            symbol="SBER", exchange="MOEX", portfolio="D1",
        )  # fmt: skip


# --- argument checks ------------------------------------------------------------------------

BOOK: dict[str, Any] = {"code": "SBER", "exchange": "MOEX"}
BARS: dict[str, Any] = {"code": "SBER", "exchange": "MOEX", "tf": 60, "from_time": 0}
MARKET: dict[str, Any] = {
    "side": "buy",
    "quantity": 1,
    "symbol": "SBER",
    "exchange": "MOEX",
    "portfolio": "D1",
}
STOP_LIMIT: dict[str, Any] = {**MARKET, "price": 10, "condition": "more", "trigger_price": 11}

BAD_ARGUMENTS = [
    pytest.param(lambda: p.order_book_request("", **BOOK), "guid", id="empty guid"),
    pytest.param(lambda: p.unsubscribe_request(untyped(None)), "guid", id="guid not str"),
    pytest.param(lambda: p.quotes_request("g", code="", exchange="MOEX"), "code", id="empty code"),
    pytest.param(
        lambda: p.quotes_request("g", code="SBER", exchange=" "), "exchange", id="blank exchange"
    ),
    pytest.param(
        lambda: p.quotes_request("g", code="S", exchange=untyped(None)),
        "exchange",
        id="missing exchange",
    ),
    pytest.param(
        lambda: p.quotes_request("g", **BOOK, instrument_group=""),
        "instrument_group",
        id="empty group",
    ),
    pytest.param(
        lambda: p.positions_request("g", portfolio="", exchange="M"),
        "portfolio",
        id="empty portfolio",
    ),
    pytest.param(
        lambda: p.order_book_request("g", **BOOK, depth=0),
        "depth must be between 1 and 50",
        id="depth 0",
    ),
    pytest.param(
        lambda: p.order_book_request("g", **BOOK, depth=51),
        "depth must be between 1 and 50",
        id="depth 51",
    ),
    pytest.param(
        lambda: p.order_book_request("g", **BOOK, depth=untyped(10.0)),
        "depth must be an integer",
        id="depth float",
    ),
    pytest.param(
        lambda: p.order_book_request("g", **BOOK, depth=True),
        "depth must be an integer",
        id="depth bool",
    ),
    pytest.param(
        lambda: p.all_trades_request("g", **BOOK, depth=5001),
        "depth must be between 0 and 5000",
        id="trades depth",
    ),
    pytest.param(
        lambda: p.all_trades_request("g", **BOOK, depth=-1), "depth", id="trades depth neg"
    ),
    pytest.param(
        lambda: p.quotes_request("g", **BOOK, format="json"), "format must be one of", id="format"
    ),
    pytest.param(
        lambda: p.quotes_request("g", **BOOK, frequency=-1),
        "frequency must be at least 0",
        id="frequency",
    ),
    pytest.param(
        lambda: p.quotes_request("g", **BOOK, frequency=untyped("25")),
        "frequency must be an integer",
        id="frequency str",
    ),
    pytest.param(
        lambda: p.bars_request("g", **{**BARS, "tf": 0}), "tf must be a positive", id="tf zero"
    ),
    pytest.param(lambda: p.bars_request("g", **{**BARS, "tf": "H"}), "tf must be", id="tf letter"),
    pytest.param(lambda: p.bars_request("g", **{**BARS, "tf": 1.5}), "tf must be", id="tf float"),
    pytest.param(
        lambda: p.bars_request("g", **{**BARS, "tf": "-60"}), "tf must be", id="tf negative str"
    ),
    pytest.param(
        lambda: p.bars_request("g", **{**BARS, "from_time": -1}),
        "from_time must be at least 0",
        id="from negative",
    ),
    pytest.param(
        lambda: p.bars_request("g", **{**BARS, "from_time": datetime(2024, 1, 1)}),
        "from_time must be timezone-aware",
        id="from naive",
    ),
    pytest.param(
        lambda: p.bars_request("g", **{**BARS, "from_time": 1.5}),
        "from_time must be unix seconds",
        id="from float",
    ),
    pytest.param(
        lambda: p.trades_request("g", portfolio="D1", exchange="M", skip_history=untyped(1)),
        "skip_history must be True or False",
        id="skip_history",
    ),
    pytest.param(
        lambda: p.bars_request("g", **BARS, split_adjust=untyped("no")),
        "split_adjust",
        id="split_adjust",
    ),
    pytest.param(
        lambda: p.all_trades_request("g", **BOOK, include_virtual_trades=untyped(0)),
        "include_virtual_trades",
        id="virtual",
    ),
    pytest.param(
        lambda: p.orders_request("g", **PORTFOLIO, order_statuses=["done"]),
        "order_statuses must be one of working, filled, canceled, rejected",
        id="status",
    ),
    pytest.param(
        lambda: p.stop_orders_request("g", **PORTFOLIO, order_statuses=[]),
        "order_statuses must name at least one",
        id="no status",
    ),
    pytest.param(
        lambda: p.orders_request("g", **PORTFOLIO, order_statuses=untyped(5)),
        "order_statuses",
        id="status int",
    ),
    pytest.param(lambda: p.with_token({}, ""), "token must be a non-empty string", id="token"),
    pytest.param(lambda: p.ping_request("g", confirm=untyped("yes")), "confirm", id="ping confirm"),
    pytest.param(
        lambda: p.subscription_request("QuotesSubscribe", "g", **BOOK, depth=5),
        "QuotesSubscribe does not take depth",
        id="generic unknown",
    ),
    pytest.param(
        lambda: p.subscription_request("BarsGetAndSubscribe", "g", **BOOK),
        "BarsGetAndSubscribe needs tf, from_time",
        id="generic missing",
    ),
    pytest.param(
        lambda: p.subscription_request("Nope", "g"), "unknown opcode 'Nope'", id="generic opcode"
    ),
    pytest.param(
        lambda: p.subscription_request("ping", "g"), "ping is not a subscription", id="generic ping"
    ),
    # /cws
    pytest.param(
        lambda: p.create_market_request("g", **{**MARKET, "quantity": 0}),
        "quantity must be at least 1",
        id="quantity 0",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **{**MARKET, "quantity": 1.0}),
        "quantity must be an integer",
        id="quantity float",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **{**MARKET, "side": "long"}),
        "side must be one of buy, sell",
        id="side",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **{**MARKET, "symbol": ""}), "symbol", id="symbol"
    ),
    pytest.param(
        lambda: p.create_market_request("g", **{**MARKET, "portfolio": None}),
        "portfolio",
        id="order portfolio",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **MARKET, time_in_force="gtc"),
        "time_in_force must be one of oneday",
        id="tif",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=untyped(None)),
        "price is required",
        id="price missing",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=0),
        "price must be a positive",
        id="price zero",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=Decimal("-1")),
        "price must be a positive",
        id="price negative decimal",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=float("nan")),
        "price must be a positive finite",
        id="price nan",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=Decimal("Infinity")),
        "price must be a positive finite",
        id="price inf decimal",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=untyped("10")),
        "price must be a number",
        id="price str",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=True),
        "price must be a number",
        id="price bool",
    ),
    pytest.param(
        lambda: p.create_stop_limit_request("g", **{**STOP_LIMIT, "price": None}),
        "price is required",
        id="stop-limit price",
    ),
    pytest.param(
        lambda: p.create_stop_request("g", **MARKET, condition="more", trigger_price=untyped(None)),
        "trigger_price is required",
        id="trigger missing",
    ),
    pytest.param(
        lambda: p.create_stop_limit_request("g", **{**STOP_LIMIT, "trigger_price": 0}),
        "trigger_price must be a positive",
        id="trigger zero",
    ),
    pytest.param(
        lambda: p.create_stop_request("g", **MARKET, condition=untyped(None), trigger_price=1),
        "condition is required",
        id="condition missing",
    ),
    pytest.param(
        lambda: p.update_stop_request("g", order_id="1", **MARKET, condition=">=", trigger_price=1),
        "condition must be one of more, less, moreorequal, lessorequal",
        id="condition",
    ),
    pytest.param(
        lambda: p.create_stop_limit_request("g", **STOP_LIMIT, protecting_seconds=0),
        "protecting_seconds must be between 1 and 300",
        id="protecting 0",
    ),
    pytest.param(
        lambda: p.create_stop_request(
            "g", **MARKET, condition="less", trigger_price=1, protecting_seconds=301
        ),
        "protecting_seconds must be between 1 and 300",
        id="protecting 301",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **MARKET, comment="x" * 101),
        "comment must be at most 100 characters, got 101",
        id="comment long",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **MARKET, comment=untyped(5)),
        "comment must be a string",
        id="comment type",
    ),
    pytest.param(
        lambda: p.create_limit_request("g", **MARKET, price=1, iceberg_fixed=0),
        "iceberg_fixed must be at least 1",
        id="iceberg fixed",
    ),
    pytest.param(
        lambda: p.create_stop_limit_request("g", **STOP_LIMIT, iceberg_variance=-2),
        "iceberg_variance must be at least 1",
        id="iceberg variance",
    ),
    pytest.param(
        lambda: p.create_stop_limit_request("g", **STOP_LIMIT, stop_end_time=datetime(2030, 1, 1)),
        "stop_end_time must be timezone-aware",
        id="stop end naive",
    ),
    pytest.param(
        lambda: p.create_market_request("g", **MARKET, allow_margin=untyped("true")),
        "allow_margin must be True or False",
        id="allow_margin",
    ),
    pytest.param(
        lambda: p.create_stop_limit_request("g", **STOP_LIMIT, activate=untyped(1)),
        "activate",
        id="activate",
    ),
    pytest.param(
        lambda: p.delete_limit_request("g", **DELETE, check_duplicates=untyped("no")),
        "check_duplicates",
        id="check_duplicates",
    ),
    pytest.param(
        lambda: p.update_market_request("g", order_id="", **MARKET),
        "order_id must be a non-empty string",
        id="update empty id",
    ),
    pytest.param(
        lambda: p.update_limit_request("g", order_id=untyped(None), **MARKET, price=1),
        "order_id",
        id="update none id",
    ),
    pytest.param(
        lambda: p.delete_stop_request("g", **{**DELETE, "order_id": " "}),
        "order_id",
        id="delete empty id",
    ),
    pytest.param(
        lambda: p.delete_market_request("g", **{**DELETE, "order_id": 0}),
        "order_id must be at least 1",
        id="delete zero id",
    ),
    pytest.param(
        lambda: p.delete_stop_limit_request("g", **{**DELETE, "exchange": ""}),
        "exchange",
        id="delete exchange",
    ),
    pytest.param(
        lambda: p.delete_limit_request("g", **{**DELETE, "portfolio": ""}),
        "portfolio",
        id="delete portfolio",
    ),
    pytest.param(
        lambda: p.authorize_request("g", ""),
        "token must be a non-empty string",
        id="authorize token",
    ),
    pytest.param(lambda: p.authorize_request("", "t"), "guid", id="authorize guid"),
    pytest.param(
        lambda: p.command_request("create:iceberg", "g"),
        "unknown order command 'create:iceberg'",
        id="command unknown",
    ),
    pytest.param(
        lambda: p.command_request("create:limit", "g", **MARKET),
        "create:limit needs price",
        id="command missing",
    ),
]


@pytest.mark.parametrize(("build", "expected"), BAD_ARGUMENTS)
def test_bad_argument_is_refused_with_a_message_naming_it(
    build: Callable[[], object], expected: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        build()
    assert expected in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_token_is_never_echoed_in_errors() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        p.with_token({}, untyped(12345))
    assert "12345" not in str(caught.value)
