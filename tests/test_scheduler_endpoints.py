"""The control loop (jobs off the network thread) and endpoint presets."""

from __future__ import annotations

import threading

import pytest

from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.endpoints import DEV, PRODUCTION, Endpoints, resolve_endpoints
from alor_sync.errors import InvalidArgumentError


def test_jobs_run_on_the_control_thread_in_deadline_order() -> None:
    loop = ControlLoop()
    order: list[str] = []
    done = threading.Event()
    threads: set[str] = set()

    def job(name: str) -> None:
        order.append(name)
        threads.add(threading.current_thread().name)
        if len(order) == 3:
            done.set()

    loop.start()
    try:
        loop.call_later(0.2, lambda: job("late"))
        loop.call_soon(lambda: job("first"))
        loop.call_later(0.05, lambda: job("middle"))
        assert done.wait(5)
    finally:
        loop.close(5)
    assert order == ["first", "middle", "late"]
    assert threads == {"alor-sync-control"}


def test_a_failing_job_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    loop = ControlLoop()
    ran = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    loop.start()
    try:
        loop.call_soon(boom)
        loop.call_soon(ran.set)
        assert ran.wait(5)
    finally:
        loop.close(5)
    assert "control job failed" in caplog.text


def test_call_every_repeats_and_close_from_a_job_does_not_deadlock() -> None:
    loop = ControlLoop()
    runs: list[int] = []
    closed = threading.Event()

    def tick() -> None:
        runs.append(1)
        if len(runs) == 3:
            loop.close()
            closed.set()

    loop.start()
    loop.call_every(0.01, tick)
    assert closed.wait(5)
    loop.close(5)
    assert len(runs) == 3
    loop.call_soon(lambda: runs.append(99))  # ignored after close
    assert runs == [1, 1, 1]


def test_presets_and_overrides() -> None:
    assert resolve_endpoints("prod") == PRODUCTION
    assert resolve_endpoints("DEV") == DEV
    assert PRODUCTION.ws_url == "wss://api.alor.ru/ws"
    assert DEV.oauth_url == "https://oauthdev.alor.ru/refresh"
    local = resolve_endpoints(ws_url="ws://127.0.0.1:1/ws", cws_url="ws://127.0.0.1:1/cws")
    assert local.ws_url.startswith("ws://127.0.0.1") and local.oauth_url == PRODUCTION.oauth_url


def test_plain_schemes_are_refused_off_loopback() -> None:
    with pytest.raises(InvalidArgumentError, match="unencrypted"):
        Endpoints("ws://api.alor.ru/ws", "wss://api.alor.ru/cws", "https://oauth.alor.ru/refresh")
    with pytest.raises(InvalidArgumentError, match="https"):
        Endpoints("wss://a/ws", "wss://a/cws", "ftp://a/refresh")
    with pytest.raises(InvalidArgumentError, match="env"):
        resolve_endpoints("staging")
