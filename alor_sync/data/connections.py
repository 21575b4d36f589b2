"""The client's ``/ws`` connections: one to start with, more when the subscriptions outgrow it.

ALOR serves at most 5,000 subscriptions on one connection and 10 connections per user. A client
that needs more spreads them: each connection is a
:class:`~alor_sync.data.session.DataSession` with its own
:class:`~alor_sync.transport.connection.ReconnectingWebSocket` (and thread), all sharing one
dispatcher, one token provider and one control loop.

Rules of this module:

* A subscription lives on one connection for its whole life (it is re-sent there after a drop).
  A new one goes to the first connection with room; a connection is opened only when every open
  one holds ``per_connection`` subscriptions, and never beyond ``max_connections()``.
* Identical full-state requests share one server subscription whichever connection holds it.
* Choosing a connection and registering the subscription happen under one lock, so concurrent
  subscribers never push a connection past its cap; nothing here reads frames or runs user code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from alor_sync.data.session import DataSession
from alor_sync.data.subscriptions import Subscription
from alor_sync.errors import ClientClosedError, InvalidArgumentError
from alor_sync.events import GapNotice, StateChange
from alor_sync.transport.connection import ReconnectingWebSocket
from alor_sync.wire import Format, Opcode

__all__ = ["DataConnections", "DataLink"]


@attrs.frozen
class DataLink:
    """One data connection: its name (``ws``, ``ws-2``...), subscriptions and socket."""

    name: str
    session: DataSession
    transport: ReconnectingWebSocket


class DataConnections:
    """The data connections of one client; ``build(number)`` makes connection ``number`` (1-based)
    without starting it.

    Thread-safety: every method may be called from any thread. ``max_connections`` is asked each
    time a connection would be added (the command channel may take one of the user's ten).
    """

    def __init__(
        self,
        build: Callable[[int], DataLink],
        *,
        per_connection: int,
        max_connections: Callable[[], int],
    ) -> None:
        self._build = build
        self._per_connection = per_connection
        self._max_connections = max_connections
        self._lock = threading.Lock()
        self._links: tuple[DataLink, ...] = ()
        self._closed = False

    def start(self) -> DataLink:
        """Open the first connection (in the background) and return it."""
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client was closed")
            if not self._links:
                self._open_locked()
            return self._links[0]

    @property
    def links(self) -> tuple[DataLink, ...]:
        """Every connection opened so far, in order (a snapshot)."""
        return self._links

    def subscribe(
        self,
        opcode: Opcode,
        fmt: Format,
        request: Mapping[str, Any],
        callback: Callable[[Any], None],
        *,
        raw: bool,
        silence_timeout: float | None,
        conflate: bool,
        on_gap: Callable[[GapNotice], None] | None = None,
        on_state: Callable[[StateChange], None] | None = None,
    ) -> Subscription:
        """Register the subscription on a connection with room (see the module rules).

        Raises :class:`~alor_sync.errors.InvalidArgumentError` when every allowed connection is
        full, :class:`~alor_sync.errors.ClientClosedError` after :meth:`close`.
        """
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client was closed")
            link = self._sharing_link(opcode, request, raw, conflate) or self._link_with_room()
            return link.session.subscribe(
                opcode, fmt, request, callback, raw=raw, silence_timeout=silence_timeout,
                conflate=conflate, on_gap=on_gap, on_state=on_state,
            )  # fmt: skip

    def _sharing_link(
        self, opcode: Opcode, request: Mapping[str, Any], raw: bool, conflate: bool
    ) -> DataLink | None:
        for link in self._links:
            if link.session.find_shared(opcode, request, raw, conflate) is not None:
                return link
        return None

    def _link_with_room(self) -> DataLink:
        for link in self._links:
            if len(link.session) < self._per_connection:
                return link
        limit = self._max_connections()
        if len(self._links) >= limit:
            raise InvalidArgumentError(
                f"every data connection holds {self._per_connection} subscriptions and no more "
                f"than {limit} may be open (ALOR allows 10 connections per user, /cws included): "
                "unsubscribe something first"
            )
        return self._open_locked()

    def _open_locked(self) -> DataLink:
        link = self._build(len(self._links) + 1)
        self._links = (*self._links, link)
        link.transport.start()
        return link

    def check_silence(self) -> None:
        """Control thread: the silence watchdog of every connection."""
        for link in self._links:
            link.session.check_silence()

    def close(self, timeout: float | None) -> None:
        """Close every connection (each join bounded by ``timeout``) and end its subscriptions."""
        with self._lock:
            self._closed = True
            links = self._links
        for link in links:
            link.transport.close(timeout)
        for link in links:
            link.session.close()
