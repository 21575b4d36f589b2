"""The emulator's brokerage account: portfolios, ``/cws`` order commands, and account streams.

Rules of this module:

* Sans-IO: no sockets, threads or sleeping. Time comes only from the injected ``clock``; randomness
  (iceberg add-ons) only from ``random.Random(seed)``. Same seed, clock and calls: same output.
* Not thread-safe. The server calls every method under its venue lock; listeners run synchronously
  on the caller's thread inside ``execute``/``on_market_update``, each change as it happens.
* Re-entrancy is expected: taking liquidity changes the market, and the server may call
  :meth:`Account.on_market_update` from inside our own ``execute``. Such calls are queued and
  processed when the outer call finishes, never recursively.

Departures/choices (the reference does not say; these are the emulator's conventions):

1. Unknown order id on update/delete, or an order of another portfolio/exchange: **404**
   ``Order '<id>' not found in portfolio <p> on <exchange>``.
2. Update/delete of an order that is no longer working: **400** ``Order '<id>' is already
   <status> and cannot be changed``.
3. Price or trigger price not a multiple of the price step: **400** with the broker's own text
   ``Цена не кратна минимальному шагу цены.``; quantity not a positive integer: **400**
   ``Invalid or unsupported quantity`` (documented). Other 400 texts are ours and name the field.
4. Insufficient money: buys without ``allowMargin`` must be covered by cash minus what working buy
   limits reserve (price x quantity plus commission; a market buy is estimated at the best ask);
   sells without ``allowMargin`` must be covered by the position minus working sells. With
   ``allowMargin`` stock/FX orders are never refused. Futures always need free money for the
   initial margin (``margin_per_lot``) when they open or grow a position, whatever
   ``allowMargin`` says (the reference says FORTS orders "must" send ``allowMargin: true``;
   what prod does otherwise is unknown, so we accept ``false``).
5. Market orders take what the book gives; the rest is **canceled** (status ``canceled`` with the
   filled part shown; ``canceled`` also when nothing filled). The price of a market order is its
   average fill price (0 before a fill); its ``volume`` is the filled value.
6. ``immediateorcancel``: fill what crosses now, cancel the rest. ``fillorkill``: **behaves like
   immediateorcancel** (the market seam shows no depth, so all-or-nothing cannot be checked before
   taking). ``bookorcancel``: canceled without any fill if it would cross on arrival, else rests.
   ``attheclose`` on MOEX becomes ``fillorkill`` (documented); on SPBX it acts as ``oneday``.
   ``goodtillcancelled`` on a non-derivative: 400. ``oneday`` orders do not expire at day end
   (their ``endTime`` says 23:59:59.999 UTC of the day of creation).
7. Resting limits fill when ``on_market_update`` sees the opposite best quote cross them; they take
   liquidity at their limit price or better. Icebergs are shown but fill like plain limits; the
   visible add-on (``icebergVariance``) is drawn once from the seeded RNG.
8. Stops trigger on the **last price** (``more``: last > trigger, ``moreorequal`` >=, ``less`` <,
   ``lessorequal`` <=), at creation too if the condition already holds. ``protectingSeconds``: the
   condition must hold at every market update for that long by the injected clock; the deadline is
   also checked on any later ``execute``/``on_market_update``. ``stopEndUnixTime`` 0 or absent = no
   expiry (``endTime`` shows 2060-12-31T23:59:59Z, as in the broker's example); in the past: 400;
   reached: the stop turns ``canceled``. A triggered stop places a market order, a stop-limit a
   limit order; the stop turns ``filled`` with the child's number in ``exchangeOrderId`` and then
   mirrors the child's filled quantity and average price. If the child would be refused for money,
   the stop turns ``rejected`` with the reason in ``error``.
9. ``activate: false`` creates a stop that shows as ``working`` and never triggers (it can still
   expire, be updated - e.g. with ``activate: true`` - or be deleted).
10. Update = cancel + new order with a new number, also for stops; FORTS updates keep the old side
    and symbol (documented). An update that would be refused leaves the old order untouched.
11. Idempotency: the first reply to every guid (also a 400) is kept (last 100,000 guids) and
    returned again for a repeated guid, unless the repeat says ``checkDuplicates: false``.
12. Order types are read case-insensitively (``create:stoplimit``); so are ``side``,
    ``timeInForce``, ``condition`` and the exchange. ``instrument.instrumentGroup`` wins over a
    top-level ``board``; a board that is not the instrument's board: 400 unknown instrument.
13. Money: commission is 0.05 % of the traded volume on every market (futures too); stock and FX
    buys pay price x units + commission from cash. Futures move no cash on opening; closing
    credits the realised variation margin; a future's price point is worth 1 unit of currency per
    unit. Values in USD/EUR/CNY count in RUB at fixed rates (``account_ledger.RUB_RATES``).
14. Derived figures: initial margin = 25 % of the stock/FX position value (futures: margin per lot),
    minimal margin = half of it; risk status Ok/Demand/ToClose from the two coverage ratios;
    ``dailyUnrealisedPl`` equals ``unrealisedPl`` (the session opens with every holding valued at
    the market); money positions have ``lotSize`` 1 and ``avgPrice`` 1.
15. Each (portfolio, exchange) is a separate ledger with its own money. SpectraRisks history for a
    non-derivatives portfolio is **empty** (no record). ``history`` for a (portfolio, exchange) the
    account does not serve is empty.
16. Which portfolio trades what: futures on ``75...`` portfolios, instruments of the MOEX currency
    boards (CETS, CNGD) on ``G...``, shares and bonds on ``D...`` (MOEX and SPBX); anything else:
    400. A bought currency instrument is booked as an instrument position, not as money.
17. Bonds: prices are percent of face value; value = price x face / 100 per bond; accrued
    interest is not charged (``accruedInt`` 0).
18. ``Account(..., setup=AccountSetup(...))`` (an optional extra keyword) changes the login,
    portfolios, money and holdings; the default is :data:`DEFAULT_SETUP`.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from alor_sync.emulator.account_commands import (
    CommandRejected,
    MarketKind,
    parse_cancel,
    parse_command_opcode,
    parse_order,
    parse_order_id,
)
from alor_sync.emulator.account_ledger import Ledger
from alor_sync.emulator.account_records import Reservation
from alor_sync.emulator.account_trading import STOP_ORDERS_V1, TradingDesk
from alor_sync.emulator.orders import InstrumentKey, statuses_filter
from alor_sync.emulator.venue import MarketView, Reply
from alor_sync.wire import Opcode

__all__ = [
    "DEFAULT_SETUP",
    "REMEMBERED_COMMANDS",
    "Account",
    "AccountSetup",
    "Listener",
    "PortfolioSetup",
]

_log = logging.getLogger(__name__)

Listener = Callable[[str, str, str, Any], None]
_T = TypeVar("_T")
REMEMBERED_COMMANDS = 100_000


@attrs.frozen
class PortfolioSetup:
    """One (portfolio, exchange) at start: its market, money and holdings (symbol, lots)."""

    portfolio: str
    exchange: str
    market: MarketKind
    money: tuple[tuple[str, Decimal], ...]
    # Held since before the session at the opening price; skipped if the market lacks the symbol.
    holdings: tuple[tuple[str, int], ...] = ()


@attrs.frozen
class AccountSetup:
    """Who the account belongs to and what it holds at start."""

    login: str
    agreement: str
    client_id: str
    ein: str
    portfolios: tuple[PortfolioSetup, ...]


DEFAULT_SETUP = AccountSetup(
    login="P039004",
    agreement="39004",
    client_id="39004",
    ein="39004",
    portfolios=(
        PortfolioSetup("D39004", "MOEX", "stock", (("RUB", Decimal(1_000_000)),), (("SBER", 10),)),
        PortfolioSetup(
            "D39004", "SPBX", "stock", (("RUB", Decimal(100_000)), ("USD", Decimal(10_000)))
        ),
        PortfolioSetup(
            "G39004", "MOEX", "fx", (("RUB", Decimal(500_000)), ("USD", Decimal(10_000)))
        ),
        PortfolioSetup("7500PUQ", "MOEX", "derivatives", (("RUB", Decimal(1_000_000)),)),
    ),
)

_POSITIONS, _SUMMARIES = Opcode.POSITIONS.value, Opcode.SUMMARIES.value
_RISKS, _SPECTRA_RISKS = Opcode.RISKS.value, Opcode.SPECTRA_RISKS.value
_TRADES, _ORDERS, _STOP_ORDERS = Opcode.TRADES.value, Opcode.ORDERS.value, Opcode.STOP_ORDERS.value


class Account:
    """A simulated brokerage account trading on a simulated market.

    Thread: none of its own; every method runs on the caller's thread, under the server's venue
    lock. Listeners are called synchronously on that thread.
    """

    def __init__(
        self,
        market: MarketView,
        *,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
        setup: AccountSetup = DEFAULT_SETUP,
        big_ids: bool = False,
    ) -> None:
        self._market = market
        self._clock = clock
        self._setup = setup
        self._listeners: list[Listener] = []
        self._replies: OrderedDict[str, Reply] = OrderedDict()
        self._pending: dict[InstrumentKey, None] = {}
        self._busy = False
        self._ledgers = {
            (p.portfolio, p.exchange): Ledger(p.portfolio, p.exchange, p.market, dict(p.money))
            for p in setup.portfolios
        }
        self._desk = TradingDesk(
            market, self._ledgers, clock=clock, rng=random.Random(seed), emit=self._emit,
            big_ids=big_ids,
        )  # fmt: skip
        self._open_session()

    def _open_session(self) -> None:
        now = self._clock()
        for setup in self._setup.portfolios:
            ledger = self._ledgers[(setup.portfolio, setup.exchange)]
            for symbol, lots in setup.holdings:
                instrument = self._market.instrument(setup.exchange, symbol)
                if instrument is not None:
                    price = self._market.last_price(setup.exchange, symbol)
                    ledger.add_holding(instrument, lots, price)
            ledger.start_session(Reservation(), now)

    # -- identity ----------------------------------------------------------------------------

    def jwt_claims(self) -> dict[str, str]:
        """Claims for the access tokens the server issues for this account."""
        names = dict.fromkeys(p.portfolio for p in self._setup.portfolios)
        return {
            "sub": self._setup.login,
            "portfolios": " ".join(names),
            "agreements": self._setup.agreement,
            "clientid": self._setup.client_id,
            "ein": self._setup.ein,
        }

    def portfolios(self) -> list[tuple[str, str]]:
        """Every (portfolio, exchange) pair the account serves."""
        return list(self._ledgers)

    def add_listener(self, listener: Listener) -> None:
        """``listener(opcode, portfolio, exchange, record)`` hears every change, synchronously."""
        self._listeners.append(listener)

    # -- commands ----------------------------------------------------------------------------

    def execute(self, opcode: str, command: Mapping[str, Any]) -> Reply:
        """Run one ``/cws`` order command (the server handles ``authorize`` and ``ping``)."""
        guid = command.get("guid")
        key = guid if isinstance(guid, str) and guid else None
        if key is not None and command.get("checkDuplicates", True) is not False:
            first = self._replies.get(key)
            if first is not None:
                return first
        reply = self._exclusively(lambda: self._run(opcode, command))
        if key is not None and key not in self._replies:
            self._replies[key] = reply
            if len(self._replies) > REMEMBERED_COMMANDS:
                self._replies.popitem(last=False)
        return reply

    def _run(self, opcode: str, command: Mapping[str, Any]) -> Reply:
        try:
            action, kind = parse_command_opcode(opcode)
            if action == "delete":
                return self._desk.cancel(kind in ("stop", "stoplimit"), parse_cancel(command))
            order_id = parse_order_id(command) if action == "update" else None
            request = parse_order(
                kind,
                command,
                market=self._market,
                portfolio_market=self._market_of,
                now=self._clock(),
            )
            if order_id is None:
                return self._desk.create(request)
            return self._desk.update(request, order_id)
        except CommandRejected as rejected:
            return Reply(rejected.http_code, rejected.message)

    def _market_of(self, portfolio: str, exchange: str) -> MarketKind | None:
        ledger = self._ledgers.get((portfolio, exchange))
        return ledger.market if ledger is not None else None

    # -- market ------------------------------------------------------------------------------

    def on_market_update(self, exchange: str, symbol: str) -> None:
        """React to a change of one instrument's market; cheap when it does not concern us."""
        key = (exchange, symbol)
        concerns = self._desk.concerns(key)
        if self._busy:
            if concerns:
                self._pending[key] = None
            return
        if not concerns and not self._desk.orders.deadline_passed(self._clock()):
            return
        if concerns:
            self._pending[key] = None
        self._exclusively(lambda: None)

    def _exclusively(self, action: Callable[[], _T]) -> _T:
        """Run ``action``, then every market re-examination it caused, without recursion."""
        outer = not self._busy
        self._busy = True
        try:
            result = action()
            if outer:
                self._settle()
            return result
        finally:
            if outer:
                self._busy = False

    def _settle(self) -> None:
        self._desk.run_deadlines(self._clock())
        while self._pending or self._desk.touched:
            self._pending.update(self._desk.touched)
            self._desk.touched.clear()
            key = next(iter(self._pending))
            del self._pending[key]
            self._desk.examine(key, self._clock())
        self._desk.flush_figures()

    # -- streams -----------------------------------------------------------------------------

    def history(
        self,
        opcode: str,
        portfolio: str,
        exchange: str,
        *,
        order_statuses: Sequence[str] | None = None,
    ) -> list[Any]:
        """Snapshot records for a new subscription (``order_statuses`` filters orders/stops)."""
        ledger = self._ledgers.get((portfolio, exchange))
        if ledger is None:
            return []
        wanted = statuses_filter(order_statuses)
        if opcode == _POSITIONS:
            return list(ledger.positions())
        if opcode in (_SUMMARIES, _RISKS, _SPECTRA_RISKS):
            figures = {
                _SUMMARIES: ledger.summary,
                _RISKS: ledger.risk,
                _SPECTRA_RISKS: ledger.spectra,
            }
            record = figures[opcode]
            return [record] if record is not None else []
        if opcode == _TRADES:
            return list(self._desk.trades[(portfolio, exchange)])
        if opcode == _ORDERS:
            orders = self._desk.orders.orders_of(portfolio, exchange)
            return [o for o in orders if wanted is None or o.status in wanted]
        if opcode in (_STOP_ORDERS, STOP_ORDERS_V1):
            stops = self._desk.orders.stops_of(portfolio, exchange)
            return [s for s in stops if wanted is None or s.status in wanted]
        raise ValueError(f"{opcode!r} is not an account stream")

    def _emit(self, opcode: str, portfolio: str, exchange: str, record: Any) -> None:
        for listener in self._listeners:
            try:
                listener(opcode, portfolio, exchange, record)
            except Exception:
                # A faulty listener must not leave the account half-updated.
                _log.exception(
                    "account listener failed on %s for %s/%s", opcode, portfolio, exchange
                )
