"""Order book sides in the one-pass decoder: the level structs and the code that builds a side.

Rules of this module:

* Owns the msgspec struct of one price level (:func:`level_struct`), the two methods generated
  onto it (``level()``, ``columns(rows)``: what a :class:`~alor_sync.models.BookSide` that
  keeps the decoded rows calls, see :class:`~alor_sync.models.market.LevelRow`) and the lines
  that turn a decoded list of levels into a side (:func:`side_lines`).
  :mod:`alor_sync.codec.struct_decoding` puts those lines into a frame decoder, with the names
  of :data:`SIDE_NAMESPACE`.
* The rows a side keeps convert exactly as its columns would (float or cached ``Decimal``
  prices), so a side reads the same however it was built.
* No wire name appears here: ``level_names`` maps model field -> JSON key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import msgspec

from alor_sync.codec.decimal_cache import DECIMALS, cached_decimal, filling
from alor_sync.models.market import BookSide, OrderBookLevel, SideColumns, side_data_setter

__all__ = ["SIDE_NAMESPACE", "level_struct", "side_lines"]

Names: TypeAlias = Mapping[str, str]

SIDE_NAMESPACE: Mapping[str, Any] = {
    "BookSide": BookSide, "new": object.__new__, "set_side": side_data_setter(),
    "new_tuple": tuple.__new__, "SideColumns": SideColumns, "OrderBookLevel": OrderBookLevel,
    "dec": DECIMALS, "decimal": cached_decimal,
}  # fmt: skip
"""The globals :func:`side_lines` and the level methods refer to."""


def level_struct(level_names: Names, exact: bool) -> type:
    """The struct of one price level, with the ``level()`` and ``columns(rows)`` of a kept row."""
    number: Any = int | float if exact else float
    fields: list[Any] = [("price", number), ("volume", int)]
    with_yields = "yield_" in level_names
    if with_yields:
        fields.append(("yield_", number | None, None))
    rename = {f[0]: level_names[f[0]] for f in fields}
    return msgspec.defstruct(
        "Level", fields, kw_only=True, gc=False, rename=rename,
        namespace=_level_methods(exact, with_yields),
    )  # fmt: skip


def _level_methods(exact: bool, with_yields: bool) -> dict[str, Any]:
    price = "decimal(self.price)" if exact else "self.price"
    if not with_yields:
        yield_ = "None"
    elif exact:
        yield_ = "None if self.yield_ is None else decimal(self.yield_)"
    else:
        yield_ = "self.yield_"
    lines = [
        "def level(self):",  # tuple.__new__: the named tuple's own __new__ is a Python call
        f"    return new_tuple(OrderBookLevel, ({price}, self.volume, {yield_}))",
        "def columns(v0):",
        *(f"    {line}" for line in column_lines(0, exact, with_yields, "comprehension")),
        "    return new_tuple(SideColumns, (p0, q0, y0))",
    ]
    namespace = dict(SIDE_NAMESPACE)
    exec(compile("\n".join(lines), "<alor_sync book level>", "exec"), namespace)
    return {"level": namespace["level"], "columns": staticmethod(namespace["columns"])}


def side_lines(
    i: int, exact: bool, with_yields: bool, *, sides: str, columns: str, construct: str
) -> list[str]:
    """Lines that build ``side{i}`` (a BookSide) from the level structs in ``v{i}``.

    ``sides="rows"``: the side keeps the structs and gathers its columns on first use of one.
    ``sides="columns"``: the columns are gathered here (by ``columns``, see
    :func:`column_lines`), then set through the side's slots (``construct="slots"``: no
    ``__init__``, whose only check, as many volumes as prices, holds by construction) or
    passed to ``BookSide(...)`` (``construct="init"``).
    """
    if sides == "rows":
        return [f"side{i} = new(BookSide); set_side(side{i}, v{i})"]
    lines = column_lines(i, exact, with_yields, columns)
    if construct == "init":
        return [*lines, f"side{i} = BookSide(p{i}, q{i}, y{i})"]
    return [
        *lines,
        f"side{i} = new(BookSide); set_side(side{i}, new_tuple(SideColumns, (p{i}, q{i}, y{i})))",
    ]


def column_lines(i: int, exact: bool, with_yields: bool, columns: str) -> list[str]:
    """Lines that gather ``p{i}``, ``q{i}``, ``y{i}`` (prices, volumes, yields or None) from
    the level structs in ``v{i}``: by ``"comprehension"`` or one explicit ``"loop"``."""
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
    return lines
