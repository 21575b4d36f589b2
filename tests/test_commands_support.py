"""Helpers for the command channel tests (no tests here): an emulator harness and /ws watchers.

The watchers are plain websocket-client connections to the emulator's ``/ws``, so that what the
channel does is checked through the broker's own streams, not through the library's subscriptions.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

import websocket

from alor_sync.auth import RefreshTokenProvider, TokenProvider
from alor_sync.commands.channel import CommandChannel
from alor_sync.emulator import Emulator
from alor_sync.transport.backoff import Backoff
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind

PORTFOLIO = "D39004"
EXCHANGE = "MOEX"
WAIT = 10.0  # generous upper bound for anything a test waits for (never slept)

Payload = dict[str, Any]


class StreamWatcher:
    """One ``/ws`` subscription read by a background thread; every data payload is kept."""

    def __init__(self, url: str, token: str, opcode: str, **params: Any) -> None:
        self.opcode = opcode
        self._ws = websocket.create_connection(url, timeout=WAIT)
        self._changed = threading.Condition()
        self.payloads: list[Payload] = []
        self._confirmed = False
        guid = str(uuid.uuid4())
        request = {
            "opcode": opcode,
            "portfolio": PORTFOLIO,
            "exchange": EXCHANGE,
            "format": "Simple",
            "guid": guid,
            "token": token,
            **params,
        }
        self._thread = threading.Thread(target=self._read, name=f"test-watch-{opcode}")
        self._thread.start()
        self._ws.send(json.dumps(request))
        with self._changed:
            assert self._changed.wait_for(lambda: self._confirmed, WAIT), f"{opcode} not confirmed"

    def _read(self) -> None:
        while True:
            try:
                text = self._ws.recv()
            except Exception:
                return  # closed by close()
            if not text:
                return
            message = json.loads(text)
            with self._changed:
                if "data" in message:
                    self.payloads.append(_enums_folded(message["data"]))
                elif message.get("httpCode") == 200:
                    self._confirmed = True
                self._changed.notify_all()

    def matching(self, predicate: Callable[[Payload], bool]) -> list[Payload]:
        with self._changed:
            return [p for p in self.payloads if predicate(p)]

    def wait_for(self, predicate: Callable[[Payload], bool], timeout: float = WAIT) -> Payload:
        """The first payload (in arrival order) that matches; fails the test after ``timeout``."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(predicate(p) for p in self.payloads), timeout
            )
            assert found, f"no matching {self.opcode} payload in {self.payloads[-5:]}"
            return next(p for p in self.payloads if predicate(p))

    def close(self) -> None:
        self._ws.abort()
        self._thread.join(WAIT)
        self._ws.shutdown()


# Production writes enum values in any casing (reference 2.6); the tests compare them lowercase.
_ENUM_KEYS = ("side", "status", "type", "timeInForce", "condition")


def _enums_folded(payload: Payload) -> Payload:
    return {
        k: v.lower() if k in _ENUM_KEYS and isinstance(v, str) else v for k, v in payload.items()
    }


class Harness:
    """An emulator (manual market), a refresh-token provider against it, and a started channel."""

    def __init__(
        self,
        *,
        token_ttl: float = 1800.0,
        refresh_margin: float = 60.0,
        reauthorize_margin: float = 600.0,
        default_timeout: float = WAIT,
        tokens: Callable[[Emulator], TokenProvider] | None = None,
        start: bool = True,
        **channel_options: Any,
    ) -> None:
        self.emu = Emulator(speed=0, token_ttl=token_ttl)
        self._refresh_margin = refresh_margin
        self._make_tokens = tokens
        self._options: dict[str, Any] = {
            "backoff": Backoff(initial=0.05, maximum=0.2),
            "default_timeout": default_timeout,
            "reauthorize_margin": reauthorize_margin,
            **channel_options,
        }
        self._start = start
        self.events: queue.Queue[ConnectionEvent] = queue.Queue()
        self._watchers: list[StreamWatcher] = []

    def __enter__(self) -> Harness:
        self.emu.start()
        try:
            if self._make_tokens is not None:
                self.tokens = self._make_tokens(self.emu)
            else:
                self.tokens = RefreshTokenProvider(
                    self.emu.refresh_token, self.emu.oauth_url, refresh_margin=self._refresh_margin
                )
            self.channel = CommandChannel(
                self.emu.cws_url, self.tokens, on_connection_event=self.events.put, **self._options
            )
            if self._start:
                self.channel.start()
        except BaseException:
            self.emu.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.channel.close(WAIT)
            for watcher in self._watchers:
                watcher.close()
        finally:
            self.emu.stop()

    def watch(self, opcode: str, **params: Any) -> StreamWatcher:
        watcher = StreamWatcher(self.emu.ws_url, self.emu.issue_token(), opcode, **params)
        self._watchers.append(watcher)
        return watcher

    def wait_event(self, kind: ConnectionEventKind) -> ConnectionEvent:
        """The next connection event of ``kind`` (the channel has applied it already)."""
        while True:
            event = self.events.get(timeout=WAIT)
            if event.kind is kind:
                return event

    def limit(self, **overrides: Any) -> dict[str, Any]:
        """Arguments of a resting SBER buy limit (well below the market)."""
        return resting_limit(**overrides)


def resting_limit(**overrides: Any) -> dict[str, Any]:
    """Arguments of a resting SBER buy limit (well below the market)."""
    args: dict[str, Any] = {
        "portfolio": PORTFOLIO,
        "symbol": "SBER",
        "exchange": EXCHANGE,
        "side": "buy",
        "quantity": 1,
        "price": 200.0,
    }
    args.update(overrides)
    return args


class LogWaiter(logging.Handler):
    """Sets an event when a record of ``logger_name`` contains ``text`` (no polling)."""

    def __init__(self, logger_name: str, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = threading.Event()
        self._logger = logging.getLogger(logger_name)

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()

    def __enter__(self) -> LogWaiter:
        self._logger.addHandler(self)
        self._old_level = self._logger.level
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._old_level)
