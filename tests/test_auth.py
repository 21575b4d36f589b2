"""Token providers with an injected clock and a fake token endpoint (no network, no sleeps)."""

from __future__ import annotations

import base64
import logging
import threading
import urllib.error
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from alor_sync.auth import (
    JwtClaims,
    RefreshTokenProvider,
    Secret,
    StaticTokenProvider,
    TokenStatistics,
    parse_jwt_claims,
)
from alor_sync.auth import refresh as refresh_module
from alor_sync.errors import InvalidArgumentError, TokenRefreshError

REFRESH_TOKEN = "rt-5f1c2d9e-refresh-secret-0042"
OAUTH_URL = "https://oauth.example.test/refresh"
WAIT = 5.0  # seconds any test waits for another thread before failing


def b64url(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


def make_jwt(exp: float | str | None, **claims: Any) -> str:
    payload = dict(claims) if exp is None else {"exp": exp, **claims}
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(payload)}.c2lnbmF0dXJl"


class Clocks:
    """A monotonic and a wall clock that only move when told to."""

    def __init__(self) -> None:
        self.mono = 5000.0
        self.wall = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


class FakeOAuth:
    """The token endpoint as an ``http_post`` callable: counts calls, can block or fail."""

    def __init__(self, clocks: Clocks, lifetime: float = 1800.0) -> None:
        self.clocks = clocks
        self.lifetime = lifetime
        self.calls: list[tuple[str, bytes, float]] = []
        self.issued: list[str] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None
        self.reply: Callable[[], tuple[int, bytes]] | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        with self._lock:
            self.calls.append((url, body, timeout))
            serial = len(self.calls)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT), "test never opened the gate"
        if self.reply is not None:
            return self.reply()
        token = make_jwt(
            self.clocks.wall + self.lifetime,
            sub="P012345",
            portfolios="D39004 G39004 7500PUQ",
            agreements="123456",
            clientid="65432",
            serial=serial,
        )
        with self._lock:
            self.issued.append(token)
        return 200, orjson.dumps({"AccessToken": token})


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def oauth(clocks: Clocks) -> FakeOAuth:
    return FakeOAuth(clocks)


def provider_for(oauth: FakeOAuth, clocks: Clocks, **options: Any) -> RefreshTokenProvider:
    return RefreshTokenProvider(
        REFRESH_TOKEN,
        OAUTH_URL,
        clock=clocks.monotonic,
        wall_clock=clocks.time,
        http_post=oauth,
        **options,
    )


