"""``to_frame``: typed models (bars, trades, positions...) as a pandas ``DataFrame``.

``pd.DataFrame(bars)`` gives one column of ``Bar(...)`` objects; :func:`to_frame` gives one
column per field, with the dtype the field's type calls for:

======================================  ===================================================
field type                              column dtype
======================================  ===================================================
``int`` (``None`` allowed)              ``Int64`` (pandas' nullable integer; ids stay exact)
``float`` price or amount               ``float64`` (``None`` is ``NaN``)
``Decimal`` (a client with exact=True)  ``object`` holding the ``Decimal`` values (pandas
                                        has no decimal dtype; nothing is rounded); a column
                                        with no value at all is ``float64``
``bool``                                ``boolean`` (nullable)
``datetime``                            ``datetime64[..., UTC]`` (``None`` is ``NaT``)
``str`` and enums                       ``string`` (enums as their values; ``None`` is ``NA``)
nested model (``iceberg``...)           one column per nested field, ``iceberg.visible_quantity``
anything else (book sides, sets)        ``object``
======================================  ===================================================

Unix-time integer fields (``timestamp_s``, ``last_price_timestamp_ms``...) keep their column and
gain a ``datetime64[..., UTC]`` twin named like the model's property (``time``,
``last_price_time``), unless the model has a field of that name. Order book sides are
sequences of rows: ``to_frame(book.bids)`` gives ``price``, ``volume``, ``yield_``. The lot
counts ``quantity``, ``open_quantity`` and ``filled_quantity`` of positions, orders and trades
are properties (they read whichever field the format carries) and get their column too.

pandas is an optional extra (``pip install 'alor-sync[pandas]'``), imported on the first call; a
missing pandas is an :class:`ImportError` that says how to install it. Without pandas,
``attrs.asdict(item)`` gives the same fields as a ``dict``.

Rules of this module: no I/O, no threads; it reads models, never changes them.
"""

from __future__ import annotations

import functools
import importlib
import types
import typing
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs

from alor_sync.errors import InvalidArgumentError
from alor_sync.models.values import model_hints, property_hint

__all__ = ["to_frame"]

_UNIX_SUFFIXES = {"timestamp_s": "s", "timestamp_ms": "ms"}
# Lot counts that are properties (read from whichever field the format carries): columns too.
_LOT_COUNTS = ("quantity", "open_quantity", "filled_quantity")


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise ImportError(
            "to_frame needs pandas: pip install 'alor-sync[pandas]' (or pip install pandas)"
        ) from exc


def _field_names(model: type) -> list[str]:
    if attrs.has(model):
        return [field.name for field in attrs.fields(model)]
    fields = getattr(model, "_fields", None)  # NamedTuple rows (order book levels)
    if isinstance(fields, tuple):
        return list(fields)
    raise InvalidArgumentError(
        f"to_frame takes alor-sync models (Bar, Trade, Position...), not {model.__name__}"
    )


@functools.cache
def _hints(model: type) -> dict[str, Any]:
    return model_hints(model)


def _kinds(annotation: Any) -> set[Any]:
    """The types a field may hold, ``None`` left out (``int | None`` -> ``{int}``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return {arg for arg in typing.get_args(annotation) if arg is not type(None)}
    return {annotation}


def _time_column(name: str) -> tuple[str, str] | None:
    """(column name, unit) of the datetime twin of a unix-time field: ``timestamp_s`` ->
    (``time``, ``s``), ``order_book_timestamp_ms`` -> (``order_book_time``, ``ms``)."""
    for suffix, unit in _UNIX_SUFFIXES.items():
        if name == suffix:
            return "time", unit
        if name.endswith("_" + suffix):
            return name[: -len(suffix)] + "time", unit
    return None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _column(pd: Any, kinds: set[Any], values: list[Any]) -> Any:
    """One column with the dtype ``kinds`` call for (see the module's table)."""
    if kinds == {bool}:
        return pd.array(values, dtype="boolean")
    if kinds == {int}:
        return pd.array(values, dtype="Int64")
    if kinds and kinds <= {float, Decimal}:
        if any(isinstance(v, Decimal) for v in values):
            return pd.array(values, dtype=object)
        return pd.array([float("nan") if v is None else v for v in values], dtype="float64")
    if kinds == {datetime}:
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True).array
    if all(isinstance(kind, type) and issubclass(kind, str) for kind in kinds):
        return pd.array([_plain(v) for v in values], dtype="string")
    return pd.array(values, dtype=object)


def _add_columns(
    pd: Any, columns: dict[str, Any], model: type, items: Sequence[Any], prefix: str
) -> None:
    hints = _hints(model)
    names = _field_names(model)
    for name in names:
        values = [None if item is None else getattr(item, name) for item in items]
        kinds = _kinds(hints.get(name, object))
        nested = [kind for kind in kinds if isinstance(kind, type) and attrs.has(kind)]
        if len(kinds) == 1 and nested:
            _add_columns(pd, columns, nested[0], values, f"{prefix}{name}.")
            continue
        columns[prefix + name] = _column(pd, kinds, values)
        twin = _time_column(name)
        # never over a field of the same name (all-trades have both ``time`` and a unix time)
        if twin is not None and kinds == {int} and twin[0] not in names:
            series = pd.Series(columns[prefix + name])
            columns[prefix + twin[0]] = pd.to_datetime(series, unit=twin[1], utc=True).array
    for name in _LOT_COUNTS:
        if isinstance(getattr(model, name, None), property) and name not in names:
            values = [None if item is None else getattr(item, name) for item in items]
            columns[prefix + name] = _column(pd, _kinds(property_hint(model, name)), values)


def to_frame(items: Iterable[Any], model: type | None = None) -> Any:
    """A ``pandas.DataFrame`` with one row per item and one column per field (see the module).

    ``items`` are models of one class (what a get returns, or what a callback collected);
    ``model`` names the class when ``items`` may be empty, so that the frame still has its
    columns. Runs on the caller's thread; the models are immutable, so items collected by a
    callback may be converted from any thread.
    """
    pd = _pandas()
    rows = list(items)
    classes = {type(item) for item in rows}
    if model is not None:
        classes.add(model)
    if len(classes) > 1:
        names = ", ".join(sorted(cls.__name__ for cls in classes))
        raise InvalidArgumentError(f"to_frame takes items of one model, got {names}")
    if not classes:
        raise InvalidArgumentError("to_frame got no items: pass model= to get an empty frame")
    columns: dict[str, Any] = {}
    _add_columns(pd, columns, classes.pop(), rows, "")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
