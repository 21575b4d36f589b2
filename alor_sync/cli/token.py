"""``alor-sync token``: check a refresh token by fetching an access token, and show its claims.

Rules of this module:

* Never prints a token, access or refresh: only what the claims say (login, portfolios,
  agreements, expiry) and the endpoint asked.
* Talks only to the token endpoint (one HTTP call); no WebSocket is opened.
"""

from __future__ import annotations

import argparse
from datetime import UTC
from typing import Any

import orjson

from alor_sync.auth import RefreshTokenProvider
from alor_sync.cli.connect import open_target
from alor_sync.cli.console import Console

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  ALOR_REFRESH_TOKEN=... alor-sync token
  alor-sync token --refresh-token-file ~/.config/alor/token --env dev
  alor-sync token --emulator --json

Fetches an access token (JWT) with your refresh token and prints who it belongs to, its
portfolios and when it expires. The tokens themselves are never printed.
"""


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "token",
        parents=parents,
        help="check credentials: login, portfolios and expiry of an access token",
        description="Fetch an access token and show its claims (never the token).",
        epilog=EPILOG,
    )
    parser.add_argument("--json", action="store_true", help="print the claims as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, console: Console) -> int:
    with open_target(args, console) as target:
        oauth_url = target.endpoints.oauth_url
        console.progress(f"asking {oauth_url} for an access token")
        provider = RefreshTokenProvider(target.refresh_token, oauth_url)
        console.add_secret(provider.get_token())
        claims = provider.claims()
        left = provider.expires_in() or 0.0
    expires = claims.expires_at.astimezone(UTC)
    info: dict[str, Any] = {
        "login": claims.subject,
        "client_id": claims.client_id,
        "portfolios": list(claims.portfolios),
        "agreements": list(claims.agreements),
        "expires_at": expires.isoformat(),
        "expires_in": round(left),
        "oauth_url": oauth_url,
    }
    if args.json:
        console.write_out(orjson.dumps(info).decode())
        return 0
    rows = [
        ("login", claims.subject or "-"),
        ("client id", claims.client_id or "-"),
        ("portfolios", " ".join(claims.portfolios) or "-"),
        ("agreements", " ".join(claims.agreements) or "-"),
        ("expires", f"{expires:%Y-%m-%d %H:%M:%S} UTC (in {_minutes(left)})"),
        ("endpoint", oauth_url),
    ]
    for name, value in rows:
        console.write_out(f"{name + ':':<12} {value}")
    return 0


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
