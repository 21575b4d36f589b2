"""TLS: certificates are always verified, and there is no silent way around it.

Against the emulator serving ``wss://`` and ``https://`` with a throwaway CA (trustme):

* an untrusted certificate is refused on every channel (``/refresh``, ``/ws``, ``/cws``) with an
  error that says it is a certificate problem, and nothing is exchanged;
* a certificate for another host name is refused even when its CA is trusted;
* trusting the private CA is explicit: ``ssl_context=ssl.create_default_context(cafile=...)``;
* a context that does not verify (``CERT_NONE`` or no host name check) is refused up front, and
  the usual process-wide hack (``ssl._create_default_https_context``) changes nothing.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from alor_sync.auth import RefreshTokenProvider
from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator
from alor_sync.errors import InvalidArgumentError, TokenRefreshError
from alor_sync.events import ConnectionChange
from alor_sync.transport.connection import ReconnectingWebSocket
from tests.client_helpers import WAIT, Recorder

CERTIFICATE_WORDS = ("certificate", "CERTIFICATE")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _serve_tls(ca: trustme.CA, tmp_path: Path, *hosts: str) -> Emulator:
    cert = ca.issue_cert(*hosts)
    certfile, keyfile = tmp_path / "server.pem", tmp_path / "server.key"
    certfile.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    keyfile.write_bytes(cert.private_key_pem.bytes())
    return Emulator(speed=0, certfile=str(certfile), keyfile=str(keyfile))


@pytest.fixture
def tls_emu(ca: trustme.CA, tmp_path: Path) -> Iterator[Emulator]:
    with _serve_tls(ca, tmp_path, "127.0.0.1", "localhost") as emu:
        assert emu.ws_url.startswith("wss://") and emu.oauth_url.startswith("https://")
        yield emu


def _trusting(ca: trustme.CA, tmp_path: Path) -> ssl.SSLContext:
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(ca.cert_pem.bytes())
    return ssl.create_default_context(cafile=str(cafile))


def _client(emu: Emulator, **options: object) -> AlorClient:
    return AlorClient(
        ws_url=emu.ws_url,
        cws_url=emu.cws_url,
        oauth_url=emu.oauth_url,
        reconnect_delay=0.05,
        max_reconnect_delay=0.2,
        **options,  # type: ignore[arg-type]
    )


def _assert_about_certificates(text: str) -> None:
    assert any(word in text for word in CERTIFICATE_WORDS), text


def test_an_untrusted_certificate_is_refused_on_refresh(tls_emu: Emulator) -> None:
    client = _client(tls_emu, refresh_token=tls_emu.refresh_token)
    with pytest.raises(TokenRefreshError) as refused:
        client.start()
    _assert_about_certificates(str(refused.value))
    assert tls_emu.refresh_token not in str(refused.value)
    client.close()
    assert tls_emu.statistics().refreshes_issued == 0


def test_an_untrusted_certificate_is_refused_on_ws_and_cws(tls_emu: Emulator) -> None:
    changes = Recorder()
    client = _client(tls_emu, access_token=tls_emu.issue_token(), on_disconnect=changes)
    with client:
        assert not client.wait_connected(0.5)
        assert changes.wait_for(lambda items: any(c.connection == "ws" for c in items))
        assert not client.commands.wait_authorized(0.5)
        assert changes.wait_for(lambda items: any(c.connection == "cws" for c in items))
    for change in changes.items:
        assert isinstance(change, ConnectionChange) and not change.connected
        _assert_about_certificates(change.reason)
    assert tls_emu.statistics().connections_total == 0  # no handshake ever completed


def test_a_certificate_for_another_host_is_refused_even_from_a_trusted_ca(
    ca: trustme.CA, tmp_path: Path
) -> None:
    with _serve_tls(ca, tmp_path, "alor.example") as emu:
        client = _client(emu, refresh_token=emu.refresh_token, ssl_context=_trusting(ca, tmp_path))
        with pytest.raises(TokenRefreshError) as refused:
            client.start()
        client.close()
    assert "127.0.0.1" in str(refused.value) or "hostname" in str(refused.value).lower()


def test_a_trusted_private_ca_is_accepted_everywhere(
    tls_emu: Emulator, ca: trustme.CA, tmp_path: Path
) -> None:
    quotes = Recorder()
    client = _client(
        tls_emu, refresh_token=tls_emu.refresh_token, ssl_context=_trusting(ca, tmp_path)
    )
    with client:  # start() refreshed the token over https
        assert client.wait_connected(WAIT)
        client.subscribe_quotes("SBER", quotes).wait_active(WAIT)
        assert quotes.wait_count(1)
        assert client.commands.wait_authorized(WAIT)
    assert tls_emu.statistics().refreshes_issued >= 1


def _non_verifying(kind: str) -> ssl.SSLContext:
    if kind == "unverified-context":
        return ssl._create_unverified_context()
    context = ssl.create_default_context()
    context.check_hostname = False
    if kind == "cert-none":
        context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.parametrize("kind", ["cert-none", "no-hostname-check", "unverified-context"])
def test_a_context_that_does_not_verify_is_refused_everywhere(kind: str) -> None:
    context = _non_verifying(kind)
    urls: dict[str, Any] = {
        "ws_url": "wss://127.0.0.1:9/ws",
        "oauth_url": "https://127.0.0.1:9/refresh",
    }
    with pytest.raises(InvalidArgumentError, match="verif"):
        AlorClient("refresh", ssl_context=context, **urls)
    with pytest.raises(InvalidArgumentError, match="verif"):
        AlorClient(access_token="a.b.c", ssl_context=context, **urls)
    with pytest.raises(InvalidArgumentError, match="verif"):
        RefreshTokenProvider("refresh", "https://127.0.0.1:9/refresh", ssl_context=context)
    with pytest.raises(InvalidArgumentError, match="verif"):
        ReconnectingWebSocket(
            "wss://127.0.0.1:9/ws", name="t", on_open=lambda: None,
            on_frame=lambda _text: None, ssl_context=context,
        )  # fmt: skip


def test_the_process_wide_unverified_hack_does_not_disable_verification(
    tls_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The common "fix" for certificate errors; it must not reach alor-sync's connections.
    monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    client = _client(tls_emu, refresh_token=tls_emu.refresh_token)
    with pytest.raises(TokenRefreshError) as refused:
        client.start()
    client.close()
    _assert_about_certificates(str(refused.value))


def test_plain_connections_are_only_allowed_to_loopback() -> None:
    before = threading.active_count()
    for name, url in (("ws_url", "ws://api.alor.ru/ws"), ("cws_url", "ws://api.alor.ru/cws"),
                      ("oauth_url", "http://oauth.alor.ru/refresh")):  # fmt: skip
        with pytest.raises(InvalidArgumentError, match="unencrypted"):
            AlorClient("refresh", **{name: url})  # type: ignore[arg-type]
    assert threading.active_count() == before
