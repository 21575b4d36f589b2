"""Golden record of every ``/cws`` order command as the hand-written builders, methods and CLI
built it (recorded at main 53f7a4d, before they were derived from the command specs).

Money is at stake: a derived builder must send byte for byte what the written-out one sent and
refuse what it refused with the same message. So this module sweeps every builder, method and
``order`` command line over a pool of good and bad values (each parameter alone, and every pair
of bad ones, which pins the order of the checks), and compares each outcome with the recording:

* a request: its ``repr`` (key order, value types: a ``Decimal`` stays a ``Decimal``) and the
  bytes :func:`~alor_sync.protocol.dumps` sends;
* a refusal: the exception's class and message (a ``TypeError``'s message without the function
  name Python puts first, which names a helper for the old ``delete_*`` builders);
* signatures, names and docstrings of the public builders and methods, and the CLI's ``--help``.

Hand-picked cases are stored in full; the sweeps as a digest per case (the case id says what was
called). Never re-record to make this pass: a difference is a changed request. To record (only
from code known to be right): ``python -m tests.test_command_golden``.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import inspect
import io
import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alor_sync import protocol
from alor_sync.cli import build_parser
from alor_sync.cli import order as cli_order
from alor_sync.commands.channel import _builder_params
from alor_sync.commands.methods import OrderCommandMethods
from alor_sync.commands.results import OrderResult
from alor_sync.models import Condition, OrderStatus, Side, TimeInForce
from alor_sync.wire import CommandOpcode

GOLDEN = Path(__file__).parent / "golden" / "commands.json"

BUILDERS = [
    "create_market_request",
    "create_limit_request",
    "create_stop_request",
    "create_stop_limit_request",
    "update_market_request",
    "update_limit_request",
    "update_stop_request",
    "update_stop_limit_request",
    "delete_market_request",
    "delete_limit_request",
    "delete_stop_request",
    "delete_stop_limit_request",
]
METHODS = [name.removesuffix("_request") for name in BUILDERS]

# A valid value of every parameter any builder or method takes.
VALID: dict[str, Any] = {
    "order_id": "18995978560",
    "side": "buy",
    "quantity": 3,
    "price": 250.5,
    "condition": "more",
    "trigger_price": 251,
    "symbol": "SBER",
    "code": None,
    "exchange": "MOEX",
    "portfolio": "D39004",
    "instrument_group": None,
    "stop_end_time": None,
    "stop_end_unix_time": None,
    "protecting_seconds": None,
    "comment": None,
    "time_in_force": None,
    "allow_margin": None,
    "iceberg_fixed": None,
    "iceberg_variance": None,
    "activate": None,
    "check_duplicates": None,
    "guid": None,
    "timeout": None,
}

MSK = timezone(timedelta(hours=3))


class _Other(enum.Enum):
    ODD = "odd"
    BUY = "BUY"


# Tried in place of every parameter: good for some, bad for others.
POOL: list[Any] = [
    None,
    "",
    " ",
    "buy",
    "SELL",
    "x",
    "oneday",
    "Good_Till_Cancelled",
    "LessOrEqual",
    "more",
    "18995978560",
    0,
    1,
    -1,
    7,
    100,
    300,
    301,
    18995978560,
    1.5,
    float("nan"),
    float("inf"),
    250.5,
    Decimal("257.10"),
    Decimal("142.52"),
    Decimal("1E+2"),
    Decimal("-1"),
    Decimal("NaN"),
    Decimal("0.12345678901234567891"),
    True,
    False,
    [],
    Side.BUY,
    Side.SELL,
    Condition.LESS_OR_EQUAL,
    TimeInForce.GOOD_TILL_CANCELLED,
    OrderStatus.FILLED,
    _Other.ODD,
    _Other.BUY,
    datetime(2030, 1, 1, tzinfo=UTC),
    datetime(2030, 1, 1, 12, 30, 15, 999999, tzinfo=MSK),
    datetime(2030, 1, 1),
    datetime(1969, 12, 31, tzinfo=UTC),
    "x" * 100,
    "x" * 101,
    "Первая заявка",
]

# One value each parameter refuses (for the pairs that pin the order of the checks).
BAD: dict[str, Any] = {
    "guid": "",
    "order_id": " ",
    "side": "long",
    "quantity": 0,
    "price": 0,
    "condition": "around",
    "trigger_price": -1,
    "symbol": "",
    "code": "",
    "exchange": " ",
    "portfolio": "",
    "instrument_group": "",
    "stop_end_time": -1,
    "stop_end_unix_time": -1,
    "protecting_seconds": 0,
    "comment": 5,
    "time_in_force": "gtc",
    "allow_margin": "yes",
    "iceberg_fixed": 0,
    "iceberg_variance": -2,
    "activate": 1,
    "check_duplicates": "no",
    "timeout": 0,
}


def outcome(call: Callable[[], Any]) -> str:
    """What a call did, as text: the request (repr, then the bytes sent) or the refusal."""
    try:
        result = call()
    except Exception as exc:  # every refusal is part of the record
        message = str(exc)
        if isinstance(exc, TypeError) and "() " in message:
            message = message.split("() ", 1)[1]
        return f"{type(exc).__name__}: {message}"
    if isinstance(result, dict):
        return f"{result!r} -> {protocol.dumps(result).decode()}"
    return repr(result)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _keywords(function: Callable[..., Any]) -> list[str]:
    return [
        p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]


def _base(function: Callable[..., Any]) -> dict[str, Any]:
    return {name: VALID[name] for name in _keywords(function) if VALID[name] is not None}


# --- builders -------------------------------------------------------------------------------


def _builder(name: str) -> Callable[..., Any]:
    function: Callable[..., Any] = getattr(protocol, name)
    return function


def builder_sweep() -> Iterator[tuple[str, Callable[[], Any]]]:
    for name in BUILDERS:
        builder = _builder(name)
        base = _base(builder)
        yield f"{name} base", lambda b=builder, k=base: b("g", **k)
        for param, value in itertools.product(["guid", *_keywords(builder)], POOL):
            kwargs = {**base, param: value}
            if param == "guid":
                kwargs.pop("guid")
                yield f"{name} guid={value!r}", lambda b=builder, k=kwargs, v=value: b(v, **k)
            else:
                yield f"{name} {param}={value!r}", lambda b=builder, k=kwargs: b("g", **k)


def builder_pairs() -> Iterator[tuple[str, Callable[[], Any]]]:
    for name in BUILDERS:
        builder = _builder(name)
        base = _base(builder)
        params = ["guid", *_keywords(builder)]
        for first, second in itertools.combinations(params, 2):
            variants = ((BAD[first], BAD[second]), (None, BAD[second]), (None, None))
            for bad_first, bad_second in variants:
                kwargs = {**base, first: bad_first, second: bad_second}
                guid = kwargs.pop("guid", "g")
                case = f"{name} {first}={bad_first!r} {second}={bad_second!r}"
                yield case, lambda b=builder, g=guid, k=kwargs: b(g, **k)


def builder_calls() -> Iterator[tuple[str, Callable[[], Any]]]:
    """Hand-picked: each builder with every option, enums as members, the Python-level errors."""
    full: dict[str, Any] = {
        "order_id": 18995978560,
        "side": Side.SELL,
        "quantity": 300,
        "price": Decimal("142.52"),
        "condition": Condition.LESS_OR_EQUAL,
        "trigger_price": 191.33,
        "symbol": "SBER",
        "exchange": "MOEX",
        "portfolio": "D39004",
        "instrument_group": "TQBR",
        "stop_end_time": datetime(2030, 1, 1, 10, tzinfo=MSK),
        "protecting_seconds": 15,
        "comment": "Первая заявка",
        "time_in_force": TimeInForce.FILL_OR_KILL,
        "allow_margin": False,
        "iceberg_fixed": 100,
        "iceberg_variance": 2,
        "activate": False,
        "check_duplicates": False,
    }
    for name in BUILDERS:
        builder = _builder(name)
        keywords = _keywords(builder)
        everything = {k: full[k] for k in keywords}
        yield f"{name} every option", lambda b=builder, k=everything: b("g", **k)
        as_str = {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in everything.items()}
        yield f"{name} enums as str", lambda b=builder, k=as_str: b("g", **k)
        for price in (250, 250.5, Decimal("250.50"), Decimal("1E+1")):
            priced = {k: price if "price" in k else v for k, v in everything.items()}
            yield f"{name} prices {price!r}", lambda b=builder, k=priced: b("g", **k)
        base = _base(builder)
        for missing in keywords:
            kwargs = {k: v for k, v in base.items() if k != missing}
            yield f"{name} without {missing}", lambda b=builder, k=kwargs: b("g", **k)
        yield f"{name} unknown", lambda b=builder, k=base: b("g", **k, colour="red")
        yield f"{name} positional", lambda b=builder, k=base: b("g", "h", **k)
        yield f"{name} no guid", lambda b=builder, k=base: b(**k)
        yield f"{name} guid by name", lambda b=builder, k=base: b(guid="g", **k)


def command_request_calls() -> Iterator[tuple[str, Callable[[], Any]]]:
    for name in BUILDERS:
        builder = _builder(name)
        opcode = _opcode(name)
        base = _base(builder)
        for spelling in (opcode, opcode.value, opcode.value.upper(), opcode.value.lower()):
            case = f"command_request {spelling!r}"
            yield case, lambda s=spelling, k=base: protocol.command_request(s, "g", **k)
        for missing in _keywords(builder):
            kwargs = {k: v for k, v in base.items() if k != missing}
            case = f"command_request {opcode.value} without {missing}"
            yield case, lambda o=opcode, k=kwargs: protocol.command_request(o, "g", **k)
        for extra in ("colour", "code", "stop_end_unix_time", "order_id", "price", "guid"):
            kwargs = {**base, extra: VALID.get(extra) or 1}
            case = f"command_request {opcode.value} with {extra}"
            yield case, lambda o=opcode, k=kwargs: protocol.command_request(o, "g", **k)
        nothing = f"command_request {opcode.value} nothing"
        yield nothing, lambda o=opcode: protocol.command_request(o, "g")
    for unknown in ("authorize", "ping", "create:iceberg", CommandOpcode.AUTHORIZE, 5):
        yield f"command_request {unknown!r}", lambda u=unknown: protocol.command_request(u, "g")
    yield "authorize", lambda: protocol.authorize_request("g", "token")
    yield "authorize bad guid", lambda: protocol.authorize_request("", "token")


def _opcode(builder_name: str) -> CommandOpcode:
    return CommandOpcode[builder_name.removesuffix("_request").upper()]


# --- methods --------------------------------------------------------------------------------


class _Capture(OrderCommandMethods):
    """The methods' side of ``CommandChannel``: what ``_call`` gets, and the request it builds."""

    def _call(self, opcode: CommandOpcode, arguments: dict[str, Any], *rest: Any) -> OrderResult:
        timeout, guid = (*rest, None)[:2]
        got = f"{opcode!r} {arguments!r} timeout={timeout!r} guid={guid!r}"
        request = outcome(
            lambda: protocol.command_request(opcode, guid or "g", **_builder_params(arguments))
        )
        raise _Called(f"{got} => {request}")