def run_threads(count: int, target: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``target`` on ``count`` named threads at once; return results and errors."""
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def work() -> None:
        barrier.wait(WAIT)
        try:
            value = target()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=work, name=f"test-auth-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    return _joined(threads, results, errors)


def _joined(
    threads: list[threading.Thread], results: list[Any], errors: list[BaseException]
) -> tuple[list[Any], list[BaseException]]:
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    return results, errors


@pytest.fixture
def counted_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Count threads waiting on a refresh in flight; yields ``await_waiters(n)``."""
    waiting = threading.Condition()
    count = [0]

    class CountingFlight(refresh_module._Flight):
        def wait(self) -> Any:
            with waiting:
                count[0] += 1
                waiting.notify_all()
            return super().wait()

    monkeypatch.setattr(refresh_module, "_Flight", CountingFlight)

    def await_waiters(n: int) -> None:
        with waiting:
            assert waiting.wait_for(lambda: count[0] >= n, WAIT), f"only {count[0]} waiters"

    yield await_waiters


# --- fetching and refreshing --------------------------------------------------------------


def test_first_get_token_fetches_once_and_sends_the_refresh_token_in_the_body(
    oauth: FakeOAuth, clocks: Clocks
) -> None:
    provider = provider_for(oauth, clocks, timeout=3.5)
    assert provider.expires_in() is None
    token = provider.get_token()
    assert provider.get_token() == token == oauth.issued[0]
    url, body, timeout = oauth.calls[0]
    assert (url, timeout, len(oauth.calls)) == (OAUTH_URL, 3.5, 1)
    assert orjson.loads(body) == {"token": REFRESH_TOKEN}
    assert REFRESH_TOKEN not in url


def test_allowed_portfolios_are_sent_in_the_body(oauth: FakeOAuth, clocks: Clocks) -> None:
    provider_for(oauth, clocks, allowed_portfolios=("D39004",)).get_token()
    assert orjson.loads(oauth.calls[0][1]) == {
        "token": REFRESH_TOKEN,
        "allowedPortfolios": ["D39004"],
    }


def test_token_is_refreshed_refresh_margin_before_expiry(oauth: FakeOAuth, clocks: Clocks) -> None:
    provider = provider_for(oauth, clocks, refresh_margin=60.0)
    first = provider.get_token()
    clocks.advance(1739.0)
    assert provider.get_token() == first
    assert len(oauth.calls) == 1
    clocks.advance(1.0)
    second = provider.get_token()
    assert second != first
    assert len(oauth.calls) == 2
    assert provider.statistics() == TokenStatistics(refreshes=2, failures=0, expires_in=1800.0)


def test_cached_token_never_calls_http_even_when_due_or_expired(
    oauth: FakeOAuth, clocks: Clocks
) -> None:
    """What the network threads read: the current token as it is; renewing it is the control
    thread's job, so a send never waits for the token endpoint."""
    provider = provider_for(oauth, clocks, refresh_margin=60.0)
    with pytest.raises(TokenRefreshError, match="no access token"):
        provider.cached_token()
    assert oauth.calls == []
    first = provider.get_token()
    clocks.advance(1790.0)  # inside the refresh margin: get_token would refresh now
    assert provider.cached_token() == first
    clocks.advance(60.0)  # expired
    assert provider.cached_token() == first
    assert len(oauth.calls) == 1


def test_expires_in_follows_the_monotonic_clock_not_the_wall_clock(
    oauth: FakeOAuth, clocks: Clocks
) -> None:
    provider = provider_for(oauth, clocks)
    provider.get_token()
    assert provider.expires_in() == 1800.0
    clocks.mono += 100.0
    clocks.wall += 86_400.0  # a wall-clock jump after receipt changes nothing
    assert provider.expires_in() == 1700.0
    clocks.mono += 5000.0
    assert provider.expires_in() == 0.0


def test_short_lived_tokens_are_refreshed_at_half_life(clocks: Clocks) -> None:
    oauth = FakeOAuth(clocks, lifetime=30.0)
    provider = provider_for(oauth, clocks, refresh_margin=60.0)
    provider.get_token()
    clocks.advance(14.9)
    provider.get_token()
    assert len(oauth.calls) == 1
    clocks.advance(0.1)
    provider.get_token()
    assert len(oauth.calls) == 2


def test_token_expired_by_a_skewed_local_clock_does_not_cause_a_refresh_storm(
    clocks: Clocks, caplog: pytest.LogCaptureFixture
) -> None:
    oauth = FakeOAuth(clocks, lifetime=-120.0)  # local clock runs 2 min + 30 min ahead
    provider = provider_for(oauth, clocks)
    with caplog.at_level(logging.WARNING, logger="alor_sync.auth"):
        token = provider.get_token()
    assert "check the system clock" in caplog.text
    clocks.advance(4.9)
    assert provider.get_token() == token
    assert len(oauth.calls) == 1
    clocks.advance(0.1)
    provider.get_token()
    assert len(oauth.calls) == 2


def test_twenty_threads_asking_at_once_cause_one_http_call(
    oauth: FakeOAuth, clocks: Clocks, counted_waits: Callable[[int], None]
) -> None:
    provider = provider_for(oauth, clocks)
    oauth.gate = threading.Event()
    threads_done: list[tuple[list[Any], list[BaseException]]] = []
    runner = threading.Thread(
        target=lambda: threads_done.append(run_threads(20, provider.get_token)),
        name="test-auth-runner",
    )
    runner.start()
    counted_waits(19)  # 19 waiters joined the flight of the one thread inside http_post
    oauth.gate.set()
    runner.join(WAIT)
    ((results, errors),) = threads_done
    assert errors == []
    assert results == [oauth.issued[0]] * 20
    assert len(oauth.calls) == 1


def test_waiters_share_the_failure_of_the_one_call(
    oauth: FakeOAuth, clocks: Clocks, counted_waits: Callable[[int], None]
) -> None:
    provider = provider_for(oauth, clocks)
    oauth.gate = threading.Event()
    oauth.reply = lambda: (403, b"")
    outcome: list[tuple[list[Any], list[BaseException]]] = []
    runner = threading.Thread(
        target=lambda: outcome.append(run_threads(20, provider.get_token)), name="test-runner"
    )
    runner.start()
    counted_waits(19)
    oauth.gate.set()
    runner.join(WAIT)
    ((results, errors),) = outcome
    assert results == []
    assert len(errors) == 20
    assert all(isinstance(e, TokenRefreshError) and e.status == 403 for e in errors)
    assert len({id(e) for e in errors}) == 20  # each thread raised its own instance
    assert len(oauth.calls) == 1


def test_callers_with_a_valid_token_do_not_wait_for_a_refresh_in_flight(
    oauth: FakeOAuth, clocks: Clocks
) -> None:
    provider = provider_for(oauth, clocks)
    old = provider.get_token()
    clocks.advance(1750.0)  # inside the margin, still valid
    oauth.gate = threading.Event()
    oauth.entered.clear()
    fresh: list[str] = []
    leader = threading.Thread(target=lambda: fresh.append(provider.get_token()), name="t-lead")
    leader.start()
    assert oauth.entered.wait(WAIT)
    assert provider.get_token() == old  # answered at once while the leader is in http_post
    oauth.gate.set()
    leader.join(WAIT)
    assert fresh == [oauth.issued[1]]
    assert provider.get_token() == oauth.issued[1]


def test_force_refresh_with_a_stale_token_refreshes_once(oauth: FakeOAuth, clocks: Clocks) -> None:
    provider = provider_for(oauth, clocks)
    t0 = provider.get_token()
    t1 = provider.force_refresh(t0)
    assert t1 != t0
    assert len(oauth.calls) == 2
    assert provider.force_refresh(t0) == t1  # already replaced: no second call
    assert len(oauth.calls) == 2
    t2 = provider.force_refresh()  # no stale token: always refresh
    assert t2 not in (t0, t1)
    assert provider.force_refresh(t1) == t2
    assert len(oauth.calls) == 3


def test_concurrent_force_refresh_of_one_stale_token_makes_one_call(
    oauth: FakeOAuth, clocks: Clocks
) -> None:
    provider = provider_for(oauth, clocks)
    stale = provider.get_token()
    results, errors = run_threads(10, lambda: provider.force_refresh(stale))
    assert errors == []
    assert set(results) == {oauth.issued[1]}
    assert len(oauth.calls) == 2


def test_force_refresh_before_any_token_fetches_one(oauth: FakeOAuth, clocks: Clocks) -> None:
    provider = provider_for(oauth, clocks)
    assert provider.force_refresh("never-handed-out") == oauth.issued[0]


# --- failures -------------------------------------------------------------------------------


def test_403_means_the_refresh_token_is_bad(oauth: FakeOAuth, clocks: Clocks) -> None:
    oauth.reply = lambda: (403, b'{"message": "token is invalid"}')
    provider = provider_for(oauth, clocks)
    with pytest.raises(TokenRefreshError, match="malformed, revoked or expired") as caught:
        provider.get_token()
    assert caught.value.status == 403
    assert provider.statistics().failures == 1


def test_network_failure_is_a_refresh_error_without_status(
    oauth: FakeOAuth, clocks: Clocks
) -> None:
    def unreachable() -> tuple[int, bytes]:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    oauth.reply = unreachable
    with pytest.raises(TokenRefreshError, match=r"could not reach .*Connection refused") as caught:
        provider_for(oauth, clocks).get_token()
    assert caught.value.status is None
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b"<html>maintenance</html>", "not JSON"),
        (200, b'{"accessToken": "x"}', "without an AccessToken"),
        (200, b'["eyJ"]', "without an AccessToken"),
        (200, b'{"AccessToken": "not-a-jwt"}', "unusable token: the access token is not a JWT"),
        (200, orjson.dumps({"AccessToken": make_jwt(None, sub="x")}), "no valid exp"),
        (500, b"Internal Server Error", "answered HTTP 500: 'Internal Server Error'"),
    ],
)
def test_unusable_replies(
    oauth: FakeOAuth, clocks: Clocks, status: int, body: bytes, expected: str
) -> None:
    oauth.reply = lambda: (status, body)
    with pytest.raises(TokenRefreshError, match=expected) as caught:
        provider_for(oauth, clocks).get_token()
    assert caught.value.status == status
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_failed_proactive_refresh_keeps_the_valid_token_and_pauses_retries(
    oauth: FakeOAuth, clocks: Clocks, caplog: pytest.LogCaptureFixture
) -> None:
    provider = provider_for(oauth, clocks)
    token = provider.get_token()
    clocks.advance(1750.0)
    oauth.reply = lambda: (503, b"")
    with caplog.at_level(logging.WARNING, logger="alor_sync.auth"):
        assert provider.get_token() == token
    assert "access token refresh failed" in caplog.text
    clocks.advance(4.0)
    assert provider.get_token() == token  # within the retry pause: no call
    assert len(oauth.calls) == 2
    clocks.advance(1.0)
    assert provider.get_token() == token
    assert len(oauth.calls) == 3
    clocks.advance(50.0)  # now expired: the failure surfaces
    with pytest.raises(TokenRefreshError, match="HTTP 503"):
        provider.get_token()
    oauth.reply = None
    assert provider.get_token() == oauth.issued[-1]
    assert provider.statistics().failures == 3


