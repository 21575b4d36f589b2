"""A live WebSocket connection as faults and inspection see it, and the session it runs.

Rules of this module:

* A ``LiveConnection`` only exists between a successful handshake and the end of the connection;
  the server registers and unregisters it under its own lock.
* Its methods are safe from any thread: they flip flags, queue a close, or cut the socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from alor_sync.emulator.connection import EmulatorConnection
from alor_sync.emulator.faults import DropMode
from alor_sync.emulator.hub import StreamSub
from alor_sync.emulator.outbox import Outbox
from alor_sync.emulator.stats import ConnectionInfo, SubscriptionInfo

__all__ = ["LiveConnection", "Session", "SessionFactory"]


class Session(Protocol):
    """The conversation of one connection (``WsSession`` or ``CwsSession``)."""

    def handle(self, text: str | bytes) -> None: ...

    def close(self) -> None: ...


SessionFactory = Callable[[str, Outbox], Session]


class LiveConnection:
    """One open WebSocket connection, as faults and inspection see it."""

    def __init__(
        self, number: int, path: str, conn: EmulatorConnection, outbox: Outbox, session: Session
    ) -> None:
        self.number = number
        self._path = path
        self.conn = conn
        self._outbox = outbox
        self.session = session
        self.remote_port = int(conn.remote_address[1])

    @property
    def path(self) -> str:
        return self._path

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    def freeze(self) -> None:
        self.conn.frozen = True

    def thaw(self) -> None:
        self.conn.frozen = False

    def drop(self, mode: DropMode, code: int, reason: str) -> None:
        if mode == "close" and not self.conn.frozen:
            self._outbox.close(code, reason)
        else:
            self.conn.abort("reset" if mode == "reset" else "eof")

    def find_subscription(self, guid: str) -> StreamSub | None:
        subscriptions: dict[str, StreamSub] = getattr(self.session, "subscriptions", {})
        return subscriptions.get(guid)

    def info(self) -> ConnectionInfo:
        subs = tuple(
            SubscriptionInfo(s.guid, s.opcode, s.fmt.value, s.frames)
            for s in list(getattr(self.session, "subscriptions", {}).values())
        )
        return ConnectionInfo(
            id=self.number,
            path=self._path,
            remote_port=self.remote_port,
            frozen=self.conn.frozen,
            authorized=bool(getattr(self.session, "authorized", False)),
            backlog=self._outbox.backlog,
            frames_sent=self._outbox.frames_sent,
            frames_dropped=self._outbox.frames_dropped,
            subscriptions=subs,
        )
