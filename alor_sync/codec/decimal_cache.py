"""The float -> ``Decimal`` cache of the one-pass decoder's exact mode.

Rules of this module:

* Owns the cache (:data:`DECIMALS`, bounded by :data:`LIMIT`) and the rewriting of generated
  code from cache reads to filling calls (:func:`filling`). Generated decoders read the dict
  directly as ``dec[x]`` and call :func:`cached_decimal` as ``decimal(x)``.
* Any thread: the cache is a dict whose races only recompute a value, or clear it while another
  thread reads (that read misses and fills it again).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from alor_sync.models.values import to_decimal

__all__ = ["DECIMALS", "LIMIT", "cached_decimal", "filling"]

LIMIT = 1 << 16


DECIMALS: dict[Any, Decimal] = {}
"""float (or int) -> the Decimal the general path makes of it: what exact mode's ``dec[x]`` reads.

``Decimal(repr(x))`` costs about 300 ns and a depth-20 book carries 40 prices, most of them
repeated from the book before; a lookup costs a tenth of that. A plain dict, not a subclass with
``__missing__``: the interpreter's specialised lookup of an exact dict is about 10 ns cheaper per
price (``benchmarks/decode_paths.py``). A miss raises KeyError and the decoder builds that book
side's columns again through :func:`cached_decimal`, which fills the cache; single values go through
:func:`cached_decimal` directly (misses are common there, and a call costs less than a second pass).
An int and an equal float share an entry: their Decimals are equal (same value, type and hash)
though not always the same digits: an integral float ``258.0`` after an int ``258`` gets
``Decimal("258")``, not the general path's ``Decimal("258.0")`` (the server prints integral
prices as ints; telling the two apart would cost a type check per price).
"""


def cached_decimal(key: Any) -> Decimal:
    """The cached Decimal of ``key``, made and stored on a miss; the cache is bounded (cleared
    when full)."""
    found = DECIMALS.get(key)
    if found is None:
        if len(DECIMALS) >= LIMIT:
            DECIMALS.clear()
        found = DECIMALS[key] = to_decimal(key)
    return found


_CACHE_READ = re.compile(r"dec\[([^\[\]]*)\]")


def filling(lines: list[str]) -> list[str]:
    """``lines`` with every cache read ``dec[x]`` replaced by the filling ``decimal(x)``."""
    return [_CACHE_READ.sub(r"decimal(\1)", line) for line in lines]
