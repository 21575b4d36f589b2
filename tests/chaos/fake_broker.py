"""A scripted ``/ws`` server for tests that need frames no well-behaved broker would send.

Rules of this module:

* It confirms every request (``httpCode`` 200) and otherwise sends only what the test asks for,
  byte for byte: any text (even invalid UTF-8, sent as a text frame), binary frames, any size.
* One client connection at a time; threads: ``test-fake-broker`` (accept loop) plus websockets'
  own per-connection threads, all ended by :meth:`FakeBroker.close` after the client closed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

__all__ = ["FakeBroker", "unsigned_jwt"]

WAIT = 10.0


def unsigned_jwt(lifetime: float = 3600.0, **claims: Any) -> str:
    """A JWT the client can read (``exp`` and claims); its signature is not checked by anyone."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    payload = {"sub": "P000001", "exp": int(time.time() + lifetime), **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl"


class FakeBroker:
    """A ``ws://127.0.0.1:<port>/ws`` server; :attr:`requests` holds every request received."""

    def __init__(self) -> None:
        self._server = serve(self._serve, "127.0.0.1", 0, compression=None, max_size=None)
        host, port = self._server.socket.getsockname()[:2]
        self.url = f"ws://{host}:{port}/ws"
        self.requests: list[dict[str, Any]] = []
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self._connection: ServerConnection | None = None
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-fake-broker")

    def __enter__(self) -> FakeBroker:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._changed:
            connection = self._connection
        if connection is not None:
            connection.close()
        self._server.shutdown()
        self._thread.join(WAIT)

    def _serve(self, connection: ServerConnection) -> None:
        with self._changed:
            self._connection = connection
            self._changed.notify_all()
        with contextlib.suppress(ConnectionClosed):  # the client may drop it at any moment
            self._answer(connection)

    def _answer(self, connection: ServerConnection) -> None:
        for message in connection:
            request = json.loads(message)
            with self._changed:
                self.requests.append(request)
                self._changed.notify_all()
            reply = {"requestGuid": request.get("guid"), "httpCode": 200,
                     "message": "Handled successfully"}  # fmt: skip
            self.send(json.dumps(reply))

    def wait_requests(self, count: int, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.requests) >= count, timeout)

    def send(self, frame: str | bytes, *, binary: bool = False) -> None:
        """Send ``frame`` as a text frame (bytes are sent as they are, valid UTF-8 or not), or as
        a binary frame with ``binary=True``."""
        with self._changed:
            assert self._changed.wait_for(lambda: self._connection is not None, WAIT)
            connection = self._connection
        assert connection is not None
        with self._send_lock:
            if binary:
                connection.send(frame if isinstance(frame, bytes) else frame.encode(), text=False)
            else:
                connection.send(frame, text=True)
