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

from alor_sync.errors import APIError, ConnectFailedError

__all__ = [
    "ConnectionChange",
    "GapNotice",
    "GapReason",
    "ResubscribeReport",
    "StateChange",
    "SubscriptionState",
]


class SubscriptionState(enum.Enum):
    """Where a subscription stands.

    ``PENDING``: requested (or re-requested after a reconnect or a renewal), not yet confirmed.
    ``ACTIVE``: confirmed; data flows. ``RETRYING``: the server refused the last request for a
    reason that may pass (401, 429, 5xx...); it is sent again with backoff, for as long as the
    subscription is held. ``FAILED``: the server refused the request itself (400, 403, 404; see
    ``error``); nothing more is sent. ``CLOSED``: unsubscribed, or the client closed.
    """

    PENDING = "pending"
    ACTIVE = "active"
    RETRYING = "retrying"
    FAILED = "failed"
    CLOSED = "closed"


class GapReason(enum.Enum):
    """Why frames of a subscription were lost."""

    OVERFLOW = "overflow"  # the callback fell behind and the bounded queue overflowed
    RECONNECT = "reconnect"  # the connection dropped; events in between were never received
    SILENCE = "silence"  # the data-silence watchdog resubscribed a quiet subscription


@attrs.frozen
class GapNotice:
    """Frames of one subscription may have been lost; the subscription was renewed.

    Delivered to ``on_gap`` in order with the subscription's own frames: everything the callback
    saw before the notice came before the loss, everything after comes from the renewed
    subscription. ``dropped`` counts frames discarded on the client (0 when the loss happened on
    the network).

    ``healed`` (streams with ids or times: all trades, own trades, bars): True when the history
    the server replayed reached back to the last item the callback had, so nothing is missing and
    nothing is delivered twice; False when it started later: items in between may be missing.
    Such a notice comes just before the first new item, once that is known. ``None`` for streams
    that cannot tell. ``snapshot``: the whole current state follows again (orders, stop orders,
    positions: each item with ``existing`` true; instruments: the full object), to be upserted by
    its key.
    """

    guid: str
    opcode: str
    reason: GapReason
    dropped: int
    healed: bool | None = None
    snapshot: bool = False


@attrs.frozen
class StateChange:
    """A subscription's state changed: handed to its ``on_state`` in stream order.

    ``reason`` says why in a few words (``"confirmed"``, ``"reconnecting"``, ``"renewing after a
    gap"``, ``"refused, retrying"``...); ``error`` is the server's answer for ``RETRYING`` and
    ``FAILED``.
    """

    guid: str
    opcode: str
    state: SubscriptionState
    previous: SubscriptionState
    reason: str
    error: APIError | None = None


@attrs.frozen
class ConnectionChange:
    """A connection opened or closed.

    ``connection``: ``"ws"`` (data) or ``"cws"`` (commands); ``connected``: the new state;
    ``reason``: why it closed (empty when it opened); ``will_retry``: a reconnect is scheduled;
    ``next_attempt_in``: seconds until that attempt, when known; ``attempt``: reconnect attempt
    counter since the last healthy connection; ``error``: set when this is not a disconnect but
    an attempt to connect that failed (refused, DNS, TLS, HTTP status: see
    :class:`~alor_sync.errors.ConnectFailedError`), e.g. the very first attempt.
    """

    connection: str
    connected: bool
    reason: str = ""
    will_retry: bool = False
    next_attempt_in: float | None = None
    attempt: int = 0
    error: ConnectFailedError | None = None


@attrs.frozen
class ResubscribeReport:
    """After a reconnect, every live subscription was confirmed again (``count`` of them)."""

    connection: str
    count: int
