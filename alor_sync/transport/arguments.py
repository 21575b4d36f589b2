"""Checks of :class:`~alor_sync.transport.connection.ReconnectingWebSocket`'s arguments.

Rules of this module:

* Owns what a valid transport configuration is: a ``ws://``/``wss://`` URL, positive timeouts,
  a verifying TLS context (TLS is never unverified). A bad argument raises
  :class:`~alor_sync.errors.InvalidArgumentError` on the caller's thread, before any thread starts.
* Error texts show the URL redacted (:func:`~alor_sync.transport.failures.redact_url`).
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

from alor_sync.errors import InvalidArgumentError
from alor_sync.transport.failures import redact_url

__all__ = ["check_arguments", "sslopt_for"]


def check_arguments(
    name: str,
    heartbeat_interval: float | None,
    pong_timeout: float,
    connect_timeout: float,
    send_timeout: float,
    healthy_after: float,
    max_attempts: int | None,
) -> None:
    if not name:
        raise InvalidArgumentError("name (the thread name) must not be empty")
    positive = {
        "pong_timeout": pong_timeout,
        "connect_timeout": connect_timeout,
        "send_timeout": send_timeout,
    }
    if heartbeat_interval is not None:
        positive["heartbeat_interval"] = heartbeat_interval
    for arg, value in positive.items():
        if not value > 0:
            raise InvalidArgumentError(f"{arg} must be > 0 seconds, got {value!r}")
    if not healthy_after >= 0:
        raise InvalidArgumentError(f"healthy_after must be >= 0 seconds, got {healthy_after!r}")
    if max_attempts is not None and max_attempts < 1:
        raise InvalidArgumentError(f"max_attempts must be >= 1 or None, got {max_attempts!r}")


def sslopt_for(url: str, ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
    parts = urlsplit(url)
    try:
        valid = parts.scheme in ("ws", "wss") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number, or out of range
        valid = False
    if not valid:
        raise InvalidArgumentError(f"url must be a ws:// or wss:// URL, got {redact_url(url)!r}")
    scheme = parts.scheme
    if scheme == "ws":
        if ssl_context is not None:
            raise InvalidArgumentError("ssl_context was given for a plain ws:// URL; use wss://")
        return {}
    if ssl_context is None:
        return {"context": ssl.create_default_context()}
    if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
        raise InvalidArgumentError(
            "ssl_context must verify the server (CERT_REQUIRED and check_hostname); to trust a "
            "private CA use ssl.create_default_context(cafile=...)"
        )
    return {"context": ssl_context}
