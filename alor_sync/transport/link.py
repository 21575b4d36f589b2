"""The typed face of one websocket-client connection: connect, wait, read, send, close.

Rules of this module:

* This is the only module that drives ``websocket`` (websocket-client); everything untyped about
  it lives in :class:`Link`, and its send errors are translated here (into :class:`LinkDown`).
  websocket-client does the handshake, TLS and sending; frames are read by
  :mod:`alor_sync.transport.frame_reader` from its socket.
* Only the connection thread connects and closes; only the thread whose turn it is to read
  (:mod:`alor_sync.transport.read_turns`: the connection thread or a worker it lent the reading
  to) waits, reads, pongs or pings. Any thread may :meth:`Link.send_text`,
  :meth:`Link.send_close_quietly`, :meth:`Link.abort` (the way to end a wait for good) or
  :meth:`Link.interrupt` (the way to end one wait).
"""

from __future__ import annotations

import contextlib
import math
import select
import selectors
import socket
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import websocket

from alor_sync.transport.frame_reader import FrameReader

__all__ = [
    "DATA_OPCODES",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "HeaderSource",
    "Headers",
    "Link",
    "LinkDown",
    "StalledRead",
]

Headers = Sequence[str] | Mapping[str, str]
HeaderSource = Headers | Callable[[], Headers]

OP_TEXT: int = websocket.ABNF.OPCODE_TEXT
OP_BINARY: int = websocket.ABNF.OPCODE_BINARY
OP_CLOSE: int = websocket.ABNF.OPCODE_CLOSE
OP_PONG: int = websocket.ABNF.OPCODE_PONG
OP_PING: int = websocket.ABNF.OPCODE_PING
DATA_OPCODES = (OP_TEXT, OP_BINARY)


class StalledRead(Exception):
    """A read timed out; the frame reader keeps the partial frame, so reading can resume."""


class LinkDown(Exception):
    """A send failed because the socket is gone or broken."""


