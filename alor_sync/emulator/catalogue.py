"""What the emulator serves, in words: its portfolios (stock, derivatives, FX) and instruments.

Rules of this module:

* Built from the same tables the market and the account are built from (``default_listings``,
  ``DEFAULT_SETUP``), so ``--help`` and the start-up banner can never disagree with the server.
* Plain text lines only; printing is the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence

from alor_sync.emulator.account import DEFAULT_SETUP, AccountSetup
from alor_sync.emulator.instruments import Listing, default_listings

__all__ = ["catalogue_lines"]

_MARKET_NAMES = {"stock": "stock", "fx": "FX", "derivatives": "derivatives"}
_KIND_NAMES = {"share": "share", "bond": "bond", "future": "future"}


def _portfolios(setup: AccountSetup) -> list[str]:
    by_portfolio: dict[tuple[str, str], list[str]] = {}
    for p in setup.portfolios:
        by_portfolio.setdefault((p.portfolio, _MARKET_NAMES.get(p.market, p.market)), []).append(
            p.exchange
        )
    return [
        f"{portfolio} ({market}: {', '.join(exchanges)})"
        for (portfolio, market), exchanges in by_portfolio.items()
    ]


def _instrument(listing: Listing) -> str:
    info = listing.info
    alias = f", alias {', '.join(listing.aliases)}" if listing.aliases else ""
    return f"{info.exchange}:{info.symbol} ({_KIND_NAMES[info.kind]}, {info.board}{alias})"


def catalogue_lines(
    setup: AccountSetup = DEFAULT_SETUP, listings: Sequence[Listing] | None = None
) -> list[str]:
    """``portfolios: ...`` and ``instruments: ...`` lines for help texts and banners."""
    instruments = [_instrument(listing) for listing in (listings or default_listings())]
    return [
        f"portfolios:  {'; '.join(_portfolios(setup))}",
        f"instruments: {'; '.join(instruments)}",
    ]
