"""The keyword options of :class:`~alor_sync.client.AlorClient`: their types, their checks, and
what the client makes of them before anything connects.

Rules of this module:

* :class:`ClientOptions` is types only, for the typed overloads of the constructor
  (``exact=False`` -> ``AlorClient[float]``, ``exact=True`` -> ``AlorClient[Decimal]``); the
  constructor itself names every option, and :mod:`alor_sync.client` documents them.
* A bad option is refused at construction, named as the caller wrote it (:func:`check_options`),
  never later in ``start()``, after a token call, or under an internal name.
* What every connection of one client shares is built here as a
  :class:`~alor_sync.transport.options.ConnectionOptions` (the transport's own values).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from alor_sync.auth import RefreshTokenProvider, StaticTokenProvider, TokenProvider
from alor_sync.dispatch.dispatcher import Executor
from alor_sync.endpoints import Endpoints
from alor_sync.errors import InvalidArgumentError
from alor_sync.events import ConnectionChange, GapNotice, ResubscribeReport
from alor_sync.transport.options import ConnectionOptions, positive_seconds

if TYPE_CHECKING:
    from alor_sync.dispatch.hooks import ErrorHook

__all__ = [
    "ClientOptions",
    "check_options",
    "make_tokens",
]


class ClientOptions(TypedDict, total=False):
    """Every keyword option of ``AlorClient(...)`` but ``exact``."""

    access_token: str | None
    token_provider: TokenProvider | None
    env: str | Endpoints
    ws_url: str | None
    cws_url: str | None
    oauth_url: str | None
    workers: int | None
    executor: Executor | None
    heartbeat_interval: float | None
    pong_timeout: float
    connect_timeout: float
    reconnect_delay: float
    max_reconnect_delay: float
    max_reconnect_attempts: int | None
    lossless_queue_limit: int
    max_subscriptions_per_connection: int
    max_connections: int
    ssl_context: ssl.SSLContext | None
    on_connect: Callable[[ConnectionChange], None] | None
    on_disconnect: Callable[[ConnectionChange], None] | None
    on_resubscribed: Callable[[ResubscribeReport], None] | None
    on_gap: Callable[[GapNotice], None] | None
    on_error: ErrorHook | None


# The options that are durations, in the order they are checked (heartbeat_interval may be None).
_SECONDS = (
    "heartbeat_interval",
    "pong_timeout",
    "connect_timeout",
    "reconnect_delay",
    "max_reconnect_delay",
)


def make_tokens(
    refresh_token: str | None,
    access_token: str | None,
    token_provider: TokenProvider | None,
    oauth_url: str,
    ssl_context: ssl.SSLContext | None,
) -> TokenProvider:
    """The token provider of exactly one of the three credential options."""
    given = [x for x in (refresh_token, access_token, token_provider) if x is not None]
    if len(given) != 1:
        raise InvalidArgumentError(
            "pass exactly one of refresh_token, access_token or token_provider"
        )
    if token_provider is not None:
        return token_provider
    if access_token is not None:
        return StaticTokenProvider(access_token)
    assert refresh_token is not None
    return RefreshTokenProvider(refresh_token, oauth_url, ssl_context=ssl_context)


def check_options(
    connection: ConnectionOptions,
    *,
    workers: object,
    counts: dict[str, object],
    executor: object,
    hooks: dict[str, object],
) -> None:
    """Refuse bad options at construction, named as the caller wrote them (not in ``start()``,
    after a token call, under an internal name, or on first use)."""
    seconds = {name: getattr(connection, name) for name in _SECONDS}
    for name, value in seconds.items():
        optional = name == "heartbeat_interval"  # None: no pings
        if not (optional and value is None) and not positive_seconds(value):
            raise InvalidArgumentError(
                f"{name} must be a positive number of seconds, got {value!r}"
            )
    if connection.max_reconnect_delay < connection.reconnect_delay:
        raise InvalidArgumentError(
            f"max_reconnect_delay ({connection.max_reconnect_delay!r}) must be >= "
            f"reconnect_delay ({connection.reconnect_delay!r})"
        )
    attempts = connection.max_reconnect_attempts
    counts = {"workers": workers, "max_reconnect_attempts": attempts, **counts}
    for name, value in counts.items():
        optional = name in ("workers", "max_reconnect_attempts")  # None: the default, unlimited
        valid = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        if not (optional and value is None) and not valid:
            raise InvalidArgumentError(f"{name} must be a positive int, got {value!r}")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise InvalidArgumentError(f"executor must have a submit(fn, *args) method: {executor!r}")
    for name, hook in hooks.items():
        if hook is not None and not callable(hook):
            raise InvalidArgumentError(f"{name} must be callable or None, got {hook!r}")
    ssl_context = connection.ssl_context
    if ssl_context is not None and (
        ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname
    ):
        raise InvalidArgumentError(
            "ssl_context must verify certificates and host names (CERT_REQUIRED and "
            "check_hostname); to trust a private CA use ssl.create_default_context(cafile=...)"
        )
