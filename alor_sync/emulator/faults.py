"""Programmable misbehaviour of the emulator, switched on and off from a test thread at any moment.

Rules of this module:

* Every method is thread-safe and takes effect immediately; none blocks waiting for a connection
  (use ``Emulator.wait_for_connections`` to wait for the effect).
* Faults only change what the server sends or accepts; they never change the market or the
  account, so a test can tell a fault apart from a venue effect.
* Timed faults (``seconds=...``) end by themselves, measured on ``time.monotonic()``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import orjson

from alor_sync.emulator.frames import DATA_PREFIX, data_suffix
from alor_sync.emulator.hub import StreamSub
from alor_sync.emulator.outbox import BinaryFrame, Outbox
from alor_sync.errors import InvalidArgumentError

__all__ = ["DropMode", "Faults", "MalformedKind"]

DropMode = Literal["close", "eof", "reset"]
MalformedKind = Literal[
    "invalid_json", "wrong_types", "missing_fields", "unknown_guid", "not_object", "binary"
]
_MALFORMED_KINDS = MalformedKind.__args__  # type: ignore[attr-defined]
ConfirmationPolicy = Literal["drop"] | float | None


class ControlledConnection(Protocol):
    """What faults may do to one live connection (implemented by the server)."""

    @property
    def path(self) -> str: ...

    @property
    def outbox(self) -> Outbox: ...

    def freeze(self) -> None: ...

    def thaw(self) -> None: ...

    def drop(self, mode: DropMode, code: int, reason: str) -> None: ...

    def find_subscription(self, guid: str) -> StreamSub | None: ...


class ConnectionRegistry(Protocol):
    """The server side of faults."""

    def live_connections(self) -> Sequence[ControlledConnection]: ...

    def refuse_handshakes(self, seconds: float) -> None: ...


def _until(seconds: float | None) -> float:
    if seconds is None:
        return math.inf
    if seconds < 0:
        raise InvalidArgumentError(f"seconds must be >= 0 or None, not {seconds!r}")
    return time.monotonic() + seconds


def _corrupt(value: Any) -> Any:
    """Same keys, wrong types: numbers become strings, strings numbers, lists a string..."""
    if isinstance(value, dict):
        return {k: _corrupt(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, int | float):
        return f"{value}!"
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "not-a-list"
    return {"unexpected": True}


class Faults:
    """Fault switches of one emulator (``emu.faults``). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: ConnectionRegistry | None = None
        self._tokens_rejected_until = 0.0
        self._empty_guid_share = 0.0
        self._empty_guid_rng = random.Random(0)
        self._refresh_failure: tuple[int, float] | None = None
        self._confirmations: dict[str, ConfirmationPolicy] = {}

    def attach(self, registry: ConnectionRegistry) -> None:
        """Connect the switches to the running server (done by the emulator)."""
        self._registry = registry

    def clear(self) -> None:
        """Back to normal: tokens accepted, refresh working, confirmations sent, nothing frozen."""
        with self._lock:
            self._tokens_rejected_until = 0.0
            self._refresh_failure = None
            self._confirmations = {}
        self.thaw()

    # -- tokens ----------------------------------------------------------------------------------

    def reject_tokens(
        self, seconds: float | None = None, *, empty_guid: float = 0.0, seed: int = 0
    ) -> None:
        """Answer every request (``/ws`` and ``/cws``) 401 ``Invalid JWT token!`` for a while.

        ``empty_guid`` (0 to 1): the share of the ``/ws`` replies sent with ``"requestGuid":""``, as
        production has been seen to do (reference 1.4, 2.7); which ones is drawn from ``seed``.
        """
        if not 0.0 <= empty_guid <= 1.0:
            raise InvalidArgumentError(
                f"empty_guid must be a share from 0 to 1, not {empty_guid!r}"
            )
        with self._lock:
            self._tokens_rejected_until = _until(seconds)
            self._empty_guid_share = empty_guid
            self._empty_guid_rng = random.Random(seed)

    def rejection_guid(self, guid: str) -> str:
        """The ``requestGuid`` a 401 for the request ``guid`` carries (maybe empty)."""
        with self._lock:
            share = self._empty_guid_share
            if share and self._empty_guid_rng.random() < share:
                return ""
        return guid

    def accept_tokens(self) -> None:
        """End :meth:`reject_tokens`."""
        with self._lock:
            self._tokens_rejected_until = 0.0

    def tokens_rejected(self) -> bool:
        """Whether tokens are being rejected right now."""
        until = self._tokens_rejected_until
        return until > 0.0 and time.monotonic() < until

    def fail_refresh(self, status: int = 503, seconds: float | None = None) -> None:
        """Make ``POST /refresh`` answer ``status`` (e.g. 403 or 503) for a while."""
        if not 400 <= status <= 599:
            raise InvalidArgumentError(f"status must be an HTTP error code, not {status!r}")
        with self._lock:
            self._refresh_failure = (status, _until(seconds))

    def restore_refresh(self) -> None:
        """End :meth:`fail_refresh`."""
        with self._lock:
            self._refresh_failure = None

    def refresh_failure(self) -> int | None:
        """The status ``/refresh`` must answer now, or None when it works."""
        failure = self._refresh_failure
        if failure is None or time.monotonic() >= failure[1]:
            return None
        return failure[0]

    # -- confirmations ---------------------------------------------------------------------------

    def delay_confirmations(self, seconds: float, *kinds: str) -> None:
        """Send confirmations ``seconds`` late (data frames are not delayed).

        ``kinds`` are opcodes (``OrderBookGetAndSubscribe``, ``create:limit``...) or families:
        ``subscribe``, ``unsubscribe``, ``ping``, ``authorize``, ``command``, ``invalid``; none
        means every confirmation. Casing is ignored.
        """
        if seconds < 0:
            raise InvalidArgumentError(f"seconds must be >= 0, not {seconds!r}")
        self._set_confirmations(float(seconds), kinds)

    def drop_confirmations(self, *kinds: str) -> None:
        """Never send confirmations of ``kinds`` (see :meth:`delay_confirmations`)."""
        self._set_confirmations("drop", kinds)

    def restore_confirmations(self) -> None:
        """Send every confirmation normally again."""
        with self._lock:
            self._confirmations = {}

    def confirmation_policy(self, family: str, opcode: str) -> ConfirmationPolicy:
        """None (send now), ``"drop"``, or a delay in seconds, for one confirmation."""
        rules = self._confirmations
        if not rules:
            return None
        for key in (opcode.lower(), family, "*"):
            if key in rules:
                return rules[key]
        return None

    def _set_confirmations(self, policy: ConfirmationPolicy, kinds: tuple[str, ...]) -> None:
        with self._lock:
            rules = dict(self._confirmations)
            for kind in kinds or ("*",):
                rules[kind.lower()] = policy
            self._confirmations = rules

    # -- connections -----------------------------------------------------------------------------

    def drop_connections(
        self,
        mode: DropMode = "close",
        *,
        path: str | None = None,
        code: int = 1001,
        reason: str = "Going away",
    ) -> int:
        """Drop every live connection (or those on ``path``: ``/ws``, ``/cws``); return how many.

        ``close`` sends a close frame with ``code``; ``eof`` closes TCP without one; ``reset``
        sends a TCP RST.
        """
        if mode not in ("close", "eof", "reset"):
            raise InvalidArgumentError(f"mode must be 'close', 'eof' or 'reset', not {mode!r}")
        targets = self._connections(path)
        for connection in targets:
            connection.drop(mode, code, reason)
        return len(targets)

    def freeze(self, path: str | None = None) -> int:
        """Make live connections silent (no data, no replies, no pongs) while TCP stays open.

        Connections opened later are not affected. Returns how many were frozen.
        """
        targets = self._connections(path)
        for connection in targets:
            connection.freeze()
        return len(targets)

    def thaw(self) -> int:
        """Undo :meth:`freeze` (frames dropped while frozen stay lost)."""
        targets = self._connections(None)
        for connection in targets:
            connection.thaw()
        return len(targets)

    def restart(self, downtime: float = 0.0) -> int:
        """Close every connection with 1012 (service restart); refuse handshakes (503) for
        ``downtime`` seconds. Subscriptions and ``/cws`` authorisations are gone; the port stays.
        """
        if self._registry is None:
            return 0
        self._registry.refuse_handshakes(downtime)
        return self.drop_connections("close", code=1012, reason="Service restart")

    def send_malformed(self, guid: str, kind: MalformedKind = "invalid_json") -> int:
        """Send one broken frame to every connection holding subscription ``guid``.

        ``invalid_json`` (truncated JSON), ``wrong_types`` (the subscription's last payload with
        every value of the wrong type), ``missing_fields`` (a confirmation without ``httpCode``),
        ``unknown_guid`` (a data frame for a guid nobody subscribed), ``not_object`` (a JSON
        array), ``binary`` (a binary frame). Returns how many connections got it.
        """
        if kind not in _MALFORMED_KINDS:
            raise InvalidArgumentError(f"kind must be one of {_MALFORMED_KINDS}, not {kind!r}")
        hit = 0
        for connection in self._connections("/ws"):
            sub = connection.find_subscription(guid)
            if sub is not None:
                connection.outbox.push(self._malformed(sub, kind))
                hit += 1
        if not hit:
            raise InvalidArgumentError(f"no live connection has a subscription {guid!r}")
        return hit

    def _malformed(self, sub: StreamSub, kind: str) -> bytes:
        guid = sub.guid
        payload = sub.last_payload or b'{"x":1}'
        if kind == "invalid_json":
            return DATA_PREFIX + payload[: max(1, len(payload) // 2)] + data_suffix(guid)
        if kind == "wrong_types":
            return DATA_PREFIX + orjson.dumps(_corrupt(orjson.loads(payload))) + data_suffix(guid)
        if kind == "missing_fields":
            return orjson.dumps({"requestGuid": guid, "message": "Handled successfully"})
        if kind == "unknown_guid":
            return DATA_PREFIX + payload + data_suffix(f"{guid}-unknown")
        if kind == "not_object":
            return b"[1,2,3]"
        return BinaryFrame(DATA_PREFIX + payload + data_suffix(guid))

    def _connections(self, path: str | None) -> list[ControlledConnection]:
        if self._registry is None:
            return []
        live = self._registry.live_connections()
        return [c for c in live if path is None or c.path == path]
