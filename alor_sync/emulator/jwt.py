"""Access tokens of the emulator: HS256 JWTs signed with a secret of this emulator instance.

Rules of this module:

* A token is valid when its signature matches this instance's secret and ``exp`` is still ahead of
  the emulator clock; nothing else is checked, so a token of another emulator is simply invalid.
* Tokens never appear in logs or exception messages.
* Claims follow what ALOR clients read (``sub``, ``exp``, ``iat``, ``portfolios`` space-separated,
  ``agreements``, ``clientid``, ``ein``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

import attrs
import orjson

from alor_sync.emulator.config import Clock

__all__ = ["TokenClaims", "TokenIssuer"]

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64encode(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _b64decode(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


@attrs.frozen
class TokenClaims:
    """What the emulator needs to know about a verified token."""

    subject: str
    expires_at: float  # epoch seconds (the ``exp`` claim)
    portfolios: frozenset[str]


class TokenIssuer:
    """Issues and verifies access tokens; thread-safe (immutable after construction)."""

    def __init__(self, clock: Clock, ttl: float, claims: Mapping[str, str]) -> None:
        self._clock = clock
        self._ttl = ttl
        self._claims = dict(claims)
        self._secret = secrets.token_bytes(32)
        self._header = _b64encode(orjson.dumps(_HEADER))

    @property
    def ttl(self) -> float:
        """Lifetime of an issued token, seconds."""
        return self._ttl

    def all_portfolios(self) -> list[str]:
        """Every portfolio of the account, as the unrestricted token lists them."""
        return self._claims.get("portfolios", "").split()

    def issue(self, allowed_portfolios: list[str] | None = None) -> str:
        """A fresh token valid for ``ttl`` seconds, optionally narrowed to some portfolios."""
        now = int(self._clock())
        payload: dict[str, object] = dict(self._claims)
        if allowed_portfolios is not None:
            allowed = set(allowed_portfolios)
            payload["portfolios"] = " ".join(p for p in self.all_portfolios() if p in allowed)
        payload["iat"] = now
        payload["exp"] = now + int(self._ttl)
        body = _b64encode(orjson.dumps(payload))
        signing_input = self._header + b"." + body
        return (signing_input + b"." + _b64encode(self._sign(signing_input))).decode("ascii")

    def verify(self, token: object) -> TokenClaims | None:
        """The claims of ``token`` when it is a valid, unexpired token of this emulator."""
        if not isinstance(token, str):
            return None
        parts = token.encode("ascii", "replace").split(b".")
        if len(parts) != 3 or parts[0] != self._header:
            return None
        try:
            signature = _b64decode(parts[2])
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(parts[0] + b"." + parts[1])):
            return None
        payload = orjson.loads(_b64decode(parts[1]))
        expires_at = float(payload["exp"])
        if expires_at <= self._clock():
            return None
        return TokenClaims(
            subject=str(payload.get("sub", "")),
            expires_at=expires_at,
            portfolios=frozenset(str(payload.get("portfolios", "")).split()),
        )

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self._secret, signing_input, hashlib.sha256).digest()
