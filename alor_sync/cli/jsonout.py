"""JSON lines for ``alor-sync stream``: payloads as the server sent them, or typed models.

Rules of this module:

* Raw payloads are written as received (they are JSON already); typed models become the same
  snake_case field names as their Python attributes, with a trailing ``_`` dropped (``yield``).
* Values are made plain once, here: enums become their wire value, datetimes ISO 8601, order book
  sides a list of ``{"price", "volume"}`` rows, sets sorted lists.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
import orjson

from alor_sync.models import BookSide

__all__ = ["json_line", "plain"]


def _side_rows(side: BookSide) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for price, volume, yield_ in side:
        row: dict[str, Any] = {"price": plain(price), "volume": volume}
        if yield_ is not None:
            row["yield"] = plain(yield_)
        rows.append(row)
    return rows


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python data (dicts, lists, str, int, float, bool, None)."""
    if isinstance(value, BookSide):
        return _side_rows(value)
    if attrs.has(type(value)):
        return {
            field.name.rstrip("_"): plain(getattr(value, field.name))
            for field in attrs.fields(type(value))
        }
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(plain(item) for item in value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def json_line(value: Any) -> str:
    """One line of JSON (no newline) for a payload dict or a typed model."""
    return orjson.dumps(plain(value)).decode()
