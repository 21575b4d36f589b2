"""What every example shares: emulator or real API, and how long to run.

By default an example starts a local emulator in its own process (nothing to install or sign up
for); ``--live`` connects to ALOR instead, with the refresh token in ``$ALOR_REFRESH_TOKEN``.
``--duration SECONDS`` stops it by itself; Ctrl+C always works.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from alor_sync import AlorClient


def parser(description: str, duration: float = 5.0) -> argparse.ArgumentParser:
    """An argument parser with --live, --env and --duration."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--live", action="store_true", help="use the real API ($ALOR_REFRESH_TOKEN)")
    p.add_argument("--env", default="prod", help="with --live: prod (default) or dev")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help=f"stop after this many seconds (default: {duration:g} on the emulator, "
        "until Ctrl+C with --live)",
    )
    p.set_defaults(default_duration=duration)
    return p


def duration_of(args: argparse.Namespace) -> float | None:
    """Seconds to run: --duration, else the example's default on the emulator, else forever."""
    if args.duration is not None:
        return float(args.duration)
    return None if args.live else float(args.default_duration)


@contextmanager
def connect(args: argparse.Namespace, **client_options: Any) -> Iterator[tuple[AlorClient, Any]]:
    """A started client, and the emulator it talks to (None with --live)."""
    if args.live:
        token = os.environ.get("ALOR_REFRESH_TOKEN")
        if not token:
            sys.exit("set ALOR_REFRESH_TOKEN to your refresh token to use --live")
        with AlorClient(token, env=args.env, **client_options) as client:
            yield client, None
        return
    from alor_sync.emulator import Emulator  # the 'emulator' extra

    with (
        Emulator(speed=20) as emulator,
        AlorClient(
            emulator.refresh_token,
            ws_url=emulator.ws_url,
            cws_url=emulator.cws_url,
            oauth_url=emulator.oauth_url,
            **client_options,
        ) as client,
    ):
        yield client, emulator


_print_lock = threading.Lock()


def say(text: str) -> None:
    """Print one line from any thread without lines of two callbacks mixing."""
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def first_portfolio(client: AlorClient) -> str:
    """The first portfolio your access token lists (the emulator's is D39004)."""
    return client.tokens.claims().portfolios[0]


def run_for(seconds: float | None, stop: threading.Event | None = None) -> None:
    """Block the main thread for ``seconds`` (None: until Ctrl+C) or until ``stop`` is set."""
    stop = stop or threading.Event()
    with suppress(KeyboardInterrupt):
        stop.wait(seconds)