# --- listeners and claims ---------------------------------------------------------------------


def test_listeners_hear_about_replacement_tokens_only(
    oauth: FakeOAuth, clocks: Clocks, caplog: pytest.LogCaptureFixture
) -> None:
    provider = provider_for(oauth, clocks)
    heard: list[str] = []

    def broken() -> None:
        raise RuntimeError("listener bug")

    provider.add_listener(broken)
    provider.add_listener(lambda: heard.append(provider.get_token()))
    provider.get_token()
    assert heard == []  # the first token went to whoever asked for it
    with caplog.at_level(logging.ERROR, logger="alor_sync.auth"):
        provider.force_refresh()
    assert heard == [oauth.issued[1]]
    assert "token listener" in caplog.text
    provider.remove_listener(broken)
    provider.remove_listener(broken)  # twice is fine
    provider.force_refresh()
    assert heard == oauth.issued[1:3]


def test_claims_are_read_from_the_jwt(oauth: FakeOAuth, clocks: Clocks) -> None:
    provider = provider_for(oauth, clocks)
    claims = provider.claims()  # fetches a token first
    assert claims == JwtClaims(
        subject="P012345",
        expires_at=datetime.fromtimestamp(clocks.wall + 1800, tz=UTC),
        portfolios=("D39004", "G39004", "7500PUQ"),
        agreements=("123456",),
        client_id="65432",
    )
    assert claims.expires_at.tzinfo is UTC
    assert len(oauth.calls) == 1


