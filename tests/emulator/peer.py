"""A deliberately plain client for emulator tests: websocket-client, raw frames, no alor-sync code.

The emulator tests never use alor-sync's own client, so a shared misunderstanding of the protocol
cannot make both sides agree on something wrong.
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import websocket

TIMEOUT = 5.0
REPLY_KEYS = ("requestGuid", "httpCode", "message", "orderNumber")


class Peer:
    """One WebSocket connection to the emulator, read frame by frame."""

    def __init__(self, url: str, **options: Any) -> None:
        options.setdefault("timeout", TIMEOUT)
        self.ws = websocket.create_connection(url, skip_utf8_validation=True, **options)

    def send(self, **message: Any) -> None:
        self.ws.send(json.dumps(message))

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def recv_raw(self, timeout: float = TIMEOUT) -> str:
        self.ws.settimeout(timeout)
        text = self.ws.recv()
        assert isinstance(text, str), f"expected a text frame, got {text!r}"
        return text

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame = json.loads(self.recv_raw(timeout))
        assert isinstance(frame, dict)
        return frame

    def reply(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame with only the keys the reference documents for replies: production
        may add others (the emulator's production profile does), which a client ignores."""
        return {k: v for k, v in self.recv(timeout).items() if k in REPLY_KEYS}

    def recv_frame(self, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame, control frames included."""
        self.ws.settimeout(timeout)
        opcode, frame = self.ws.recv_data_frame(True)
        return opcode, frame.data

    def recv_until_close(self, timeout: float = TIMEOUT) -> tuple[list[bytes], int | None]:
        """Data frames up to the server's close frame, and its code (None: no close frame)."""
        frames: list[bytes] = []
        while True:
            try:
                opcode, data = self.recv_frame(timeout)
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return frames, None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return frames, int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            frames.append(data)

    def recv_until(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = TIMEOUT,
        limit: int = 10_000,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames before the first that matches, and that one."""
        skipped: list[dict[str, Any]] = []
        for _ in range(limit):
            frame = self.recv(timeout)
            if predicate(frame):
                return skipped, frame
            skipped.append(frame)
        raise AssertionError(f"no matching frame among {limit}")

    def ack(
        self, guid: str, timeout: float = TIMEOUT
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Data frames received before the confirmation of ``guid``, and the confirmation."""
        return self.recv_until(lambda f: f.get("requestGuid") == guid, timeout)

    def subscribe(self, token: str, **request: Any) -> list[dict[str, Any]]:
        """Send a subscription, expect 200, return the frames that came before the ack."""
        self.send(token=token, **request)
        before, ack = self.ack(request["guid"])
        assert ack["httpCode"] == 200, ack
        return before

    def assert_silent(self, timeout: float = 0.3) -> None:
        """Nothing arrives for ``timeout`` seconds (a bounded wait, not a sleep)."""
        self.ws.settimeout(timeout)
        try:
            frame = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        raise AssertionError(f"unexpected frame: {frame!r}")

    def close(self) -> None:
        self.ws.close(timeout=1)
        self.ws.shutdown()  # close() skips the socket once the server has closed first


@contextmanager
def connect(url: str, **options: Any) -> Iterator[Peer]:
    peer = Peer(url, **options)
    try:
        yield peer
    finally:
        peer.close()


def post_refresh(
    url: str,
    *,
    query_token: str | None = None,
    body: Any = None,
    context: ssl.SSLContext | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    """POST /refresh with urllib; returns (status, JSON body)."""
    if query_token is not None:
        url = f"{url}?token={query_token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        error.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"text": raw.decode()}
        return error.code, parsed


def raw_http(port: int, request: bytes) -> bytes:
    """Send raw bytes to the emulator's port and return everything it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
