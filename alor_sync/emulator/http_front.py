"""The plain-HTTP side of the emulator's port: reading a request head, ``POST /refresh``, refusals.

Rules of this module:

* The server reads every request head itself (websockets' parser refuses request bodies, and the
  refresh call may carry one) and then either answers here or hands the bytes to websockets.
* ``/refresh`` follows the reference: token in the query or in a JSON body (the body wins), 200
  ``{"AccessToken": jwt}``, 403 for a bad refresh token. Tokens are never logged.
* Every response here closes the connection (``Connection: close``).
"""

from __future__ import annotations

import hmac
import http
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import attrs
import orjson

__all__ = ["HttpRequest", "read_request", "refresh", "respond"]

MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024


@attrs.frozen
class HttpRequest:
    """One request head (and body, once read)."""

    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    raw: bytes  # exactly the bytes read so far (head and whatever followed it)
    body: bytes = b""

    @property
    def path(self) -> str:
        """The target without its query."""
        return urlsplit(self.target).path

    @property
    def is_upgrade(self) -> bool:
        """Whether this asks for a WebSocket."""
        return "websocket" in self.headers.get("upgrade", "").lower()


def _recv_until(
    sock: socket.socket, data: bytes, done: Callable[[bytes], bool], limit: int
) -> bytes:
    while not done(data):
        if len(data) > limit:
            raise ValueError("HTTP request too large")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed during the HTTP request")
        data += chunk
    return data


def read_request(sock: socket.socket) -> HttpRequest:
    """Read a request head (the socket's timeout bounds the wait); raises ValueError if garbled."""
    raw = _recv_until(sock, b"", lambda d: b"\r\n\r\n" in d, MAX_HEAD)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError("not an HTTP/1.x request")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError("garbled HTTP header line")
        headers[name.strip().lower()] = value.strip()
    return HttpRequest(parts[0], parts[1], headers, raw)


def read_body(sock: socket.socket, request: HttpRequest) -> HttpRequest:
    """The request with its body read (``Content-Length`` only; chunked bodies are refused)."""
    length = int(request.headers.get("content-length", "0") or "0")
    if length < 0 or length > MAX_BODY:
        raise ValueError("request body too large")
    if "transfer-encoding" in request.headers:
        raise ValueError("chunked request bodies are not supported")
    start = request.raw.index(b"\r\n\r\n") + 4
    data = _recv_until(sock, request.raw[start:], lambda d: len(d) >= length, MAX_BODY)
    return attrs.evolve(request, body=data[:length])


def respond(
    sock: socket.socket,
    status: int,
    body: bytes | str,
    content_type: str = "text/plain; charset=utf-8",
    extra_headers: dict[str, str] | None = None,
) -> None:
    """Write a complete HTTP/1.1 response that closes the connection."""
    payload = body.encode() if isinstance(body, str) else body
    phrase = http.HTTPStatus(status).phrase
    lines = [
        f"HTTP/1.1 {status} {phrase}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (extra_headers or {}).items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


def _token_and_portfolios(request: HttpRequest) -> tuple[object, list[str] | None]:
    query = parse_qs(urlsplit(request.target).query)
    token: object = query.get("token", [None])[0]
    allowed: list[str] | None = None
    if "allowedPortfolios" in query:
        text = query["allowedPortfolios"][0]
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = text.split(",")
        allowed = [str(p) for p in parsed] if isinstance(parsed, list) else [str(parsed)]
    if request.body.strip():
        body = orjson.loads(request.body)  # a garbled body is the caller's 400
        if isinstance(body, dict):
            token = body.get("token", token)  # the body wins over the query
            if isinstance(body.get("allowedPortfolios"), list):
                allowed = [str(p) for p in body["allowedPortfolios"]]
    return token, allowed


def refresh(
    sock: socket.socket,
    request: HttpRequest,
    *,
    refresh_token: str,
    issue: Callable[[list[str] | None], str],
    failure: int | None,
) -> bool:
    """Answer ``POST /refresh``; returns whether an access token was issued."""
    if request.method != "POST":
        respond(sock, 405, "Use POST /refresh\n", extra_headers={"Allow": "POST"})
        return False
    if failure is not None:
        respond(
            sock,
            failure,
            orjson.dumps({"message": "Token service unavailable"}),
            "application/json",
        )
        return False
    try:
        token, allowed = _token_and_portfolios(read_body(sock, request))
    except (ValueError, orjson.JSONDecodeError):
        respond(
            sock, 400, orjson.dumps({"message": "Malformed refresh request"}), "application/json"
        )
        return False
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), refresh_token.encode()
    ):
        message = {"message": "Refresh token is invalid, expired or revoked"}
        respond(sock, 403, orjson.dumps(message), "application/json")
        return False
    respond(sock, 200, orjson.dumps({"AccessToken": issue(allowed)}), "application/json")
    return True
