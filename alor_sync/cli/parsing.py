"""Argument parsing shared by every subcommand: the parser class, value types, common options.

Rules of this module:

* A usage error never prints argparse's two-line usage dump: :class:`CliParser` raises
  :class:`UsageError`, and ``main`` prints one line and exits with 2.
* Value types check and convert one flag each and raise ``argparse.ArgumentTypeError`` with a
  message that says what to fix; cross-flag rules live with the subcommand that has them.
* Credentials are never required on the command line: the options here read them from the
  environment or a file (see :mod:`alor_sync.cli.connect`).
"""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime
from typing import NoReturn

__all__ = [
    "CliError",
    "CliParser",
    "UsageError",
    "add_output_flags",
    "connection_options",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "unix_time",
    "whole_number",
]


class CliError(Exception):
    """A failure reported as one line on stderr (``alor-sync: error: ...``) with ``exit_code``."""

    exit_code = 1


class UsageError(CliError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = 2


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of exiting."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_float(text: str) -> float:
    """A number of seconds (or similar) > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def whole_number(text: str) -> int:
    """Any whole number: for values whose bounds the library checks (quantity, depth...), so
    that -1 and 0 get the same message, the one the Python API gives."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _at_least(text: str, low: int) -> int:
    value = whole_number(text)
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (the same message for 0 and for -1)."""
    return _at_least(text, 1)


def non_negative_int(text: str) -> int:
    """A whole number >= 0."""
    return _at_least(text, 0)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def unix_time(text: str, *, now: float | None = None) -> int:
    """Unix seconds from ``1700000000``, ISO 8601 (``2024-01-15``, ``2024-01-15T10:00+03:00``;
    naive means UTC) or a time ago: ``90s``, ``15m``, ``2h``, ``3d``, ``1w`` (a leading ``-`` is
    allowed: ``--from=-2h``)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    ago = text.removeprefix("-")
    if len(ago) > 1 and ago[-1] in _UNITS and ago[:-1].isdigit():
        reference = datetime.now(UTC).timestamp() if now is None else now
        return int(reference - int(ago[:-1]) * _UNITS[ago[-1]])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected unix seconds, an ISO 8601 date/time or a time ago like 2h, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--debug``, accepted after any subcommand."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,  # keep a top-level --debug when not repeated here
        help="show tracebacks and debug logs on stderr",
    )


def connection_options() -> argparse.ArgumentParser:
    """A parent parser with the options of every subcommand that talks to the broker."""
    parser = CliParser(add_help=False)
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--env",
        choices=("prod", "dev"),
        default="prod",
        help="ALOR environment: prod (real trading, default) or dev (the test environment)",
    )
    group.add_argument("--ws-url", metavar="URL", help="data endpoint (overrides --env)")
    group.add_argument("--cws-url", metavar="URL", help="order endpoint (overrides --env)")
    group.add_argument("--oauth-url", metavar="URL", help="token endpoint (overrides --env)")
    group.add_argument(
        "--refresh-token-file",
        metavar="PATH",
        help="read the refresh token from this file (default: $ALOR_REFRESH_TOKEN)",
    )
    group.add_argument(
        "--refresh-token",
        metavar="TOKEN",
        help="the refresh token itself; prefer $ALOR_REFRESH_TOKEN or --refresh-token-file, "
        "since a command line is visible to other users and kept in shell history",
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        help="start a local emulator in this process and use it (no credentials needed)",
    )
    add_output_flags(parser)
    return parser
