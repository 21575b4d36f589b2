"""Why a connection failed, in words fit for logs and events, and as a typed error.

Rules of this module:

* Owns the classification of handshake failures (:class:`ConnectFailure`, the ``kind`` and HTTP
  status of :class:`~alor_sync.errors.ConnectFailedError`) and every text describing a failure or
  a close: :func:`describe_error`, :func:`describe_close`, :func:`redact_url`.
* No text built here carries a header, a body, credentials or the URL's query string (tokens
  could be there). websocket-client is imported only for its exception types.
* Pure functions and frozen values: any thread may call them (the connection thread does).
"""

from __future__ import annotations

import socket
import ssl
import struct
from urllib.parse import urlsplit, urlunsplit

import attrs
import websocket

from alor_sync.errors import ConnectFailedError

__all__ = ["ConnectFailure", "describe_close", "describe_error", "redact_url"]


@attrs.frozen
class ConnectFailure:
    """Why one handshake failed, classified once on the connection thread."""

    message: str
    kind: str
    http_status: int | None
    cause: BaseException

    @classmethod
    def of(cls, exc: BaseException, safe_url: str, described: str) -> ConnectFailure:
        kind, status = _classify(exc)
        what = f"{_KIND_TEXT[kind]} ({described})" if status is None else f"HTTP {status}"
        return cls(f"cannot connect to {safe_url}: {what}", kind, status, exc)

    def error(self) -> ConnectFailedError:
        error = ConnectFailedError(self.message, kind=self.kind, http_status=self.http_status)
        error.__cause__ = self.cause
        return error


_KIND_TEXT = {  # "http" reads "cannot connect to <url>: HTTP 404"
    "refused": "connection refused",
    "dns": "the host name does not resolve",
    "tls": "the TLS handshake failed",
    "timeout": "no answer within the connect timeout",
    "other": "the handshake failed",
}


def _classify(exc: BaseException) -> tuple[str, int | None]:
    """(kind, HTTP status) of a handshake failure; see ConnectFailedError.kind."""
    if isinstance(exc, websocket.WebSocketBadStatusException):
        status = getattr(exc, "status_code", None)
        return ("http", status) if isinstance(status, int) else ("other", None)
    if isinstance(exc, websocket.WebSocketAddressException | socket.gaierror):
        return "dns", None
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls", None
    if isinstance(exc, ConnectionRefusedError):
        return "refused", None
    if isinstance(exc, TimeoutError | websocket.WebSocketTimeoutException):
        return "timeout", None
    return "other", None


def describe_error(exc: BaseException, url: str, safe_url: str, query: str) -> str:
    """An error text fit for logs and events: no headers, bodies or query strings."""
    status = getattr(exc, "status_code", None)
    if isinstance(exc, websocket.WebSocketBadStatusException) and status is not None:
        return f"handshake rejected with HTTP {status}"
    text = f"{type(exc).__name__}: {exc}".replace(url, safe_url)
    if query:
        text = text.replace(query, "<redacted>")
    return text[:300]


def redact_url(url: str) -> str:
    """scheme://host:port/path: no credentials, query or fragment (tokens could be there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # a malformed port; the caller reports the URL as invalid
        port = None
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_close(data: bytes) -> str:
    if len(data) < 2:
        return "server closed the connection (no status code)"
    (code,) = struct.unpack("!H", data[:2])
    reason = data[2:].decode("utf-8", "replace")[:120]
    return f"server closed the connection (code {code}{': ' + reason if reason else ''})"
