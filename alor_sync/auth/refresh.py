"""The refresh-token provider: one HTTP call per refresh, shared by every thread that asks.

Rules of this module:

* The refresh token travels in the POST body, never in the URL, because URLs end up in urllib's
  error messages and in proxy logs; error texts are redacted before they are raised or logged.
* Single flight: the first thread that needs a new token performs the HTTP call, the others wait
  for that call and share its outcome; the lock is never held during the call.
* TLS verification stays on: the default context verifies, and a non-verifying ``ssl_context``
  is refused.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Final, TypeAlias
from urllib.parse import urlsplit

import attrs
import orjson

from alor_sync.auth.tokens import (
    IssuedToken,
    JwtClaims,
    Secret,
    TokenProvider,
    TokenStatistics,
    issue,
    parse_jwt_claims,
)
from alor_sync.errors import InvalidArgumentError, TokenRefreshError

__all__ = ["HttpPost", "RefreshTokenProvider"]

_log = logging.getLogger("alor_sync.auth")

HttpPost: TypeAlias = Callable[[str, bytes, float], tuple[int, bytes]]
"""``http_post(url, body, timeout) -> (status, body)``; raises on network failure."""

_MAX_BODY_BYTES: Final = 1 << 20
# After a failed refresh the still-valid token is served this long before the next attempt, so an
# unreachable endpoint is not hit on every get_token().
_RETRY_AFTER_FAILURE: Final = 5.0
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_JWT_PATTERN: Final = re.compile(r"eyJ[\w-]*\.[\w-]*\.?[\w-]*")


class _Flight:
    """One refresh in progress: the asker who started it performs it, the others wait on it."""

    __slots__ = ("_done", "_error", "_issued")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._issued: IssuedToken | None = None
        self._error: TokenRefreshError | None = None

    def land(self, issued: IssuedToken | None, error: TokenRefreshError | None) -> None:
        self._issued, self._error = issued, error
        self._done.set()

    def wait(self) -> IssuedToken:
        """The outcome; blocks until the HTTP call (bounded by its ``timeout``) is over."""
        self._done.wait()
        if self._issued is not None:
            return self._issued
        error = self._error or TokenRefreshError("the token refresh was interrupted")
        # A fresh exception per waiter: one instance raised in many threads would share (and
        # keep growing) a single traceback.
        raise TokenRefreshError(str(error), status=error.status)


def _check_oauth_url(url: object) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname or parts.scheme not in ("https", "http"):
        raise InvalidArgumentError(f"oauth_url must be an https:// URL, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise InvalidArgumentError(
            f"oauth_url uses plain http:// to {parts.hostname}; the refresh token would travel "
            "unencrypted. Use https:// (http:// is only allowed on loopback, e.g. the emulator)"
        )
    if parts.query:
        raise InvalidArgumentError(
            "oauth_url must not carry a query string: the refresh token is sent in the body"
        )
    return str(url)


def _verified_context(context: ssl.SSLContext | None) -> ssl.SSLContext:
    if context is None:
        return ssl.create_default_context()
    if context.verify_mode == ssl.CERT_NONE or not context.check_hostname:
        raise InvalidArgumentError(
            "ssl_context must verify certificates and host names; to trust a private CA use "
            "ssl.create_default_context(cafile=...)"
        )
    return context


def _urllib_post(context: ssl.SSLContext) -> HttpPost:
    """The default ``http_post``: urllib with certificate verification, JSON in and out."""

    def post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return int(response.status), bytes(response.read(_MAX_BODY_BYTES))
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read(_MAX_BODY_BYTES)

    return post


class RefreshTokenProvider(TokenProvider):
    """Exchanges a refresh token for access tokens at ``oauth_url`` and keeps one fresh.

    The first :meth:`get_token` fetches a token; later calls return it until ``refresh_margin``
    seconds before its ``exp``, then refresh. While a refresh is in flight, callers whose token is
    still valid get it at once; the others wait for that one HTTP call (at most ``timeout``
    seconds per network operation). A failed proactive refresh keeps serving the current token
    while it is valid and logs a warning; otherwise :class:`TokenRefreshError` is raised (status
    403: the refresh token is malformed, revoked or expired; None: the endpoint was unreachable).

    ``http_post(url, body, timeout) -> (status, body)`` replaces the urllib call (tests);
    ``ssl_context`` must verify (pass one to trust a private CA). ``allowed_portfolios`` narrows
    the portfolios the issued tokens may act on. Thread-safety: see :class:`TokenProvider`.
    """

    def __init__(
        self,
        refresh_token: str,
        oauth_url: str,
        *,
        refresh_margin: float = 60.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        http_post: HttpPost | None = None,
        ssl_context: ssl.SSLContext | None = None,
        allowed_portfolios: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(refresh_token, str) or not refresh_token.strip():
            raise InvalidArgumentError("refresh_token must be a non-empty string")
        if not refresh_margin >= 0:
            raise InvalidArgumentError(f"refresh_margin must be >= 0 seconds, got {refresh_margin}")
        if not timeout > 0:
            raise InvalidArgumentError(f"timeout must be > 0 seconds, got {timeout}")
        self._refresh_token = Secret(refresh_token)
        self._oauth_url = _check_oauth_url(oauth_url)
        self._margin = float(refresh_margin)
        self._timeout = float(timeout)
        self._clock = clock
        self._wall_clock = wall_clock
        if ssl_context is not None:
            _verified_context(ssl_context)  # refuse a non-verifying context even with http_post
        self._http_post = http_post or _urllib_post(_verified_context(ssl_context))
        if isinstance(allowed_portfolios, str):
            raise InvalidArgumentError("allowed_portfolios must be a list of portfolio ids")
        self._allowed = None if allowed_portfolios is None else list(allowed_portfolios)
        # Guards _issued, _flight and the counters; never held during the HTTP call.
        self._lock = threading.Lock()
        self._issued: IssuedToken | None = None
        self._flight: _Flight | None = None
        self._refreshes = 0
        self._failures = 0

    def get_token(self) -> str:
        with self._lock:
            issued, now = self._issued, self._clock()
            if issued is not None and now < issued.refresh_at:
                return issued.token.reveal()
            if self._flight is not None and issued is not None and now < issued.expires_at:
                return issued.token.reveal()  # still valid: no need to wait for the refresh
            flight, leader = self._join_flight_locked()
        try:
            return self._complete(flight, leader).token.reveal()
        except TokenRefreshError:
            if issued is None or self._clock() >= issued.expires_at:
                raise
            return issued.token.reveal()  # the failure is logged; the token is still valid

    def cached_token(self) -> str:
        with self._lock:
            issued = self._issued
        if issued is None:
            raise TokenRefreshError("no access token was obtained yet")
        return issued.token.reveal()

    def force_refresh(self, stale_token: str | None = None) -> str:
        with self._lock:
            issued = self._issued
            if stale_token is not None and issued is not None:
                current = issued.token.reveal()
                if current != stale_token:
                    return current  # someone refreshed since the stale token was handed out
            flight, leader = self._join_flight_locked()
        return self._complete(flight, leader).token.reveal()

    def expires_in(self) -> float | None:
        with self._lock:
            issued = self._issued
        return None if issued is None else max(0.0, issued.expires_at - self._clock())

    def claims(self) -> JwtClaims:
        with self._lock:
            issued = self._issued
        if issued is None:
            self.get_token()
            with self._lock:
                issued = self._issued
        if issued is None:  # only if another thread cleared it meanwhile, which nothing does
            raise TokenRefreshError("no access token is available")
        return issued.claims

    def statistics(self) -> TokenStatistics:
        with self._lock:
            refreshes, failures = self._refreshes, self._failures
        return TokenStatistics(refreshes, failures, self.expires_in())

    def __repr__(self) -> str:
        left = self.expires_in()
        shown = "no token yet" if left is None else f"expires_in={left:.0f}s"
        return f"<RefreshTokenProvider oauth_url={self._oauth_url!r} {shown}>"

    # --- single flight ---------------------------------------------------------------------

    def _join_flight_locked(self) -> tuple[_Flight, bool]:
        if self._flight is None:
            self._flight = _Flight()
            return self._flight, True
        return self._flight, False

    def _complete(self, flight: _Flight, leader: bool) -> IssuedToken:
        if leader:
            self._fly(flight)
        return flight.wait()

    def _fly(self, flight: _Flight) -> None:
        issued: IssuedToken | None = None
        error: TokenRefreshError | None = None
        try:
            issued = self._fetch()
        except TokenRefreshError as exc:
            error = exc
            _log.warning("access token refresh failed: %s", exc)
        finally:
            # Runs even on KeyboardInterrupt, so waiters are never left hanging.
            with self._lock:
                replaced = self._land_locked(issued)
            flight.land(issued, error)
        if replaced:
            self._notify_listeners()

    def _land_locked(self, issued: IssuedToken | None) -> bool:
        """Record a flight's outcome; True when a new token replaced an earlier one."""
        self._flight = None
        previous = self._issued
        if issued is not None:
            self._issued = issued
            self._refreshes += 1
            return previous is not None
        self._failures += 1
        if previous is not None:  # pause proactive retries, never past the expiry
            retry_at = min(previous.expires_at, self._clock() + _RETRY_AFTER_FAILURE)
            self._issued = attrs.evolve(previous, refresh_at=max(previous.refresh_at, retry_at))
        return False

    # --- the HTTP exchange -----------------------------------------------------------------

    def _fetch(self) -> IssuedToken:
        _log.debug("refreshing the access token at %s", self._oauth_url)
        status, body = self._post()
        if status == 403:
            raise TokenRefreshError(
                f"{self._oauth_url} refused the refresh token (HTTP 403): it is malformed, "
                "revoked or expired; issue a new one in the ALOR developer portal",
                status=403,
            )
        if status != 200:
            preview = self._redact(body[:200].decode("utf-8", "replace"))
            raise TokenRefreshError(
                f"{self._oauth_url} answered HTTP {status}: {preview!r}", status=status
            )
        token = self._access_token_from(body)
        try:
            claims = parse_jwt_claims(token)
        except InvalidArgumentError as exc:
            raise TokenRefreshError(
                f"{self._oauth_url} issued an unusable token: {exc}", status=200
            ) from None
        issued = issue(token, claims, self._margin, self._clock(), self._wall_clock())
        _log.info("access token refreshed; it expires at %s", claims.expires_at.isoformat())
        return issued

    def _post(self) -> tuple[int, bytes]:
        payload: dict[str, object] = {"token": self._refresh_token.reveal()}
        if self._allowed is not None:
            payload["allowedPortfolios"] = self._allowed
        try:
            return self._http_post(self._oauth_url, orjson.dumps(payload), self._timeout)
        except Exception as exc:  # the one boundary for urllib/socket/ssl errors
            reason = self._redact(f"{type(exc).__name__}: {exc}")
        # Raised outside the except block so the original (unredacted) error is not chained.
        raise TokenRefreshError(f"could not reach {self._oauth_url}: {reason}", status=None)

    def _access_token_from(self, body: bytes) -> str:
        try:
            document = orjson.loads(body)
        except ValueError:
            document = ValueError  # marker; raised below so the body is not kept as __context__
        if document is ValueError:
            raise TokenRefreshError(
                f"{self._oauth_url} answered HTTP 200 with a body that is not JSON "
                f"({len(body)} bytes)",
                status=200,
            )
        token = document.get("AccessToken") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenRefreshError(
                f"{self._oauth_url} answered HTTP 200 without an AccessToken field", status=200
            )
        return token

    def _redact(self, text: str) -> str:
        text = text.replace(self._refresh_token.reveal(), "<refresh token>")
        return _JWT_PATTERN.sub("<jwt>", text)[:300]
