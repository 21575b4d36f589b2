"""wire_account.encode: every opcode x format has exactly the broker example's keys and types."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from alor_sync.emulator.account import Account
from alor_sync.emulator.wire_account import ACCOUNT_OPCODES, encode, iso_time
from alor_sync.wire import Format

try:
    from test_account_fakes import SBER, SI, make_account, run
except ImportError:  # tests/emulator became a package
    from .test_account_fakes import SBER, SI, make_account, run

ISO7 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT")


def _sample(samples_dir: Path, opcode: str, fmt: Format) -> dict[str, Any]:
    data = json.loads((samples_dir / f"{opcode}.{fmt.value}.data.json").read_text("utf-8"))
    assert isinstance(data["data"], dict)
    return data["data"]


def _busy_account() -> Account:
    """An account with something in every stream of D39004/MOEX and 7500PUQ/MOEX."""
    account, market, _, _ = make_account()
    run(account, "create:market", "m", quantity=1, comment="Первая заявка")
    run(account, "create:limit", "l", price=257.0)
    run(
        account, "create:stop", "s", condition="LessOrEqual", triggerPrice=160, protectingSeconds=15
    )
    run(account, "create:market", "f", instrument=SI, portfolio="7500PUQ")
    market.set_last(SBER, "258")
    account.on_market_update("MOEX", "SBER")
    return account


def _record(account: Account, opcode: str) -> Any:
    portfolio = "7500PUQ" if opcode == "SpectraRisksGetAndSubscribe" else "D39004"
    records = account.history(opcode, portfolio, "MOEX")
    if opcode in ("PositionsGetAndSubscribeV2", "OrdersGetAndSubscribeV2"):
        return records[-1]  # SBER position; the working limit order
    return records[0]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _assert_same_shape(ours: dict[str, Any], sample: dict[str, Any], where: str) -> None:
    missing, extra = sorted(set(sample) - set(ours)), sorted(set(ours) - set(sample))
    assert not missing and not extra, f"{where}: missing {missing}, extra {extra}"
    for key, expected in sample.items():
        if expected is None:
            continue
        assert _kind(ours[key]) == _kind(expected), f"{where}.{key}: {ours[key]!r} vs {expected!r}"
        if isinstance(expected, str) and LOOKS_LIKE_TIME.match(expected):
            assert ISO7.match(ours[key]), f"{where}.{key}: {ours[key]!r}"
        if isinstance(expected, list) and expected:
            for item in ours[key]:
                _assert_same_shape(item, expected[0], f"{where}.{key}[]")


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("opcode", ACCOUNT_OPCODES)
def test_keys_and_types_match_the_broker_examples(
    opcode: str, fmt: Format, samples_dir: Path
) -> None:
    record = _record(_busy_account(), opcode)
    sample = _sample(samples_dir, opcode, fmt)
    for existing in (True, False):
        payload = encode(opcode, fmt, record, existing=existing)
        _assert_same_shape(payload, sample, f"{opcode}.{fmt.value}")
        orjson.dumps(payload)  # the server serialises with orjson
        flag = "e" if (opcode, fmt) == ("StopOrdersGetAndSubscribe", Format.SLIM) else "h"
        flag = flag if fmt == Format.SLIM else "existing"
        if flag in payload:
            assert payload[flag] is existing


def test_every_account_opcode_is_covered() -> None:
    assert set(ACCOUNT_OPCODES) == {
        "PositionsGetAndSubscribeV2",
        "SummariesGetAndSubscribeV2",
        "RisksGetAndSubscribe",
        "SpectraRisksGetAndSubscribe",
        "TradesGetAndSubscribeV2",
        "OrdersGetAndSubscribeV2",
        "StopOrdersGetAndSubscribeV2",
        "StopOrdersGetAndSubscribe",
    }


def test_values_of_a_stop_order_in_each_format() -> None:
    stop = _record(_busy_account(), "StopOrdersGetAndSubscribeV2")
    simple = encode("StopOrdersGetAndSubscribeV2", Format.SIMPLE, stop, existing=True)
    heavy = encode("StopOrdersGetAndSubscribeV2", Format.HEAVY, stop, existing=True)
    slim = encode("StopOrdersGetAndSubscribeV2", Format.SLIM, stop, existing=True)
    assert (simple["condition"], heavy["condition"], slim["cnd"]) == (
        "LessOrEqual",
        "lessorequal",
        "lessorequal",
    )
    assert simple["id"] == "8939" and simple["exchangeOrderId"] is None
    assert simple["updateTime"] is None and simple["error"] is None
    assert simple["endTime"] == "2060-12-31T23:59:59.0000000Z"
    assert (simple["qtyUnits"], simple["qtyBatch"], simple["qty"]) == (10, 1, 1)
    assert (simple["stopPrice"], simple["price"], simple["volume"]) == (160, 0, 1600)
    assert simple["protectingSeconds"] == 15 and simple["brokerSymbol"] == "MOEX:SBER"
    v1 = encode("StopOrdersGetAndSubscribe", Format.SLIM, stop, existing=False)
    assert v1["id"] == 8939 and v1["e"] is False and v1["pxs"] == 160


def test_values_of_orders_trades_and_positions() -> None:
    account = _busy_account()
    trade = encode(
        "TradesGetAndSubscribeV2",
        Format.HEAVY,
        _record(account, "TradesGetAndSubscribeV2"),
        existing=False,
    )
    assert trade["orderNo"] == "18995978560" and trade["id"] == "4421925358"
    assert (trade["qtyUnits"], trade["qtyBatch"], trade["price"]) == (10, 1, 257.71)
    assert trade["comment"] == "Первая заявка" and trade["repoSpecificFields"] is None
    order = encode(
        "OrdersGetAndSubscribeV2",
        Format.SIMPLE,
        _record(account, "OrdersGetAndSubscribeV2"),
        existing=True,
    )
    assert (order["status"], order["type"], order["price"], order["volume"]) == (
        "working",
        "limit",
        257,
        2570,
    )
    assert order["timeInForce"] == "oneday" and order["iceberg"] is None
    assert order["endTime"].endswith("T23:59:59.9990000Z")
    position = encode(
        "PositionsGetAndSubscribeV2",
        Format.SIMPLE,
        _record(account, "PositionsGetAndSubscribeV2"),
        existing=True,
    )
    assert (position["symbol"], position["qtyUnits"], position["qty"], position["lotSize"]) == (
        "SBER",
        110,
        11,
        10,
    )
    assert position["currentVolume"] == 110 * 258 and isinstance(position["qtyUnits"], int)


def test_iceberg_object_in_slim_and_heavy() -> None:
    account, _, _, _ = make_account()
    run(account, "create:limit", "i", price=257.0, quantity=50, icebergFixed=10, icebergVariance=0)
    order = account.history("OrdersGetAndSubscribeV2", "D39004", "MOEX")[-1]
    slim = encode("OrdersGetAndSubscribeV2", Format.SLIM, order, existing=False)
    assert slim["i"] == {"cf": 10, "cv": 0, "v": 100, "vb": 10, "vf": 0, "vfb": 0}
    heavy = encode("OrdersGetAndSubscribeV2", Format.HEAVY, order, existing=False)
    assert set(heavy["iceberg"]) == {
        "creationFixedQuantity",
        "creationVarianceQuantity",
        "visibleQuantity",
        "visibleQuantityBatch",
        "visibleFilledQuantity",
        "visibleFilledQuantityBatch",
    }


def test_summary_slim_uses_bp2v() -> None:
    summary = _record(_busy_account(), "SummariesGetAndSubscribeV2")
    slim = encode("SummariesGetAndSubscribeV2", Format.SLIM, summary, existing=True)
    assert slim["bp2v"][0]["cr"] == "RUB" and "bpv2" not in slim


def test_iso_time_has_seven_digits_and_z() -> None:
    assert iso_time(1592351999.999) == "2020-06-16T23:59:59.9990000Z"
    assert iso_time(0) == "1970-01-01T00:00:00.0000000Z"


def test_encode_refuses_foreign_opcodes_and_records() -> None:
    account = _busy_account()
    with pytest.raises(ValueError, match="not an account stream"):
        encode("QuotesSubscribe", Format.SIMPLE, object(), existing=True)
    with pytest.raises(TypeError, match="OrderRecord"):
        encode(
            "OrdersGetAndSubscribeV2",
            Format.SIMPLE,
            _record(account, "TradesGetAndSubscribeV2"),
            existing=True,
        )
