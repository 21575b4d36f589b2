"""Access tokens for the broker: a fixed JWT, or one kept fresh from a refresh token.

Owns: the access token (a fixed JWT or one refreshed from a refresh token), its expiry, and
the HTTP refresh call.

Never: keeps a token where a repr, log line or exception could show it, or refreshes under a lock.

Rules of this package:

* Tokens are secrets: no repr, str, log line or exception message built here contains an access or
  refresh token (they are held in :class:`Secret`).
* One HTTP call per refresh however many threads ask (single flight), never under a lock.
* Expiry comes from the JWT ``exp`` claim, turned into a ``time.monotonic`` deadline on receipt.

Modules: :mod:`~alor_sync.auth.tokens` (Secret, claims, the provider interface, the static
provider), :mod:`~alor_sync.auth.refresh` (the refresh-token provider and its HTTP call).
"""

from __future__ import annotations

from alor_sync.auth.refresh import HttpPost, RefreshTokenProvider
from alor_sync.auth.tokens import (
    JwtClaims,
    Secret,
    StaticTokenProvider,
    TokenListener,
    TokenProvider,
    TokenStatistics,
    parse_jwt_claims,
)

__all__ = [
    "HttpPost",
    "JwtClaims",
    "RefreshTokenProvider",
    "Secret",
    "StaticTokenProvider",
    "TokenListener",
    "TokenProvider",
    "TokenStatistics",
    "parse_jwt_claims",
]