class _Called(Exception):
    pass


def _method_outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except _Called as called:
        return str(called)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "returned"


def method_sweep() -> Iterator[tuple[str, Callable[[], Any]]]:
    commands = _Capture()
    for name in METHODS:
        method = getattr(commands, name)
        base = _base(method)
        yield f"{name} base", lambda m=method, k=base: m(**k)
        for param, value in itertools.product(_keywords(method), POOL):
            kwargs = {**base, param: value}
            yield f"{name} {param}={value!r}", lambda m=method, k=kwargs: m(**k)
        for first, second in itertools.combinations(_keywords(method), 2):
            kwargs = {**base, first: BAD[first], second: BAD[second]}
            case = f"{name} {first}={BAD[first]!r} {second}={BAD[second]!r}"
            yield case, lambda m=method, k=kwargs: m(**k)
        for missing in _keywords(method):
            kwargs = {k: v for k, v in base.items() if k != missing}
            yield f"{name} without {missing}", lambda m=method, k=kwargs: m(**k)
        yield f"{name} unknown", lambda m=method, k=base: m(**k, colour="red")
        yield f"{name} positional", lambda m=method, k=base: m("x", **k)
        if "symbol" in base:
            by_code = {**base, "code": base["symbol"]}
            yield f"{name} symbol and code", lambda m=method, k=by_code: m(**k)
            by_code.pop("symbol")
            yield f"{name} code only", lambda m=method, k=by_code: m(**k)
            by_code["code"] = None
            yield f"{name} no instrument", lambda m=method, k=by_code: m(**k)
        yield f"{name} exchange None", lambda m=method, k={**base, "exchange": None}: m(**k)
        yield f"{name} guid", lambda m=method, k=base: m(**k, guid="mine", timeout=2.5)


