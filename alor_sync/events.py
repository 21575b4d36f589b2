"""What the client tells the user's lifecycle hooks: connection changes, gaps, resubscriptions.

Rules of this module:

* Plain frozen values only; nothing here holds a token or a reference to a live object that
  could be used to change client state.
* Every hook receiving these runs on a dispatcher worker (or the user's executor), never on a
  network thread.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["ConnectionChange", "GapNotice", "GapReason", "ResubscribeReport"]


class GapReason(enum.Enum):
    """Why frames of a subscription were lost."""

    OVERFLOW = "overflow"  # the callback fell behind and the bounded queue overflowed
    RECONNECT = "reconnect"  # the connection dropped; events in between were never received
    SILENCE = "silence"  # the data-silence watchdog resubscribed a quiet subscription


@attrs.frozen
class GapNotice:
    """Frames of one subscription were lost; a fresh snapshot follows (resubscribed).

    Delivered to ``on_gap`` in order with the subscription's own frames: everything the callback
    saw before the notice came before the loss, everything after comes from the new snapshot.
    ``dropped`` counts frames discarded on the client (0 when the loss happened on the network).
    """

    guid: str
    opcode: str
    reason: GapReason
    dropped: int


@attrs.frozen
class ConnectionChange:
    """A connection opened or closed.

    ``connection``: ``"ws"`` (data) or ``"cws"`` (commands); ``connected``: the new state;
    ``reason``: why it closed (empty when it opened); ``will_retry``: a reconnect is scheduled;
    ``next_attempt_in``: seconds until that attempt, when known; ``attempt``: reconnect attempt
    counter since the last healthy connection.
    """

    connection: str
    connected: bool
    reason: str = ""
    will_retry: bool = False
    next_attempt_in: float | None = None
    attempt: int = 0


@attrs.frozen
class ResubscribeReport:
    """After a reconnect, every live subscription was confirmed again (``count`` of them)."""

    connection: str
    count: int
