"""One spec per ``/cws`` order command: its parameters, where each goes in the request, and the
one generic builder that lays a command out. The request builders, the order methods of the
command channel and the CLI's ``order`` options are derived from here.

Rules of this module:

* A parameter is declared once (python name, wire path, types, default, check, doc line); a
  command lists which it takes, in the builder's signature order. Kinds share parameter sets:
  every new order takes the order core, a limit adds ``price``, a stop ``condition`` and
  ``trigger_price``, a stop-limit both; each command picks its options from one list.
* The request is laid out in one order for every command (:data:`REQUEST_ORDER`; nested paths
  such as ``instrument.symbol`` fill one object), and checked in that order, after the terms of
  the order's kind, which must be given before anything else is looked at (a stop's, then a
  limit's price). Optional parameters left at ``None`` stay out; required ones are always checked.
* ``annotation`` / ``method_annotation`` are source text: the generator
  (:mod:`alor_sync.commands.generate`) writes them into the typed builders and methods.
* No I/O, no state: Python values in, a plain dict out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from alor_sync.errors import InvalidArgumentError
from alor_sync.protocol._checks import (
    CONDITIONS,
    PROTECTING_SECONDS,
    SIDES,
    TIMES_IN_FORCE,
    JsonDict,
    check_choice,
    check_comment,
    check_flag,
    check_guid,
    check_integer,
    check_order_id,
    check_price,
    check_text,
    check_unix_seconds,
)
from alor_sync.wire import CommandOpcode

__all__ = [
    "COMMAND_SPECS",
    "DEFAULT_EXCHANGE",
    "REQUEST_ORDER",
    "CommandParam",
    "CommandSpec",
    "build_command",
]

DEFAULT_EXCHANGE = "MOEX"  # the methods' default, as in every subscription
_SAME = object()  # a method's default or type: the builder's

Check = Callable[[str, Any], Any]  # (python name, value) -> the wire form, or InvalidArgumentError


@attrs.frozen
class CommandParam:
    """One parameter of the order commands (one object serves every command that takes it)."""

    name: str  # the builders' (snake_case) name; refusals name it
    wire: str  # JSON path in the request, dotted where nested: ``instrument.symbol``
    annotation: str  # the builders' type (source text)
    check: Check
    doc: str
    required: bool = False  # no default; checked even when None (optional ones stay out)
    method_name: str = ""  # the methods' name where it is not ``name``
    method_annotation: str = ""  # the methods' type where it is not ``annotation``
    method_default: object = _SAME  # the methods' default where it is not the builders'
    choices: tuple[str, ...] = ()  # an enum's wire spellings (its check accepts any casing)

    @property
    def facade_name(self) -> str:
        return self.method_name or self.name

    @property
    def facade_annotation(self) -> str:
        return self.method_annotation or self.annotation

    @property
    def has_method_default(self) -> bool:
        return self.method_default is not _SAME or not self.required

    @property
    def facade_default(self) -> object:
        """The methods' default (only where :attr:`has_method_default`)."""
        return None if self.method_default is _SAME else self.method_default


@attrs.frozen
class CommandSpec:
    """Everything about one order command: its parameters and its two docstrings."""

    opcode: CommandOpcode
    params: tuple[CommandParam, ...]  # the builder's signature order
    given_first: tuple[CommandParam, ...]  # the kind's terms: refused as None before any check
    layout: tuple[CommandParam, ...]  # :data:`REQUEST_ORDER`: checked and written in this order
    doc: str  # the method's docstring
    request_doc: str  # the builder's docstring

    @property
    def name(self) -> str:
        """``create_stop_limit``: the method; ``<name>_request``: the builder."""
        return self.opcode.name.lower()


def _text(name: str, value: Any) -> str:
    return check_text(name, value)


def _choice(allowed: tuple[str, ...]) -> Check:
    return lambda name, value: check_choice(name, value, allowed)


def _bounded(low: int, high: int | None = None) -> Check:
    return lambda name, value: check_integer(name, value, low, high)


