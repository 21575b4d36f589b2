"""``alor-sync order limit|market|stop|cancel``: one order command, previewed and confirmed.

Rules of this module:

* Check, show, ask, then connect: the command is built and validated by
  :mod:`alor_sync.protocol` first (an impossible order is a usage error), shown on stderr, and
  sent only after an explicit "y" (or ``--yes``). Declining sends nothing and exits with 1.
* Never re-sent: a command without a reply is reported as "outcome unknown" with its request
  guid, and the user decides (the library's rule, see :mod:`alor_sync.commands.channel`).
* stdout gets only the result (the order number, or ``--json``), so scripts can read it
  (``n=$(alor-sync order ...)``); the human sentence goes to stderr.
* The arguments are the command specs' parameters (:mod:`alor_sync.protocol.command_specs`):
  their types, choices, whether they are required and their help lines come from there; this
  module spells them (``_SPELLINGS``) and picks which each kind offers.
* ``order cancel`` without ``--type`` first looks the order up in the portfolio's orders and
  stop orders (read-only, over ``/ws``) to send the right command; an order it cannot find is a
  one-line error that names ``--type``.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import orjson

from alor_sync import protocol
from alor_sync.auth import RefreshTokenProvider
from alor_sync.cli.connect import Target, open_client, open_target
from alor_sync.cli.console import Console
from alor_sync.cli.parsing import CliError, positive_float, unix_time, whole_number
from alor_sync.commands.channel import CommandChannel
from alor_sync.commands.results import OrderResult
from alor_sync.errors import (
    AlorError,
    APIError,
    CommandTimeoutError,
    NotFoundError,
    OutcomeUnknownError,
)
from alor_sync.models import Order, StopOrder
from alor_sync.protocol.command_specs import COMMAND_SPECS, CommandParam, CommandSpec
from alor_sync.wire import CommandOpcode

__all__ = ["add_parser", "run"]

_PASS = object()  # a flag's value goes to its parameter as read

EPILOG = """\
examples:
  alor-sync order limit buy SBER 1 --price 250.50 --portfolio D39004
  alor-sync order market sell SBER 2 --portfolio D39004 --yes
  alor-sync order stop sell SBER 1 --condition lessorequal --trigger-price 240 --portfolio D39004
  alor-sync order stop sell SBER 1 --condition less --trigger-price 240 --price 239.5 \\
      --portfolio D39004                      # a stop-limit order
  alor-sync order cancel 18995978560 --portfolio D39004      # finds the order's type itself
  alor-sync order cancel 347498 --type stop --portfolio D39004
  alor-sync order limit buy SBER 1 --price 250 --portfolio D39004 --emulator

