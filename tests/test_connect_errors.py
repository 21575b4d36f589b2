"""A connection that cannot be made says why: refused, DNS, TLS, HTTP status, no answer.

``start(wait=...)`` raises :class:`ConnectFailedError` (a ``ConnectionError``) with the cause and
leaves no thread behind; ``wait_active`` and the gets say the request could not be sent and why;
the ``on_disconnect`` hook marks a failed attempt (``error``) apart from a disconnect; a
subscription the server refused is logged once, as one WARNING line.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from alor_sync import AlorClient
from alor_sync.emulator import Emulator
from alor_sync.errors import (
    BadRequestError,
    ClientClosedError,
    CommandTimeoutError,
    ConnectFailedError,
)
from alor_sync.events import ConnectionChange
from tests.client_helpers import WAIT, Recorder, running, wait_until


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(speed=0) as emulator:
        yield emulator


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more: connecting is refused


def _client(emu: Emulator, ws_url: str, **options: Any) -> AlorClient:
    options.setdefault("reconnect_delay", 0.05)
    options.setdefault("max_reconnect_delay", 0.2)
    return AlorClient(access_token=emu.issue_token(), ws_url=ws_url, cws_url=emu.cws_url, **options)


def _start_fails(client: AlorClient, wait: float = WAIT) -> ConnectFailedError:
    with pytest.raises(ConnectFailedError) as caught:
        client.start(wait=wait)
    with pytest.raises(ClientClosedError):
        client.wait_connected(0)  # start(wait=) closed it: no thread is left running
    return caught.value


def test_a_refused_first_connection_raises_from_start_with_the_cause(emu: Emulator) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}/ws"
    error = _start_fails(_client(emu, url))
    assert isinstance(error, ConnectionError)
    assert error.kind == "refused" and error.http_status is None
    assert str(error).startswith(f"cannot connect to {url}: connection refused")
    assert isinstance(error.__cause__, ConnectionRefusedError)


def test_an_http_status_on_the_handshake_is_named(emu: Emulator) -> None:
    url = emu.ws_url.replace("/ws", "/no-such-endpoint")
    error = _start_fails(_client(emu, url))
    assert (error.kind, error.http_status) == ("http", 404)
    assert str(error) == f"cannot connect to {url}: HTTP 404"


def test_a_host_name_that_does_not_resolve_is_a_dns_error(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    error = _start_fails(_client(emu, "wss://no-such-host.invalid/ws"))
    assert error.kind == "dns"
    assert "the host name does not resolve" in str(error)
    assert "no-such-host.invalid" in str(error)


def test_an_untrusted_certificate_is_a_tls_error(tmp_path: Path) -> None:
    cert = trustme.CA().issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "server.pem", tmp_path / "server.key"
    certfile.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    keyfile.write_bytes(cert.private_key_pem.bytes())
    with Emulator(speed=0, certfile=str(certfile), keyfile=str(keyfile)) as tls_emu:
        error = _start_fails(_client(tls_emu, tls_emu.ws_url))
    assert error.kind == "tls"
    assert "TLS handshake failed" in str(error)
    assert isinstance(error.__cause__, ssl.SSLError)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A port that accepts TCP (the kernel's backlog) but never answers the handshake."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"ws://127.0.0.1:{listener.getsockname()[1]}/ws"


def test_no_answer_within_the_connect_timeout_is_a_timeout(emu: Emulator, black_hole: str) -> None:
    error = _start_fails(_client(emu, black_hole, connect_timeout=0.3))
    assert error.kind == "timeout"
    assert "no answer within the connect timeout" in str(error)


def test_a_wait_shorter_than_the_first_attempt_says_so(emu: Emulator, black_hole: str) -> None:
    error = _start_fails(_client(emu, black_hole, connect_timeout=1.0), wait=0.2)
    assert error.kind == "timeout"
    assert str(error) == (
        f"cannot connect to {black_hole}: no connection within 0.2 s (the first attempt had not "
        "ended)"
    )


def test_start_with_wait_returns_once_connected(emu: Emulator) -> None:
    with _client(emu, emu.ws_url) as client:
        assert client.start(wait=WAIT) is client
        assert client.wait_connected(0)


@pytest.mark.parametrize("wait", [0, -1, float("nan"), True, "5"])
def test_a_bad_wait_is_refused_before_anything_starts(emu: Emulator, wait: Any) -> None:
    client = _client(emu, emu.ws_url)
    with pytest.raises(ValueError, match="wait must be a positive number of seconds"):
        client.start(wait=wait)
    client.close()


def test_a_failed_first_attempt_is_reported_as_such_not_as_a_disconnect(emu: Emulator) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}/ws"
    changes = Recorder()
    with _client(emu, url, on_disconnect=changes):
        assert changes.wait_count(1)
    first = changes.items[0]
    assert isinstance(first, ConnectionChange) and not first.connected
    assert isinstance(first.error, ConnectFailedError) and first.error.kind == "refused"


def test_wait_active_and_gets_say_why_nothing_could_be_sent(emu: Emulator) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}/ws"
    changes = Recorder()
    with _client(emu, url, on_disconnect=changes) as client:
        assert changes.wait_count(1)  # the first attempt failed
        subscription = client.subscribe_quotes("SBER", lambda quote: None)
        with pytest.raises(CommandTimeoutError) as caught:
            subscription.wait_active(timeout=0.2)
        assert f"not sent: cannot connect to {url}: connection refused" in str(caught.value)
        assert isinstance(caught.value.__cause__, ConnectFailedError)
        with pytest.raises(CommandTimeoutError) as got:
            client.get_quote("SBER", timeout=0.2)
        assert str(got.value).startswith(
            f"quote of SBER: the request could not be sent within 0.2 s: cannot connect to {url}"
        )
        assert isinstance(got.value.__cause__, ConnectFailedError)


def test_a_refused_subscription_is_reported_once_without_a_traceback(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alor_sync")
    with running(emu) as client:
        subscription = client.subscribe_quotes("NOSUCH", lambda quote: None)
        with pytest.raises(BadRequestError):
            subscription.wait_active(WAIT)

        def reports() -> list[logging.LogRecord]:
            return [r for r in caplog.records if subscription.guid in r.getMessage()]

        assert wait_until(lambda: bool(reports()))
    (report,) = reports()
    assert report.levelno == logging.WARNING and report.exc_info is None
    assert "request refused" in report.getMessage()
