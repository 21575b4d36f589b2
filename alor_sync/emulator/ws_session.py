"""One ``/ws`` connection's conversation: requests in, confirmations and data frames out.

Rules of this module:

* ``handle`` runs on the connection's own thread; every registration and snapshot happens inside
  the venue lock, so the confirmation lands exactly where configured (after the snapshot by
  default, like production) and no live frame of the subscription can precede its snapshot.
* Checks run in this order: JSON object, ``opcode``, ``guid``, ``token`` present, token valid,
  opcode known, parameters. The first failure is the only reply.
* Subscriptions belong to this connection and vanish with it; a guid reused on the same
  connection replaces the old subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import attrs
import orjson

from alor_sync.emulator.faults import Faults
from alor_sync.emulator.frames import HANDLED, confirmation
from alor_sync.emulator.hub import Hub, StreamSub
from alor_sync.emulator.jwt import TokenClaims, TokenIssuer
from alor_sync.emulator.outbox import Outbox
from alor_sync.emulator.timer import Timer
from alor_sync.emulator.ws_requests import Rejected, canonical_opcode, parse_subscription

__all__ = ["WsOptions", "WsSession", "reply_with_faults"]

logger = logging.getLogger(__name__)

MISSING_TOKEN = "Request message should contain 'token' field!"
INVALID_TOKEN = "Invalid JWT token!"


@attrs.frozen
class WsOptions:
    """The parts of the configuration a ``/ws`` session needs."""

    ack_first: bool
    stamp_sequence: bool
    conflation: bool
    max_subscriptions: int


def reply_with_faults(
    outbox: Outbox, faults: Faults, timer: Timer, family: str, opcode: str, frame: bytes
) -> None:
    """Queue a confirmation, unless a fault says to drop or delay confirmations of this kind."""
    policy = faults.confirmation_policy(family, opcode)
    if policy is None:
        outbox.push(frame)
    elif policy != "drop":

        def send_late() -> None:
            outbox.push(frame)

        timer.call_later(policy, send_late)


class WsSession:
    """Subscriptions of one ``/ws`` connection; ``handle`` runs on its connection thread."""

    def __init__(
        self,
        *,
        hub: Hub,
        tokens: TokenIssuer,
        faults: Faults,
        timer: Timer,
        outbox: Outbox,
        served: Collection[tuple[str, str]],
        options: WsOptions,
    ) -> None:
        self._hub = hub
        self._tokens = tokens
        self._faults = faults
        self._timer = timer
        self._outbox = outbox
        self._served = frozenset(served)
        self._options = options
        # guid -> subscription; read by other threads only under the venue lock.
        self.subscriptions: dict[str, StreamSub] = {}

    def handle(self, text: str | bytes) -> None:
        """Process one request frame."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._reply("", "invalid", "", 400, "Request message is not valid JSON")
            return
        if not isinstance(msg, dict):
            self._reply("", "invalid", "", 400, "Request message should be a JSON object")
            return
        opcode = msg.get("opcode")
        guid = msg.get("guid")
        guid_text = guid if isinstance(guid, str) else ""
        if not isinstance(opcode, str) or not opcode:
            self._reply(
                guid_text, "invalid", "", 400, "Request message should contain 'opcode' field!"
            )
            return
        if opcode.lower() == "ping":
            self._ping(msg, guid_text)
            return
        if not guid_text:
            self._reply("", "invalid", opcode, 400, "Request message should contain 'guid' field!")
            return
        claims = self._authenticate(msg, guid_text, opcode)
        if claims is None:
            return
        if opcode.lower() == "unsubscribe":
            self._unsubscribe(guid_text)
        else:
            self._subscribe(msg, guid_text, opcode, claims)

    def close(self) -> None:
        """The connection is gone: drop every subscription."""
        with self._hub.lock:
            for sub in self.subscriptions.values():
                self._hub.unsubscribe(sub)
            self.subscriptions.clear()

    def _authenticate(self, msg: dict[str, Any], guid: str, opcode: str) -> TokenClaims | None:
        family = "unsubscribe" if opcode.lower() == "unsubscribe" else "subscribe"
        token = msg.get("token")
        if token is None:
            self._reply(guid, family, opcode, 400, MISSING_TOKEN)
            return None
        claims = None if self._faults.tokens_rejected() else self._tokens.verify(token)
        if claims is None:
            self._reply(self._faults.rejection_guid(guid), family, opcode, 401, INVALID_TOKEN)
        return claims

    def _ping(self, msg: dict[str, Any], guid: str) -> None:
        if msg.get("confirm") is not False:
            self._reply(guid, "ping", "ping", 200, HANDLED)

    def _unsubscribe(self, guid: str) -> None:
        with self._hub.lock:
            sub = self.subscriptions.pop(guid, None)
            if sub is not None:
                self._hub.unsubscribe(sub)
            # An unknown guid is confirmed too: unsubscribing is idempotent (our convention).
            self._reply(guid, "unsubscribe", "unsubscribe", 200, HANDLED)

    def _subscribe(self, msg: dict[str, Any], guid: str, opcode: str, claims: TokenClaims) -> None:
        canonical = canonical_opcode(opcode)
        if canonical is None:
            self._reply(guid, "subscribe", opcode, 400, f"Unknown opcode {opcode!r}")
            return
        try:
            request = parse_subscription(
                msg,
                canonical,
                lookup=self._hub.market.lookup,
                served=self._served,
                allowed_portfolios=claims.portfolios,
                conflation=self._options.conflation,
            )
        except Rejected as rejected:
            self._reply(guid, "subscribe", canonical, rejected.http_code, rejected.message)
            return
        sub = StreamSub(guid, request, self._outbox, stamp=self._options.stamp_sequence)
        with self._hub.lock:
            old = self.subscriptions.pop(guid, None)
            if old is not None:
                logger.info("emulator: guid reused on the same connection, replacing it")
                self._hub.unsubscribe(old)
            elif len(self.subscriptions) >= self._options.max_subscriptions:
                limit = self._options.max_subscriptions
                self._reply(
                    guid, "subscribe", canonical, 429,
                    f"Too many subscriptions: at most {limit} per connection",
                )  # fmt: skip
                return
            self.subscriptions[guid] = sub
            if self._options.ack_first:
                self._reply(guid, "subscribe", canonical, 200, HANDLED)
            self._hub.subscribe(sub)
            if not self._options.ack_first:
                self._reply(guid, "subscribe", canonical, 200, HANDLED)

    def _reply(self, guid: str, family: str, opcode: str, code: int, message: str) -> None:
        frame = confirmation(guid, code, message)
        reply_with_faults(self._outbox, self._faults, self._timer, family, opcode, frame)
