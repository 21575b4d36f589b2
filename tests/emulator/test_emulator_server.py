"""The port itself: ``POST /refresh``, JWT claims, TLS, 404/405/406/503, lifecycle, CLI."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import websocket
from peer import Peer, connect, post_refresh, raw_http

from alor_sync.emulator import Emulator, ManualClock

START = 1_702_631_123.78


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(speed=0, clock=clock, refresh_token="r-123") as emulator:
        yield emulator


def claims_of(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert isinstance(decoded, dict)
    return decoded


def test_refresh_by_query_issues_a_30_minute_jwt_with_the_claims_clients_read(
    emu: Emulator,
) -> None:
    status, body = post_refresh(emu.oauth_url, query_token="r-123")
    assert status == 200 and list(body) == ["AccessToken"]
    claims = claims_of(body["AccessToken"])
    assert {"sub", "exp", "iat", "portfolios", "agreements", "clientid", "ein"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["iat"] == int(START)
    assert claims["portfolios"].split() == ["D39004", "G39004", "7500PUQ"]


def test_refresh_body_wins_over_query_and_narrows_portfolios(emu: Emulator) -> None:
    status, body = post_refresh(
        emu.oauth_url, query_token="wrong", body={"token": "r-123", "allowedPortfolios": ["G39004"]}
    )
    assert status == 200
    assert claims_of(body["AccessToken"])["portfolios"] == "G39004"
    status, body = post_refresh(emu.oauth_url, query_token="r-123", body={"token": "wrong"})
    assert status == 403 and "token" in body["message"]


def test_bad_refresh_token_is_403_and_the_issued_token_works(emu: Emulator) -> None:
    assert post_refresh(emu.oauth_url, query_token="nope")[0] == 403
    assert post_refresh(emu.oauth_url)[0] == 403
    _, body = post_refresh(emu.oauth_url, body={"token": "r-123"})
    with connect(emu.ws_url) as peer:
        peer.subscribe(body["AccessToken"], opcode="QuotesSubscribe", code="SBER",
                       exchange="MOEX", guid="q")  # fmt: skip
    stats = emu.statistics()
    assert (stats.refreshes_issued, stats.refreshes_refused) == (1, 2)


def test_refresh_failure_fault_and_wrong_method(emu: Emulator) -> None:
    emu.faults.fail_refresh(503)
    assert post_refresh(emu.oauth_url, query_token="r-123")[0] == 503
    emu.faults.restore_refresh()
    assert post_refresh(emu.oauth_url, query_token="r-123")[0] == 200
    assert post_refresh(emu.oauth_url, query_token="r-123", method="GET")[0] == 405


def test_tokens_expire_with_the_emulator_clock(emu: Emulator, clock: ManualClock) -> None:
    token = emu.issue_token()
    with connect(emu.ws_url) as peer:
        clock.advance(1799)
        peer.subscribe(token, opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="a")
        clock.advance(1)
        peer.send(opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="b", token=token)
        _, reply = peer.ack("b")
        assert reply["httpCode"] == 401
        # Subscriptions made with the old token keep streaming (reference 1.4).
        emu.tick(2)
        assert peer.recv()["guid"] == "a"


def test_unknown_paths_and_garbage(emu: Emulator) -> None:
    assert raw_http(emu.port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert raw_http(emu.port, b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 426")
    assert raw_http(emu.port, b"\x16\x03\x01 not http at all\r\n\r\n") == b""
    with connect(emu.ws_url):
        pass


def test_plain_ws_gets_406_with_the_switch() -> None:
    with Emulator(speed=0, reject_plain_ws=True) as emu:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(emu.ws_url).__enter__()
        assert refused.value.status_code == 406


def test_tls_serves_wss_and_https(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile, cafile = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    with Emulator(speed=0, certfile=str(certfile), keyfile=str(keyfile)) as emu:
        assert emu.ws_url.startswith("wss://") and emu.oauth_url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cafile))
        status, body = post_refresh(emu.oauth_url, query_token=emu.refresh_token, context=context)
        assert status == 200
        with connect(emu.ws_url, sslopt={"ca_certs": str(cafile)}) as peer:
            peer.subscribe(body["AccessToken"], opcode="QuotesSubscribe", code="SBER",
                           exchange="MOEX", guid="q")  # fmt: skip
        # A client that does not trust our CA must fail: nothing here turns verification off.
        with (
            socket.create_connection(("127.0.0.1", emu.port)) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_restart_closes_with_1012_and_refuses_handshakes_for_the_downtime(emu: Emulator) -> None:
    token = emu.issue_token()
    with connect(emu.ws_url) as peer:
        peer.subscribe(token, opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="q")
        assert emu.faults.restart(downtime=600) == 1
        _, close = peer.recv_until_close()
        assert close == 1012
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(emu.ws_url).__enter__()
    assert refused.value.status_code == 503
    emu.faults.restart(downtime=0)
    with connect(emu.ws_url) as fresh:
        fresh.subscribe(token, opcode="QuotesSubscribe", code="SBER", exchange="MOEX", guid="q")
        assert [s.guid for s in emu.connections()[0].subscriptions] == ["q"]


def test_stop_with_open_connections_joins_every_thread() -> None:
    before = set(threading.enumerate())
    emu = Emulator(speed=50, close_timeout=0.5).start()
    peers = [Peer(emu.ws_url) for _ in range(2)]
    token = emu.issue_token()
    for peer in peers:
        peer.subscribe(token, opcode="OrderBookGetAndSubscribe", code="SBER", exchange="MOEX",
                       guid="ob")  # fmt: skip
    names = {t.name for t in threading.enumerate()} - {t.name for t in before}
    assert {"alor-sync-emulator-accept", "alor-sync-emulator-timer",
            "alor-sync-emulator-market"} <= names  # fmt: skip
    assert any(n.startswith("alor-sync-emulator-recv-") for n in names)
    assert all(n.startswith("alor-sync-emulator-") for n in names)
    emu.stop()
    emu.stop()  # idempotent
    assert set(threading.enumerate()) <= before
    for peer in peers:
        peer.close()


def test_context_manager_binds_a_free_port_on_loopback() -> None:
    with Emulator(speed=0) as first, Emulator(speed=0) as second:
        assert first.port != second.port and first.host == "127.0.0.1"
        assert first.ws_url == f"ws://127.0.0.1:{first.port}/ws"
        assert first.cws_url.endswith("/cws") and first.oauth_url.endswith("/refresh")


def test_cli_starts_in_under_a_second_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "alor_sync.emulator.cli", "--port", "0", "--speed", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        ready = time.monotonic() - started
        lines = [process.stdout.readline() for _ in range(5)]
        assert first.startswith("alor-sync emulator ready"), first
        assert ready < 1.0, f"took {ready:.2f} s"
        ws = next(line for line in lines if "ws:" in line and "cws" not in line).split()[-1]
        token_line = next(line for line in lines if "refresh token" in line)
        refresh = next(line for line in lines if "refresh:" in line).split()[-1]
        status, body = post_refresh(refresh, query_token=token_line.split()[-1])
        assert status == 200
        with connect(ws) as peer:
            peer.subscribe(body["AccessToken"], opcode="QuotesSubscribe", code="SBER",
                           exchange="MOEX", guid="q")  # fmt: skip
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
