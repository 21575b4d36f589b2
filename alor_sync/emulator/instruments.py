"""The instruments the simulated market lists, with the static facts the wire needs.

Rules of this module:

* Static data only: nothing here changes while the emulator runs (the market keeps the moving
  state). Prices here are ``Decimal``; the market works in integer price steps ("ticks").
* Symbols are matched exactly; an instrument may have aliases (``Si-12.26`` for ``SiZ6``) that a
  request may use, while frames always carry the canonical symbol.
* The bond issuer is fictitious on purpose: this is a simulation, not market data.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from alor_sync.emulator.venue import InstrumentInfo

__all__ = ["TRADING_STATUS_INFO", "BondTerms", "Listing", "default_listings"]

# tradingStatus codes of InstrumentsGetAndSubscribeV2 (reference 2.6) and a human text for each.
TRADING_STATUS_INFO: dict[int, str] = {
    2: "перерыв в торгах",
    17: "нормальный период торгов",
    18: "нет торгов",
    102: "аукцион закрытия",
    103: "период закрытия",
    106: "аукцион крупных пакетов",
    107: "дискретный аукцион",
    118: "период открытия",
    119: "аукцион открытия",
    120: "торги по цене аукциона закрытия",
}


@attrs.frozen
class BondTerms:
    """Enough about a bond to quote a plausible yield for a price (in % of face value)."""

    coupon_rate: Decimal  # % a year
    years_to_maturity: Decimal
    accrued_interest: Decimal  # money per bond


@attrs.frozen
class Listing:
    """One instrument of the simulated market: static facts plus simulation parameters."""

    info: InstrumentInfo
    open_price: Decimal  # where the simulated session starts
    prev_close: Decimal  # previous session's close, the base of change / change_percent
    quote_type: str  # the quote's ``type`` field (e.g. "CS" for common shares)
    level_volume: int  # typical lots at one price level of the book
    aliases: tuple[str, ...] = ()
    bond: BondTerms | None = None
    open_interest: int | None = None  # futures only

    @property
    def key(self) -> tuple[str, str]:
        """(exchange, symbol): how the emulator names an instrument internally."""
        return (self.info.exchange, self.info.symbol)

    @property
    def broker_symbol(self) -> str:
        """``EXCHANGE:SYMBOL`` as ALOR writes it in ``brokerSymbol``."""
        return f"{self.info.exchange}:{self.info.symbol}"


def _share(
    symbol: str,
    description: str,
    price: str,
    prev: str,
    *,
    exchange: str = "MOEX",
    board: str = "TQBR",
    currency: str = "RUB",
    lot: int = 10,
    face: str = "1",
    volume: int = 150,
) -> Listing:
    info = InstrumentInfo(
        symbol=symbol,
        exchange=exchange,
        board=board,
        kind="share",
        description=description,
        currency=currency,
        lot_size=lot,
        price_step=Decimal("0.01"),
        face_value=Decimal(face),
    )
    return Listing(info, Decimal(price), Decimal(prev), "CS", volume)


def default_listings() -> tuple[Listing, ...]:
    """The instruments every emulator lists, in a stable order."""
    return (
        _share("SBER", "Сбербанк России ПАО ао", "257.70", "256.90", face="3", volume=150),
        _share("GAZP", "Газпром ПАО ао", "170.21", "169.80", face="5", volume=200),
        Listing(
            InstrumentInfo(
                symbol="SU26238RMFS4",
                exchange="MOEX",
                board="TQOB",
                kind="bond",
                description="ОФЗ-ПД 26238 15/05/2041",
                currency="RUB",
                lot_size=1,
                price_step=Decimal("0.001"),
                face_value=Decimal("1000"),
            ),
            Decimal("58.500"),
            Decimal("58.420"),
            "B",
            60,
            bond=BondTerms(Decimal("7.1"), Decimal("15.5"), Decimal("12.34")),
        ),
        Listing(
            InstrumentInfo(
                symbol="RU000A1082K7",
                exchange="MOEX",
                board="TQCB",
                kind="bond",
                description="Эмулятор ООО 001P-01 (вымышленный выпуск)",
                currency="RUB",
                lot_size=1,
                price_step=Decimal("0.01"),
                face_value=Decimal("1000"),
            ),
            Decimal("98.50"),
            Decimal("98.31"),
            "B",
            40,
            bond=BondTerms(Decimal("16.5"), Decimal("2.5"), Decimal("21.70")),
        ),
        Listing(
            InstrumentInfo(
                symbol="SiZ6",
                exchange="MOEX",
                board="RFUD",
                kind="future",
                description="Si-12.26 Курс доллар США - российский рубль",
                currency="RUB",
                lot_size=1,
                price_step=Decimal("1"),
                face_value=Decimal("1"),
                margin_per_lot=Decimal("12500"),
            ),
            Decimal("98500"),
            Decimal("98320"),
            "F",
            30,
            aliases=("Si-12.26",),
            open_interest=1_523_920,
        ),
        _share(
            "AAPL",
            "Apple Inc.",
            "190.50",
            "189.70",
            exchange="SPBX",
            board="SPBX",
            currency="USD",
            lot=1,
            volume=20,
        ),
    )
