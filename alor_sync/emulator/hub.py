"""The venue: market + account behind one lock, and the fan-out of their changes to subscriptions.

Rules of this module:

* ``Hub.lock`` is the venue lock. Every call into the market or the account, every (un)registration
  of a subscription and every snapshot happens while holding it, so a snapshot and the live frames
  after it can never interleave wrongly. Listener callbacks run inside it and only enqueue.
* A payload is serialised once per (stream, parameters, format) and the same bytes are spliced into
  every subscriber's frame.
* Conflation (``frequency``) is a leading-and-trailing throttle per subscription: a change is sent
  at once if the interval has passed, otherwise the latest state is sent when it ends. Bars never
  conflate across candles: a finished candle's last state is always sent before the next candle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

import orjson

from alor_sync.emulator import wire_market
from alor_sync.emulator.bars import Candle, Timeframe
from alor_sync.emulator.frames import (
    DATA_PREFIX,
    data_suffix,
    sequenced_payload,
    sequenced_suffix,
)
from alor_sync.emulator.liberties import PayloadLiberties
from alor_sync.emulator.market import InstrumentState, Market, PublicTrade
from alor_sync.emulator.outbox import Outbox
from alor_sync.emulator.timer import Timer
from alor_sync.emulator.venue import Reply
from alor_sync.emulator.ws_requests import (
    ACCOUNT_OPCODES,
    AccountRequest,
    MarketRequest,
    ReplayRequest,
    canonical_opcode,
)
from alor_sync.wire import Format, Opcode

__all__ = ["AccountEncoder", "AccountLike", "Hub", "StreamSub"]

logger = logging.getLogger(__name__)

SETTLE_ROUNDS = 3  # market -> account -> market feedback is cut after this many rounds


class AccountLike(Protocol):
    """The account side of the venue (``alor_sync.emulator.account.Account``)."""

    def jwt_claims(self) -> dict[str, str]: ...

    def portfolios(self) -> list[tuple[str, str]]: ...

    def execute(self, opcode: str, command: Mapping[str, Any]) -> Reply: ...

    def on_market_update(self, exchange: str, symbol: str) -> None: ...

    def history(
        self,
        opcode: str,
        portfolio: str,
        exchange: str,
        *,
        order_statuses: Sequence[str] | None = None,
    ) -> list[Any]: ...

    def add_listener(self, listener: Callable[[str, str, str, Any], None]) -> None: ...


class AccountEncoder(Protocol):
    """``alor_sync.emulator.wire_account.encode``."""

    def __call__(
        self, opcode: str, fmt: Format, record: Any, *, existing: bool
    ) -> dict[str, Any]: ...


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


Topic = tuple[Any, ...]


class StreamSub:
    """One live subscription of one connection; mutated only under the venue lock."""

    def __init__(
        self,
        guid: str,
        request: MarketRequest | AccountRequest | ReplayRequest,
        outbox: Outbox,
        *,
        stamp: bool,
        liberties: PayloadLiberties | None = None,
    ) -> None:
        self.guid = guid
        self.liberties = liberties
        # The production profile may hold the confirmation back behind the first live frames:
        # it is sent by ``release_confirmation`` after ``held_frames`` more frames (or sooner).
        self.held_confirmation: Callable[[], None] | None = None
        self.held_frames = 0
        self.request = request
        self.opcode = request.opcode
        self.fmt = request.fmt
        self.outbox = outbox
        self.interval = request.interval if isinstance(request, MarketRequest) else 0.0
        self.suffix = data_suffix(guid)
        self.seq = 0 if stamp else -1
        self.active = True
        self.next_allowed = 0.0
        self.scheduled = False
        self.dirty = False
        self.pending_bar: Candle | None = None
        self.last_payload: bytes | None = None
        self.frames = 0
        self.topic: Topic = ()

    def push(self, payload: bytes) -> None:
        """Frame ``payload`` for this subscription and queue it."""
        self.last_payload = payload
        self.frames += 1
        if self.liberties is not None:
            payload = self.liberties.rewrite(self.opcode, self.fmt, payload)
        if self.seq < 0:
            self.outbox.push(DATA_PREFIX + payload + self.suffix)
        else:
            self.seq += 1
            stamped = sequenced_payload(payload, self.seq)
            self.outbox.push(DATA_PREFIX + stamped + sequenced_suffix(self.guid, self.seq))
        if self.held_confirmation is not None:
            self.held_frames -= 1
            if self.held_frames <= 0:
                self.release_confirmation()

    def release_confirmation(self) -> None:
        """Send a held-back confirmation now, if one is held (idempotent)."""
        send, self.held_confirmation = self.held_confirmation, None
        if send is not None:
            send()


class Hub:
    """Market, account and subscriptions behind the venue lock; the market's listener.

    Thread: none of its own. Its methods run on whichever thread holds the venue lock (connection
    threads, the market thread, the timer thread for conflated flushes, a test thread).
    """

    def __init__(
        self, market: Market, account: AccountLike, encode_account: AccountEncoder, timer: Timer
    ) -> None:
        self.lock = threading.RLock()
        self.market = market
        self.account = account
        self._encode_account = encode_account
        self._timer = timer
        self._topics: dict[Topic, dict[StreamSub, None]] = {}
        self._dirty: dict[tuple[str, str], InstrumentState] = {}
        self._book_cache: dict[tuple[Any, ...], tuple[int, bytes]] = {}
        market.set_listener(self)
        account.add_listener(self.on_account_event)

    # -- registration (caller holds the lock) ----------------------------------------------------

    def subscribe(self, sub: StreamSub) -> None:
        """Register ``sub`` and queue its snapshot/history frames (``existing`` true)."""
        request = sub.request
        if isinstance(request, AccountRequest):
            self._add(("acct", request.opcode, request.portfolio, request.exchange), sub)
            if not request.skip_history:
                self._account_history(sub, request)
            return
        if not isinstance(request, MarketRequest):
            raise TypeError("a replayed stream is started by the replay, not by the hub")
        state = request.state
        if request.opcode == Opcode.ORDER_BOOK:
            self._add(("book", state.listing.key), sub)
            if not request.skip_history:
                sub.push(wire_market.order_book(state, request.depth, sub.fmt, True))
            sub.next_allowed = time.monotonic() + sub.interval
        elif request.opcode == Opcode.QUOTES:
            self._add(("quote", state.listing.key), sub)
            sub.push(wire_market.quote(state, sub.fmt))
            sub.next_allowed = time.monotonic() + sub.interval
        elif request.opcode == Opcode.ALL_TRADES:
            self._add(("trades", state.listing.key), sub)
            if request.depth and not request.skip_history:
                for trade in list(state.trades)[-request.depth :]:
                    sub.push(wire_market.all_trade(state, trade, sub.fmt, True))
        elif request.opcode == Opcode.INSTRUMENTS:
            self._add(("instrument", state.listing.key), sub)
            sub.push(wire_market.instrument(state, sub.fmt, None))
        else:
            self._subscribe_bars(sub, request)

    def _subscribe_bars(self, sub: StreamSub, request: MarketRequest) -> None:
        assert request.tf is not None
        state = request.state
        self.market.watch_bars(state, request.tf)
        self._add(("bars", state.listing.key, request.tf), sub)
        if request.skip_history:
            return
        for candle in state.history.candles(request.tf, request.since):
            sub.push(wire_market.bar(state, candle, sub.fmt))
        sub.next_allowed = time.monotonic() + sub.interval

    def unsubscribe(self, sub: StreamSub) -> None:
        """Stop every later frame of ``sub`` (a pending conflated flush included)."""
        sub.release_confirmation()  # a confirmation never follows what ends its subscription
        sub.active = False
        subs = self._topics.get(sub.topic)
        if subs is not None:
            subs.pop(sub, None)
            if not subs:
                del self._topics[sub.topic]

    def _add(self, topic: Topic, sub: StreamSub) -> None:
        sub.topic = topic
        self._topics.setdefault(topic, {})[sub] = None

    def _account_history(self, sub: StreamSub, request: AccountRequest) -> None:
        records = self.account.history(
            request.opcode,
            request.portfolio,
            request.exchange,
            order_statuses=request.order_statuses,
        )
        for record in records:
            sub.push(self._account_payload(request.opcode, sub.fmt, record, True))

    def _account_payload(self, opcode: str, fmt: Format, record: Any, existing: bool) -> bytes:
        body = self._encode_account(opcode, fmt, record, existing=existing)
        return orjson.dumps(body, default=_json_default)

    # -- venue operations ------------------------------------------------------------------------

    def tick(self, count: int) -> None:
        """Advance the market ``count`` steps, letting the account react after each."""
        with self.lock:
            for _ in range(count):
                self.market.step()
                self.settle()

    def execute(self, opcode: str, command: Mapping[str, Any]) -> Reply:
        """Run one ``/cws`` command on the account and let it react to what it moved."""
        with self.lock:
            reply = self.account.execute(opcode, command)
            self.settle()
            return reply

    def settle(self) -> None:
        """Tell the account about every instrument that changed (caller holds the lock)."""
        for _ in range(SETTLE_ROUNDS):
            if not self._dirty:
                return
            changed = list(self._dirty.values())
            self._dirty.clear()
            for state in changed:
                exchange, symbol = state.listing.key
                self.account.on_market_update(exchange, symbol)

    # -- MarketListener --------------------------------------------------------------------------

    def on_book(self, state: InstrumentState) -> None:
        self._dirty[state.listing.key] = state
        for sub in self._topics.get(("book", state.listing.key), ()):
            self._offer(sub)

    def on_quote(self, state: InstrumentState) -> None:
        for sub in self._topics.get(("quote", state.listing.key), ()):
            self._offer(sub)

    def on_trade(self, state: InstrumentState, trade: PublicTrade) -> None:
        subs = self._topics.get(("trades", state.listing.key))
        if not subs:
            return
        cache: dict[Format, bytes] = {}
        for sub in subs:
            payload = cache.get(sub.fmt)
            if payload is None:
                payload = cache[sub.fmt] = wire_market.all_trade(state, trade, sub.fmt, False)
            sub.push(payload)

    def on_bar(self, state: InstrumentState, tf: Timeframe, candle: Candle) -> None:
        for sub in self._topics.get(("bars", state.listing.key, tf), ()):
            pending = sub.pending_bar
            if sub.scheduled and pending is not None and pending[0] != candle[0]:
                sub.push(wire_market.bar(state, pending, sub.fmt))
            sub.pending_bar = candle
            self._offer(sub)

    def on_instrument(self, state: InstrumentState, changed: Sequence[str]) -> None:
        subs = self._topics.get(("instrument", state.listing.key))
        if not subs:
            return
        fields = tuple(changed)
        cache: dict[Format, bytes] = {}
        for sub in subs:
            payload = cache.get(sub.fmt)
            if payload is None:
                payload = cache[sub.fmt] = wire_market.instrument(state, sub.fmt, fields)
            sub.push(payload)

    # -- account listener ------------------------------------------------------------------------

    def on_account_event(self, opcode: str, portfolio: str, exchange: str, record: Any) -> None:
        """Fan an account change out (called by the account inside the venue lock)."""
        canonical = canonical_opcode(opcode)
        if canonical is None or canonical not in ACCOUNT_OPCODES:
            logger.warning("account announced a change of unknown stream %r", opcode)
            return
        # The account announces v1 and V2 stop orders separately, so each opcode maps to itself.
        cache: dict[Format, bytes] = {}
        for sub in self._topics.get(("acct", canonical, portfolio, exchange), ()):
            payload = cache.get(sub.fmt)
            if payload is None:
                payload = cache[sub.fmt] = self._account_payload(canonical, sub.fmt, record, False)
            sub.push(payload)

    # -- conflation ------------------------------------------------------------------------------

    def _offer(self, sub: StreamSub) -> None:
        if sub.interval <= 0:
            self._render_and_push(sub)
            return
        if sub.scheduled:
            sub.dirty = True
            return
        now = time.monotonic()
        if now >= sub.next_allowed:
            self._render_and_push(sub)
            sub.next_allowed = now + sub.interval
            return
        sub.dirty = sub.scheduled = True
        self._timer.call_at(sub.next_allowed, lambda: self._flush(sub))

    def _flush(self, sub: StreamSub) -> None:
        """End of a conflation interval (timer thread): send the latest state if any."""
        with self.lock:
            sub.scheduled = False
            if sub.active and sub.dirty:
                sub.dirty = False
                self._render_and_push(sub)
                sub.next_allowed = time.monotonic() + sub.interval

    def _render_and_push(self, sub: StreamSub) -> None:
        request = sub.request
        assert isinstance(request, MarketRequest)
        state = request.state
        if request.opcode == Opcode.BARS:
            if sub.pending_bar is not None:
                sub.push(wire_market.bar(state, sub.pending_bar, sub.fmt))
                sub.pending_bar = None
            return
        key = (request.opcode, state.listing.key, request.depth, sub.fmt)
        cached = self._book_cache.get(key)
        if cached is not None and cached[0] == state.book_version:
            sub.push(cached[1])
            return
        if request.opcode == Opcode.ORDER_BOOK:
            payload = wire_market.order_book(state, request.depth, sub.fmt, False)
        else:
            payload = wire_market.quote(state, sub.fmt)
        self._book_cache[key] = (state.book_version, payload)
        sub.push(payload)
