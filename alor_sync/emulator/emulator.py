"""``Emulator``: a local ALOR-compatible server with a live simulated market and fault switches.

Rules of this module:

* This is the composition root: it builds the market, the account, the hub, the server and the
  threads, and owns their lifecycle. It contains no protocol logic.
* Every public method is thread-safe and may be called from any thread (typically a test's).
* ``stop()`` is idempotent and leaves no thread behind.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import attrs

from alor_sync.emulator.config import EmulatorConfig
from alor_sync.emulator.cws_session import CwsSession
from alor_sync.emulator.faults import Faults
from alor_sync.emulator.frames import (
    DATA_PREFIX,
    data_suffix,
    sequenced_payload,
    sequenced_suffix,
)
from alor_sync.emulator.hub import AccountEncoder, AccountLike, Hub, StreamSub
from alor_sync.emulator.jwt import TokenIssuer
from alor_sync.emulator.liberties import PayloadLiberties
from alor_sync.emulator.live import LiveConnection, Session
from alor_sync.emulator.market import Market
from alor_sync.emulator.outbox import Outbox
from alor_sync.emulator.replay import ReplayMarket
from alor_sync.emulator.rest import RestApi
from alor_sync.emulator.server import EmulatorServer
from alor_sync.emulator.stats import ConnectionInfo, EmulatorStatistics
from alor_sync.emulator.timer import Ticker, Timer
from alor_sync.emulator.venue import InstrumentInfo, MarketView
from alor_sync.emulator.ws_session import WsOptions, WsSession
from alor_sync.errors import InvalidArgumentError
from alor_sync.recording.tape import RecordedStream, read_recording

__all__ = ["AccountFactory", "Emulator"]

AccountFactory = Callable[[MarketView, Callable[[], float], int], AccountLike]


def _default_account(market: MarketView, clock: Callable[[], float], seed: int) -> AccountLike:
    from alor_sync.emulator.account import Account  # imported late: written alongside

    account: AccountLike = Account(market, clock=clock, seed=seed)
    return account


def _big_ids_account(market: MarketView, clock: Callable[[], float], seed: int) -> AccountLike:
    from alor_sync.emulator.account import Account

    account: AccountLike = Account(market, clock=clock, seed=seed, big_ids=True)
    return account


def _default_encoder() -> AccountEncoder:
    from alor_sync.emulator.wire_account import encode

    return encode


class Emulator:
    """A running (after :meth:`start`) ALOR-compatible server on ``host:port``.

    Threads: ``alor-sync-emulator-accept``, ``-timer``, ``-market`` (when ``speed > 0``) and three
    per connection (``-conn-N``, ``-send-N``, ``-recv-N``). Methods may be called from any thread.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        account_factory: AccountFactory | None = None,
        account_encoder: AccountEncoder | None = None,
        **overrides: Any,
    ) -> None:
        try:
            self.config = EmulatorConfig(**overrides) if config is None else config
            if config is not None and overrides:
                self.config = attrs.evolve(config, **overrides)
        except TypeError as exc:
            raise InvalidArgumentError(f"unknown emulator setting: {exc}") from None
        cfg = self.config
        # Read (and validate) a recording before anything opens a socket.
        recording = None if cfg.replay is None else read_recording(cfg.replay)
        self.faults = Faults()
        self._timer = Timer()
        profile = cfg.profile
        self._liberties = PayloadLiberties(profile, cfg.seed) if profile.takes_liberties else None
        self._market = Market(seed=cfg.seed, clock=cfg.clock, big_ids=profile.big_ids)
        factory = account_factory or (_big_ids_account if profile.big_ids else _default_account)
        account = factory(self._market, cfg.clock, cfg.seed)
        self._hub = Hub(self._market, account, account_encoder or _default_encoder(), self._timer)
        self.refresh_token = cfg.refresh_token or secrets.token_hex(24)
        self._tokens = TokenIssuer(cfg.clock, cfg.token_ttl, account.jwt_claims())
        self._served = frozenset(account.portfolios())
        self._server = EmulatorServer(
            cfg,
            timer=self._timer,
            faults=self.faults,
            sessions=self._new_session,
            refresh_token=self.refresh_token,
            issue_token=self.issue_token,
            rest=RestApi(
                self._market,
                self._hub.lock,
                cfg.clock,
                lambda t: self._tokens.verify(t) is not None,
            ).answer,
        )
        self.faults.attach(self._server)
        # A replayed recording is the market: the simulated one then stands still.
        self._replay = (
            None
            if recording is None
            else ReplayMarket(recording, speed=cfg.speed, lock=self._hub.lock)
        )
        ticking = cfg.speed > 0 and self._replay is None
        self._ticker = Ticker(cfg.speed, self._hub.tick) if ticking else None
        self._state_lock = threading.Lock()
        self._started = self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving (idempotent); returns self."""
        with self._state_lock:
            if self._started:
                return self
            self._started = True
        self._timer.start()
        self._server.start()
        if self._ticker is not None:
            self._ticker.start()
        if self._replay is not None:
            self._replay.start()
        return self

    def stop(self) -> None:
        """Close every connection and join every thread (idempotent)."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            started = self._started
        if self._ticker is not None and started:
            self._ticker.close()
        if self._replay is not None:
            self._replay.close()
        self._server.stop()
        self._timer.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        return self._server.port

    @property
    def ws_url(self) -> str:
        """``ws(s)://host:port/ws``: data subscriptions."""
        return f"{'wss' if self.config.tls else 'ws'}://{self.host}:{self.port}/ws"

    @property
    def cws_url(self) -> str:
        """``ws(s)://host:port/cws``: order commands."""
        return f"{'wss' if self.config.tls else 'ws'}://{self.host}:{self.port}/cws"

    @property
    def oauth_url(self) -> str:
        """``http(s)://host:port/refresh``: refresh token -> access token."""
        return f"{'https' if self.config.tls else 'http'}://{self.host}:{self.port}/refresh"

    def issue_token(self, allowed_portfolios: list[str] | None = None) -> str:
        """An access token, exactly as ``POST /refresh`` would issue it (a test shortcut)."""
        return self._tokens.issue(allowed_portfolios)

    # -- market control --------------------------------------------------------------------------

    def tick(self, count: int = 1) -> None:
        """Advance the market ``count`` steps now (deterministic with ``speed=0``); when replaying
        a recording, release its next ``count`` frames."""
        if count < 0:
            raise InvalidArgumentError(f"count must be >= 0, not {count!r}")
        if self._replay is not None:
            with self._hub.lock:
                self._replay.advance(count)
            return
        self._hub.tick(count)

    def replayed_streams(self) -> tuple[RecordedStream, ...]:
        """The streams of the recording being replayed (empty without ``replay=``)."""
        return () if self._replay is None else self._replay.streams

    def wait_replayed(self, timeout: float | None = 5.0) -> bool:
        """Block until the replay (``replay=``) has released its last frame; False on timeout."""
        if self._replay is None:
            raise InvalidArgumentError("this emulator replays no recording (give replay=FILE)")
        return self._replay.wait_done(timeout)

    def trade_tape(self, symbol: str, exchange: str = "MOEX") -> list[int]:
        """Every anonymous trade id printed for ``symbol`` since the start, in order (the tape
        that ``AllTradesGetAndSubscribe`` deliveries can be checked against)."""
        with self._hub.lock:
            state = self._market.lookup(exchange, symbol)
            if state is None:
                raise InvalidArgumentError(f"the emulator lists no {exchange}:{symbol}")
            return state.tape.tolist()

    def instruments(self) -> Sequence[InstrumentInfo]:
        """Every instrument the market lists."""
        with self._hub.lock:
            return self._market.instruments()

    @contextmanager
    def venue(self) -> Iterator[Hub]:
        """Hold the venue lock to read or change market/account state consistently."""
        with self._hub.lock:
            yield self._hub

    def set_book(
        self,
        exchange: str,
        symbol: str,
        bids: Sequence[tuple[Decimal | str, int]],
        asks: Sequence[tuple[Decimal | str, int]],
    ) -> None:
        """Replace an order book (levels best first); subscribers see it like any change."""
        with self._hub.lock:
            self._market.set_book(exchange, symbol, bids, asks)
            self._hub.settle()

    def set_trading_status(
        self, exchange: str, symbol: str, status: int, info: str | None = None
    ) -> None:
        """Change an instrument's ``tradingStatus`` (a partial instruments update)."""
        with self._hub.lock:
            self._market.set_trading_status(exchange, symbol, status, info)

    # -- inspection ------------------------------------------------------------------------------

    def connections(self) -> list[ConnectionInfo]:
        """A snapshot of every open WebSocket connection and its subscriptions."""
        with self._hub.lock:
            return [live.info() for live in self._server.live_connections()]

    def wait_for_connections(
        self, count: int, *, path: str | None = None, timeout: float | None = 5.0
    ) -> bool:
        """Block until exactly ``count`` connections (on ``path`` if given) are open."""

        def matches(live: list[LiveConnection]) -> bool:
            return sum(1 for c in live if path is None or c.path == path) == count

        return self._server.wait_for_connections(matches, timeout)

    def statistics(self) -> EmulatorStatistics:
        """Counters since start."""
        live = self.connections()
        counters = dict(self._server.counters)
        return EmulatorStatistics(
            connections_open=len(live),
            connections_total=counters["connections"],
            handshakes_refused=counters["refused"],
            slow_readers_dropped=counters["slow_readers"],
            refreshes_issued=counters["refreshes"],
            refreshes_refused=counters["refresh_refusals"],
            frames_sent=sum(c.frames_sent for c in live),
            subscriptions=sum(len(c.subscriptions) for c in live),
        )

    # -- load ------------------------------------------------------------------------------------

    def blast(
        self, guid: str, count: int, rate: float | None = None, timeout: float | None = None
    ) -> int:
        """Send ``count`` copies of subscription ``guid``'s latest data frame, for load tests.

        Blocks the calling thread. ``rate`` (frames/s) paces them strictly, which can overflow a
        slow reader's backlog like production would; None sends as fast as the client reads
        (never more than half ``max_backlog`` queued). Returns how many frames were queued before
        the connection started closing or the subscription ended (``count`` when neither).
        """
        outbox, sub, payload = self._find(guid)
        limit = max(1, self.config.max_backlog // 2)
        frame = DATA_PREFIX + payload + data_suffix(guid)
        deadline = None if timeout is None else time.monotonic() + timeout
        started = time.monotonic()
        pause = threading.Event()
        for sent in range(count):
            if rate is not None:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    pause.wait(delay)
            elif sent % 64 == 0:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not outbox.wait_below(limit, remaining):
                    return sent
            with self._hub.lock:
                # Under the venue lock like every other frame of the subscription, so that no copy
                # follows its unsubscribe (or the snapshot of a subscription replacing it).
                if not sub.active:
                    return sent
                if self.config.stamp_sequence:
                    sub.seq += 1
                    stamped = sequenced_payload(payload, sub.seq)
                    frame = DATA_PREFIX + stamped + sequenced_suffix(guid, sub.seq)
                pushed = outbox.push(frame)
            if not pushed:
                return sent  # the connection is closing (a slow reader is being dropped)
        return count

    def _subscriptions(self, guid: str) -> list[tuple[Outbox, StreamSub]]:
        found: list[tuple[Outbox, StreamSub]] = []
        for live in self._server.live_connections():
            sub = live.find_subscription(guid)
            if sub is not None:
                found.append((live.outbox, sub))
        return found

    def _find(self, guid: str) -> tuple[Outbox, StreamSub, bytes]:
        with self._hub.lock:
            found = self._subscriptions(guid)
            if not found:
                raise InvalidArgumentError(f"no live connection has a subscription {guid!r}")
            # A connection may still be listed while it closes (after a drop, or when the
            # production profile closes it by itself): only an open one can take frames.
            open_ones = [(o, s) for o, s in found if s.active and not o.closing]
            if not open_ones:
                raise InvalidArgumentError(f"subscription {guid!r} is on a closing connection")
            outbox, sub = open_ones[0]
            if sub.last_payload is None:
                raise InvalidArgumentError(f"subscription {guid!r} has sent no data yet")
            return outbox, sub, sub.last_payload

    # -- sessions --------------------------------------------------------------------------------

    def _new_session(self, path: str, outbox: Outbox) -> Session:
        cfg = self.config
        if path == "/cws":
            return CwsSession(
                hub=self._hub, tokens=self._tokens, faults=self.faults, timer=self._timer,
                outbox=outbox, clock=cfg.clock, liberties=self._liberties,
            )  # fmt: skip
        options = WsOptions(
            cfg.ack_first, cfg.stamp_sequence, cfg.conflation, cfg.max_subscriptions,
            self._liberties, self._replay,
        )  # fmt: skip
        return WsSession(
            hub=self._hub, tokens=self._tokens, faults=self.faults, timer=self._timer,
            outbox=outbox, served=self._served, options=options,
        )  # fmt: skip
