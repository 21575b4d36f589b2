"""Settings of one emulator instance, and a clock tests can move by hand.

Rules of this module:

* Every knob of the emulator is a field of :class:`EmulatorConfig`; nothing reads environment
  variables or globals, so two emulators in one process never influence each other.
* Values are checked once, here, with a message that says what to fix; the rest of the emulator
  trusts them.
* Limits the reference documents (10 connections, 5,000 subscriptions, 5,000 unsent messages) are
  the defaults; what happens when one is hit is our invention and is documented in
  ``docs/emulator.md``.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from alor_sync.emulator.profile import PRODUCTION, Profile, resolve_profile
from alor_sync.errors import InvalidArgumentError

__all__ = ["Clock", "EmulatorConfig", "ManualClock"]

Clock = Callable[[], float]
"""Wall-clock seconds since the epoch (like :func:`time.time`)."""


class ManualClock:
    """A wall clock that only moves when told to; thread-safe.

    Pass it as ``EmulatorConfig.clock`` to make timestamps, candle times and token expiry
    deterministic in tests.
    """

    def __init__(self, start: float = 1_702_631_123.78) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise InvalidArgumentError(f"a clock only moves forward, not by {seconds!r} seconds")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Jump to ``now`` (seconds since the epoch); may go backwards, for expiry tests."""
        with self._lock:
            self._now = float(now)


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise InvalidArgumentError(f"{attribute.name} must be >= 0, not {value!r}")


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise InvalidArgumentError(f"{attribute.name} must be > 0, not {value!r}")


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """Everything an :class:`~alor_sync.emulator.Emulator` can be told at construction.

    Network:
        ``host``/``port`` to bind (port 0 picks a free one). TLS is served when ``certfile`` and
        ``keyfile`` (or a ready ``ssl_context``) are given; URLs then start with ``wss://``.
        ``reject_plain_ws`` answers every plain ``ws://`` upgrade with HTTP 406 like production.
    Market:
        ``seed`` makes the simulation repeatable; ``speed`` is market ticks per second for the
        market thread (0 = manual: call ``Emulator.tick``); ``clock`` gives wall time for
        timestamps, candles and token expiry.
    Protocol:
        ``token_ttl`` (seconds) of issued JWTs; ``ack_first`` sends the confirmation before the
        snapshot (production sends the snapshot first); ``stamp_sequence`` adds ``"seq":n`` to every
        data frame and to its ``data`` object (changes the wire, off by default); ``conflation``
        honours ``frequency``. ``profile`` is how production-like the server misbehaves:
        ``"production"`` (the default: 19-digit ids, ``272.00``-style decimals, extra fields,
        other enum casings, nulls, fragmented frames, data before confirmations, closes on its
        own) or ``"polite"`` (none of that), or a :class:`~alor_sync.emulator.profile.Profile`.
    Replay:
        ``replay`` is a recording (``alor-sync record``) to serve as the market: subscriptions to
        its streams get the recorded payloads, ``speed`` times as fast as they were received
        (``float("inf")``: at once; 0: only ``Emulator.tick(n)`` releases them, n frames).
    Limits:
        ``max_connections`` (per user; the 11th handshake gets HTTP 429), ``max_subscriptions``
        (per connection; one more gets a 429 confirmation), ``max_backlog`` (unsent frames of one
        connection before it is dropped as a slow reader).
    """

    host: str = "127.0.0.1"
    port: int = attrs.field(default=0, validator=_non_negative)
    seed: int = 0
    speed: float = attrs.field(default=10.0, validator=_non_negative)
    clock: Clock = time.time
    certfile: str | None = None
    keyfile: str | None = None
    ssl_context: ssl.SSLContext | None = None
    reject_plain_ws: bool = False
    refresh_token: str | None = None
    token_ttl: float = attrs.field(default=1800.0, validator=_positive)
    ack_first: bool = False
    stamp_sequence: bool = False
    conflation: bool = True
    profile: Profile = attrs.field(default=PRODUCTION, converter=resolve_profile)
    replay: str | os.PathLike[str] | None = None
    compression: bool = True
    max_connections: int = attrs.field(default=10, validator=_positive)
    max_subscriptions: int = attrs.field(default=5000, validator=_positive)
    max_backlog: int = attrs.field(default=5000, validator=_positive)
    # How long a connection dropped for a slow reader may take to complete its close handshake
    # before the TCP connection is cut.
    close_timeout: float = attrs.field(default=2.0, validator=_positive)
    open_timeout: float = attrs.field(default=10.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            raise InvalidArgumentError("give both certfile and keyfile for TLS, or neither")
        if self.ssl_context is not None and self.certfile is not None:
            raise InvalidArgumentError("give either ssl_context or certfile/keyfile, not both")
        if self.max_backlog < 2:
            raise InvalidArgumentError(f"max_backlog must be >= 2, not {self.max_backlog!r}")

    @property
    def tls(self) -> bool:
        """True when the emulator serves ``wss://``."""
        return self.ssl_context is not None or self.certfile is not None

    def server_ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context to serve with, built from ``certfile``/``keyfile`` when needed."""
        if self.ssl_context is not None:
            return self.ssl_context
        if self.certfile is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context
