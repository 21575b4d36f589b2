"""The vocabulary of the subscription lifecycle: stream records, request kinds and the actions
the machine (:mod:`alor_sync.data.lifecycle`) hands its owner.

Rules of this module:

* Values only: nothing here decides anything; every decision is the machine's.
* A :class:`StreamRecord` is changed only by the machine (under its owner's lock), except the
  fields its docstring marks otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from alor_sync.errors import APIError
from alor_sync.events import SubscriptionState
from alor_sync.protocol.specs import SPECS
from alor_sync.wire import Format, Opcode

__all__ = [
    "LATEST_WINS_OPCODES",
    "Action",
    "EpochEnded",
    "Failed",
    "GapOnReconnect",
    "Healthy",
    "Reconnect",
    "Refresh",
    "ReplayLatest",
    "RequestKind",
    "Resubscribed",
    "Send",
    "StateChanged",
    "StreamRecord",
    "is_transient",
    "share_key",
]

# Streams whose every frame is a full state: when a consumer falls behind only the newest frame
# matters. All other streams are events, delivered losslessly up to a bound, then reported as a gap.
# The stream specs say which (``latest_wins``), and which may be shared (``shareable``).
LATEST_WINS_OPCODES = frozenset(op for op, spec in SPECS.items() if spec.latest_wins)
_SHAREABLE_OPCODES = frozenset(op for op, spec in SPECS.items() if spec.shareable)

# The server refused the request itself: sending it again cannot help (reference 2.7).
_DEFINITE_REFUSALS = frozenset({400, 403, 404})


class RequestKind(enum.Enum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


@attrs.define(eq=False)
class StreamRecord:
    """One subscription as the server knows it: one guid, one request, one or more handles.

    Owned by :class:`StreamLifecycle` and changed only by it (under the owner's lock), except the
    fields marked otherwise. ``handles`` are the user's handles, opaque here.
    """

    guid: str
    opcode: Opcode
    format: Format
    request: Mapping[str, Any]  # the request without its token
    share_key: tuple[Any, ...] | None
    raw: bool
    latest_wins: bool
    silence_timeout: float | None = None
    state: SubscriptionState = SubscriptionState.PENDING
    handles: list[Any] = attrs.Factory(list)
    # Sequence numbers of this stream's requests still unanswered on this connection, oldest
    # first: at most three, so a list (a deque costs 760 bytes a stream, at 5,000 streams).
    expected: list[int] = attrs.Factory(list)
    ever_active: bool = False
    sent_on_connection: bool = False  # a request of it left on the current connection
    closing: bool = False  # the last handle left; the unsubscribe is not confirmed yet
    closing_since: float = 0.0
    error: APIError | None = None  # the refusal that failed it
    last_refusal: APIError | None = None  # the last transient answer, for messages
    resubscribes: int = 0
    # Written by the owner's network thread only (a counter per frame), read anywhere.
    received: int = 0
    # The owner's attachments: its dispatcher route, delivery and watchdog state.
    route: Any = None
    delivery: Any = None
    watched_received: int = 0
    last_data_at: float = 0.0
    active_since: float = 0.0


# -- actions: what the owner must do, in the order returned ------------------------------------


@attrs.frozen
class Send:
    """Send ``kind`` for ``record`` with ``token`` (``subscribe`` carries the record's request)."""

    record: StreamRecord
    kind: RequestKind
    token: str = attrs.field(repr=False)


@attrs.frozen
class Refresh:
    """Get a new token in place of ``stale`` (off the network thread), then call
    :meth:`StreamLifecycle.refreshed`."""

    stale: str = attrs.field(repr=False)


@attrs.frozen
class StateChanged:
    """Tell ``record``'s handles (in stream order) and waiters that its state changed."""

    record: StreamRecord
    previous: SubscriptionState
    reason: str
    error: APIError | None = None


@attrs.frozen
class Failed:
    """``record`` was refused for good: report ``error`` and remove its route."""

    record: StreamRecord
    error: APIError


@attrs.frozen
class GapOnReconnect:
    """The connection dropped while ``record`` streamed events: queue a gap notice in order."""

    record: StreamRecord


@attrs.frozen
class EpochEnded:
    """The server answered a renewal's unsubscribe: the frames after this belong to the renewed
    subscription (tell the delivery, in stream order)."""

    record: StreamRecord


@attrs.frozen
class ReplayLatest:
    """``handle`` joined a shared stream: hand it the latest state, in stream order."""

    record: StreamRecord
    handle: Any


@attrs.frozen
class Reconnect:
    """Replace the connection (an unsubscribe could not be confirmed)."""

    reason: str


@attrs.frozen
class Healthy:
    """Every stream sent on this connection was answered: the connection works."""


@attrs.frozen
class Resubscribed:
    """Every stream that was active before the reconnect is confirmed again."""

    count: int


Action = (
    Send | Refresh | StateChanged | Failed | GapOnReconnect | EpochEnded | ReplayLatest | Reconnect
    | Healthy | Resubscribed
)  # fmt: skip


def share_key(
    opcode: Opcode, request: Mapping[str, Any], raw: bool, latest_wins: bool
) -> tuple[Any, ...] | None:
    """What identical requests have in common (None: never shared).

    Only full-state streams are shared: a handle joining an event stream late would miss the
    history (and, for instruments, the full first object) the server sent before. The parameters
    are folded into one string: a tuple of pairs would cost ten objects a subscription.
    """
    if opcode not in _SHAREABLE_OPCODES:
        return None
    params = "\x00".join(sorted(f"{k}={v!r}" for k, v in request.items() if k != "guid"))
    return (opcode, raw, latest_wins, params)


def is_transient(code: int) -> bool:
    """Whether a refusal with ``code`` may pass (everything but 400, 403 and 404)."""
    return code not in _DEFINITE_REFUSALS
