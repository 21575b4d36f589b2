"""``alor-sync demo``: the live market view against an emulator started in this process.

Rules of this module:

* No credentials and no network: the emulator listens on 127.0.0.1 and stops with the command.
* The view is exactly ``alor-sync book``'s (:func:`alor_sync.cli.book.show_market`).
"""

from __future__ import annotations

import argparse
from typing import Any

from alor_sync.cli.book import add_view_options, show_market
from alor_sync.cli.connect import Target, open_client, start_emulator
from alor_sync.cli.console import Console
from alor_sync.cli.parsing import (
    UsageError,
    add_output_flags,
    non_negative_int,
    positive_float,
)
from alor_sync.endpoints import resolve_endpoints

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  alor-sync demo
  alor-sync demo --symbol GAZP --speed 20
  alor-sync demo --duration 10 --plain

Starts the local emulator (a simulated market speaking ALOR's protocol) and shows a live order
book, quote, last trades and a price chart until Ctrl+C. Everything runs offline.
"""


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=parents,
        help="live market view against a built-in emulator (no account needed)",
        description="Watch a simulated market through alor-sync, offline.",
        epilog=EPILOG,
    )
    parser.add_argument("--symbol", default="SBER", help="instrument to show (default SBER)")
    parser.add_argument(
        "--speed", type=positive_float, default=10.0, help="market ticks per second (default 10)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed of the simulation (default 0)"
    )
    add_view_options(parser, tf=60)
    add_output_flags(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, console: Console) -> int:
    with start_emulator(console, speed=args.speed, seed=args.seed) as emulator:
        listed = {info.symbol.upper(): info for info in emulator.instruments()}
        info = listed.get(args.symbol.upper())
        if info is None:
            known = ", ".join(listing.symbol for listing in listed.values())
            raise UsageError(f"the emulator does not list {args.symbol!r}; try one of {known}")
        endpoints = resolve_endpoints(
            ws_url=emulator.ws_url, cws_url=emulator.cws_url, oauth_url=emulator.oauth_url
        )
        console.add_secret(emulator.refresh_token)
        target = Target(emulator.refresh_token, endpoints, emulator)
        with open_client(target, console) as client:
            return show_market(client, console, args, symbol=info.symbol, exchange=info.exchange)
