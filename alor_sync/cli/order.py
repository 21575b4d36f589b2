"""``alor-sync order limit|market|stop|cancel``: one order command, previewed and confirmed.

Rules of this module:

* Check, show, ask, then connect: the command is built and validated by
  :mod:`alor_sync.protocol` first (an impossible order is a usage error), shown on stderr, and
  sent only after an explicit "y" (or ``--yes``). Declining sends nothing and exits with 1.
* Never re-sent: a command without a reply is reported as "outcome unknown" with its request
  guid, and the user decides (the library's rule, see :mod:`alor_sync.commands.channel`).
* stdout gets only the result (the order number, or ``--json``), so scripts can read it
  (``n=$(alor-sync order ...)``); the human sentence goes to stderr.
* ``order cancel`` without ``--type`` first looks the order up in the portfolio's orders and
  stop orders (read-only, over ``/ws``) to send the right command; an order it cannot find is a
  one-line error that names ``--type``.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import Any

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
from alor_sync.wire import CommandOpcode

__all__ = ["add_parser", "run"]

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

# channel method -> the command it sends
_OPCODES = {
    "create_limit": CommandOpcode.CREATE_LIMIT,
    "create_market": CommandOpcode.CREATE_MARKET,
    "create_stop": CommandOpcode.CREATE_STOP,
    "create_stop_limit": CommandOpcode.CREATE_STOP_LIMIT,
    "delete_limit": CommandOpcode.DELETE_LIMIT,
    "delete_market": CommandOpcode.DELETE_MARKET,
    "delete_stop": CommandOpcode.DELETE_STOP,
    "delete_stop_limit": CommandOpcode.DELETE_STOP_LIMIT,
}
_CANCEL_COMMANDS = {
    "limit": "delete_limit",
    "market": "delete_market",
    "stop": "delete_stop",
    "stop-limit": "delete_stop_limit",
}


def _price(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a price like 250.50, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a price > 0, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--portfolio", required=True, help="portfolio id, e.g. D39004")
    parser.add_argument("--exchange", default="MOEX", help="MOEX (default) or SPBX")
    parser.add_argument("-y", "--yes", action="store_true", help="send without asking")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the reply (default 10)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _new_order(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("side", choices=("buy", "sell"), help="buy or sell")
    parser.add_argument("symbol", metavar="SYMBOL", help="e.g. SBER")
    parser.add_argument("quantity", type=whole_number, metavar="QUANTITY", help="lots")
    _common(parser)
    parser.add_argument("--board", help="instrument group, e.g. TQBR")
    parser.add_argument("--comment", help="your note on the order")
    parser.add_argument(
        "--allow-margin",
        action="store_true",
        default=None,
        help="agree to a possibly uncovered position",
    )


_TIMES_IN_FORCE = (
    "oneday",
    "immediateorcancel",
    "fillorkill",
    "attheclose",
    "goodtillcancelled",
    "bookorcancel",
)


def _add_limit(kinds: Any, parents: list[argparse.ArgumentParser]) -> None:
    limit = kinds.add_parser("limit", parents=parents, help="a limit order", epilog=EPILOG)
    _new_order(limit)
    limit.add_argument("--price", type=_price, required=True, help="limit price")
    limit.add_argument("--time-in-force", choices=_TIMES_IN_FORCE, help="default: the server's")
    limit.add_argument("--iceberg-fixed", type=whole_number, metavar="LOTS")
    limit.add_argument("--iceberg-variance", type=whole_number, metavar="PERCENT")


def _add_market(kinds: Any, parents: list[argparse.ArgumentParser]) -> None:
    market = kinds.add_parser("market", parents=parents, help="a market order", epilog=EPILOG)
    _new_order(market)
    market.add_argument("--time-in-force", choices=_TIMES_IN_FORCE, help="default: the server's")


def _add_stop(kinds: Any, parents: list[argparse.ArgumentParser]) -> None:
    stop = kinds.add_parser(
        "stop", parents=parents, help="a stop (or, with --price, stop-limit) order", epilog=EPILOG
    )
    _new_order(stop)
    stop.add_argument(
        "--condition",
        required=True,
        choices=("more", "less", "moreorequal", "lessorequal"),
        help="trigger when the last price is more/less than --trigger-price",
    )
    stop.add_argument("--trigger-price", type=_price, required=True)
    stop.add_argument("--price", type=_price, help="limit price: makes it a stop-limit order")
    stop.add_argument(
        "--stop-end",
        type=unix_time,
        metavar="WHEN",
        help="expiry: unix seconds or ISO 8601 (default: none)",
    )
    stop.add_argument("--protecting-seconds", type=whole_number, metavar="S")
    stop.add_argument("--inactive", action="store_true", help="create it inactive")


def _add_cancel(kinds: Any, parents: list[argparse.ArgumentParser]) -> None:
    cancel = kinds.add_parser("cancel", parents=parents, help="cancel an order", epilog=EPILOG)
    cancel.add_argument("order_id", metavar="ORDER_ID", help="the order number")
    _common(cancel)
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
    for add in (_add_limit, _add_market, _add_stop, _add_cancel):
        add(kinds, parents)
    order.set_defaults(handler=run)


def _order_params(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The channel method and its keyword arguments (snake_case) for ``args``."""
    if args.order_kind == "cancel":
        params = {"order_id": args.order_id, "portfolio": args.portfolio, "exchange": args.exchange}
        return _CANCEL_COMMANDS[args.type], params
    params = {
        "portfolio": args.portfolio,
        "symbol": args.symbol,
        "exchange": args.exchange,
        "side": args.side,
        "quantity": args.quantity,
        "instrument_group": args.board,
        "comment": args.comment,
        "allow_margin": args.allow_margin,
    }
    if args.order_kind in ("limit", "market"):
        params["time_in_force"] = args.time_in_force
    if args.order_kind == "limit":
        params.update(
            price=args.price,
            iceberg_fixed=args.iceberg_fixed,
            iceberg_variance=args.iceberg_variance,
        )
        return "create_limit", params
    if args.order_kind == "market":
        return "create_market", params
    params.update(
        condition=args.condition,
        trigger_price=args.trigger_price,
        stop_end_unix_time=args.stop_end,
        protecting_seconds=args.protecting_seconds,
        activate=False if args.inactive else None,
    )
    if args.price is None:
        return "create_stop", params
    params["price"] = args.price
    return "create_stop_limit", params


def _wire_preview(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The command as it will be sent (without its guid); raises InvalidArgumentError."""
    builder_params = {k: v for k, v in params.items() if v is not None}
    if "stop_end_unix_time" in builder_params:  # the protocol builder's name for it
        builder_params["stop_end_time"] = builder_params.pop("stop_end_unix_time")
    request = protocol.command_request(_OPCODES[method], "preview", **builder_params)
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
