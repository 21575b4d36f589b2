"""Order book sides in the one-pass decoder: the level structs and the code that builds a side.

Rules of this module:

* Owns the msgspec struct of one price level (:func:`level_struct`) and the generated lines that
  turn a decoded list of them into a :class:`~alor_sync.models.BookSide` (:func:`side_lines`).
  :mod:`alor_sync.codec.struct_decoding` puts those lines into a frame decoder.
* No wire name appears here: ``level_names`` maps model field -> JSON key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import msgspec

from alor_sync.codec.decimal_cache import filling

__all__ = ["level_struct", "side_lines"]

Names: TypeAlias = Mapping[str, str]


def level_struct(level_names: Names, exact: bool) -> type:
    number: Any = int | float if exact else float
    fields: list[Any] = [("price", number), ("volume", int)]
    if "yield_" in level_names:
        fields.append(("yield_", number | None, None))
    rename = {f[0]: level_names[f[0]] for f in fields}
    return msgspec.defstruct("Level", fields, kw_only=True, gc=False, rename=rename)


def side_lines(i: int, exact: bool, with_yields: bool, columns: str, construct: str) -> list[str]:
    """Lines that build ``side{i}`` (a BookSide) from the level structs in ``v{i}``.

    Built without ``BookSide.__init__``: its only check (as many volumes as prices) holds by
    construction, and the slot setters cost half as much (see ``struct_decoding._slot_setters``).
    """
    price = "dec[x.price]" if exact else "x.price"
    if columns == "loop":  # one pass over the levels, both columns at once
        lines = [
            f"p{i} = []; q{i} = []; ap = p{i}.append; aq = q{i}.append",
            f"for x in v{i}: ap({price}); aq(x.volume)",
            f"p{i} = tuple(p{i}); q{i} = tuple(q{i})",
        ]
    else:
        lines = [
            f"p{i} = tuple([{price} for x in v{i}])",
            f"q{i} = tuple([x.volume for x in v{i}])",
        ]
    if with_yields:
        value = "None if x.yield_ is None else dec[x.yield_]" if exact else "x.yield_"
        lines += [
            f"y{i} = tuple([{value} for x in v{i}])",
            f"if y{i}.count(None) == len(y{i}): y{i} = None",
        ]
    else:
        lines.append(f"y{i} = None")
    if exact:  # a price not cached yet: the same columns again, through the filling decimal()
        lines = ["try:", *(f"    {line}" for line in lines), "except KeyError:"] + [
            f"    {line}" for line in filling(lines)
        ]
    if construct == "init":
        lines.append(f"side{i} = BookSide(p{i}, q{i}, y{i})")
    else:
        lines.append(
            f"side{i} = new(BookSide); side_prices(side{i}, p{i}); side_volumes(side{i}, q{i});"
            f" side_yields(side{i}, y{i})"
        )
    return lines
