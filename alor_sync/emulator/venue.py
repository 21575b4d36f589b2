"""The seam between the emulator's market and its account: what each may ask of the other.

Rules of this module:

* Only value types and protocols live here; the market (``market.py``) and the account
  (``account.py``) each implement their side and never import each other.
* Neither side is thread-safe on its own: the server holds one venue lock around every call into
  either, and listeners run synchronously inside that call.
* Prices and money are ``Decimal`` inside the emulator, so that matching and wire output never
  suffer binary rounding; wire encoders turn them into JSON numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, Protocol

import attrs

__all__ = ["Fill", "InstrumentInfo", "MarketView", "Reply", "Side"]

Side = Literal["buy", "sell"]


@attrs.frozen
class InstrumentInfo:
    """Static facts about one tradable instrument of the simulated market."""

    symbol: str
    exchange: str  # "MOEX" or "SPBX"
    board: str  # instrumentGroup, e.g. "TQBR", "TQCB", "RFUD", "SPBX"
    kind: Literal["share", "bond", "future"]
    description: str
    currency: str  # "RUB", "USD"
    lot_size: int  # units per lot
    price_step: Decimal
    face_value: Decimal  # bonds: nominal; others: 1
    # Initial margin per lot for futures; None for cash instruments.
    margin_per_lot: Decimal | None = None


@attrs.frozen
class Fill:
    """One execution of an aggressive order against the book."""

    price: Decimal
    lots: int


class MarketView(Protocol):
    """What the account needs from the market (implemented in ``market.py``)."""

    def instrument(self, exchange: str, symbol: str) -> InstrumentInfo | None:
        """The instrument, or None when the market does not list it (exact symbol match)."""

    def instruments(self) -> Sequence[InstrumentInfo]:
        """Every listed instrument, in a stable order."""

    def best_bid_ask(self, exchange: str, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """Best bid and best ask now (None for an empty side)."""

    def last_price(self, exchange: str, symbol: str) -> Decimal:
        """Price of the last trade (the opening reference price before any trade)."""

    def take_liquidity(
        self, exchange: str, symbol: str, side: Side, lots: int, limit_price: Decimal | None
    ) -> list[Fill]:
        """Execute an aggressive order against the visible book and return its fills.

        ``side`` is the aggressor's side: "buy" takes asks, "sell" takes bids, best price first,
        never beyond ``limit_price`` (None: any price). The volume taken leaves the book and each
        fill prints as a public trade (all-trades stream), moving quotes and bars exactly as a trade
        of the simulation itself would. May return fewer lots than asked, or none.
        """


@attrs.frozen
class Reply:
    """The outcome of one ``/cws`` command, before the server puts it on the wire."""

    http_code: int
    message: str
    order_number: str | None = None