def _order_id(name: str, value: Any) -> str:
    return check_order_id(value)


def _comment(name: str, value: Any) -> str:
    return check_comment(value)


_ENUM = "EnumLike"
_PRICE = "Price"


def _one_of(name: str, wire: str, choices: tuple[str, ...], doc: str, **kw: Any) -> CommandParam:
    """An enum parameter: one of ``choices`` in any casing, or an ``enum.Enum`` member."""
    annotation = _ENUM if kw.get("required") else f"{_ENUM} | None"
    return CommandParam(name, wire, annotation, _choice(choices), doc, choices=choices, **kw)


ORDER_ID = CommandParam(
    "order_id", "orderId", "str | int", _order_id, "the order's number", required=True
)
SIDE = _one_of("side", "side", SIDES, "buy or sell", required=True, method_annotation="Side | str")
QUANTITY = CommandParam("quantity", "quantity", "int", _bounded(1), "lots", required=True)
PRICE = CommandParam("price", "price", _PRICE, check_price, "limit price", required=True)
CONDITION = _one_of(
    "condition",
    "condition",
    CONDITIONS,
    "trigger when the last price is more/less than the trigger price",
    required=True,
    method_annotation="Condition | str",
)
TRIGGER_PRICE = CommandParam(
    "trigger_price", "triggerPrice", _PRICE, check_price, "the stop's activation price", True
)
SYMBOL = CommandParam(
    "symbol",
    "instrument.symbol",
    "str",
    _text,
    "the instrument, e.g. SBER",
    required=True,
    method_annotation="str | None",
    method_default=None,
)
EXCHANGE = CommandParam(
    "exchange",
    "instrument.exchange",
    "str",
    _text,
    "MOEX or SPBX",
    required=True,
    method_default=DEFAULT_EXCHANGE,
)
ORDER_EXCHANGE = attrs.evolve(EXCHANGE, wire="exchange")  # the cancels name no instrument
PORTFOLIO = CommandParam(
    "portfolio", "user.portfolio", "str", _text, "portfolio id, e.g. D39004", True
)
GROUP = CommandParam(
    "instrument_group",
    "instrument.instrumentGroup",
    "str | None",
    _text,
    "instrument group, e.g. TQBR",
)
STOP_END_TIME = CommandParam(
    "stop_end_time",
    "stopEndUnixTime",
    "UnixTime | None",
    check_unix_seconds,
    "expiry: unix seconds or an aware datetime",
    method_name="stop_end_unix_time",
)
PROTECTION = CommandParam(
    "protecting_seconds",
    "protectingSeconds",
    "int | None",
    _bounded(*PROTECTING_SECONDS),
    "seconds the price must meet the condition before it triggers (1-300)",
)
COMMENT = CommandParam("comment", "comment", "str | None", _comment, "your note on the order")
TIME_IN_FORCE = _one_of(
    "time_in_force",
    "timeInForce",
    TIMES_IN_FORCE,
    "how long the order lives (default: the server's)",
    method_annotation="TimeInForce | str | None",
)
ALLOW_MARGIN = CommandParam(
    "allow_margin",
    "allowMargin",
    "bool | None",
    check_flag,
    "agree to a possibly uncovered position",
)
ICEBERG_FIXED = CommandParam(
    "iceberg_fixed", "icebergFixed", "int | None", _bounded(1), "visible lots of an iceberg"
)
ICEBERG_VARIANCE = CommandParam(
    "iceberg_variance",
    "icebergVariance",
    "int | None",
    _bounded(1),
    "random add-on to the visible lots, percent (derivatives only)",
)
ACTIVATE = CommandParam(
    "activate", "activate", "bool | None", check_flag, "False creates it inactive"
)
CHECK_DUPLICATES = CommandParam(
    "check_duplicates",
    "checkDuplicates",
    "bool | None",
    check_flag,
    "False skips the server's check of repeated guids",
)

