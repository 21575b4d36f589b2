"""``alor-sync``: the command line (demo, emulator, stream, book, token, order).

Owns: the ``alor-sync`` command, one module per subcommand, and the terminal UI of ``book``
and ``demo`` (``cli/terminal``).

Never: uses anything but the library's public API, or prints a token.

Rules of this package:

* ``main(argv) -> int`` never raises and never exits the interpreter: it returns 0 (ok),
  1 (the command failed), 2 (bad usage) or 130 (Ctrl+C), and reports a failure as one line on
  stderr (``alor-sync: error: ...``); ``--debug`` adds the traceback and debug logs.
* One module per subcommand, each with ``add_parser(subparsers, parents)`` and
  ``run(args, console) -> int``; only public APIs of the library are used.
* No token is ever printed: every message goes through :class:`~alor_sync.cli.console.Console`,
  which redacts the secrets the command handled.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alor_sync.cli import book, demo, order, record, stream, token
from alor_sync.cli.connect import ENV_VAR
from alor_sync.cli.console import Console
from alor_sync.cli.parsing import CliError, CliParser, UsageError, connection_options
from alor_sync.errors import AlorError, InvalidArgumentError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
examples:
  alor-sync demo                                  live market view on a built-in emulator
  alor-sync emulator --port 8765                  run the emulator for other programs
  alor-sync stream quotes SBER --count 5          JSON lines, e.g. for jq
  alor-sync stream order-book SBER --emulator --typed --count 1
  alor-sync book SBER                             live order book of the real market
  alor-sync token                                 check credentials (login, portfolios)
  alor-sync order limit buy SBER 1 --price 250 --portfolio D39004
  alor-sync record quotes SBER --out sber.jsonl.gz   record a session for the emulator to replay

credentials: $ALOR_REFRESH_TOKEN or --refresh-token-file PATH (never needed with --emulator).
endpoints: --env prod (default) or dev, or --ws-url/--cws-url/--oauth-url.
exit codes: 0 ok, 1 failed, 2 bad usage, 130 interrupted (Ctrl+C).
Run 'alor-sync COMMAND --help' for a command's options and examples.
"""

_TOP_LEVEL_FLAGS = frozenset({"--debug"})


def build_parser() -> CliParser:
    """The whole command line (except ``emulator``, which parses its own arguments)."""
    parser = CliParser(
        prog="alor-sync",
        description="Synchronous client for the ALOR Broker WebSocket API, and its emulator.",
        epilog=EPILOG,
    )
    parser.add_argument("--debug", action="store_true", help="tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo.add_parser(commands, [])
    commands.add_parser(
        "emulator",
        help="run the local emulator in the foreground (see 'alor-sync emulator --help')",
        add_help=False,
    )
    parents = [connection_options()]
    stream.add_parser(commands, parents)
    book.add_parser(commands, parents)
    token.add_parser(commands, parents)
    order.add_parser(commands, parents)
    record.add_parser(commands, parents)
    return parser


def _emulator_arguments(argv: list[str]) -> list[str] | None:
    """The arguments after ``emulator`` when that is the command, else None."""
    for index, arg in enumerate(argv):
        if arg == "emulator":
            return argv[index + 1 :]
        if arg not in _TOP_LEVEL_FLAGS:
            return None
    return None


def _run_emulator(arguments: list[str]) -> int:
    try:
        from alor_sync.emulator.cli import main as emulator_main
    except ImportError:
        sys.stderr.write(
            "alor-sync: error: the emulator needs the 'emulator' extra: "
            "pip install 'alor-sync[emulator]'\n"
        )
        return EXIT_FAILED
    try:
        return emulator_main(arguments)
    except SystemExit as exc:  # its argparse: --help (0) or bad arguments (2)
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


@contextmanager
def _debug_logs(console: Console, debug: bool) -> Iterator[None]:
    """With ``--debug``: the library's logs on stderr for this run only (redacted)."""
    if not debug:
        yield
        return
    logger = logging.getLogger("alor_sync")
    handler = logging.StreamHandler(console.err)
    handler.setFormatter(_RedactingFormatter(console))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


class _RedactingFormatter(logging.Formatter):
    def __init__(self, console: Console) -> None:
        super().__init__("%(asctime)s %(threadName)s %(name)s: %(message)s")
        self._console = console

    def format(self, record: logging.LogRecord) -> str:
        return self._console.redact(super().format(record))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``alor-sync`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    emulator_arguments = _emulator_arguments(arguments)
    if emulator_arguments is not None:
        return _run_emulator(emulator_arguments)
    console = Console(sys.stdout, sys.stderr)
    # Before parsing: a usage error quotes the arguments, and a token pasted among them by
    # mistake (``alor-sync token $ALOR_REFRESH_TOKEN``) must not be echoed back.
    console.add_secret(os.environ.get(ENV_VAR, "").strip())
    try:
        args = build_parser().parse_args(arguments)
    except UsageError as exc:
        console.error(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    debug = bool(getattr(args, "debug", False))
    console.quiet = bool(getattr(args, "quiet", False))
    with _debug_logs(console, debug):
        return _run(args, console, debug)


def _run(args: argparse.Namespace, console: Console, debug: bool) -> int:
    try:
        code: int = args.handler(args, console)
        return code
    except KeyboardInterrupt:
        console.error("interrupted")
        return EXIT_INTERRUPTED
    except (UsageError, InvalidArgumentError) as exc:
        _report(console, exc, debug)
        return EXIT_USAGE
    except (CliError, AlorError, OSError, TimeoutError) as exc:
        _report(console, exc, debug)
        return EXIT_FAILED
    except Exception as exc:
        _report(console, exc, debug, unexpected=True)
        return EXIT_FAILED


def _report(console: Console, exc: BaseException, debug: bool, *, unexpected: bool = False) -> None:
    if debug:
        console.tell("".join(traceback.format_exception(exc)))
    text = str(exc) or type(exc).__name__
    if unexpected or (isinstance(exc, OSError | TimeoutError) and not isinstance(exc, CliError)):
        text = f"{type(exc).__name__}: {text}"
    if unexpected and not debug:
        text += " (run with --debug for the traceback)"
    console.error(text)