class Link:
    """The typed face of one websocket-client connection (the only untyped surface here)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        sock: socket.socket = ws.sock
        # Frames are cut out of large reads here instead of websocket-client's three or four
        # recv() calls per frame (measured: about twice the frame rate; docs/performance.md).
        # The handshake reads byte by byte, so nothing of the first frames is left behind in ws.
        self.frames = FrameReader(sock)
        self.next_frame = self.frames.next_frame
        # An SSL socket may hold a decrypted record the kernel no longer reports as readable.
        self._pending: Callable[[], int] | None = (
            sock.pending if isinstance(sock, ssl.SSLSocket) else None
        )
        self._poll: Any = None
        self._selector: selectors.BaseSelector | None = None
        self._close_lock = threading.Lock()
        self._close_sent = False
        self._socket_fd = sock.fileno()
        # A socket pair whose byte ends one wait (interrupt()); made by make_interruptible().
        self._doorbell: tuple[socket.socket, socket.socket] | None = None
        if hasattr(select, "poll"):  # the cheapest wait per frame; absent on Windows
            self._poll = select.poll()
            self._poll.register(self._socket_fd, select.POLLIN)
        else:
            self._selector = selectors.DefaultSelector()
            self._selector.register(sock, selectors.EVENT_READ)

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        sslopt: dict[str, Any],
        header: Headers | None,
        connect_timeout: float,
        send_timeout: float,
    ) -> Link:
        ws: Any = websocket.WebSocket(
            sslopt=sslopt, enable_multithread=True, skip_utf8_validation=True
        )
        ws.connect(url, timeout=connect_timeout, header=header)
        try:
            # Fixed from here on: the socket timeout bounds sends (shared by every sending
            # thread) and a frame stalled half-way; read waits are done with poll() instead.
            ws.settimeout(send_timeout)
            return cls(ws)
        except BaseException:
            ws.shutdown()
            raise

    def make_interruptible(self) -> None:
        """Let :meth:`interrupt` end a :meth:`wait_readable` (connection thread, before the
        link is read; costs two file descriptors until :meth:`close`)."""
        if self._doorbell is not None:
            return
        ring, bell = socket.socketpair()
        ring.setblocking(False)
        bell.setblocking(False)
        self._doorbell = (ring, bell)
        if self._poll is not None:
            self._poll.register(bell.fileno(), select.POLLIN)
        else:
            assert self._selector is not None
            self._selector.register(bell, selectors.EVENT_READ)

    def interrupt(self) -> None:
        """End the current or the next :meth:`wait_readable` early (any thread; a no-op unless
        :meth:`make_interruptible` was called)."""
        doorbell = self._doorbell
        if doorbell is not None:
            with contextlib.suppress(OSError):  # full (already rung) or closed: nothing to do
                doorbell[0].send(b"\0")

    def wait_readable(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: forever) for bytes; False on a timeout or an
        :meth:`interrupt`."""
        if self._pending is not None and self._pending():
            return True
        if self._poll is not None:
            events = self._poll.poll(None if timeout is None else math.ceil(timeout * 1000))
            if self._doorbell is None:
                return bool(events)
            fds = [fd for fd, _ in events]
        else:
            assert self._selector is not None
            fds = [key.fd for key, _ in self._selector.select(timeout)]
        if self._doorbell is not None and self._doorbell[1].fileno() in fds:
            self._silence_doorbell()
        return self._socket_fd in fds

    def _silence_doorbell(self) -> None:
        assert self._doorbell is not None
        with contextlib.suppress(OSError):  # nothing left to read
            while self._doorbell[1].recv(64):
                pass

    def fill(self) -> None:
        """One read into the frame buffer; raises :class:`StalledRead` on a timeout (a TLS
        record stalled half-way: its bytes are kept and reading resumes later)."""
        try:
            self.frames.fill()
        except (TimeoutError, ssl.SSLWantReadError):
            raise StalledRead from None

    def pong(self, payload: bytes) -> None:
        self._ws.pong(payload)

    def send_text(self, data: str | bytes) -> None:
        try:
            self._ws.send(data, OP_TEXT)
        except (websocket.WebSocketException, OSError) as exc:
            # A timed-out send may have left half a frame on the wire: the link is unusable.
            raise LinkDown(type(exc).__name__) from exc

    def ping(self, payload: bytes) -> None:
        self._ws.ping(payload)

    def send_close_quietly(self) -> None:
        """Send our close frame once, whichever thread asks first; a second caller returns only
        after the first one's frame is out (so the socket is never closed under it)."""
        with self._close_lock:
            if self._close_sent:
                return
            self._close_sent = True
            # Best effort: the socket is shut down right after anyway.
            with contextlib.suppress(websocket.WebSocketException, OSError):
                self._ws.send_close()

    def abort(self) -> None:
        """Shut the socket down (thread-safe, keeps the fd) so a blocked read or send returns."""
        sock = self._ws.sock
        if sock is not None:
            # The base method on purpose: SSLSocket.shutdown() drops its SSL object under a
            # reader that may be inside it; the kernel shutdown alone makes SSL_read see EOF.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def close(self) -> None:
        """Release the socket (connection thread only), holding the send lock so that no
        other thread's send is using the fd meanwhile."""
        self.abort()
        self._discard_unread()
        if self._selector is not None:
            self._selector.close()
        if self._doorbell is not None:
            for end in self._doorbell:
                end.close()
        with self._ws.lock:
            self._ws.shutdown()

    def _discard_unread(self) -> None:
        """Read what the server sent last (its close frame, say): closing a socket with unread
        bytes sends a TCP reset, which can make the server lose our own close frame."""
        sock = self._ws.sock
        if sock is None or isinstance(sock, ssl.SSLSocket):
            return  # TLS: the shutdown already ended the session; nothing useful to read
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            for _ in range(64):  # bounded: a server still streaming cannot keep us here
                if not sock.recv(65536):
                    return