# --- CLI ------------------------------------------------------------------------------------

_PORTFOLIO = ["--portfolio", "D39004"]
CLI_LINES: list[list[str]] = [
    ["limit", "buy", "SBER", "1", "--price", "200.50", *_PORTFOLIO],
    ["limit", "sell", "SBER", "10", "--price", "1E+2", *_PORTFOLIO, "--exchange", "SPBX"],
    ["limit", "buy", "SBER", "1", "--price", "0.1", "--time-in-force", "fillorkill", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--iceberg-fixed", "5", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--iceberg-variance", "0", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--board", "TQBR", "--comment", "hi",
     *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--allow-margin", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--comment", "x" * 101, *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "0.12345678901234567891", *_PORTFOLIO],
    ["limit", "buy", "SBER", "0", "--price", "2", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1.5", "--price", "2", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "0", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "abc", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", *_PORTFOLIO],
    ["limit", "long", "SBER", "1", "--price", "2", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--time-in-force", "gtc", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2"],
    ["limit", "buy", "SBER", "1", "--price", "2", "--portfolio", ""],
    ["limit", "buy", "", "1", "--price", "2", *_PORTFOLIO],
    ["limit", "buy", "SBER", "1", "--price", "2", "--condition", "more", *_PORTFOLIO],
    ["market", "sell", "SBER", "2", *_PORTFOLIO, "--yes"],
    ["market", "buy", "GAZP", "2", "--time-in-force", "immediateorcancel", *_PORTFOLIO],
    ["market", "buy", "GAZP", "2", "--price", "3", *_PORTFOLIO],
    ["market", "buy", "GAZP", "2", "--board", "", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "lessorequal", "--trigger-price", "240",
     *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "less", "--trigger-price", "240", "--price",
     "239.5", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", "--trigger-price", "240",
     "--stop-end", "1700000000", "--protecting-seconds", "30", "--inactive", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", "--trigger-price", "240",
     "--stop-end", "2030-01-01T10:00+03:00", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", "--trigger-price", "240",
     "--stop-end", "2030-01-01", "--price", "3", "--allow-margin", "--comment", "c", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", "--trigger-price", "240",
     "--protecting-seconds", "301", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--trigger-price", "240", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "around", "--trigger-price", "240", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", "--trigger-price", "240",
     "--time-in-force", "oneday", *_PORTFOLIO],
    ["stop", "sell", "SBER", "1", "--condition", "more", "--trigger-price", "240",
     "--stop-end", "soon", *_PORTFOLIO],
    ["cancel", "18995978560", *_PORTFOLIO],
    ["cancel", "18995978560", "--type", "stop", *_PORTFOLIO, "--exchange", "SPBX"],
    ["cancel", "18995978560", "--type", "stop-limit", *_PORTFOLIO],
    ["cancel", "18995978560", "--type", "market", *_PORTFOLIO],
    ["cancel", "18995978560", "--type", "limit", *_PORTFOLIO],
    ["cancel", "18995978560", "--type", "iceberg", *_PORTFOLIO],
    ["cancel", " ", "--type", "limit", *_PORTFOLIO],
    ["cancel", "18995978560", "--type", "limit", "--portfolio", " "],
    ["cancel", "--type", "limit", *_PORTFOLIO],
]  # fmt: skip
CLI_OPTIONS = ["--json", "--timeout", "3", "-y"]


