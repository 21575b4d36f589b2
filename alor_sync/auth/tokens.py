"""Tokens as values: :class:`Secret`, JWT claims, and the :class:`TokenProvider` interface.

Rules of this module:

* Tokens are secrets: they are held in :class:`Secret`, and no repr, str, log line or exception
  message built here contains one (``vars(provider)`` shows ``Secret('***')``).
* JWTs are decoded, never verified (as the official clients do): only the server can verify them.
  Expiry becomes a ``time.monotonic`` deadline when the token arrives, so wall-clock jumps
  afterwards do not matter.
"""

from __future__ import annotations

import abc
import base64
import binascii
import hmac
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, NoReturn, TypeAlias

import attrs
import orjson

from alor_sync.errors import InvalidArgumentError, TokenRefreshError

__all__ = [
    "JwtClaims",
    "Secret",
    "StaticTokenProvider",
    "TokenListener",
    "TokenProvider",
    "TokenStatistics",
    "parse_jwt_claims",
]

_log = logging.getLogger("alor_sync.auth")

TokenListener: TypeAlias = Callable[[], None]

# A token whose lifetime by the local clock is shorter than this (clock skew, tiny test tokens)
# is still reused this long, so a skewed clock cannot turn get_token() into a refresh storm.
MIN_TOKEN_REUSE: Final = 5.0


class Secret:
    """A string that never shows itself: ``repr``/``str`` print ``Secret('***')``.

    Call :meth:`reveal` at the last moment (putting it on the wire). Immutable, thread-safe.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret text itself; never log it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


@attrs.frozen
class JwtClaims:
    """What clients read from an access token (no token inside; safe to log).

    ``portfolios`` and ``agreements`` are space-separated lists in the JWT.
    """

    subject: str
    expires_at: datetime
    portfolios: tuple[str, ...] = ()
    agreements: tuple[str, ...] = ()
    client_id: str | None = None


@attrs.frozen
class TokenStatistics:
    """Counters of a provider: refreshes done and failed, seconds left on the current token."""

    refreshes: int
    failures: int
    expires_in: float | None


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _split_claim(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


def parse_jwt_claims(token: str) -> JwtClaims:
    """Decode (without verifying) the claims of a JWT; it must carry a numeric ``exp``.

    Raises :class:`InvalidArgumentError` (whose message never contains the token).
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise InvalidArgumentError(
            "the access token is not a JWT (expected three dot-separated parts)"
        )
    try:
        payload = _b64url_json(parts[1])
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise InvalidArgumentError("the access token's payload is not base64url JSON") from None
    if not isinstance(payload, dict):
        raise InvalidArgumentError("the access token's payload is not a JSON object")
    exp = payload.get("exp")
    try:
        if isinstance(exp, bool) or not isinstance(exp, int | float | str):
            raise TypeError
        expires_at = datetime.fromtimestamp(float(exp), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidArgumentError("the access token has no valid exp (expiry) claim") from None
    client_id = payload.get("clientid")
    return JwtClaims(
        subject=str(payload.get("sub") or ""),
        expires_at=expires_at,
        portfolios=_split_claim(payload.get("portfolios")),
        agreements=_split_claim(payload.get("agreements")),
        client_id=None if client_id is None else str(client_id),
    )


@attrs.frozen(repr=False)
class IssuedToken:
    """A token with its claims and its deadlines on the monotonic clock."""

    token: Secret
    claims: JwtClaims
    expires_at: float
    refresh_at: float


def issue(token: str, claims: JwtClaims, margin: float, now: float, wall_now: float) -> IssuedToken:
    """Deadlines for a token just received: expiry from ``exp``, refresh ``margin`` s before it.

    The margin shrinks to half the lifetime for short-lived tokens, and a token is reused for at
    least :data:`MIN_TOKEN_REUSE` seconds even when the local clock says it is already expired.
    """
    lifetime = claims.expires_at.timestamp() - wall_now
    if lifetime <= 0:
        _log.warning(
            "the new access token is already expired by the local clock; check the system clock"
        )
    margin = min(margin, max(lifetime, 0.0) / 2)
    refresh_at = now + max(lifetime - margin, MIN_TOKEN_REUSE)
    return IssuedToken(Secret(token), claims, now + lifetime, refresh_at)


class TokenProvider(abc.ABC):
    """Source of access tokens for both channels.

    Thread-safety: every method may be called from any thread. Listeners run on whichever thread
    obtained a new token (a user thread or a network thread): keep them short and non-blocking.
    """

    def __init__(self) -> None:
        self._listeners: list[TokenListener] = []
        self._listeners_lock = threading.Lock()

    @abc.abstractmethod
    def get_token(self) -> str:
        """A currently valid access token, refreshed first when it is close to expiry (secret!)."""

    def cached_token(self) -> str:
        """The current access token without ever waiting for HTTP (secret!), for the network
        threads: it may be close to expiry, since renewing it is the control thread's job.

        Raises :class:`~alor_sync.errors.TokenRefreshError` before the first token was obtained.
        This default calls :meth:`get_token`; a provider whose ``get_token`` may block should
        override it.
        """
        return self.get_token()

    @abc.abstractmethod
    def force_refresh(self, stale_token: str | None = None) -> str:
        """A new access token, e.g. after the server answered 401 (secret!).

        With ``stale_token`` (the token that was rejected): if a newer token was obtained since it
        was handed out, that one is returned without another refresh. Raises
        :class:`~alor_sync.errors.TokenRefreshError` when no new token can be obtained.
        """

    @abc.abstractmethod
    def expires_in(self) -> float | None:
        """Seconds until the current token expires (0.0 once expired; None before the first)."""

    @abc.abstractmethod
    def claims(self) -> JwtClaims:
        """Claims of the current token (obtaining one first if there is none yet)."""

    @abc.abstractmethod
    def statistics(self) -> TokenStatistics:
        """Refresh counters and time left."""

    def add_listener(self, listener: TokenListener) -> None:
        """Call ``listener()`` after each token that replaces an earlier one.

        It gets no argument (call :meth:`get_token` for the token); the ``/cws`` channel uses this
        to re-authorize. Exceptions from it are logged and swallowed.
        """
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: TokenListener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify_listeners(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:
                _log.exception("token listener %r failed", listener)


class StaticTokenProvider(TokenProvider):
    """A fixed access token (tests, short scripts): never refreshed, expiry from its ``exp``."""

    def __init__(
        self,
        access_token: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        if not isinstance(access_token, str) or not access_token:
            raise InvalidArgumentError("access_token must be a non-empty JWT string")
        claims = parse_jwt_claims(access_token)
        self._clock = clock
        self._token = Secret(access_token)
        self._claims = claims
        self._expires_at = clock() + (claims.expires_at.timestamp() - wall_clock())

    def get_token(self) -> str:
        """The fixed token, even once expired (the server then answers 401)."""
        return self._token.reveal()

    def force_refresh(self, stale_token: str | None = None) -> str:
        """Always fails: a fixed token cannot be renewed (use :class:`RefreshTokenProvider`)."""
        raise TokenRefreshError(
            "a static access token cannot be refreshed; use RefreshTokenProvider with a "
            "refresh token"
        )

    def expires_in(self) -> float:
        return max(0.0, self._expires_at - self._clock())

    def claims(self) -> JwtClaims:
        return self._claims

    def statistics(self) -> TokenStatistics:
        return TokenStatistics(refreshes=0, failures=0, expires_in=self.expires_in())

    def __repr__(self) -> str:
        return f"<StaticTokenProvider subject={self._claims.subject!r}>"
