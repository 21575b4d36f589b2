"""The command specs agree with the reference (every documented field of every order command, its
wire path and whether it is required), and what is generated from them is fresh."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alor_sync import protocol
from alor_sync.commands.generate import FILES
from alor_sync.commands.methods import OrderCommandMethods
from alor_sync.protocol.command_specs import COMMAND_SPECS, REQUEST_ORDER, CommandSpec
from alor_sync.wire import COMMAND_OPCODES, CommandOpcode

_ENVELOPE = {"opcode", "guid", "token"}
# opcodes.json leaves it out of update:stopLimit; the reference's summary (README, section 3)
# gives every update:* the fields of its create:*, and so did the hand-written builder.
_BEYOND_REFERENCE = {CommandOpcode.UPDATE_STOP_LIMIT: {"icebergVariance"}}


def _documented(samples_dir: Path, spec: CommandSpec) -> dict[str, Any]:
    reference = json.loads((samples_dir / "opcodes.json").read_text(encoding="utf-8"))
    params: dict[str, Any] = reference["endpoints"]["/cws"][spec.opcode.value]["params"]
    return {wire: param for wire, param in params.items() if wire not in _ENVELOPE}


def test_there_is_one_spec_per_order_command() -> None:
    assert tuple(COMMAND_SPECS) == COMMAND_OPCODES


@pytest.mark.parametrize("spec", COMMAND_SPECS.values(), ids=lambda spec: spec.name)
def test_spec_has_every_documented_field(samples_dir: Path, spec: CommandSpec) -> None:
    documented = _documented(samples_dir, spec)
    top = {p.wire.split(".")[0] for p in spec.params}
    assert top == set(documented) | _BEYOND_REFERENCE.get(spec.opcode, set())
    for param in spec.params:
        parent, _, field = param.wire.rpartition(".")
        if parent:  # a nested field: one of its object's documented properties
            assert field in documented[parent]["properties"]
        elif param.wire in documented:
            assert param.required == bool(documented[param.wire].get("required")), param.name


@pytest.mark.parametrize("spec", COMMAND_SPECS.values(), ids=lambda spec: spec.name)
def test_spec_lays_the_request_out_in_the_one_order(spec: CommandSpec) -> None:
    assert {p.name for p in spec.layout} == {p.name for p in spec.params}
    positions = [REQUEST_ORDER.index(p.name) for p in spec.layout]
    assert positions == sorted(positions)
    assert all(term.required for term in spec.given_first)


@pytest.mark.parametrize("path", sorted(FILES), ids=lambda path: path.name)
def test_generated_commands_equal_a_fresh_generation(path: Path) -> None:
    # If this fails: python -m alor_sync.commands.generate (and commit the result).
    assert path.read_text(encoding="utf-8") == FILES[path]()


@pytest.mark.parametrize("spec", COMMAND_SPECS.values(), ids=lambda spec: spec.name)
def test_builder_and_method_take_every_parameter_of_their_spec(spec: CommandSpec) -> None:
    builder = inspect.signature(getattr(protocol, f"{spec.name}_request")).parameters
    assert list(builder) == ["guid", *(p.name for p in spec.params)]
    method = inspect.signature(getattr(OrderCommandMethods, spec.name)).parameters
    names = {p.facade_name for p in spec.params} | {"self", "guid", "timeout"}
    if "symbol" in names:
        names.add("code")
    assert set(method) == names
    assert method["exchange"].default == "MOEX"


_USER_CODE = """\
from decimal import Decimal

from alor_sync import AlorClient, Side, TimeInForce
from alor_sync import protocol as p

client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")
orders = client.commands
orders.create_limit(portfolio="D1", symbol="SBER", side=Side.BUY, quantity=1, price=Decimal(1))
orders.create_stop_limit(portfolio="D1", code="SBER", side="sell", quantity=1, price=1.5,
                         condition="more", trigger_price=2, stop_end_unix_time=0,
                         time_in_force=TimeInForce.ONE_DAY, guid="g", timeout=1.0)
orders.delete_stop(order_id=5, portfolio="D1", exchange="SPBX", check_duplicates=False)
p.create_market_request("g", side=Side.SELL, quantity=1, symbol="S", exchange="M", portfolio="D")
p.update_stop_request("g", order_id="1", side="buy", quantity=1, condition="less",
                      trigger_price=Decimal(2), symbol="S", exchange="M", portfolio="D",
                      stop_end_time=0)
orders.create_market(portfolio="D1", symbol="SBER", side=1, quantity=1)
orders.create_limit(portfolio="D1", symbol="SBER", side="buy", quantity=1)
orders.create_stop(portfolio="D1", symbol="S", side="buy", quantity=1, condition="more",
                   trigger_price=1, stop_end_time=0)
p.update_limit_request("g", order_id="1", side="buy", quantity=1, price="1", symbol="S",
                       exchange="M", portfolio="D", time_in_force="oneday")
"""
# line -> mypy's error codes: what a type checker says about the mistakes at the end.
_USER_MISTAKES = {
    17: {"arg-type"},
    18: {"call-arg"},
    19: {"call-arg"},
    21: {"arg-type", "call-arg"},
}


def test_user_code_calling_commands_type_checks_as_declared(tmp_path: Path) -> None:
    (tmp_path / "user.py").write_text(_USER_CODE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes",
         "--no-error-summary", "--cache-dir", os.devnull, "user.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    found: dict[int, set[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^user\.py:(\d+): error: .*\[([\w-]+)\]$", line)
        if match:
            found.setdefault(int(match[1]), set()).add(match[2])
    assert found == _USER_MISTAKES, result.stdout
