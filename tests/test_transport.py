"""ReconnectingWebSocket against scripted local peers (127.0.0.1, port 0).

Two peers: ``WsPeer`` (the ``websockets`` sync server: answers pings, closes properly) and
``RawPeer`` (a raw socket that completes the handshake and then does only what the test says:
split frames, stay silent, send bad UTF-8). Every wait is on a queue or an event with a timeout.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import queue
import random
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from alor_sync.dispatch.workers import WorkerPool
from alor_sync.errors import (
    ClientClosedError,
    ConnectionLostError,
    InvalidArgumentError,
    MalformedFrameError,
)
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.connection import ReconnectingWebSocket
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind, TransportState

WAIT = 5.0  # upper bound of every wait; tests normally finish far sooner
CONNECTED = ConnectionEventKind.CONNECTED
DISCONNECTED = ConnectionEventKind.DISCONNECTED
CONNECT_FAILED = ConnectionEventKind.CONNECT_FAILED
GAVE_UP = ConnectionEventKind.GAVE_UP


class TopOfRange(random.Random):
    """Draws the upper bound: backoff delays equal their ceilings, so growth is visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --------------------------------------------------------------------------- websockets peer


class WsSession:
    """One server-side connection of :class:`WsPeer`."""

    def __init__(self, connection: ServerConnection, index: int) -> None:
        self.connection = connection
        self.index = index
        self.received: queue.Queue[str | bytes] = queue.Queue()
        self.ended = threading.Event()
        self.close_code: int | None = None

    def send(self, text: str) -> None:
        self.connection.send(text)

    def drop(self) -> None:
        """End the TCP connection with no close frame."""
        self.connection.socket.shutdown(socket.SHUT_RDWR)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.connection.close(code, reason)

    def next_message(self) -> str | bytes:
        return self.received.get(timeout=WAIT)