def _cli_outcome(argv: list[str]) -> str:
    """What ``alor-sync order ...`` would send (or how it refuses), without connecting."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = build_parser().parse_args(["order", *argv])
    except SystemExit as exit_:
        return f"exit {exit_.code}: {err.getvalue().strip().splitlines()[-1]}"
    if args.order_kind == "cancel" and args.type is None:
        args.type = "limit"  # as cli.order.run does before the look-up
    namespace = {k: v for k, v in sorted(vars(args).items()) if k != "handler"}
    method, params = cli_order._order_params(args)
    preview = outcome(lambda: cli_order._wire_preview(method, params))
    described = cli_order._describe(args, method)
    # The method gets them as keyword arguments: their order, and a None (its default), say nothing.
    given = {k: v for k, v in sorted(params.items()) if v is not None}
    return f"{namespace!r}\n{method} {given!r}\n{preview}\n{described}"


def cli_calls() -> Iterator[tuple[str, Callable[[], Any]]]:
    for argv in CLI_LINES:
        yield f"cli {' '.join(argv)}", lambda a=argv: _cli_outcome(a)
        with_options = [*argv, *CLI_OPTIONS]
        yield f"cli {' '.join(with_options)}", lambda a=with_options: _cli_outcome(a)


def _help(kind: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args(["order", kind, "--help"])
    return out.getvalue()


# --- the record -----------------------------------------------------------------------------


def _public_shape(function: Callable[..., Any]) -> str:
    return "\n".join(
        (
            f"{function.__name__} {function.__qualname__}",
            str(inspect.signature(function)),
            str(function.__doc__),
        )
    )


def shapes() -> dict[str, str]:
    found = {name: _public_shape(_builder(name)) for name in BUILDERS}
    found |= {name: _public_shape(getattr(OrderCommandMethods, name)) for name in METHODS}
    found["command_request"] = _public_shape(protocol.command_request)
    found["authorize_request"] = _public_shape(protocol.authorize_request)
    return found


FULL = {"builders": builder_calls, "command_request": command_request_calls, "cli": cli_calls}
DIGESTED = {"builder sweep": builder_sweep, "builder pairs": builder_pairs, "methods": method_sweep}


def record() -> dict[str, Any]:
    document: dict[str, Any] = {"shapes": shapes()}
    document["help"] = {kind: _help(kind) for kind in ("limit", "market", "stop", "cancel")}
    for table, cases in FULL.items():
        document[table] = {case: outcome(call) for case, call in cases()}
    for table in DIGESTED:
        document[table] = digests(table)
    return document


def digests(table: str) -> dict[str, str]:
    """A digest per group of a sweep (a function and the first parameter its cases change)."""
    run = _method_outcome if table == "methods" else outcome
    groups: dict[str, list[str]] = {}
    for case, call in DIGESTED[table]():
        group = " ".join(case.split(" ", 2)[:2]).split("=", 1)[0]
        groups.setdefault(group, []).append(f"{case}\n{run(call)}")
    return {group: _digest("\n".join(lines)) for group, lines in groups.items()}


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(autouse=True)
def _wide_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


def _compare(recorded: dict[str, str], now: dict[str, str]) -> None:
    assert sorted(now) == sorted(recorded)
    changed = [case for case in recorded if now[case] != recorded[case]]
    assert not changed, f"{len(changed)} changed, e.g. {changed[:5]}"


def test_public_builders_and_methods_keep_their_signatures_and_docs(
    golden: dict[str, Any],
) -> None:
    now = shapes()
    for name, shape in golden["shapes"].items():
        assert now[name] == shape


def test_cli_help_is_as_recorded(golden: dict[str, Any]) -> None:
    for kind, text in golden["help"].items():
        assert _help(kind) == text


@pytest.mark.parametrize("table", sorted(FULL))
def test_hand_picked_calls_send_and_refuse_as_recorded(golden: dict[str, Any], table: str) -> None:
    recorded: dict[str, str] = golden[table]
    now = {case: outcome(call) for case, call in FULL[table]()}
    for case, text in recorded.items():
        assert now[case] == text, case
    _compare(recorded, now)


@pytest.mark.parametrize("table", sorted(DIGESTED))
def test_swept_calls_send_and_refuse_as_recorded(golden: dict[str, Any], table: str) -> None:
    _compare(golden[table], digests(table))


def test_the_record_covers_every_command() -> None:
    assert {_opcode(name) for name in BUILDERS} == {
        op for op in CommandOpcode if op not in (CommandOpcode.AUTHORIZE, CommandOpcode.PING)
    }


def main() -> None:
    import os

    os.environ["COLUMNS"] = "100"
    GOLDEN.parent.mkdir(exist_ok=True)
    text = json.dumps(record(), ensure_ascii=False, indent=0, sort_keys=True)
    GOLDEN.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
