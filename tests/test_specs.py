"""The stream specs agree with the reference: every documented parameter of every subscription,
its wire name and whether it is required; the payload model the decoder produces."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from alor_sync import decode
from alor_sync import protocol as p
from alor_sync.protocol.specs import SPECS, StreamSpec
from alor_sync.wire import SUBSCRIPTION_OPCODES, Opcode

# Sent by every request, not parameters of a spec.
_ENVELOPE = {"opcode", "guid", "token"}
# Parameters the SDK knows and the documentation does not: deliberately not offered.
_UNDOCUMENTED = {(Opcode.BARS, "sliceMode")}


def _documented(samples_dir: Path) -> dict[str, dict[str, Any]]:
    reference = json.loads((samples_dir / "opcodes.json").read_text(encoding="utf-8"))
    ws: dict[str, dict[str, Any]] = reference["endpoints"]["/ws"]
    return ws


def test_there_is_one_spec_per_subscription_opcode() -> None:
    assert tuple(SPECS) == SUBSCRIPTION_OPCODES


@pytest.mark.parametrize("spec", SPECS.values(), ids=lambda spec: spec.name)
def test_spec_has_every_documented_parameter(samples_dir: Path, spec: StreamSpec) -> None:
    documented = _documented(samples_dir)[spec.opcode.value]["params"]
    wanted = {
        wire: bool(param.get("required"))
        for wire, param in documented.items()
        if wire not in _ENVELOPE and (spec.opcode, wire) not in _UNDOCUMENTED
    }
    assert {param.wire: param.required for param in spec.params} == wanted


@pytest.mark.parametrize("spec", SPECS.values(), ids=lambda spec: spec.name)
def test_spec_model_is_what_the_decoder_makes(samples_dir: Path, spec: StreamSpec) -> None:
    name = f"{spec.opcode.value}.Simple.data.json"
    if spec.opcode is Opcode.INSTRUMENTS:
        name = f"{spec.opcode.value}.Simple.full.data.json"
    document = json.loads((samples_dir / name).read_text(encoding="utf-8"))
    assert type(decode(spec.opcode, "Simple", document.get("data", document))) is spec.model


def test_builders_show_the_spec_in_help() -> None:
    signature = inspect.signature(p.bars_request)
    assert list(signature.parameters)[:3] == ["guid", "code", "tf"]
    assert signature.parameters["instrument_group"].default is None
    assert signature.parameters["from_time"].default is inspect.Parameter.empty
    assert p.bars_request.__name__ == "bars_request"
    assert (p.bars_request.__doc__ or "").startswith("``BarsGetAndSubscribe``")
