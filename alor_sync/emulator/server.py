"""The network side of the emulator: one port serving ``/ws``, ``/cws`` and ``POST /refresh``.

Rules of this module:

* Threads: ``alor-sync-emulator-accept`` accepts; each connection gets ``alor-sync-emulator-conn-N``
  (TLS, HTTP head, handshake, then the request loop), ``alor-sync-emulator-send-N`` (its outbox)
  and websockets' reader, renamed ``alor-sync-emulator-recv-N``. ``stop()`` joins all of them.
* ``/md/v2/...`` (the REST calls of ``rest.py``) is answered like ``/refresh``: one response,
  then the connection closes.
* Admission happens before websockets sees a request: unknown path 404, plain ``ws://`` with the
  406 switch 406, refused after a restart 503, over the connection limit 429 (our invention).
* The server knows nothing of subscriptions or orders: a session object per connection does.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.sync.server import Server

from alor_sync.emulator.config import EmulatorConfig
from alor_sync.emulator.connection import EmulatorConnection
from alor_sync.emulator.faults import Faults
from alor_sync.emulator.http_front import HttpRequest, read_request, refresh, respond
from alor_sync.emulator.liberties import DropPlan, FrameSplitter
from alor_sync.emulator.live import LiveConnection, Session, SessionFactory
from alor_sync.emulator.outbox import Outbox
from alor_sync.emulator.timer import Timer

__all__ = ["EmulatorServer"]

logger = logging.getLogger(__name__)
_ws_logger = logging.getLogger("alor_sync.emulator.websockets")

WS_PATHS = ("/ws", "/cws")
REST_PREFIX = "/md/v2/"
RestHandler = Callable[[str, str, dict[str, str]], tuple[int, bytes]]
SERVER_HEADER = "alor-sync-emulator"
MAX_REQUEST_BYTES = 1 << 20


class _ServerShim:
    """What websockets' ServerConnection asks of its server: whether it is shutting down."""

    def __init__(self) -> None:
        self.socket_closed = threading.Event()


