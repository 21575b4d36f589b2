"""The emulator's WebSocket connection: websockets' sync connection plus silence and hard drops.

Rules of this module:

* Everything that makes a connection misbehave on the wire lives here: going silent (``frozen``:
  every outgoing byte, pongs and close frames included, is discarded while TCP stays open) and
  dropping without a close frame (``abort``: FIN, or RST).
* Outgoing frames are written with one ``sendall`` per batch instead of one per frame, which is
  what makes tens of thousands of frames a second possible from Python.
* websockets' own threads (the reader ``recv_events``) are renamed ``alor-sync-emulator-recv-N``
  so a stack dump says whose they are.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Literal

from websockets.sync.server import ServerConnection

__all__ = ["AbortMode", "EmulatorConnection", "Splitter"]

AbortMode = Literal["eof", "reset"]
Splitter = Callable[[bytes], list[bytes] | None]


class EmulatorConnection(ServerConnection):
    """A server connection that can be frozen or cut; created on the connection's own thread."""

    frozen: bool = False

    def name_threads(self, number: int) -> None:
        """Give websockets' reader thread a name that says it belongs to the emulator."""
        self.recv_events_thread.name = f"alor-sync-emulator-recv-{number}"

    def send_data(self) -> None:
        """Write what the protocol has queued (caller holds ``protocol_mutex``)."""
        writes = self.protocol.data_to_send()
        if self.frozen:
            return  # gone silent: the bytes (data, pongs, close frames) are never written
        pending: list[bytes] = []
        for data in writes:
            if data:
                pending.append(data)
                continue
            self._write(pending)
            pending = []
            with contextlib.suppress(OSError):  # already closed
                self.socket.shutdown(socket.SHUT_WR)
        self._write(pending)

    def _write(self, chunks: list[bytes]) -> None:
        if not chunks:
            return
        if self.close_deadline is not None:
            self.socket.settimeout(self.close_deadline.timeout())
        self.socket.sendall(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def send_texts(self, frames: Iterable[bytes], split: Splitter | None = None) -> None:
        """Send already UTF-8 encoded JSON texts as text frames, flushed with one write.

        ``split`` may cut a text into parts: it then goes out as a text frame without FIN and
        continuation frames (RFC 6455 section 5.4), as production may send it.
        Raises websockets' ``ConnectionClosed`` when the connection is not open.
        """
        protocol = self.protocol
        with self.send_context():
            for frame in frames:
                parts = None if split is None else split(frame)
                if parts is None:
                    protocol.send_text(frame)
                    continue
                protocol.send_text(parts[0], fin=False)
                for part in parts[1:-1]:
                    protocol.send_continuation(part, fin=False)
                protocol.send_continuation(parts[-1], fin=True)

    def send_binary_frame(self, payload: bytes) -> None:
        """Send one binary frame (production never does; a fault may)."""
        with self.send_context():
            self.protocol.send_binary(payload)

    def abort(self, mode: AbortMode = "eof") -> None:
        """Drop the TCP connection without a close frame: ``eof`` sends FIN, ``reset`` RST.

        Safe from any thread and idempotent.
        """
        try:
            if mode == "reset":
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                # shutdown() also wakes a sender blocked in sendall() on a full socket buffer.
                self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
        self.close_socket()
