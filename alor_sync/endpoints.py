"""Where the broker lives: production and test presets, or explicit URLs (e.g. an emulator's).

Rules of this module:

* Only URLs: no connections are made here.
* Secure schemes (``wss://``, ``https://``) are required for every host except loopback, because
  tokens travel on these connections; a plain scheme elsewhere is refused with a clear error.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from alor_sync.errors import InvalidArgumentError

__all__ = ["DEV", "PRODUCTION", "Endpoints", "resolve_endpoints"]

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_url(name: str, url: str, secure: str, plain: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in (secure, plain) or not parts.hostname:
        raise InvalidArgumentError(f"{name} must be a {secure}:// URL, got {url!r}")
    if parts.scheme == plain and parts.hostname not in _LOOPBACK_HOSTS:
        raise InvalidArgumentError(
            f"{name} uses plain {plain}:// to {parts.hostname}; tokens would travel unencrypted. "
            f"Use {secure}:// (plain {plain}:// is only allowed on loopback, e.g. the emulator)"
        )


@attrs.frozen
class Endpoints:
    """The three URLs a client needs: data (``/ws``), commands (``/cws``), token refresh."""

    ws_url: str
    cws_url: str
    oauth_url: str

    def __attrs_post_init__(self) -> None:
        _check_url("ws_url", self.ws_url, "wss", "ws")
        _check_url("cws_url", self.cws_url, "wss", "ws")
        _check_url("oauth_url", self.oauth_url, "https", "http")


PRODUCTION = Endpoints(
    ws_url="wss://api.alor.ru/ws",
    cws_url="wss://api.alor.ru/cws",
    oauth_url="https://oauth.alor.ru/refresh",
)
DEV = Endpoints(
    ws_url="wss://apidev.alor.ru/ws",
    cws_url="wss://apidev.alor.ru/cws",
    oauth_url="https://oauthdev.alor.ru/refresh",
)

_PRESETS = {"prod": PRODUCTION, "production": PRODUCTION, "dev": DEV, "test": DEV}


def resolve_endpoints(
    env: str | Endpoints | None = None,
    *,
    ws_url: str | None = None,
    cws_url: str | None = None,
    oauth_url: str | None = None,
) -> Endpoints:
    """Pick a preset by name (``prod``/``dev``) or an :class:`Endpoints`, then apply overrides."""
    if isinstance(env, Endpoints):
        base = env
    elif env is None:
        base = PRODUCTION
    else:
        try:
            base = _PRESETS[env.lower()]
        except KeyError:
            raise InvalidArgumentError(
                f"env must be 'prod' or 'dev' (or an Endpoints), not {env!r}"
            ) from None
    return Endpoints(
        ws_url=ws_url or base.ws_url,
        cws_url=cws_url or base.cws_url,
        oauth_url=oauth_url or base.oauth_url,
    )
