"""One name for one thing: the instrument is ``symbol`` everywhere (``code=`` accepted too),
``exchange`` defaults to MOEX in commands as in subscriptions, and the lot counts ``quantity`` /
``filled_quantity`` are there in every format rather than being "deprecated"."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alor_sync import decode, models, to_frame
from alor_sync.commands.methods import OrderCommandMethods
from alor_sync.commands.results import OrderResult
from alor_sync.emulator import Emulator
from alor_sync.errors import InvalidArgumentError
from alor_sync.wire import CommandOpcode
from tests.client_helpers import WAIT, Recorder, running


def _payload(samples_dir: Path, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((samples_dir / name).read_text(encoding="utf-8"))
    data: dict[str, Any] = document.get("data", document)
    return data


# --- quantities ------------------------------------------------------------------------------


def test_position_quantity_is_the_lot_count_in_every_format(samples_dir: Path) -> None:
    simple = decode(
        "PositionsGetAndSubscribeV2",
        "Simple",
        _payload(samples_dir, "PositionsGetAndSubscribeV2.Simple.data.json"),
    )
    slim = decode(
        "PositionsGetAndSubscribeV2",
        "Slim",
        _payload(samples_dir, "PositionsGetAndSubscribeV2.Slim.data.json"),
    )
    assert simple.quantity == simple.quantity_batch is not None
    # Slim carries neither qtyBatch nor the deprecated qty: pieces / lot size (60 / 10)
    assert (slim.quantity_batch, slim.deprecated_quantity) == (None, None)
    assert slim.quantity == 6 and slim.open_quantity == 6


def test_lot_counts_fall_back_to_the_deprecated_wire_fields() -> None:
    position = models.Position(symbol="SBER", deprecated_quantity=Decimal(3))
    assert position.quantity == Decimal(3)
    assert models.Position(symbol="SBER", quantity_units=5.0, lot_size=0.0).quantity is None
    order = models.Order(id="1", deprecated_quantity=4, deprecated_filled_quantity=1)
    assert (order.quantity, order.filled_quantity) == (4, 1)
    order = models.Order(id="1", quantity_batch=5, deprecated_quantity=4, filled_quantity_batch=2)
    assert (order.quantity, order.filled_quantity) == (5, 2)
    stop = models.StopOrder(id="1", deprecated_quantity=7, filled_quantity_batch=0)
    assert (stop.quantity, stop.filled_quantity) == (7, 0)
    assert models.Trade(id="1", deprecated_quantity=2).quantity == 2


def test_filled_quantities_decode_as_int(samples_dir: Path) -> None:
    order = decode(
        "OrdersGetAndSubscribeV2",
        "Simple",
        _payload(samples_dir, "OrdersGetAndSubscribeV2.Simple.data.json"),
    )
    assert type(order.filled_quantity_batch) is int and type(order.filled_quantity) is int


def test_to_frame_has_the_lot_count_columns() -> None:
    frame = to_frame([models.Position(symbol="SBER", quantity_batch=2.0)])
    assert frame["quantity"].tolist() == [2.0]
    frame = to_frame([models.Order(id="1", deprecated_filled_quantity=3)])
    assert (
        frame["filled_quantity"].tolist() == [3] and str(frame["filled_quantity"].dtype) == "Int64"
    )


# --- the instrument's name and the exchange default --------------------------------------------


class _Capture(OrderCommandMethods):
    def __init__(self) -> None:
        self.calls: list[tuple[CommandOpcode, dict[str, Any]]] = []

    def _call(
        self,
        opcode: CommandOpcode,
        arguments: dict[str, Any],
        timeout: float | None,
        guid: str | None = None,
    ) -> OrderResult:
        self.calls.append((opcode, arguments))
        return OrderResult(order_number="1", message="ok", http_code=200, request_guid="g")


def test_commands_default_to_moex_and_take_symbol_or_code() -> None:
    commands = _Capture()
    commands.create_limit(portfolio="D1", symbol="SBER", side="buy", quantity=1, price=1)
    commands.create_market(portfolio="D1", code="GAZP", side="sell", quantity=2)
    commands.delete_limit(order_id="5", portfolio="D1")
    (_, limit), (_, market), (_, delete) = commands.calls
    assert (limit["symbol"], limit["exchange"]) == ("SBER", "MOEX") and "code" not in limit
    assert (market["symbol"], market["exchange"]) == ("GAZP", "MOEX") and "code" not in market
    assert delete["exchange"] == "MOEX"
    with pytest.raises(InvalidArgumentError, match="symbol='SBER' and code='GAZP' disagree"):
        commands.create_market(portfolio="D1", symbol="SBER", code="GAZP", side="buy", quantity=1)


@pytest.fixture(scope="module")
def emu() -> Any:
    with Emulator(speed=0) as emulator:
        yield emulator


def test_subscriptions_and_gets_take_symbol_or_code(emu: Emulator) -> None:
    with running(emu) as client:
        by_symbol, by_code = Recorder(), Recorder()
        client.subscribe_quotes(symbol="SBER", callback=by_symbol).wait_active(WAIT)
        client.subscribe_quotes(code="SBER", callback=by_code).wait_active(WAIT)
        assert by_symbol.wait_count(1) and by_code.wait_count(1)
        assert {q.symbol for q in by_symbol.items + by_code.items} == {"SBER"}
        assert client.get_quote(code="SBER", timeout=WAIT).symbol == "SBER"
        assert client.get_bars(code="SBER", tf=60, from_time=0, timeout=WAIT)
        assert client.get_all_trades(code="SBER", depth=2, timeout=WAIT)
        with pytest.raises(InvalidArgumentError, match="disagree"):
            client.subscribe_quotes("SBER", by_code, code="GAZP")
        with pytest.raises(InvalidArgumentError, match="disagree"):
            client.get_order_book("SBER", code="GAZP")


def test_submit_takes_the_same_defaults_as_the_methods(emu: Emulator) -> None:
    with running(emu) as client:
        future = client.commands.submit(
            "create:market", portfolio="D39004", code="SBER", side="buy", quantity=1
        )
        assert future.result(WAIT).order_number


def test_a_missing_instrument_names_the_documented_parameter(emu: Emulator) -> None:
    commands = _Capture()
    with pytest.raises(InvalidArgumentError, match=r"pass symbol \(or code=\)"):
        commands.create_market(portfolio="D1", side="buy", quantity=1)
    with running(emu) as client:
        with pytest.raises(InvalidArgumentError, match=r"pass symbol \(or code=\)"):
            client.subscribe_quotes(callback=lambda quote: None)
        with pytest.raises(InvalidArgumentError, match=r"pass symbol \(or code=\)"):
            client.get_quote()
    assert commands.calls == []
