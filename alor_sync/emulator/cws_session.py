"""One ``/cws`` connection: ``authorize`` once, then commands executed by the account.

Rules of this module:

* ``handle`` runs on the connection's own thread and sends exactly one reply per message (unless a
  confirmation fault drops or delays it); ``ping`` needs no authorisation.
* The authorisation belongs to this connection and expires with the token it was given: after the
  token's ``exp`` every command is answered 401 until ``authorize`` is sent again.
* Commands run on the account inside the venue lock (``Hub.execute``); validation, idempotency by
  guid and the reply texts are the account's.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from alor_sync.emulator.config import Clock
from alor_sync.emulator.faults import Faults
from alor_sync.emulator.frames import HANDLED, confirmation
from alor_sync.emulator.hub import Hub
from alor_sync.emulator.jwt import TokenClaims, TokenIssuer
from alor_sync.emulator.liberties import PayloadLiberties
from alor_sync.emulator.outbox import Outbox
from alor_sync.emulator.timer import Timer
from alor_sync.emulator.ws_session import INVALID_TOKEN, MISSING_TOKEN, reply_with_faults

__all__ = ["AUTHORIZATION_EXPIRED", "AUTHORIZED", "NOT_AUTHORIZED", "CwsSession"]

logger = logging.getLogger(__name__)

AUTHORIZED = "The connection has been initialized."
# Production's texts for these two are unknown (reference 3.3); ours say what to do.
NOT_AUTHORIZED = "The connection is not authorized: send 'authorize' with a valid JWT first."
AUTHORIZATION_EXPIRED = (
    "The authorization of this connection has expired with its JWT: send 'authorize' again."
)


class CwsSession:
    """Authorisation state of one ``/cws`` connection; ``handle`` runs on its connection thread."""

    def __init__(
        self,
        *,
        hub: Hub,
        tokens: TokenIssuer,
        faults: Faults,
        timer: Timer,
        outbox: Outbox,
        clock: Clock,
        liberties: PayloadLiberties | None = None,
    ) -> None:
        self._hub = hub
        self._liberties = liberties
        self._tokens = tokens
        self._faults = faults
        self._timer = timer
        self._outbox = outbox
        self._clock = clock
        self.claims: TokenClaims | None = None

    @property
    def authorized(self) -> bool:
        """Whether commands would be executed right now."""
        claims = self.claims
        return claims is not None and claims.expires_at > self._clock()

    def handle(self, text: str | bytes) -> None:
        """Process one command frame."""
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
        lower = opcode.lower()
        if lower == "ping":
            if msg.get("confirm") is not False:
                self._reply(guid_text, "ping", "ping", 200, HANDLED)
            return
        if not guid_text:
            self._reply("", "invalid", opcode, 400, "Request message should contain 'guid' field!")
            return
        if lower == "authorize":
            self._authorize(msg, guid_text)
        else:
            self._command(msg, guid_text, opcode)

    def close(self) -> None:
        """The connection is gone (nothing to release: the account keeps its orders)."""
        self.claims = None

    def _authorize(self, msg: dict[str, Any], guid: str) -> None:
        token = msg.get("token")
        if token is None:
            self._reply(guid, "authorize", "authorize", 400, MISSING_TOKEN)
            return
        claims = None if self._faults.tokens_rejected() else self._tokens.verify(token)
        if claims is None:
            self._reply(guid, "authorize", "authorize", 401, INVALID_TOKEN)
            return
        self.claims = claims
        self._reply(guid, "authorize", "authorize", 200, AUTHORIZED)

    def _command(self, msg: dict[str, Any], guid: str, opcode: str) -> None:
        claims = self.claims
        if claims is None:
            self._reply(guid, "command", opcode, 401, NOT_AUTHORIZED)
            return
        if claims.expires_at <= self._clock():
            self._reply(guid, "command", opcode, 401, AUTHORIZATION_EXPIRED)
            return
        if self._faults.tokens_rejected():
            self._reply(guid, "command", opcode, 401, INVALID_TOKEN)
            return
        portfolio = _portfolio(msg)
        if portfolio is not None and portfolio not in claims.portfolios:
            self._reply(
                guid,
                "command",
                opcode,
                403,
                f"Portfolio {portfolio!r} is not allowed by this token",
            )
            return
        reply = self._hub.execute(opcode, msg)
        frame = confirmation(guid, reply.http_code, reply.message, reply.order_number)
        self._send(frame, "command", opcode)

    def _reply(self, guid: str, family: str, opcode: str, code: int, message: str) -> None:
        self._send(confirmation(guid, code, message), family, opcode)

    def _send(self, frame: bytes, family: str, opcode: str) -> None:
        reply_with_faults(
            self._outbox, self._faults, self._timer, family, opcode, frame, self._liberties
        )


def _portfolio(msg: dict[str, Any]) -> str | None:
    user = msg.get("user")
    if isinstance(user, dict):
        portfolio = user.get("portfolio")
        if isinstance(portfolio, str):
            return portfolio
    return None
