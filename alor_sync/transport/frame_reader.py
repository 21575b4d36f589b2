"""Server-to-client WebSocket frames (RFC 6455) parsed from a socket read in large chunks.

websocket-client reads every frame with three or four ``recv`` calls (header, length, payload),
each a system call that also releases the GIL; at 50,000 frames a second that alone costs more
than parsing the JSON. This reader takes whatever the kernel holds (up to ``read_size`` bytes)
with one call and cuts frames out of it in Python, which is measured at about twice the frame
rate of websocket-client's ``recv()`` loop (see ``docs/performance.md``).

Rules of this module:

* Reading only, from one thread (the connection thread): the handshake, sending, masking and
  closing stay with websocket-client, which owns the socket.
* What comes out is either a whole message (text/binary, fragments joined) or a control frame
  (ping, pong, close), in wire order; anything RFC 6455 forbids a server to send raises
  :class:`FrameProtocolError` and the caller drops the connection.
* :meth:`FrameReader.next_frame` (and :meth:`FrameReader.whole_frames`, the same frames in one
  go) never does I/O and :meth:`FrameReader.fill` does exactly one read, so the caller decides
  when to wait (``poll``) and for how long.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

__all__ = [
    "MAX_FRAME_BYTES",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameProtocolError",
    "FrameReader",
    "PeerClosedError",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_FIN_TEXT = 0x80 | OP_TEXT  # the first byte of an ordinary text message: FIN, no RSV bits
_CONTROL_MAX = 125
DEFAULT_READ_SIZE = 256 * 1024
# The buffer grows to hold a whole frame before it arrives, so an absurd announced length (a
# corrupted stream, a hostile server) must be refused before it becomes an allocation. ALOR's
# frames are kilobytes; 64 MiB leaves room for anything legitimate.
MAX_FRAME_BYTES = 64 * 1024 * 1024


class FrameProtocolError(Exception):
    """The server sent something RFC 6455 forbids (masked or reserved bits, a bad fragment...)."""


class PeerClosedError(ConnectionError):
    """The TCP connection ended (EOF) without a close frame."""


class FrameReader:
    """Frames from ``sock``, which must be a connected (optionally TLS) socket after the handshake.

    Thread-safety: none; one reading thread. Reads go into one reused buffer of ``read_size``
    bytes (``recv_into``: a fresh 256 KB ``recv`` buffer per read costs ~12 us of allocation,
    which is most of a quiet connection's per-frame cost); it grows only for a bigger frame.
    """

    def __init__(self, sock: socket.socket, *, read_size: int = DEFAULT_READ_SIZE) -> None:
        self._recv_into = sock.recv_into
        self._buffer = bytearray(read_size)
        self._view = memoryview(self._buffer)
        self._start = 0  # the first byte not yet returned as a frame
        self._end = 0  # the end of the bytes received
        self._need = 0  # bytes from _start that make the incomplete frame whole (0: unknown)
        self._message_opcode: int | None = None  # a fragmented message in progress
        self._fragments: list[bytes] = []

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as frames."""
        return self._end - self._start

    def fill(self) -> int:
        """Read once (blocking up to the socket's timeout); returns the number of bytes read.

        Raises :class:`PeerClosedError` on EOF; a socket timeout propagates (``TimeoutError``).
        """
        self._make_room()
        count = self._recv_into(self._view[self._end :])
        if not count:
            raise PeerClosedError("Connection to remote host was lost.")
        self._end += count
        return count

    def _make_room(self) -> None:
        """Before a read: move the unparsed tail to the front when little space is left after
        it, and grow the buffer when one frame needs more than it holds."""
        start, end = self._start, self._end
        if start == end:
            self._start = self._end = 0
            return
        size = len(self._buffer)
        if size - end >= size // 4 and start + self._need <= size:
            return
        kept = end - start
        if start:
            # A copy first: the regions may overlap, and bytearray slice assignment is a memcpy.
            self._buffer[:kept] = self._view[start:end].tobytes()
            self._start, self._end = 0, kept
        wanted = max(self._need, kept + size // 4)
        if wanted > size:
            self._view.release()
            self._buffer.extend(bytes(wanted - size))
            self._view = memoryview(self._buffer)

    def next_frame(self) -> tuple[int, bytes] | None:
        """The next message or control frame as ``(opcode, payload)``; None until one is whole."""
        buffer = self._buffer
        while True:
            pos = self._start
            end_of_data = self._end
            available = end_of_data - pos
            if available < 2:
                return None
            first = buffer[pos]
            size = buffer[pos + 1]
            start = pos + 2
            if size > 125:
                if size & 0x80:
                    raise FrameProtocolError("the server sent a masked frame")
                if size == 126:
                    if available < 4:
                        return None
                    size = (buffer[pos + 2] << 8) | buffer[pos + 3]
                    start = pos + 4
                else:
                    if available < 10:
                        return None
                    size = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                    if size > MAX_FRAME_BYTES:  # checked before the buffer grows to fit it
                        raise FrameProtocolError(
                            f"the server announced a {size}-byte frame; the limit is "
                            f"{MAX_FRAME_BYTES} bytes"
                        )
                    start = pos + 10
            end = start + size
            if end > end_of_data:
                self._need = end - pos
                return None
            self._start = end
            self._need = 0
            payload = bytes(self._view[start:end])
            if first == _FIN_TEXT and self._message_opcode is None:
                return OP_TEXT, payload  # the common case: one whole text message
            frame = self._other_frame(first, payload)
            if frame is not None:
                return frame

    def whole_frames(self) -> Iterator[tuple[int, bytes]]:
        """The whole frames received so far, in order: what :meth:`next_frame` returns until None.

        The common frame (one whole text message with a 7- or 16-bit length) is cut here with
        the positions in locals, saving a call and a dozen attribute reads a frame; anything
        else, and the end of the data, goes through :meth:`next_frame`. The position moves
        before each frame is yielded, so the caller may stop after any of them. No :meth:`fill`
        while this runs.
        """
        buffer, view, end_of_data = self._buffer, self._view, self._end
        self._need = 0  # next_frame sets it again if the data ends in an incomplete frame
        while True:
            pos = self._start
            if end_of_data - pos >= 4 and buffer[pos] == _FIN_TEXT and self._message_opcode is None:
                size = buffer[pos + 1]
                if size == 126:
                    start = pos + 4
                    end = start + ((buffer[pos + 2] << 8) | buffer[pos + 3])
                elif size < 126:
                    start = pos + 2
                    end = start + size
                else:  # a 64-bit length or a mask bit: next_frame decides
                    end = end_of_data + 1
                if end <= end_of_data:
                    self._start = end
                    yield OP_TEXT, bytes(view[start:end])
                    continue
            frame = self.next_frame()
            if frame is None:
                return
            yield frame

    def _other_frame(self, first: int, payload: bytes) -> tuple[int, bytes] | None:
        """Fragments, binary and control frames; None when a fragment was only stored."""
        if first & 0x70:
            raise FrameProtocolError("the server set reserved bits (no extension was agreed)")
        opcode = first & 0x0F
        fin = bool(first & 0x80)
        if opcode >= OP_CLOSE:
            if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
                raise FrameProtocolError(f"unknown control opcode {opcode:#x}")
            if not fin or len(payload) > _CONTROL_MAX:
                raise FrameProtocolError("a control frame must be whole and at most 125 bytes")
            return opcode, payload
        if opcode == OP_CONTINUATION:
            if self._message_opcode is None:
                raise FrameProtocolError("a continuation frame without a message to continue")
            self._fragments.append(payload)
            if not fin:
                return None
            message = (self._message_opcode, b"".join(self._fragments))
            self._message_opcode = None
            self._fragments = []
            return message
        if opcode not in (OP_TEXT, OP_BINARY):
            raise FrameProtocolError(f"unknown data opcode {opcode:#x}")
        if self._message_opcode is not None:
            raise FrameProtocolError("a new message started inside a fragmented one")
        if fin:
            return opcode, payload
        self._message_opcode = opcode
        self._fragments = [payload]
        return None
