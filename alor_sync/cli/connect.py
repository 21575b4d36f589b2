"""Credentials, endpoints and the client of one command run (or an in-process emulator).

Rules of this module:

* A refresh token comes from ``--refresh-token`` (discouraged), ``--refresh-token-file`` or
  ``$ALOR_REFRESH_TOKEN``, in that order; it is registered with the console as a secret the
  moment it is read, and never printed.
* ``--emulator`` replaces all of that with a local emulator started in this process and stopped
  when the command ends.
* The client is started and closed here (a context manager), with the console's progress hooks;
  a first data connection that fails ends the command at once with its cause (exit 1).
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from alor_sync.cli.console import Console
from alor_sync.cli.parsing import CliError, UsageError
from alor_sync.client import AlorClient
from alor_sync.endpoints import Endpoints, resolve_endpoints
from alor_sync.errors import InvalidArgumentError
from alor_sync.events import ConnectionChange

if TYPE_CHECKING:
    from alor_sync.emulator import Emulator

__all__ = [
    "ENV_VAR",
    "FirstConnection",
    "Target",
    "open_client",
    "open_target",
    "read_refresh_token",
    "start_emulator",
]

ENV_VAR = "ALOR_REFRESH_TOKEN"
# How long to wait for the first connection attempt, in units of the client's connect_timeout
# (the attempt itself is bounded by it; the token call and the handshake come on top).
FIRST_CONNECTION_WAIT = 2.0


@attrs.frozen
class Target:
    """Where to connect and with what: a refresh token (secret) and the endpoints."""

    refresh_token: str = attrs.field(repr=False)
    endpoints: Endpoints
    emulator: Emulator | None = None


def read_refresh_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The refresh token from the flags or the environment; :class:`UsageError` if none."""
    if args.refresh_token and args.refresh_token_file:
        raise UsageError("give --refresh-token or --refresh-token-file, not both")
    if args.refresh_token:
        return str(args.refresh_token).strip()
    if args.refresh_token_file:
        path = Path(args.refresh_token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"cannot read --refresh-token-file {str(path)!r}: {reason}") from None
        if not token:
            raise UsageError(f"--refresh-token-file {str(path)!r} is empty")
        return token
    token = environ.get(ENV_VAR, "").strip()
    if token:
        return token
    raise UsageError(
        f"no refresh token: set {ENV_VAR}, or pass --refresh-token-file PATH "
        "(or try everything offline with --emulator)"
    )


def start_emulator(console: Console, *, speed: float = 10.0, seed: int = 0) -> Emulator:
    """A started in-process emulator (the caller stops it)."""
    try:
        from alor_sync.emulator import Emulator
    except ImportError:
        raise CliError(
            "the emulator needs the 'emulator' extra: pip install 'alor-sync[emulator]'"
        ) from None
    emulator = Emulator(speed=speed, seed=seed).start()
    console.progress(f"emulator running at {emulator.ws_url}")
    return emulator


def _check_no_credentials(args: argparse.Namespace) -> None:
    given = [
        flag
        for flag, value in (
            ("--ws-url", args.ws_url),
            ("--cws-url", args.cws_url),
            ("--oauth-url", args.oauth_url),
            ("--refresh-token", args.refresh_token),
            ("--refresh-token-file", args.refresh_token_file),
        )
        if value
    ]
    if given:
        raise UsageError(f"--emulator cannot be combined with {', '.join(given)}")


@contextmanager
def open_target(
    args: argparse.Namespace, console: Console, environ: Mapping[str, str] | None = None
) -> Iterator[Target]:
    """The target chosen by the connection options (an emulator runs until the block ends)."""
    if args.emulator:
        _check_no_credentials(args)
        with start_emulator(console) as emulator:
            console.add_secret(emulator.refresh_token)
            endpoints = resolve_endpoints(
                ws_url=emulator.ws_url, cws_url=emulator.cws_url, oauth_url=emulator.oauth_url
            )
            yield Target(emulator.refresh_token, endpoints, emulator)
        return
    token = read_refresh_token(args, os.environ if environ is None else environ)
    console.add_secret(token)
    try:
        endpoints = resolve_endpoints(
            args.env, ws_url=args.ws_url, cws_url=args.cws_url, oauth_url=args.oauth_url
        )
    except InvalidArgumentError as exc:
        raise UsageError(str(exc)) from None
    yield Target(token, endpoints)


class FirstConnection:
    """Hooks that tell how the first data connection attempt ended, then defer to the console.

    A failed first attempt is reported by :func:`open_client` as the command's one error line,
    not as "disconnected; reconnecting" (nothing was ever connected). The hooks run on a
    dispatcher worker; :meth:`wait` on the command's main thread.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._decided = threading.Event()
        self.failure: str | None = None

    def on_connect(self, change: ConnectionChange) -> None:
        if change.connection == "ws":
            self._decided.set()
        self._console.on_connect(change)

    def on_disconnect(self, change: ConnectionChange) -> None:
        if change.connection == "ws" and not self._decided.is_set():
            self.failure = change.reason or "the connection failed"
            self._decided.set()
            return
        self._console.on_disconnect(change)

    def wait(self, timeout: float) -> bool:
        """True once the first attempt ended (either way) within ``timeout`` seconds."""
        return self._decided.wait(timeout)


def new_client(
    target: Target, console: Console, first: FirstConnection | None = None, **options: Any
) -> AlorClient:
    """A client for ``target`` wired to the console's hooks (not started)."""
    hooks = first or console
    client = AlorClient(
        target.refresh_token,
        env=target.endpoints,
        on_connect=hooks.on_connect,
        on_disconnect=hooks.on_disconnect,
        on_gap=console.on_gap,
        on_error=console.on_error,
        **options,
    )
    console.name_connection("ws", target.endpoints.ws_url)
    console.name_connection("cws", target.endpoints.cws_url)
    client.tokens.add_listener(lambda: console.add_secret(client.tokens.get_token()))
    return client


@contextmanager
def open_client(target: Target, console: Console, **options: Any) -> Iterator[AlorClient]:
    """A started client for ``target``; closed (every thread joined) when the block ends."""
    with ExitStack() as stack:
        first = FirstConnection(console)
        client = new_client(target, console, first, **options)

        def close() -> None:
            console.closing = True
            client.close()

        stack.callback(close)
        url = target.endpoints.ws_url
        console.progress(f"connecting to {url}")
        client.start()  # fetches the first access token: fails fast on a bad refresh token
        console.add_secret(client.tokens.get_token())
        # Fail fast: a first connection that cannot be made (refused, DNS, TLS, HTTP status)
        # ends the command with its cause instead of retrying forever in silence.
        wait = FIRST_CONNECTION_WAIT * options.get("connect_timeout", 10.0)
        if not first.wait(wait):
            raise CliError(f"cannot connect to {url}: no answer within {wait:g} s")
        if first.failure is not None:
            raise CliError(f"cannot connect to {url}: {first.failure}")
        yield client