class WsPeer:
    """A websockets server in a background thread; can stop and restart on the same port."""

    def __init__(
        self,
        *,
        greeting: Callable[[int], str] | None = None,
        on_connect: Callable[[WsSession], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._greeting = greeting
        self._on_connect = on_connect
        self._ssl_context = ssl_context
        self.sessions: queue.Queue[WsSession] = queue.Queue()
        self.port = 0
        self._count = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self._ssl_context is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        self._server = serve(
            self._handle, "127.0.0.1", self.port, ping_interval=None, ssl=self._ssl_context
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test-ws-peer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(WAIT)
        self._server = self._thread = None

    def next_session(self) -> WsSession:
        return self.sessions.get(timeout=WAIT)

    def _handle(self, connection: ServerConnection) -> None:
        self._count += 1
        session = WsSession(connection, self._count)
        self.sessions.put(session)
        try:
            if self._on_connect is not None:
                self._on_connect(session)
            if self._greeting is not None:
                connection.send(self._greeting(session.index))
            for message in connection:
                session.received.put(message)
        except (ConnectionClosed, OSError):
            pass
        finally:
            session.close_code = connection.close_code
            session.ended.set()


# ------------------------------------------------------------------------------- raw peer

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def server_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """An unmasked server-to-client frame."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


class RawSession:
    """A server-side socket after the handshake; sends only what the test tells it to."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(WAIT)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_text(self, text: str) -> None:
        self.send_raw(server_frame(text.encode()))

    def read_frame(self) -> tuple[int, bytes]:
        """The next client frame (masked, as RFC 6455 requires of clients), unmasked."""
        first, second = self._exactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._exactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._exactly(8))
        assert second & 0x80, "client frames must be masked"
        mask = self._exactly(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._exactly(size)))
        return first & 0x0F, payload

    def close(self) -> None:
        self.sock.close()

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("client closed the connection")
            data += chunk
        return data


class RawPeer:
    """Accepts connections, completes the WebSocket handshake by hand, then stays scripted."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.sessions: queue.Queue[RawSession] = queue.Queue()
        self._all: list[RawSession] = []
        self._thread = threading.Thread(target=self._accept_loop, name="test-raw-peer")
        self._thread.start()

    @property
    def url(self) -> str:
        scheme = "wss" if self._ssl_context is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ws"

    def next_session(self) -> RawSession:
        return self.sessions.get(timeout=WAIT)

    def stop(self) -> None:
        # shutdown() wakes the blocked accept() on Linux; close() alone would not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(WAIT)
        for session in self._all:
            session.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            try:
                session = RawSession(self._handshake(sock))
            except (OSError, ValueError):
                sock.close()
                continue
            self._all.append(session)
            self.sessions.put(session)

    def _handshake(self, sock: socket.socket) -> socket.socket:
        sock.settimeout(WAIT)
        if self._ssl_context is not None:
            sock = self._ssl_context.wrap_socket(sock, server_side=True)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                raise ValueError("no handshake")
            request += chunk
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest())
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        return sock


# --------------------------------------------------------------------------------- fixtures


class Recorder:
    """Collects what the transport's callbacks see, for the test thread to wait on."""

    def __init__(self) -> None:
        self.log: list[str] = []  # "open" and frame texts, in callback order
        self.frames: queue.Queue[str] = queue.Queue()
        self.events: queue.Queue[tuple[float, ConnectionEvent]] = queue.Queue()
        self.malformed: queue.Queue[MalformedFrameError] = queue.Queue()
        self.threads: set[str] = set()

    def on_open(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.log.append("open")

    def on_frame(self, text: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.log.append(text)
        self.frames.put(text)

    def on_state(self, event: ConnectionEvent) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.put((time.monotonic(), event))

    def on_malformed_frame(self, error: MalformedFrameError) -> None:
        self.malformed.put(error)

    def next_frame(self) -> str:
        return self.frames.get(timeout=WAIT)

    def next_event(self, kind: ConnectionEventKind | None = None) -> ConnectionEvent:
        return self.timed_event(kind)[1]

    def timed_event(self, kind: ConnectionEventKind | None = None) -> tuple[float, ConnectionEvent]:
        at, event = self.events.get(timeout=WAIT)
        assert kind is None or event.kind is kind, event
        return at, event

    def pending_events(self) -> list[ConnectionEvent]:
        events = []
        while not self.events.empty():
            events.append(self.events.get_nowait()[1])
        return events


MakeTransport = Callable[..., ReconnectingWebSocket]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=["own-thread", "lent-to-workers"])
def reading(request: pytest.FixtureRequest) -> Iterator[WorkerPool | None]:
    """Every transport test runs twice: the connection thread reads, or it lends the reading to
    a worker pool's threads (read_turns.py), which then read every frame in its place."""
    if request.param == "own-thread":
        yield None
        return
    pool = WorkerPool(2, drain=lambda route: None)
    yield pool
    pool.stop()
    assert pool.join(time.monotonic() + WAIT)


@pytest.fixture
def make_transport(recorder: Recorder, reading: WorkerPool | None) -> Iterator[MakeTransport]:
    """Builds started transports wired to ``recorder``; closes and joins them afterwards."""
    made: list[ReconnectingWebSocket] = []

    def make(url: str, *, start: bool = True, **kwargs: Any) -> ReconnectingWebSocket:
        options: dict[str, Any] = {
            "name": "alor-sync-test-ws",
            "on_open": recorder.on_open,
            "on_frame": recorder.on_frame,
            "on_state": recorder.on_state,
            "on_malformed_frame": recorder.on_malformed_frame,
            "backoff": Backoff(initial=0.01, maximum=0.05, rng=random.Random(3)),
            "connect_timeout": WAIT,
            "lender": reading,
        }
        options.update(kwargs)
        transport = ReconnectingWebSocket(url, **options)
        made.append(transport)
        if start:
            transport.start()
        return transport

    yield make
    for transport in made:
        transport.close(timeout=WAIT)


@pytest.fixture
def ws_peer() -> Iterator[WsPeer]:
    peer = WsPeer(greeting=lambda n: f"hello-{n}")
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture
def raw_peer() -> Iterator[RawPeer]:
    peer = RawPeer()
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting the test CA) for 127.0.0.1."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def unused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
    return port


# ------------------------------------------------------------------- connect and deliver


def test_frames_arrive_in_order_after_on_open(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(ws_peer.url)
    session = ws_peer.next_session()
    assert transport.wait_connected(WAIT)
    for i in range(200):
        session.send(f"m{i}")
    received = [recorder.next_frame() for _ in range(201)]
    assert received == ["hello-1"] + [f"m{i}" for i in range(200)]
    assert recorder.log[0] == "open"
    reader = "alor-sync-test-ws" if transport._lender is None else "alor-sync-dispatch-"
    assert {name.rstrip("0123456789") for name in recorder.threads - {"alor-sync-test-ws"}} <= {
        "alor-sync-dispatch-"
    }
    assert any(name.startswith(reader) for name in recorder.threads)
    stats = transport.statistics()
    assert stats.frames_received == 201
    assert stats.bytes_received == sum(len(t) for t in received)
    assert stats.connects == 1 and stats.state is TransportState.OPEN


def test_on_open_can_send_before_frames_are_read(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    holder: list[ReconnectingWebSocket] = []

    def on_open() -> None:
        recorder.on_open()
        holder[0].send('{"opcode":"resubscribe"}')

    holder.append(make_transport(ws_peer.url, on_open=on_open, start=False))
    holder[0].start()
    session = ws_peer.next_session()
    assert session.next_message() == '{"opcode":"resubscribe"}'
    assert recorder.next_frame() == "hello-1"


def test_abrupt_drop_reconnects_and_on_open_runs_before_each_connections_frames(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    make_transport(ws_peer.url)
    first = ws_peer.next_session()
    assert recorder.next_frame() == "hello-1"
    recorder.next_event(CONNECTED)
    first.drop()
    lost = recorder.next_event(DISCONNECTED)
    assert lost.will_retry and lost.next_attempt_in is not None
    ws_peer.next_session()
    assert recorder.next_frame() == "hello-2"
    recorder.next_event(CONNECTED)
    assert recorder.log == ["open", "hello-1", "open", "hello-2"]


def test_clean_close_from_the_server_reconnects(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(ws_peer.url)
    ws_peer.next_session().close(4000, "maintenance")
    lost = recorder.next_event(CONNECTED) and recorder.next_event(DISCONNECTED)
    assert "4000" in lost.reason and "maintenance" in lost.reason
    assert lost.will_retry
    ws_peer.next_session()
    recorder.next_event(CONNECTED)
    assert transport.statistics().reconnects == 1


def test_forced_reconnect_drops_the_link_with_the_given_reason(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(ws_peer.url)
    first = ws_peer.next_session()
    recorder.next_event(CONNECTED)
    assert transport.reconnect("data watchdog: no quotes for 30 s")
    assert recorder.next_event(DISCONNECTED).reason == "data watchdog: no quotes for 30 s"
    assert first.ended.wait(WAIT)
    ws_peer.next_session()
    recorder.next_event(CONNECTED)


def test_sends_from_many_threads_arrive_whole(
    ws_peer: WsPeer, make_transport: MakeTransport
) -> None:
    transport = make_transport(ws_peer.url)
    session = ws_peer.next_session()
    assert transport.wait_connected(WAIT)

    def sender(k: int) -> None:
        for i in range(50):
            transport.send(f"t{k}-{i}-" + "x" * 500)

    threads = [
        threading.Thread(target=sender, args=(k,), name=f"test-sender-{k}") for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    got = [session.next_message() for _ in range(200)]
    for k in range(4):
        mine = [m for m in got if isinstance(m, str) and m.startswith(f"t{k}-")]
        assert mine == [f"t{k}-{i}-" + "x" * 500 for i in range(50)]


# ----------------------------------------------------------------------------- liveness


def test_a_silent_peer_is_dropped_after_the_pong_deadline(
    raw_peer: RawPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    make_transport(raw_peer.url, heartbeat_interval=0.2, pong_timeout=0.2)
    raw_peer.next_session()  # never reads, never answers
    opened_at, _ = recorder.timed_event(CONNECTED)
    lost_at, lost = recorder.timed_event(DISCONNECTED)
    assert "no pong" in lost.reason
    # First ping at 0.2 s, deadline 0.2 s later; generous upper bound for a noisy machine.
    assert 0.35 <= lost_at - opened_at < 2.0
    raw_peer.next_session()
    recorder.next_event(CONNECTED)


def test_pongs_keep_a_quiet_link_alive(
    raw_peer: RawPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(raw_peer.url, heartbeat_interval=0.05, pong_timeout=0.3)
    session = raw_peer.next_session()
    # With no pong the link would die 0.35 s after opening, before its 8th ping: 15 pings on
    # one socket prove the pongs count.
    for _ in range(15):
        opcode, payload = session.read_frame()
        assert opcode == OP_PING
        session.send_raw(server_frame(payload, OP_PONG))
    transport.close(timeout=WAIT)
    stats = transport.statistics()
    assert stats.connects == 1 and stats.pings_sent >= 15 and stats.pongs_received >= 2
    assert stats.last_pong_rtt is not None and 0 <= stats.last_pong_rtt < 1.0
    kinds = [e.kind for e in recorder.pending_events()]
    assert kinds == [CONNECTED, DISCONNECTED]  # the second one is our close


def test_a_server_ping_is_answered_and_counts_as_liveness(
    raw_peer: RawPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    make_transport(raw_peer.url, heartbeat_interval=None)
    session = raw_peer.next_session()
    session.send_raw(server_frame(b"are you there", OP_PING))
    assert session.read_frame() == (OP_PONG, b"are you there")


@pytest.mark.parametrize("cut", [1, 3, 40], ids=["in-header", "in-length", "in-payload"])
def test_a_frame_split_across_a_long_pause_arrives_intact(
    cut: int, raw_peer: RawPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    # send_timeout bounds a read stalled mid-frame; heartbeat pings show the read loop ran
    # (and its timers fired) while the frame was incomplete.
    make_transport(raw_peer.url, heartbeat_interval=0.1, pong_timeout=WAIT, send_timeout=0.1)
    session = raw_peer.next_session()
    recorder.next_event(CONNECTED)
    text = "split:" + "é" * 150  # 306 bytes: a 16-bit extended length
    frame = server_frame(text.encode())
    session.send_raw(frame[:cut])
    for _ in range(2):  # each ping comes after a stalled read timed out
        assert session.read_frame()[0] == OP_PING
    session.send_raw(frame[cut:] + server_frame(b"after"))
    assert recorder.next_frame() == text
    assert recorder.next_frame() == "after"
    assert recorder.pending_events() == []


def test_a_burst_in_one_tls_record_is_read_without_waiting_for_more_data(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], recorder: Recorder, make_transport: MakeTransport
) -> None:
    server_context, client_context = tls
    peer = RawPeer(ssl_context=server_context)
    try:
        # No heartbeat: if frames buffered inside the SSL object were missed, nothing would
        # wake the reader and this test would time out.
        make_transport(peer.url, ssl_context=client_context, heartbeat_interval=None)
        session = peer.next_session()
        session.send_raw(b"".join(server_frame(f"b{i}".encode()) for i in range(50)))
        assert [recorder.next_frame() for _ in range(50)] == [f"b{i}" for i in range(50)]
    finally:
        peer.stop()


def test_invalid_utf8_is_reported_and_the_link_stays_up(
    raw_peer: RawPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(raw_peer.url, heartbeat_interval=None)
    session = raw_peer.next_session()
    session.send_raw(server_frame(b"\xff\xfe{not utf-8") + server_frame(b'{"ok":1}'))
    error = recorder.malformed.get(timeout=WAIT)
    assert isinstance(error, MalformedFrameError) and "UTF-8" in str(error)
    assert recorder.next_frame() == '{"ok":1}'
    assert transport.statistics().malformed_frames == 1
    assert [e.kind for e in recorder.pending_events()] == [CONNECTED]


# ------------------------------------------------------------------- backoff and giving up


def test_backoff_grows_while_down_and_resets_after_a_healthy_open(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    backoff = Backoff(initial=0.01, maximum=0.08, rng=TopOfRange())
    make_transport(ws_peer.url, backoff=backoff, healthy_after=0.0)
    assert recorder.next_frame() == "hello-1"  # a frame: the open is healthy
    recorder.next_event(CONNECTED)
    ws_peer.stop()
    assert recorder.next_event(DISCONNECTED).next_attempt_in == 0.01
    delays = [recorder.next_event(CONNECT_FAILED).next_attempt_in for _ in range(5)]
    assert delays == [0.02, 0.04, 0.08, 0.08, 0.08]
    ws_peer.start()  # same port
    assert recorder.next_frame() == "hello-2"
    while (event := recorder.next_event()).kind is CONNECT_FAILED:
        pass
    assert event.kind is CONNECTED
    ws_peer.next_session()  # the first session, long gone
    ws_peer.next_session().drop()
    assert recorder.next_event(DISCONNECTED).next_attempt_in == 0.01


@pytest.mark.parametrize("cut", ["drop", "close"])
def test_opens_without_a_frame_are_not_healthy_and_keep_the_backoff_growing(
    cut: str, recorder: Recorder, make_transport: MakeTransport
) -> None:
    # Accept, then cut at once: with or without a close frame (which is no sign of health).
    peer = WsPeer(on_connect=WsSession.drop if cut == "drop" else WsSession.close)
    peer.start()
    try:
        backoff = Backoff(initial=0.01, maximum=1.0, rng=TopOfRange())
        transport = make_transport(peer.url, backoff=backoff, healthy_after=0.0)
        delays: list[float | None] = []
        attempts: list[int] = []
        while len(delays) < 4:
            event = recorder.next_event()
            if event.kind is not CONNECTED:
                delays.append(event.next_attempt_in)
                attempts.append(event.failed_attempts)
        assert delays == [0.01, 0.02, 0.04, 0.08]
        assert attempts == [1, 2, 3, 4]
        transport.close(timeout=WAIT)
    finally:
        peer.stop()


def test_mark_healthy_resets_the_backoff_of_a_flapping_link_at_once(
    recorder: Recorder, make_transport: MakeTransport
) -> None:
    """A server that greets and then drops every connection: the owner confirms each one on its
    first frame, so the delay stays at the first step instead of growing (healthy_after alone
    would need 60 s of a stable connection)."""
    peer = WsPeer(greeting=lambda n: f"hello-{n}")
    peer.start()
    holder: list[ReconnectingWebSocket] = []

    def confirm(text: str) -> None:
        holder[0].mark_healthy()
        recorder.on_frame(text)

    try:
        backoff = Backoff(initial=0.01, maximum=1.0, rng=TopOfRange())
        holder.append(
            make_transport(peer.url, backoff=backoff, healthy_after=60.0, on_frame=confirm)
        )
        for _ in range(3):
            recorder.next_frame()
            peer.next_session().drop()
            recorder.next_event(CONNECTED)
            event = recorder.next_event(DISCONNECTED)
            assert event.next_attempt_in == 0.01
            assert event.failed_attempts == 0
    finally:
        peer.stop()


def test_mark_healthy_between_connections_does_nothing(make_transport: MakeTransport) -> None:
    transport = make_transport(f"ws://127.0.0.1:{unused_port()}/ws", start=False)
    transport.mark_healthy()  # no connection: nothing to reset, no error
    assert transport.statistics().connects == 0


def test_max_attempts_ends_in_gave_up_with_an_event(
    recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(f"ws://127.0.0.1:{unused_port()}/ws", max_attempts=3)
    failures = [recorder.next_event(CONNECT_FAILED) for _ in range(3)]
    assert [f.will_retry for f in failures] == [True, True, False]
    assert [f.failed_attempts for f in failures] == [1, 2, 3]
    assert "connect failed" in failures[0].reason
    gave_up = recorder.next_event(GAVE_UP)
    assert gave_up.failed_attempts == 3
    assert transport.wait_connected(WAIT) is False
    assert transport.state is TransportState.GAVE_UP
    transport.close(timeout=WAIT)
    assert transport.state is TransportState.GAVE_UP
    stats = transport.statistics()
    assert stats.connect_failures == 3 and stats.last_error is not None


# --------------------------------------------------------------------------------- closing


def test_close_from_another_thread_sends_a_close_frame_and_joins(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(ws_peer.url)
    session = ws_peer.next_session()
    recorder.next_event(CONNECTED)
    closer = threading.Thread(target=transport.close, kwargs={"timeout": WAIT}, name="test-closer")
    closer.start()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert transport.state is TransportState.CLOSED
    assert "alor-sync-test-ws" not in {t.name for t in threading.enumerate()}
    closed = recorder.next_event(DISCONNECTED)
    assert not closed.will_retry and closed.reason == "closed by the client"
    assert session.ended.wait(WAIT) and session.close_code == 1000
    transport.close()  # idempotent
    with pytest.raises(ClientClosedError):
        transport.send("late")
    with pytest.raises(ClientClosedError):
        transport.start()


def test_close_from_inside_on_frame_does_not_deadlock(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    holder: list[ReconnectingWebSocket] = []

    def on_frame(text: str) -> None:
        recorder.on_frame(text)
        holder[0].close()  # on the connection thread itself

    holder.append(make_transport(ws_peer.url, on_frame=on_frame, start=False))
    holder[0].start()
    assert recorder.next_frame() == "hello-1"
    recorder.next_event(CONNECTED)
    assert not recorder.next_event(DISCONNECTED).will_retry
    holder[0].close(timeout=WAIT)
    assert holder[0].state is TransportState.CLOSED


def test_close_from_inside_on_state_during_backoff(
    recorder: Recorder, make_transport: MakeTransport
) -> None:
    holder: list[ReconnectingWebSocket] = []

    def on_state(event: ConnectionEvent) -> None:
        recorder.on_state(event)
        holder[0].close()

    big_backoff = Backoff(initial=60.0, maximum=60.0)  # close() must cut this wait short
    url = f"ws://127.0.0.1:{unused_port()}/ws"
    holder.append(make_transport(url, on_state=on_state, backoff=big_backoff, start=False))
    holder[0].start()
    assert recorder.next_event(CONNECT_FAILED).next_attempt_in is not None
    started = time.monotonic()
    holder[0].close(timeout=WAIT)
    assert time.monotonic() - started < WAIT
    assert holder[0].state is TransportState.CLOSED


def test_close_before_start(make_transport: MakeTransport) -> None:
    transport = make_transport("ws://127.0.0.1:9/ws", start=False)
    assert transport.state is TransportState.IDLE
    transport.close()
    transport.close()
    assert transport.statistics().state is TransportState.CLOSED
    assert transport.wait_connected(0.01) is False


def test_send_when_down_raises_connection_lost(
    recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(f"ws://127.0.0.1:{unused_port()}/ws", start=False)
    with pytest.raises(ConnectionLostError, match="not connected"):
        transport.send("x")
    transport.start()
    recorder.next_event(CONNECT_FAILED)
    with pytest.raises(ConnectionLostError):
        transport.send("x")
    assert transport.reconnect("nothing to drop") is False


def test_wait_connected_times_out_while_the_server_is_down(
    make_transport: MakeTransport,
) -> None:
    transport = make_transport(f"ws://127.0.0.1:{unused_port()}/ws")
    assert transport.wait_connected(0.2) is False
    assert transport.state in (TransportState.BACKOFF, TransportState.CONNECTING)


# ------------------------------------------------------------------- callbacks that fail


def test_failing_callbacks_never_kill_the_thread(
    ws_peer: WsPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    opens: list[int] = []
    events: queue.Queue[ConnectionEvent] = queue.Queue()

    def on_open() -> None:
        opens.append(1)
        if len(opens) == 1:
            raise RuntimeError("resubscribe failed")

    def on_frame(text: str) -> None:
        recorder.on_frame(text)
        raise ValueError("bad frame handler")

    def on_state(event: ConnectionEvent) -> None:
        events.put(event)
        raise KeyError("bad state handler")

    transport = make_transport(ws_peer.url, on_open=on_open, on_frame=on_frame, on_state=on_state)
    failed = events.get(timeout=WAIT)
    assert failed.kind is CONNECT_FAILED and failed.reason == "on_open raised RuntimeError"
    assert events.get(timeout=WAIT).kind is CONNECTED
    ws_peer.next_session()
    session = ws_peer.next_session()
    session.send("second")
    assert [recorder.next_frame(), recorder.next_frame()] == ["hello-2", "second"]
    assert transport.is_connected
    # on_open, on_state twice, on_frame("hello-2"); the last on_frame may still be running.
    assert transport.statistics().callback_errors >= 4


# ---------------------------------------------------------------------- TLS and secrets


def test_tls_with_a_trusted_private_ca(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], recorder: Recorder, make_transport: MakeTransport
) -> None:
    server_context, client_context = tls
    peer = WsPeer(greeting=lambda n: f"secure-{n}", ssl_context=server_context)
    peer.start()
    try:
        make_transport(peer.url, ssl_context=client_context)
        assert recorder.next_frame() == "secure-1"
    finally:
        peer.stop()


def test_tls_verification_is_on_by_default(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], recorder: Recorder, make_transport: MakeTransport
) -> None:
    peer = WsPeer(ssl_context=tls[0])
    peer.start()
    try:
        make_transport(peer.url, max_attempts=1)
        failed = recorder.next_event(CONNECT_FAILED)
        assert "CERTIFICATE_VERIFY_FAILED" in failed.reason
        recorder.next_event(GAVE_UP)
    finally:
        peer.stop()


def test_a_context_that_does_not_verify_is_refused() -> None:
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    no_hostname_check = ssl.create_default_context()
    no_hostname_check.check_hostname = False
    with pytest.raises(InvalidArgumentError, match="verify"):
        ReconnectingWebSocket(
            "wss://127.0.0.1:1/ws",
            name="x",
            on_open=lambda: None,
            on_frame=lambda _: None,
            ssl_context=no_hostname_check,
        )
    with pytest.raises(InvalidArgumentError, match="verify"):
        ReconnectingWebSocket(
            "wss://127.0.0.1:1/ws",
            name="x",
            on_open=lambda: None,
            on_frame=lambda _: None,
            ssl_context=insecure,
        )


def test_tokens_in_the_url_or_headers_stay_out_of_logs_stats_and_repr(
    ws_peer: WsPeer,
    recorder: Recorder,
    make_transport: MakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="alor_sync.transport")
    secret = "SECRET-TOKEN-42"
    calls: list[int] = []

    def header() -> list[str]:
        calls.append(1)
        return [f"Authorization: Bearer {secret}-{len(calls)}"]

    transport = make_transport(f"{ws_peer.url}?token={secret}", header=header)
    session = ws_peer.next_session()
    assert session.connection.request is not None
    assert session.connection.request.headers["Authorization"] == f"Bearer {secret}-1"
    session.drop()
    second = ws_peer.next_session()  # the header callable runs again for each attempt
    assert second.connection.request is not None
    assert second.connection.request.headers["Authorization"] == f"Bearer {secret}-2"
    dead = make_transport(f"ws://127.0.0.1:{unused_port()}/ws?token={secret}", max_attempts=1)
    while recorder.next_event().kind is not GAVE_UP:
        pass
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("alor_sync")]
    assert ours  # the transport did log (connects, failures)
    for shown in (
        repr(transport),
        repr(dead),
        str(transport.statistics()),
        str(dead.statistics()),
        *ours,
    ):
        assert secret not in shown
    assert "/ws" in repr(transport)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"heartbeat_interval": 0.0}, "heartbeat_interval"),
        ({"pong_timeout": -1.0}, "pong_timeout"),
        ({"connect_timeout": 0.0}, "connect_timeout"),
        ({"send_timeout": 0.0}, "send_timeout"),
        ({"healthy_after": -1.0}, "healthy_after"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"name": ""}, "name"),
        ({"url": "http://127.0.0.1/ws"}, "ws://"),
        ({"url": "wss://127.0.0.1:port/ws"}, "ws://"),
        ({"url": "wss:///ws"}, "ws://"),
        ({"url": "ws://127.0.0.1/ws", "ssl_context": ssl.create_default_context()}, "wss://"),
    ],
)
def test_bad_arguments_fail_fast(kwargs: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {
        "url": "wss://127.0.0.1/ws",
        "name": "alor-sync-test-ws",
        "on_open": lambda: None,
        "on_frame": lambda _: None,
    }
    options.update(kwargs)
    url = options.pop("url")
    with pytest.raises(InvalidArgumentError, match=message):
        ReconnectingWebSocket(url, **options)


def test_without_select_poll_the_selector_fallback_works(
    ws_peer: WsPeer,
    recorder: Recorder,
    make_transport: MakeTransport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(select, "poll")  # as on Windows
    transport = make_transport(ws_peer.url, heartbeat_interval=0.05)
    session = ws_peer.next_session()
    assert recorder.next_frame() == "hello-1"
    session.send("second")
    assert recorder.next_frame() == "second"
    transport.close(timeout=WAIT)
    assert session.ended.wait(WAIT) and session.close_code == 1000


def test_a_send_blocked_past_send_timeout_drops_the_link(
    raw_peer: RawPeer, recorder: Recorder, make_transport: MakeTransport
) -> None:
    transport = make_transport(raw_peer.url, heartbeat_interval=None, send_timeout=0.2)
    raw_peer.next_session()  # never reads: the socket buffers fill up
    recorder.next_event(CONNECTED)
    chunk = "x" * (1 << 20)
    with pytest.raises(ConnectionLostError, match="while sending"):
        for _ in range(200):  # far more than loopback socket buffers hold
            transport.send(chunk)
    lost = recorder.next_event(DISCONNECTED)
    assert lost.reason.startswith("send failed") and lost.will_retry
    raw_peer.next_session()
    recorder.next_event(CONNECTED)