Every order is shown and needs a "y" before it is sent (--yes skips the question). Quantities
are lots. Only the order number is printed on stdout (n=$(alor-sync order ... -y) works);
everything else goes to stderr. A command whose reply never came is NOT sent
again: check your orders (alor-sync stream orders) before repeating it.
"""

_CANCEL_COMMANDS = {
    "limit": "delete_limit",
    "market": "delete_market",
    "stop": "delete_stop",
    "stop-limit": "delete_stop_limit",
}
# channel method -> the command it sends
_OPCODES = {spec.name: spec.opcode for spec in COMMAND_SPECS.values()}
# order kind -> the command it sends (a stop with --price sends create:stopLimit)
_KIND_COMMANDS = {
    "limit": CommandOpcode.CREATE_LIMIT,
    "market": CommandOpcode.CREATE_MARKET,
    "stop": CommandOpcode.CREATE_STOP,
}


@attrs.frozen
class _Flag:
    """How the command line spells a spec parameter where ``--<name-with-dashes>`` and the
    spec's doc line are not it; its type, choices and whether it is required are the spec's."""

    flag: str
    dest: str
    metavar: str | None = None
    help: str | None = None  # in place of the spec's doc line
    sets: object = _PASS  # a switch that sets the parameter to this value


_SPELLINGS = {
    "side": _Flag("side", "side"),
    "symbol": _Flag("symbol", "symbol", "SYMBOL", "e.g. SBER"),
    "quantity": _Flag("quantity", "quantity", "QUANTITY"),
    "order_id": _Flag("order_id", "order_id", "ORDER_ID", "the order number"),
    "exchange": _Flag("--exchange", "exchange", help="MOEX (default) or SPBX"),
    "instrument_group": _Flag("--board", "board"),
    "condition": _Flag(
        "--condition",
        "condition",
        help="trigger when the last price is more/less than --trigger-price",
    ),
    "time_in_force": _Flag("--time-in-force", "time_in_force", help="default: the server's"),
    "iceberg_fixed": _Flag("--iceberg-fixed", "iceberg_fixed", "LOTS"),
    "iceberg_variance": _Flag("--iceberg-variance", "iceberg_variance", "PERCENT"),
    "stop_end_time": _Flag(
        "--stop-end", "stop_end", "WHEN", "expiry: unix seconds or ISO 8601 (default: none)"
    ),
    "protecting_seconds": _Flag("--protecting-seconds", "protecting_seconds", "S"),
    "activate": _Flag("--inactive", "inactive", help="create it inactive", sets=False),
}
_POSITIONAL = ("side", "symbol", "quantity")  # of a new order; a cancel's is its order_id
_COMMON = ("portfolio", "exchange")
_SHARED = ("instrument_group", "comment", "allow_margin")  # every new order's options
_NOT_OFFERED = ("check_duplicates",)  # the CLI never re-sends, so the server's check stays on
_OPTIONAL_LIMIT = "limit price: makes it a stop-limit order"  # --price of a stop


def _spelling(param: CommandParam) -> _Flag:
    return _SPELLINGS.get(param.name) or _Flag("--" + param.name.replace("_", "-"), param.name)


def _price(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a price like 250.50, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a price > 0, got {text!r}")
    return value


_READERS: dict[str, dict[str, Any]] = {
    "int": {"type": whole_number},
    "int | None": {"type": whole_number},
    "Price": {"type": _price},
    "UnixTime | None": {"type": unix_time},
    "bool | None": {"action": "store_true", "default": None},
}


def _add(
    parser: argparse.ArgumentParser, param: CommandParam, *, optional: bool = False, note: str = ""
) -> None:
    """The argument of ``param``, read by the type the spec declares (``optional``: even if
    the command requires it; ``note``: the help line, in place of the spelling's or the doc's)."""
    flag = _spelling(param)
    reader = dict(_READERS.get(param.annotation, {}))
    if param.choices:
        reader["choices"] = param.choices
    if flag.sets is not _PASS:
        reader = {"action": "store_true"}
    extra: dict[str, Any] = {"help": note or flag.help or param.doc}
    if flag.metavar is not None:
        extra["metavar"] = flag.metavar
    if flag.flag.startswith("--"):
        if param.has_method_default and param.facade_default is not None:
            extra["default"] = param.facade_default
        elif param.required and not optional:
            extra["required"] = True
        extra["dest"] = flag.dest
    parser.add_argument(flag.flag, **reader, **extra)


def _common(parser: argparse.ArgumentParser, spec: CommandSpec) -> None:
    for name in _COMMON:
        _add(parser, _param(spec, name))
    parser.add_argument("-y", "--yes", action="store_true", help="send without asking")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the reply (default 10)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _param(spec: CommandSpec, name: str) -> CommandParam:
    return next(p for p in spec.params if p.name == name)


def _own(spec: CommandSpec) -> list[CommandParam]:
    """The options of a kind beyond what every new order takes, in spec order."""
    taken = (*_POSITIONAL, *_COMMON, *_SHARED, *_NOT_OFFERED, "order_id")
    return [p for p in spec.params if p.name not in taken]


def _add_kind(kinds: Any, parents: list[argparse.ArgumentParser], kind: str, summary: str) -> None:
    """``order <kind>``: the positional arguments, the common options, then the kind's own."""
    spec = COMMAND_SPECS[_KIND_COMMANDS[kind]]
    parser = kinds.add_parser(kind, parents=parents, help=summary, epilog=EPILOG)
    for name in _POSITIONAL:
        _add(parser, _param(spec, name))
    _common(parser, spec)
    for name in _SHARED:
        _add(parser, _param(spec, name))
    own = _own(spec)
    for param in own[: len(spec.given_first)]:  # the kind's terms
        _add(parser, param)
    if kind == "stop":  # --price makes it a stop-limit order
        price = _param(COMMAND_SPECS[CommandOpcode.CREATE_STOP_LIMIT], "price")
        _add(parser, price, optional=True, note=_OPTIONAL_LIMIT)
    for param in own[len(spec.given_first) :]:
        _add(parser, param)


