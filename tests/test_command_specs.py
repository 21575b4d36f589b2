"""The command specs agree with the reference (every documented field of every order command, its
wire path and whether it is required), and what is generated from them is fresh."""

from __future__ import annotations

import inspect
import json
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
