"""Read-only snapshots of the emulator for tests: connections, subscriptions, counters.

Rules of this module:

* Only frozen value objects live here; building them is the server's job, under its locks.
* Nothing here carries a token.
"""

from __future__ import annotations

import attrs

__all__ = ["ConnectionInfo", "EmulatorStatistics", "SubscriptionInfo"]


@attrs.frozen
class SubscriptionInfo:
    """One subscription of a ``/ws`` connection."""

    guid: str
    opcode: str
    format: str
    frames: int  # data frames queued for it so far


@attrs.frozen
class ConnectionInfo:
    """One live WebSocket connection."""

    id: int
    path: str  # "/ws" or "/cws"
    remote_port: int
    frozen: bool
    authorized: bool  # /cws: authorised right now; /ws: always False
    backlog: int  # frames queued and not yet written to the socket
    frames_sent: int
    frames_dropped: int
    subscriptions: tuple[SubscriptionInfo, ...]


@attrs.frozen
class EmulatorStatistics:
    """Counters since the emulator started."""

    connections_open: int
    connections_total: int
    handshakes_refused: int  # 406 / 429 / 503 answers to upgrade requests
    slow_readers_dropped: int
    refreshes_issued: int
    refreshes_refused: int
    frames_sent: int  # by connections that are still open
    subscriptions: int