class EmulatorServer:
    """Listens on one port and runs every connection in its own thread."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        timer: Timer,
        faults: Faults,
        sessions: SessionFactory,
        refresh_token: str,
        issue_token: Callable[[list[str] | None], str],
        rest: RestHandler | None = None,
    ) -> None:
        self._config = config
        self._rest = rest
        self._timer = timer
        self._faults = faults
        self._sessions = sessions
        self._refresh_token = refresh_token
        self._issue_token = issue_token
        self._ssl = config.server_ssl_context()
        self._shim = _ServerShim()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._live: dict[int, LiveConnection] = {}
        self._threads: set[threading.Thread] = set()
        self._opening: set[socket.socket] = set()
        self._slots = 0
        self._numbers = 0
        self._refuse_until = 0.0
        self._stopping = False
        self.counters = dict.fromkeys(
            ("connections", "refused", "slow_readers", "refreshes", "refresh_refusals"), 0
        )
        self._listener = socket.create_server((config.host, config.port))
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="alor-sync-emulator-accept"
        )

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._listener.getsockname()[1])

    def start(self) -> None:
        """Start accepting connections."""
        self._accept_thread.start()

    # -- registry (faults, inspection) -----------------------------------------------------------

    def live_connections(self) -> list[LiveConnection]:
        """Open WebSocket connections, oldest first."""
        with self._lock:
            return list(self._live.values())

    def refuse_handshakes(self, seconds: float) -> None:
        """Answer upgrades 503 for ``seconds`` (a restart's downtime)."""
        with self._lock:
            self._refuse_until = time.monotonic() + seconds

    def wait_for_connections(
        self, predicate: Callable[[list[LiveConnection]], bool], timeout: float | None
    ) -> bool:
        """Block until ``predicate(live connections)`` holds; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(list(self._live.values())), timeout)

    # -- shutdown --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Close every connection (1001, or cut if it does not answer) and join every thread."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            opening = list(self._opening)
        self._shim.socket_closed.set()
        self._wake_w.send(b"x")
        if self._accept_thread.is_alive():
            self._accept_thread.join()
        for sock in opening:
            _shutdown(sock)
        for live in self.live_connections():
            live.drop("close", 1001, "Going away")
        deadline = time.monotonic() + self._config.close_timeout + 1.0
        for thread in self._snapshot_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        for live in self.live_connections():
            live.conn.abort("eof")
        for thread in self._snapshot_threads():
            thread.join()
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    def _snapshot_threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    # -- accepting -------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        sock, _ = self._listener.accept()
                    except OSError:
                        continue  # the client gave up before we accepted
                    self._spawn(sock)

    def _spawn(self, sock: socket.socket) -> None:
        with self._lock:
            self._numbers += 1
            number = self._numbers
            self._opening.add(sock)
            thread = threading.Thread(
                target=self._serve, args=(sock, number), name=f"alor-sync-emulator-conn-{number}"
            )
            self._threads.add(thread)
        thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self._config.open_timeout)
            if self._ssl is not None:
                sock = self._wrap_tls(sock)
            self._route(sock, read_request(sock), number)
        except (OSError, ValueError) as exc:  # ssl.SSLError and TimeoutError are OSErrors
            logger.debug("emulator connection %d ended early: %s", number, exc.__class__.__name__)
        except Exception:
            logger.exception("emulator connection %d failed", number)
        finally:
            with self._lock:
                self._opening.discard(sock)
                self._threads.discard(threading.current_thread())
            sock.close()

    def _wrap_tls(self, sock: socket.socket) -> socket.socket:
        assert self._ssl is not None
        with self._lock:
            self._opening.discard(sock)
        tls = self._ssl.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self._opening.add(tls)
        try:
            tls.do_handshake()
        except BaseException:
            with self._lock:
                self._opening.discard(tls)
            tls.close()  # wrap_socket() detached the plain socket: this one owns the fd now
            raise
        return tls

    def _route(self, sock: socket.socket, request: HttpRequest, number: int) -> None:
        path = request.path
        if path == "/refresh":
            issued = refresh(
                sock,
                request,
                refresh_token=self._refresh_token,
                issue=self._issue_token,
                failure=self._faults.refresh_failure(),
            )
            with self._lock:
                self.counters["refreshes" if issued else "refresh_refusals"] += 1
            return
        if path.startswith(REST_PREFIX) and self._rest is not None:
            status, body = self._rest(request.method, request.target, request.headers)
            respond(sock, status, body, "application/json; charset=utf-8")
            return
        if path not in WS_PATHS:
            respond(sock, 404, f"No such endpoint: {path}\n")
            return
        refusal = self._admit(request)
        if refusal is not None:
            respond(sock, refusal[0], refusal[1])
            return
        try:
            self._run_websocket(sock, request, path, number)
        finally:
            with self._changed:
                self._slots -= 1

    def _admit(self, request: HttpRequest) -> tuple[int, str] | None:
        """None to go on (a connection slot is then held), or the refusal to answer."""
        with self._lock:
            if request.is_upgrade and self._config.reject_plain_ws and self._ssl is None:
                refusal = (406, "Not Acceptable: use wss://\n")
            elif self._stopping or time.monotonic() < self._refuse_until:
                refusal = (503, "Service restarting\n")
            elif self._slots >= self._config.max_connections:
                limit = self._config.max_connections
                refusal = (429, f"Too many connections: at most {limit} per user\n")
            else:
                self._slots += 1
                return None
            self.counters["refused"] += 1
            return refusal

    # -- WebSocket -------------------------------------------------------------------------------

    def _handshake(
        self, sock: socket.socket, request: HttpRequest, number: int
    ) -> EmulatorConnection | None:
        extensions = enable_server_permessage_deflate(None) if self._config.compression else None
        protocol = ServerProtocol(
            extensions=extensions, max_size=MAX_REQUEST_BYTES, logger=_ws_logger
        )
        protocol.receive_data(request.raw)
        events = protocol.events_received()
        if not events or not isinstance(events[0], Request):
            for data in protocol.data_to_send():
                sock.sendall(data)
            return None
        sock.settimeout(None)
        conn = EmulatorConnection(
            sock,
            protocol,
            cast(Server, self._shim),
            ping_interval=None,  # production is not known to ping its clients
            ping_timeout=None,
            close_timeout=self._config.close_timeout,
        )
        conn.name_threads(number)
        conn.request = events[0]
        conn.request_rcvd.set()
        try:
            conn.handshake(None, None, SERVER_HEADER, self._config.open_timeout)
        except Exception:
            logger.debug("emulator handshake %d failed", number, exc_info=True)
        if conn.protocol.state is not OPEN:
            conn.close_socket()
            conn.recv_events_thread.join()
            return None
        return conn

    def _run_websocket(
        self, sock: socket.socket, request: HttpRequest, path: str, number: int
    ) -> None:
        conn = self._handshake(sock, request, number)
        if conn is None:
            return
        try:
            self._converse(conn, path, number)
        finally:
            conn.close_socket()
            conn.recv_events_thread.join()

    def _converse(self, conn: EmulatorConnection, path: str, number: int) -> None:
        """Register the connection, serve its requests until it ends, unregister it."""
        profile, seed = self._config.profile, self._config.seed
        splitter = FrameSplitter(profile.fragmented, seed, number) if profile.fragmented else None
        outbox = Outbox(
            conn,
            number=number,
            max_backlog=self._config.max_backlog,
            on_overflow=lambda: self._slow_reader(conn),
            split=None if splitter is None else splitter.split,
            drops=DropPlan(profile.drop_rate, seed, number) if profile.drop_rate else None,
        )
        session = self._sessions(path, outbox)
        live = LiveConnection(number, path, conn, outbox, session)
        with self._changed:
            self._opening.discard(conn.socket)
            self._live[number] = live
            self.counters["connections"] += 1
            self._changed.notify_all()
        outbox.start()
        try:
            self._read_loop(conn, session)
        finally:
            session.close()
            outbox.finish()
            with self._changed:
                del self._live[number]
                self._changed.notify_all()

    def _read_loop(self, conn: EmulatorConnection, session: Session) -> None:
        while True:
            try:
                message: Any = conn.recv()
            except ConnectionClosed:
                return
            if conn.frozen:
                continue  # a silent server does not answer either
            try:
                session.handle(message)
            except Exception:
                logger.exception("emulator failed to handle a request")

    def _slow_reader(self, conn: EmulatorConnection) -> None:
        with self._lock:
            self.counters["slow_readers"] += 1
        # The close frame goes out once the writer gets to it; a reader that is stuck
        # never lets it through, so the TCP connection is cut after the close timeout.
        self._timer.call_later(self._config.close_timeout, lambda: conn.abort("eof"))


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