def test_parse_jwt_claims_tolerates_lists_and_missing_claims() -> None:
    claims = parse_jwt_claims(make_jwt("1700000000", portfolios=["A", "B"]))
    assert claims == JwtClaims("", datetime.fromtimestamp(1_700_000_000, tz=UTC), ("A", "B"))


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("abc", "not a JWT"),
        ("a.b.c.d", "not a JWT"),
        ("eyJh.!!!.sig", "not base64url JSON"),
        ("eyJh.w6k.sig", "not base64url JSON"),
        (f"eyJh.{b64url({'exp': 1})[:-1]}x.sig", "not base64url JSON"),
        ("eyJh." + base64.urlsafe_b64encode(b"[1]").decode() + ".sig", "not a JSON object"),
        (make_jwt(True), "no valid exp"),
        (make_jwt("soon"), "no valid exp"),
        (make_jwt(1e300), "no valid exp"),
    ],
)
def test_parse_jwt_claims_refuses_bad_tokens_without_quoting_them(
    token: str, expected: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=expected) as caught:
        parse_jwt_claims(token)
    assert token not in str(caught.value)


# --- the static provider ----------------------------------------------------------------------


def test_static_provider(clocks: Clocks) -> None:
    token = make_jwt(clocks.wall + 600, sub="P1", portfolios="D1")
    provider = StaticTokenProvider(token, clock=clocks.monotonic, wall_clock=clocks.time)
    assert provider.get_token() == token
    assert provider.expires_in() == 600.0
    assert provider.claims().portfolios == ("D1",)
    clocks.advance(700.0)
    assert provider.expires_in() == 0.0
    assert provider.get_token() == token  # expired: the server will say so
    with pytest.raises(TokenRefreshError, match="cannot be refreshed"):
        provider.force_refresh(token)
    assert provider.statistics() == TokenStatistics(0, 0, 0.0)
    assert token not in repr(provider)


