"""Helpers for end-to-end client tests: an emulator per test and recorders that can be waited on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator

WAIT = 10.0  # generous upper bound for any wait on a noisy 2-core machine


class Recorder:
    """A callback that records what it gets; tests wait on a predicate, never sleep."""

    def __init__(self, action: Callable[[Any], None] | None = None) -> None:
        self.items: list[Any] = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()
        self._action = action

    def __call__(self, item: Any, *more: Any) -> None:
        if self._action is not None:
            self._action(item)
        with self._changed:
            self.items.append(item if not more else (item, *more))
            self.threads.add(threading.current_thread().name)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.items), timeout)

    def wait_count(self, count: int, timeout: float = WAIT) -> bool:
        return self.wait_for(lambda items: len(items) >= count, timeout)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Wait for a condition that nothing notifies (the emulator's subscription table, say):
    re-checked every 10 ms up to ``timeout`` seconds; True as soon as it holds."""
    deadline = time.monotonic() + timeout
    ticker = threading.Event()
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        ticker.wait(0.01)
    return True


def client_for(emu: Emulator, **options: Any) -> AlorClient:
    """A client pointed at ``emu`` with short timers suited to tests."""
    options.setdefault("heartbeat_interval", 0.5)
    options.setdefault("pong_timeout", 1.0)
    options.setdefault("reconnect_delay", 0.05)
    options.setdefault("max_reconnect_delay", 0.2)
    return AlorClient(
        emu.refresh_token,
        ws_url=emu.ws_url,
        cws_url=emu.cws_url,
        oauth_url=emu.oauth_url,
        **options,
    )


@contextmanager
def running(emu: Emulator, **options: Any) -> Iterator[AlorClient]:
    client = client_for(emu, **options)
    with client:
        assert client.wait_connected(WAIT)
        yield client
