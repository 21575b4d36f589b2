"""What every connection of one client shares: heartbeats, timeouts, reconnect delays, TLS.

Rules of this module:

* Pure values, already checked by the client's option checks; nothing here connects.
* It lives in the transport (not beside the client's options) because the ``/ws`` links and the
  ``/cws`` channel, both below the facade, are built from it.
"""

from __future__ import annotations

import math
import ssl

import attrs

from alor_sync.transport.backoff import Backoff

__all__ = ["ConnectionOptions", "positive_seconds"]


@attrs.frozen
class ConnectionOptions:
    """The socket options every connection of one client shares (already checked).

    ``max_reconnect_attempts`` bounds the ``/ws`` connections only; the ``/cws`` channel is not
    given it (it reconnects without a limit, as it always has).
    """

    heartbeat_interval: float | None
    pong_timeout: float
    connect_timeout: float
    reconnect_delay: float
    max_reconnect_delay: float
    max_reconnect_attempts: int | None
    ssl_context: ssl.SSLContext | None

    def backoff(self) -> Backoff:
        """A fresh reconnect backoff: each connection owns one (it is not thread-safe)."""
        return Backoff(initial=self.reconnect_delay, maximum=self.max_reconnect_delay)


def positive_seconds(value: object) -> bool:
    """A finite number > 0 (not a bool, not a numeric string): what a duration must be."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value > 0
