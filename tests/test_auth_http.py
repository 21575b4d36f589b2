"""The default urllib path of RefreshTokenProvider against a real local HTTP(S) token endpoint."""

from __future__ import annotations

import base64
import contextlib
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import trustme

from alor_sync.auth import RefreshTokenProvider
from alor_sync.errors import TokenRefreshError

REFRESH_TOKEN = "rt-7a0e-local-endpoint-secret"
EXPIRY = 4_102_444_800  # 2100-01-01: valid for any clock this test runs on


def make_jwt(exp: int, **claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part({'exp': exp, **claims})}.c2ln"


class _TokenEndpoint(http.server.HTTPServer):
    """A one-thread ``POST /refresh`` server that records requests and answers as told."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        self.body = orjson.dumps({"AccessToken": make_jwt(EXPIRY, sub="P1")})

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is None:
            return sock, address
        try:
            return self.tls.wrap_socket(sock, server_side=True), address
        except OSError:
            sock.close()  # a client that refused our certificate; socketserver skips it
            raise

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}/refresh"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _TokenEndpoint

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.requests.append((self.path, dict(self.headers), self.rfile.read(length)))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@contextlib.contextmanager
def token_endpoint(tls: ssl.SSLContext | None = None) -> Iterator[_TokenEndpoint]:
    server = _TokenEndpoint(tls)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-oauth-endpoint"
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5.0)
        server.server_close()


def test_default_urllib_path_posts_the_refresh_token_as_json() -> None:
    with token_endpoint() as endpoint:
        provider = RefreshTokenProvider(REFRESH_TOKEN, endpoint.url)
        assert provider.get_token() == orjson.loads(endpoint.body)["AccessToken"]
        assert provider.claims().subject == "P1"
    (path, headers, body), = endpoint.requests  # fmt: skip
    assert path == "/refresh"  # nothing in the query string
    assert headers["Content-Type"] == "application/json"
    assert orjson.loads(body) == {"token": REFRESH_TOKEN}


def test_http_error_statuses_come_back_as_statuses() -> None:
    with token_endpoint() as endpoint:
        endpoint.status, endpoint.body = 403, b'{"message":"refresh token is invalid"}'
        with pytest.raises(TokenRefreshError, match="HTTP 403") as caught:
            RefreshTokenProvider(REFRESH_TOKEN, endpoint.url).get_token()
    assert caught.value.status == 403
    assert REFRESH_TOKEN not in str(caught.value)


def test_unreachable_endpoint() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = RefreshTokenProvider(REFRESH_TOKEN, f"http://127.0.0.1:{port}/refresh", timeout=2)
    with pytest.raises(TokenRefreshError, match="could not reach") as caught:
        provider.get_token()
    assert caught.value.status is None


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_tls_verification_is_on_by_default(server_tls: ssl.SSLContext) -> None:
    with token_endpoint(server_tls) as endpoint:
        provider = RefreshTokenProvider(REFRESH_TOKEN, endpoint.url, timeout=2)
        with pytest.raises(TokenRefreshError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            provider.get_token()
    assert caught.value.status is None
    assert endpoint.requests == []


def test_custom_ca_through_ssl_context(ca: trustme.CA, server_tls: ssl.SSLContext) -> None:
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    with token_endpoint(server_tls) as endpoint:
        provider = RefreshTokenProvider(REFRESH_TOKEN, endpoint.url, ssl_context=client_tls)
        assert provider.get_token() == orjson.loads(endpoint.body)["AccessToken"]
    assert orjson.loads(endpoint.requests[0][2]) == {"token": REFRESH_TOKEN}