def _add_cancel(kinds: Any, parents: list[argparse.ArgumentParser]) -> None:
    cancel = kinds.add_parser("cancel", parents=parents, help="cancel an order", epilog=EPILOG)
    spec = COMMAND_SPECS[CommandOpcode.DELETE_LIMIT]
    _add(cancel, _param(spec, "order_id"))
    _common(cancel, spec)
    cancel.add_argument(
        "--type",
        choices=sorted(_CANCEL_COMMANDS),
        default=None,
        help="what kind of order it is (default: looked up in the portfolio's orders)",
    )


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    order = subparsers.add_parser(
        "order",
        help="place or cancel an order (asks for confirmation)",
        description="Place or cancel one order over the /cws command channel.",
        epilog=EPILOG,
    )
    kinds = order.add_subparsers(dest="order_kind", metavar="KIND", required=True)
    _add_kind(kinds, parents, "limit", "a limit order")
    _add_kind(kinds, parents, "market", "a market order")
    _add_kind(kinds, parents, "stop", "a stop (or, with --price, stop-limit) order")
    _add_cancel(kinds, parents)
    order.set_defaults(handler=run)


def _value(args: argparse.Namespace, param: CommandParam) -> Any:
    flag = _spelling(param)
    value = getattr(args, flag.dest, None)  # None: not offered (a stop-limit's time in force)
    if flag.sets is not _PASS:
        return flag.sets if value else None
    return value


