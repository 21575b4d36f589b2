"""to_frame: one column per field, each with the dtype its type calls for, nothing rounded."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from alor_sync import models, to_frame
from alor_sync.errors import InvalidArgumentError


def test_bars_become_typed_columns_with_a_datetime_twin_of_the_unix_time() -> None:
    bars = [models.Bar(60, 1.5, 2.0, 1.0, 1.75, 10), models.Bar(120, 1.75, 2.5, 1.5, 2.25, 7)]
    frame = to_frame(bars)
    assert list(frame.columns) == [
        "timestamp_s", "time", "open", "high", "low", "close", "volume",
    ]  # fmt: skip
    assert str(frame["timestamp_s"].dtype) == "Int64" and str(frame["volume"].dtype) == "Int64"
    assert frame["close"].dtype == "float64"
    assert isinstance(frame["time"].dtype, pd.DatetimeTZDtype) and str(frame["time"].dt.tz) == "UTC"
    assert list(frame["time"]) == [bar.time for bar in bars]
    assert (frame["high"] - frame["low"]).tolist() == [1.0, 1.0]


def test_missing_values_are_nan_na_and_nat_not_objects() -> None:
    quotes = [models.Quote("SBER", last_price=1.5, bid_volume=3), models.Quote("GAZP")]
    frame = to_frame(quotes)
    assert frame["last_price"].dtype == "float64" and pd.isna(frame["last_price"][1])
    assert str(frame["bid_volume"].dtype) == "Int64" and frame["bid_volume"][1] is pd.NA
    assert pd.isna(frame["last_price_time"][1])
    assert str(frame["symbol"].dtype) == "string" and str(frame["currency"].dtype) == "string"


def test_exact_decimals_stay_decimals_and_big_ids_stay_exact() -> None:
    trades = [
        models.AllTrade(
            id=2022426556961456082, price=Decimal("10.24500"), side=models.Side.BUY,
            time=datetime(2023, 1, 17, 14, 11, 58, tzinfo=UTC),
        ),
        models.AllTrade(id=2022426556961456083, price=None, side="sell"),
    ]  # fmt: skip
    frame = to_frame(trades)
    assert frame["id"].tolist() == [2022426556961456082, 2022426556961456083]
    assert frame["price"].dtype == object and frame["price"][0] == Decimal("10.24500")
    assert str(frame["price"][0]) == "10.24500"
    assert frame["side"].tolist() == ["buy", "sell"]
    assert str(frame["existing"].dtype) == "boolean"
    assert frame["time"][0] == pd.Timestamp("2023-01-17 14:11:58", tz="UTC") and pd.isna(
        frame["time"][1]
    )


def test_nested_models_spread_into_dotted_columns() -> None:
    order = models.Order(id="1", iceberg=models.Iceberg(visible_quantity=5))
    frame = to_frame([order, models.Order(id="2")])
    assert frame["iceberg.visible_quantity"].tolist() == [5, pd.NA]
    assert "iceberg" not in frame.columns


def test_order_book_sides_are_rows_of_price_volume_and_yield() -> None:
    side = models.BookSide((101.5, 101.0), (3, 4))
    frame = to_frame(side)
    assert list(frame.columns) == ["price", "volume", "yield_"]
    assert frame["price"].tolist() == [101.5, 101.0] and frame["volume"].tolist() == [3, 4]


def test_an_empty_list_needs_its_model_to_have_columns() -> None:
    frame = to_frame([], model=models.Position)
    assert len(frame) == 0 and "symbol" in frame.columns and "quantity" in frame.columns
    with pytest.raises(InvalidArgumentError, match="model="):
        to_frame([])


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([models.Bar(60, 1.0, 1.0, 1.0, 1.0, 1), models.Quote("SBER")], "one model"),
        ([{"time": 1}], "not dict"),
    ],
)
def test_mixed_or_foreign_items_are_refused(items: list[object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        to_frame(items)


def test_without_pandas_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"alor-sync\[pandas\]"):
        to_frame([models.Quote("SBER")])
