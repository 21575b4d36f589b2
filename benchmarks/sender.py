"""A dedicated WebSocket sender for the benchmark: a separate process that is never the bottleneck.

Run as ``python -m benchmarks.sender`` (the benchmark starts it); it prints ``PORT <n>`` and serves
ws://127.0.0.1:<n>/ until its stdin closes.

Rules of this module:

* It speaks just enough of ALOR's ``/ws`` protocol for a client: every request with a ``guid``
  gets a 200 confirmation (``unsubscribe`` included), pings get pongs. Tokens are not checked.
* What a connection receives is set by its URL query: ``kind`` (see ``payloads.KINDS``),
  ``subs`` (wait for that many subscriptions, then send; 0: start at once for made-up guids),
  ``guids`` (how many made-up guids when ``subs=0``), ``count`` (frames in all), ``rate``
  (frames/s; 0: as fast as the socket takes them), ``close=1`` (end the stream with EOF).
* Unpaced frames are framed once and written in large ``sendall`` calls, so the sender costs
  next to nothing per frame (its own ceiling is measured by ``run.py``). Paced frames carry
  their send time (``time.time_ns() // 1000``, microseconds on the system-wide clock) in the
  payload's stamp field, taken right before each frame is written.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import orjson

from benchmarks.payloads import END_STAMP, Kind, build_kind

__all__ = ["frame_text", "main"]

_GUID_MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CHUNK = 256 * 1024  # bytes per sendall in a blast
_KINDS: dict[str, Kind] = {}


def frame_text(payload: bytes) -> bytes:
    """One unmasked, unfragmented text frame (what a server sends)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return b"\x81\x7e" + struct.pack("!H", size) + payload
    return b"\x81\x7f" + struct.pack("!Q", size) + payload


def _kind(name: str) -> Kind:
    kind = _KINDS.get(name)
    if kind is None:
        kind = _KINDS[name] = build_kind(name)
    return kind


def _data_frame(kind: Kind, guid: str, variant: int, stamp: int | None) -> bytes:
    body = b'{ "data": ' + kind.payload(variant, stamp) + b', "guid":' + orjson.dumps(guid) + b" }"
    return frame_text(body)


class _Reader:
    """Reads masked client frames from a socket (one thread; no other reader)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        end = self._buffer.index(b"\r\n\r\n") + 4
        return self._exactly(end)

    def frame(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._exactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._exactly(8))
        mask = self._exactly(4) if second & 0x80 else b""
        payload = self._exactly(size)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return first & 0x0F, payload


class _Connection:
    """One client: handshake, then requests on this thread and data on a writer thread."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = _Reader(sock)
        self._send_lock = threading.Lock()
        self._guids: list[str] = []
        self._options: dict[str, str] = {}
        self._started = False

    def serve(self) -> None:
        try:
            self._handshake()
            self._read_requests()
        except (EOFError, OSError):
            pass
        finally:
            self._sock.close()

    def _handshake(self) -> None:
        head = self._reader.head().decode("latin-1")
        target = head.split(" ", 2)[1]
        self._options = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        key = ""
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID_MAGIC).digest()).decode()
        self._sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if int(self._options.get("subs", "0")) == 0:
            count = int(self._options.get("guids", "1"))
            self._guids = [f"bench-{n}" for n in range(count)]
            self._start()

    def _read_requests(self) -> None:
        while True:
            opcode, payload = self._reader.frame()
            if opcode == 0x8:
                self._send(b"\x88\x02\x03\xe8")
                return
            if opcode == 0x9:
                self._send(bytes((0x8A, len(payload))) + payload)
            elif opcode == 0x1:
                self._on_request(orjson.loads(payload))

    def _on_request(self, request: dict[str, object]) -> None:
        guid = str(request.get("guid", ""))
        reply = {"requestGuid": guid, "httpCode": 200, "message": "Handled successfully"}
        self._send(frame_text(orjson.dumps(reply)))
        if request.get("opcode") == "unsubscribe" or self._started:
            return
        self._guids.append(guid)
        if len(self._guids) >= int(self._options.get("subs", "0")):
            self._start()

    def _start(self) -> None:
        self._started = True
        thread = threading.Thread(target=self._write_data, name="bench-sender-write", daemon=True)
        thread.start()

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def _write_data(self) -> None:
        kind = _kind(self._options.get("kind", "book-simple"))
        count = int(self._options.get("count", "1000"))
        rate = float(self._options.get("rate", "0"))
        try:
            if rate > 0:
                self._paced(kind, count, rate)
            else:
                for chunk in self._blast_chunks(kind, count):
                    self._send(chunk)
            if self._options.get("close") == "1":
                self._sock.shutdown(socket.SHUT_WR)  # the ceiling probe reads until EOF
        except OSError:
            pass  # the client went away

    def _blast_chunks(self, kind: Kind, count: int) -> Iterator[bytes]:
        """``count`` frames round-robin over the guids; each guid's last frame is stamped END."""
        guids = self._guids
        variants = len(kind.variants)
        cycle_frames = len(guids) * variants
        cycle = [
            _data_frame(kind, guids[j % len(guids)], j // len(guids), None)
            for j in range(cycle_frames)
        ]
        body = count - len(guids)  # the last frame of every guid is built separately
        pending: list[bytes] = []
        size = 0
        for j in range(max(0, body)):
            frame = cycle[j % cycle_frames]
            pending.append(frame)
            size += len(frame)
            if size >= _CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
        for j in range(max(0, body), count):
            pending.append(_data_frame(kind, guids[j % len(guids)], j, END_STAMP))
        yield b"".join(pending)

    def _paced(self, kind: Kind, count: int, rate: float) -> None:
        guids = self._guids
        started = time.monotonic()
        for j in range(count):
            delay = started + j / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            last = j >= count - len(guids)
            stamp = END_STAMP if last else time.time_ns() // 1000
            self._send(_data_frame(kind, guids[j % len(guids)], j, stamp))


def _accept(server: socket.socket) -> None:
    while True:
        try:
            sock, _ = server.accept()
        except OSError:
            return
        connection = _Connection(sock)
        threading.Thread(target=connection.serve, name="bench-sender-conn", daemon=True).start()


def main() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    for name in ("book-simple", "book-slim", "quotes-simple"):
        _kind(name)  # built before the first client so that no run pays for it
    accept = threading.Thread(target=_accept, args=(server,), name="bench-sender-accept")
    accept.daemon = True
    accept.start()
    print(f"PORT {server.getsockname()[1]}", flush=True)
    sys.stdin.read()  # the parent closes our stdin (or dies): stop
    server.close()


if __name__ == "__main__":
    main()