def _order_params(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The channel method and its keyword arguments (snake_case) for ``args``."""
    if args.order_kind == "cancel":
        spec = COMMAND_SPECS[_OPCODES[_CANCEL_COMMANDS[args.type]]]
    else:
        spec = COMMAND_SPECS[_KIND_COMMANDS[args.order_kind]]
        if args.order_kind == "stop" and args.price is not None:
            spec = COMMAND_SPECS[CommandOpcode.CREATE_STOP_LIMIT]
    offered = [p for p in spec.params if p.name not in _NOT_OFFERED]
    params = {p.facade_name: _value(args, p) for p in offered}
    return spec.name, {name: value for name, value in params.items() if value is not None}


def _wire_preview(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The command as it will be sent (without its guid); raises InvalidArgumentError."""
    spec = COMMAND_SPECS[_OPCODES[method]]
    builder_names = {p.facade_name: p.name for p in spec.params}
    builder_params = {builder_names[k]: v for k, v in params.items() if v is not None}
    request = protocol.command_request(spec.opcode, "preview", **builder_params)
    request.pop("guid", None)
    return request


def _describe(args: argparse.Namespace, method: str) -> str:
    if args.order_kind == "cancel":
        return f"cancel {args.type} order {args.order_id} of portfolio {args.portfolio}"
    what = f"{args.side.upper()} {args.quantity} lot(s) of {args.symbol} on {args.exchange}"
    if method == "create_limit":
        how = f"limit {args.price}"
    elif method == "create_market":
        how = "at the market"
    else:
        limit = f"limit {args.price}" if args.price is not None else "at the market"
        how = f"when last price {args.condition} {args.trigger_price}, {limit}"
    return f"{what}, {how}, portfolio {args.portfolio}"


def _confirmed(console: Console) -> bool:
    console.ask("Send this order? [y/N] ")
    try:
        answer = input()
    except EOFError:
        console.tell("(no answer: stdin is closed; pass --yes to send without asking)")
        return False
    return answer.strip().lower() in ("y", "yes")


def _order_kind(order: Order | StopOrder) -> str:
    """The ``--type`` spelling of an order's type: limit, market, stop or stop-limit."""
    kind = str(getattr(order.type, "value", order.type) or "").lower()
    return "stop-limit" if kind == "stoplimit" else kind


def _find_kind(target: Target, console: Console, args: argparse.Namespace) -> str:
    """Look ``args.order_id`` up in the portfolio's orders, then its stop orders."""
    console.progress(f"looking up order {args.order_id} in portfolio {args.portfolio}")
    hint = f"pass --type {'|'.join(_CANCEL_COMMANDS)}"
    where = {"exchange": args.exchange, "timeout": args.timeout}
    try:
        with open_client(target, console) as client:
            for order in client.get_orders(args.portfolio, **where):
                if order.id == args.order_id:
                    return _order_kind(order)
            for stop in client.get_stop_orders(args.portfolio, **where):
                if stop.id == args.order_id:
                    return _order_kind(stop)
    except AlorError as exc:
        raise CliError(f"cannot look up order {args.order_id} ({exc}); {hint}") from None
    raise CliError(
        f"portfolio {args.portfolio} has no order {args.order_id} on {args.exchange} in this "
        f"session's orders or stop orders; if it exists, {hint}"
    )


def _send(
    target: Target,
    console: Console,
    method: str,
    params: dict[str, Any],
    timeout: float,
    not_found_hint: str = "",
) -> OrderResult:
    """Send the command over ``/cws`` and wait for its reply; failures become one-line errors.

    Only the command channel is opened (no ``/ws`` data connection is needed for an order).
    """
    tokens = RefreshTokenProvider(target.refresh_token, target.endpoints.oauth_url)
    console.add_secret(tokens.get_token())  # fails fast (TokenRefreshError) on a bad token
    console.progress(f"sending over {target.endpoints.cws_url}")
    with CommandChannel(target.endpoints.cws_url, tokens) as channel:
        try:
            result: OrderResult = getattr(channel, method)(**params, timeout=timeout)
        except OutcomeUnknownError as exc:
            raise CliError(
                f"no reply within {timeout:g} s, the outcome is unknown ({exc}); "
                "check your orders before sending it again"
            ) from None
        except CommandTimeoutError as exc:
            raise CliError(f"not sent: {exc}") from None
        except NotFoundError as exc:
            raise CliError(f"the server refused it: {exc}{not_found_hint}") from None
        except APIError as exc:
            raise CliError(f"the server refused it: {exc}") from None
    return result


def run(args: argparse.Namespace, console: Console) -> int:
    look_up = args.order_kind == "cancel" and args.type is None
    if look_up:
        args.type = "limit"  # provisional: the checks below do not depend on the type
    method, params = _order_params(args)
    preview = _wire_preview(method, params)  # usage error before anything else happens
    with open_target(args, console) as target:
        hint = ""
        if look_up:
            args.type = _find_kind(target, console, args)
            method, params = _order_params(args)
            preview = _wire_preview(method, params)
        elif args.order_kind == "cancel":
            hint = f" (if it is not a {args.type} order, leave out --type to have it looked up)"
        console.tell(f"about to send to {target.endpoints.cws_url}:")
        console.tell(f"  {_describe(args, method)}")
        console.tell(f"  {protocol.dumps(preview).decode()}")
        if not args.yes and not _confirmed(console):
            raise CliError("not sent: the order was not confirmed")
        result = _send(target, console, method, params, args.timeout, hint)
    if args.json:
        reply = {
            "order_number": result.order_number,
            "request_guid": result.request_guid,
            "message": result.message,
        }
        console.write_out(orjson.dumps(reply).decode())
    else:
        console.tell(f"order {result.order_number} accepted: {result.message}")
        console.write_out(str(result.order_number))
    return 0