REQUEST_ORDER: tuple[str, ...] = tuple(
    p.name
    for p in (
        ORDER_ID, SIDE, QUANTITY, SYMBOL, EXCHANGE, GROUP, PORTFOLIO, PRICE, CONDITION,
        TRIGGER_PRICE, STOP_END_TIME, PROTECTION, COMMENT, TIME_IN_FORCE,
        ALLOW_MARGIN, ICEBERG_FIXED, ICEBERG_VARIANCE, ACTIVATE, CHECK_DUPLICATES,
    )
)  # fmt: skip
"""The order of the fields in every request (``opcode`` and ``guid`` come first)."""

_GIVEN_FIRST = (CONDITION, TRIGGER_PRICE, PRICE)  # a stop's terms, then a limit's

# The options each kind takes (the server's reference lists them per command).
_MARKET_OPTIONS = (COMMENT, TIME_IN_FORCE, ALLOW_MARGIN, CHECK_DUPLICATES)
_LIMIT_OPTIONS = (*_MARKET_OPTIONS, ICEBERG_FIXED, ICEBERG_VARIANCE)
_STOP_OPTIONS = (STOP_END_TIME, PROTECTION, COMMENT, ALLOW_MARGIN, ACTIVATE)
_STOP_LIMIT_OPTIONS = (*_STOP_OPTIONS, *_LIMIT_OPTIONS)
# update:limit has no timeInForce/icebergVariance in the reference
_UPDATE_LIMIT_OPTIONS = (COMMENT, ALLOW_MARGIN, ICEBERG_FIXED, CHECK_DUPLICATES)
_STOP_TERMS = (CONDITION, TRIGGER_PRICE)


def _ordered(params: tuple[CommandParam, ...]) -> tuple[CommandParam, ...]:
    """``params`` once each, in :data:`REQUEST_ORDER`."""
    unique = {p.name: p for p in params}
    return tuple(sorted(unique.values(), key=lambda p: REQUEST_ORDER.index(p.name)))


def _spec(
    opcode: CommandOpcode,
    terms: tuple[CommandParam, ...],
    options: tuple[CommandParam, ...],
    docs: tuple[str, str],
) -> CommandSpec:
    """A new order (``create:*``) or its replacement (``update:*``, which names the order)."""
    head = (ORDER_ID,) if opcode.value.startswith("update") else ()
    place = (SYMBOL, EXCHANGE, PORTFOLIO, GROUP)
    options = _ordered((*options, CHECK_DUPLICATES))
    params = (*head, SIDE, QUANTITY, *_ordered(terms), *place, *options)
    given = tuple(p for p in _GIVEN_FIRST if p in terms)
    return CommandSpec(opcode, params, given, _ordered(params), *docs)


def _cancel(opcode: CommandOpcode, docs: tuple[str, str]) -> CommandSpec:
    params = (ORDER_ID, ORDER_EXCHANGE, PORTFOLIO, CHECK_DUPLICATES)
    return CommandSpec(opcode, params, (), _ordered(params), *docs)