def test_static_provider_needs_a_jwt() -> None:
    with pytest.raises(InvalidArgumentError, match="not a JWT"):
        StaticTokenProvider("plain-secret")
    with pytest.raises(InvalidArgumentError, match="non-empty"):
        StaticTokenProvider("")


# --- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"refresh_token": ""}, "refresh_token must be a non-empty string"),
        ({"oauth_url": "ftp://x/refresh"}, "oauth_url must be an https:// URL"),
        ({"oauth_url": "http://oauth.alor.ru/refresh"}, "travel unencrypted"),
        ({"oauth_url": "https://o.test/refresh?token=abc"}, "must not carry a query"),
        ({"refresh_margin": -1.0}, "refresh_margin must be >= 0"),
        ({"timeout": 0.0}, "timeout must be > 0"),
        ({"allowed_portfolios": "D1"}, "allowed_portfolios must be a list"),
    ],
)
def test_constructor_checks(kwargs: dict[str, Any], expected: str) -> None:
    arguments: dict[str, Any] = {"refresh_token": REFRESH_TOKEN, "oauth_url": OAUTH_URL}
    arguments.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=expected) as caught:
        RefreshTokenProvider(**arguments)
    assert REFRESH_TOKEN not in str(caught.value)


def test_a_non_verifying_ssl_context_is_refused() -> None:
    import ssl

    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    with pytest.raises(InvalidArgumentError, match="must verify certificates"):
        RefreshTokenProvider(REFRESH_TOKEN, OAUTH_URL, ssl_context=insecure)


def test_loopback_http_is_allowed_for_the_emulator() -> None:
    provider = RefreshTokenProvider(REFRESH_TOKEN, "http://127.0.0.1:8080/refresh")
    assert "127.0.0.1:8080" in repr(provider)


# --- secrets never leak -----------------------------------------------------------------------


def test_secrets_never_appear_in_logs_reprs_or_errors(
    oauth: FakeOAuth, clocks: Clocks, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []

    def record_error(call: Callable[[], object]) -> None:
        with pytest.raises(Exception) as caught:
            call()
        error = caught.value
        texts.extend([str(error), repr(error), repr(error.args)])
        for linked in (error.__cause__, error.__context__):
            if linked is not None:
                texts.extend([str(linked), repr(linked)])

    caplog.set_level(logging.DEBUG)
    provider = provider_for(oauth, clocks)
    texts.append(repr(provider))
    provider.get_token()
    provider.force_refresh()
    texts += [repr(provider), str(provider), repr(vars(provider)), repr(provider.claims())]
    texts += [repr(provider.statistics()), repr(Secret(REFRESH_TOKEN)), str(Secret("x"))]
    echoes = [
        lambda: (403, b""),
        lambda: (500, b"bad token " + REFRESH_TOKEN.encode() + b" / " + oauth.issued[0].encode()),
        lambda: (200, b"not json " + REFRESH_TOKEN.encode()),
    ]
    for echo in echoes:
        oauth.reply = echo
        record_error(provider.force_refresh)

    def leaky_network() -> tuple[int, bytes]:
        raise urllib.error.URLError(f"failed to send {REFRESH_TOKEN} with {oauth.issued[1]}")

    oauth.reply = leaky_network
    record_error(provider.force_refresh)
    oauth.reply = None
    provider.force_refresh()
    record_error(lambda: StaticTokenProvider("x." + oauth.issued[0]))
    record_error(lambda: parse_jwt_claims(oauth.issued[0] + ".extra"))

    secrets = [REFRESH_TOKEN, *oauth.issued]
    haystack = "\n".join([*texts, caplog.text])
    assert "refresh" in caplog.text  # the logs did record the refreshes
    for secret in secrets:
        assert secret not in haystack
    for jwt in oauth.issued:
        assert jwt.split(".")[1] not in haystack  # not even the JWT payload
