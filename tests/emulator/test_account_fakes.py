"""Test doubles for the emulator account: a scripted market, a settable clock, a recorder.

Imported by the other ``test_account_*`` modules; it holds one sanity test of the fake itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from alor_sync.emulator.account import Account
from alor_sync.emulator.venue import Fill, InstrumentInfo, Side


def _share(symbol: str, **kw: Any) -> InstrumentInfo:
    defaults: dict[str, Any] = dict(
        symbol=symbol,
        exchange="MOEX",
        board="TQBR",
        kind="share",
        description=f"{symbol} ПАО ао",
        currency="RUB",
        lot_size=10,
        price_step=Decimal("0.01"),
        face_value=Decimal(1),
    )
    defaults.update(kw)
    return InstrumentInfo(**defaults)


SBER = _share("SBER", description="Сбербанк России ПАО ао")
GAZP = _share("GAZP", description="Газпром ПАО ао")
BOND = _share(
    "SU26238RMFS4",
    board="TQOB",
    kind="bond",
    lot_size=1,
    price_step=Decimal("0.001"),
    face_value=Decimal(1000),
)
SI = _share(
    "SiZ6",
    board="RFUD",
    kind="future",
    lot_size=1,
    price_step=Decimal(1),
    margin_per_lot=Decimal(12500),
)
AAPL = _share("AAPL", exchange="SPBX", board="SPBX", currency="USD", lot_size=1)
USDRUB = _share("USD000UTSTOM", board="CETS", lot_size=1000, price_step=Decimal("0.0025"))

ALL = (SBER, GAZP, BOND, SI, AAPL, USDRUB)


class FakeMarket:
    """A MarketView over scripted books. ``take_liquidity`` walks them like an exchange would.

    ``on_change`` (if set) is called after every take, the way the server relays market changes
    to the account - from inside the account's own call.
    """

    def __init__(self, instruments: Iterable[InstrumentInfo] = ALL) -> None:
        self.infos = {(i.exchange, i.symbol): i for i in instruments}
        self.bids: dict[tuple[str, str], list[list[Any]]] = {k: [] for k in self.infos}
        self.asks: dict[tuple[str, str], list[list[Any]]] = {k: [] for k in self.infos}
        self.last: dict[tuple[str, str], Decimal] = {k: Decimal(100) for k in self.infos}
        self.takes: list[tuple[str, str, Side, int, Decimal | None]] = []
        self.on_change: Callable[[str, str], None] | None = None
        self.set_book(
            SBER, bids=[("257.69", 50), ("257.60", 50)], asks=[("257.71", 5), ("257.80", 50)]
        )
        self.last[("MOEX", "SBER")] = Decimal("257.70")
        self.set_book(GAZP, bids=[("170.20", 100)], asks=[("170.22", 100)])
        self.last[("MOEX", "GAZP")] = Decimal("170.21")
        self.set_book(BOND, bids=[("58.490", 100)], asks=[("58.510", 100)])
        self.last[("MOEX", "SU26238RMFS4")] = Decimal("58.500")
        self.set_book(SI, bids=[("98499", 100)], asks=[("98501", 100)])
        self.last[("MOEX", "SiZ6")] = Decimal(98500)
        self.set_book(AAPL, bids=[("190.49", 100)], asks=[("190.51", 100)])
        self.last[("SPBX", "AAPL")] = Decimal("190.50")
        self.set_book(USDRUB, bids=[("90.0000", 100)], asks=[("90.0025", 100)])
        self.last[("MOEX", "USD000UTSTOM")] = Decimal(90)

    # -- scripting -------------------------------------------------------------------------------

    def set_book(
        self,
        instrument: InstrumentInfo,
        *,
        bids: Sequence[tuple[str, int]] = (),
        asks: Sequence[tuple[str, int]] = (),
    ) -> None:
        key = (instrument.exchange, instrument.symbol)
        self.bids[key] = [[Decimal(p), v] for p, v in bids]
        self.asks[key] = [[Decimal(p), v] for p, v in asks]

    def set_last(self, instrument: InstrumentInfo, price: str) -> None:
        self.last[(instrument.exchange, instrument.symbol)] = Decimal(price)

    # -- MarketView ------------------------------------------------------------------------------

    def instrument(self, exchange: str, symbol: str) -> InstrumentInfo | None:
        return self.infos.get((exchange, symbol))

    def instruments(self) -> Sequence[InstrumentInfo]:
        return list(self.infos.values())

    def best_bid_ask(self, exchange: str, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        bids, asks = self.bids[(exchange, symbol)], self.asks[(exchange, symbol)]
        return (bids[0][0] if bids else None, asks[0][0] if asks else None)

    def last_price(self, exchange: str, symbol: str) -> Decimal:
        return self.last[(exchange, symbol)]

    def take_liquidity(
        self, exchange: str, symbol: str, side: Side, lots: int, limit_price: Decimal | None
    ) -> list[Fill]:
        key = (exchange, symbol)
        self.takes.append((exchange, symbol, side, lots, limit_price))
        levels = self.asks[key] if side == "buy" else self.bids[key]
        fills = []
        while lots > 0 and levels:
            price, volume = levels[0]
            if limit_price is not None and (
                price > limit_price if side == "buy" else price < limit_price
            ):
                break
            taken = min(lots, volume)
            fills.append(Fill(price, taken))
            lots -= taken
            if taken == volume:
                levels.pop(0)
            else:
                levels[0][1] = volume - taken
            self.last[key] = price
        if fills and self.on_change is not None:
            self.on_change(exchange, symbol)
        return fills


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """Listener recording every (opcode, portfolio, exchange, record)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, Any]] = []

    def __call__(self, opcode: str, portfolio: str, exchange: str, record: Any) -> None:
        self.events.append((opcode, portfolio, exchange, record))

    def opcodes(self) -> list[str]:
        return [e[0] for e in self.events]

    def records(self, opcode: str) -> list[Any]:
        return [e[3] for e in self.events if e[0] == opcode]

    def clear(self) -> None:
        self.events.clear()


def make_account(
    market: FakeMarket | None = None, clock: Clock | None = None, *, seed: int = 0
) -> tuple[Account, FakeMarket, Clock, Recorder]:
    market = market or FakeMarket()
    clock = clock or Clock()
    account = Account(market, clock=clock, seed=seed)
    recorder = Recorder()
    account.add_listener(recorder)
    return account, market, clock, recorder


def order_body(
    opcode: str,
    guid: str,
    *,
    instrument: InstrumentInfo = SBER,
    portfolio: str = "D39004",
    **fields: Any,
) -> dict[str, Any]:
    """A command body shaped like the documentation's examples."""
    body: dict[str, Any] = {
        "opcode": opcode,
        "guid": guid,
        "side": "buy",
        "quantity": 1,
        "instrument": {
            "symbol": instrument.symbol,
            "exchange": instrument.exchange,
            "instrumentGroup": instrument.board,
        },
        "user": {"portfolio": portfolio},
    }
    body.update(fields)
    return body


def run(account: Account, opcode: str, guid: str, **fields: Any) -> Any:
    """Execute a command built by :func:`order_body`; return the reply."""
    return account.execute(opcode, order_body(opcode, guid, **fields))


def test_fake_market_walks_the_book_within_the_limit() -> None:
    market = FakeMarket()
    fills = market.take_liquidity("MOEX", "SBER", "buy", 20, Decimal("257.75"))
    assert fills == [Fill(Decimal("257.71"), 5)]
    assert market.best_bid_ask("MOEX", "SBER") == (Decimal("257.69"), Decimal("257.80"))
    assert market.last_price("MOEX", "SBER") == Decimal("257.71")