_ALL = (
    _spec(CommandOpcode.CREATE_MARKET, (), _MARKET_OPTIONS, (
        "Buy or sell ``quantity`` lots at the market (``create:market``).",
        "``create:market``: buy or sell ``quantity`` lots at the market.",
    )),
    _spec(CommandOpcode.CREATE_LIMIT, (PRICE,), _LIMIT_OPTIONS, (
        "A limit order at ``price`` (``create:limit``); ``iceberg_*`` make it an iceberg.",
        "``create:limit``: a limit order at ``price`` (``iceberg_*`` make it an iceberg).",
    )),
    _spec(CommandOpcode.CREATE_STOP, _STOP_TERMS, _STOP_OPTIONS, (
        "A market order placed when the last price meets ``condition`` against\n"
        "``trigger_price`` (``create:stop``). ``stop_end_unix_time``: expiry, unix seconds or\n"
        "an aware datetime; ``activate=False`` creates it inactive.",
        "``create:stop``: a market order sent when the price meets ``condition`` vs the "
        "trigger.\n\n``stop_end_time`` (wire ``stopEndUnixTime``): expiry, unix seconds or an "
        "aware datetime.\n",
    )),
    _spec(CommandOpcode.CREATE_STOP_LIMIT, (PRICE, *_STOP_TERMS), _STOP_LIMIT_OPTIONS, (
        "A limit order at ``price`` placed when the trigger condition holds\n"
        "(``create:stopLimit``).",
        "``create:stopLimit``: a limit order at ``price`` sent when the trigger condition holds.",
    )),
    _spec(CommandOpcode.UPDATE_MARKET, (), _MARKET_OPTIONS, (
        "Replace market order ``order_id`` (``update:market``); the result has the new number.",
        "``update:market``: replace order ``order_id``; the reply carries the new order number.",
    )),
    _spec(CommandOpcode.UPDATE_LIMIT, (PRICE,), _UPDATE_LIMIT_OPTIONS, (
        "Replace limit order ``order_id`` (``update:limit``: the old order is cancelled and a\n"
        "new one placed; the result has the new number). The reference gives this command no\n"
        "``time_in_force`` or ``iceberg_variance``.",
        "``update:limit`` (the reference takes no ``timeInForce``/``icebergVariance`` here).",
    )),
    _spec(CommandOpcode.UPDATE_STOP, _STOP_TERMS, _STOP_OPTIONS, (
        "Replace stop order ``order_id`` (``update:stop``); the result has the new number.",
        "``update:stop``: replace stop order ``order_id``.",
    )),
    _spec(CommandOpcode.UPDATE_STOP_LIMIT, (PRICE, *_STOP_TERMS), _STOP_LIMIT_OPTIONS, (
        "Replace stop-limit order ``order_id`` (``update:stopLimit``).",
        "``update:stopLimit``: replace stop-limit order ``order_id``.",
    )),
    _cancel(CommandOpcode.DELETE_MARKET, (
        "Cancel market order ``order_id`` (``delete:market``).",
        "``delete:market``: cancel order ``order_id``.",
    )),
    _cancel(CommandOpcode.DELETE_LIMIT, (
        "Cancel limit order ``order_id`` (``delete:limit``).",
        "``delete:limit``: cancel limit order ``order_id``.",
    )),
    _cancel(CommandOpcode.DELETE_STOP, (
        "Cancel stop order ``order_id`` (``delete:stop``).",
        "``delete:stop``: cancel stop order ``order_id``.",
    )),
    _cancel(CommandOpcode.DELETE_STOP_LIMIT, (
        "Cancel stop-limit order ``order_id`` (``delete:stopLimit``).",
        "``delete:stopLimit``: cancel stop-limit order ``order_id``.",
    )),
)  # fmt: skip

COMMAND_SPECS: dict[CommandOpcode, CommandSpec] = {spec.opcode: spec for spec in _ALL}
"""The twelve order commands, in the order of :data:`~alor_sync.wire.COMMAND_OPCODES`."""


def build_command(opcode: CommandOpcode, values: Mapping[str, Any]) -> JsonDict:
    """The request of ``opcode`` from ``guid`` and every parameter of its builder (``None``:
    left out), each checked; the typed builders hand their ``locals()`` here."""
    spec = COMMAND_SPECS[opcode]
    for term in spec.given_first:
        if values[term.name] is None:
            raise InvalidArgumentError(f"{term.name} is required")
    request: JsonDict = {"opcode": opcode.value, "guid": check_guid(values["guid"])}
    for param in spec.layout:
        value = values[param.name]
        if value is not None or param.required:
            _put(request, param.wire, param.check(param.name, value))
    return request


def _put(request: JsonDict, path: str, value: Any) -> None:
    *parents, field = path.split(".")
    target = request
    for parent in parents:
        target = target.setdefault(parent, {})
    target[field] = value
