"""The stream specs agree with the reference: every documented parameter of every subscription,
its wire name and whether it is required; the payload model the decoder produces."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from alor_sync import AlorClient, decode
from alor_sync import protocol as p
from alor_sync.data.generate import FILES
from alor_sync.data.snapshot_reads import READS, Read
from alor_sync.errors import InvalidArgumentError
from alor_sync.protocol.specs import SPECS, StreamSpec
from alor_sync.wire import SUBSCRIPTION_OPCODES, Opcode

# Sent by every request, not parameters of a spec.
_ENVELOPE = {"opcode", "guid", "token"}


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
        if wire not in _ENVELOPE
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


@pytest.mark.parametrize("path", sorted(FILES), ids=lambda path: path.name)
def test_generated_methods_equal_a_fresh_generation(path: Path) -> None:
    # If this fails: python -m alor_sync.data.generate (and commit the result).
    assert path.read_text(encoding="utf-8") == FILES[path]()


@pytest.mark.parametrize("spec", SPECS.values(), ids=lambda spec: spec.name)
def test_every_subscribe_method_takes_every_parameter_of_its_spec(spec: StreamSpec) -> None:
    method = getattr(AlorClient, f"subscribe_{spec.name}")
    params = inspect.signature(method).parameters
    key = ["symbol", "callback", "code"] if spec.key == "symbol" else ["portfolio", "callback"]
    wanted = [p.name for p in spec.params if p.name not in ("code", "portfolio")]
    delivery = ["raw", "silence_timeout", "conflate", "on_gap", "on_state"]
    assert list(params) == ["self", *key, *wanted, *delivery]
    assert params["exchange"].default == "MOEX"
    assert (method.__doc__ or "").startswith(spec.doc)


def test_a_wrong_call_is_a_type_error_as_for_any_method() -> None:
    client = AlorClient("token", ws_url="ws://127.0.0.1:1/ws")
    with pytest.raises(TypeError, match="depht"):
        client.subscribe_order_book("SBER", print, depht=5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="callback"):
        client.subscribe_positions("D39004")  # type: ignore[call-overload]


@pytest.mark.parametrize("read", READS, ids=lambda read: read.name)
def test_every_get_takes_its_parameters_as_the_spec_declares_them(read: Read) -> None:
    params = inspect.signature(getattr(AlorClient, f"get_{read.name}")).parameters
    for param in read.keywords():
        assert params[param.name].default == param.method_default
        assert params[param.name].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["timeout"].default == read.timeout
    assert ("settle" in params) is read.many


def test_slice_mode_is_sent_in_the_sdk_spelling() -> None:
    request = p.bars_request("g", code="SBER", exchange="MOEX", tf=60, from_time=0)
    assert "sliceMode" not in request
    request = p.bars_request("g", code="SBER", exchange="MOEX", tf=60, from_time=0,
                             slice_mode="dailyintervals")  # fmt: skip
    assert request["sliceMode"] == "DailyIntervals"
    with pytest.raises(InvalidArgumentError, match="slice_mode must be one of EqualIntervals"):
        p.bars_request("g", code="SBER", exchange="MOEX", tf=60, from_time=0, slice_mode="hourly")
