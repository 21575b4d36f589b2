"""The models on their own: immutability, helpers, enums and value coercion."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from alor_sync.errors import InvalidArgumentError
from alor_sync.models import (
    Bar,
    BookSide,
    Condition,
    Exchange,
    Instrument,
    Order,
    OrderBook,
    OrderBookLevel,
    OrderStatus,
    Quote,
    Side,
    TimeInForce,
    TradingStatus,
)
from alor_sync.models import __all__ as models_all
from alor_sync.models.values import (
    datetime_from_unix_ms,
    enum_coercer,
    to_bool,
    to_datetime,
    to_decimal,
    to_float,
    to_int,
    to_str,
    to_wire_time,
)


def test_package_exports_are_sorted_and_importable() -> None:
    assert list(models_all) == sorted(models_all)
    import alor_sync.models as package

    for name in models_all:
        assert hasattr(package, name), name


def test_models_are_frozen_and_slotted() -> None:
    order = Order(id="1", price=10.5)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        order.price = 11.0  # type: ignore[misc]
    assert not hasattr(order, "__dict__")
    assert hash(order) == hash(Order(id="1", price=10.5))
    assert pickle.loads(pickle.dumps(order)) == order


# --- order books ------------------------------------------------------------------------------
def _side() -> BookSide:
    return BookSide((101.5, 101.0, 100.5), (3, 5, 7))


def test_book_side_reads_like_a_tuple_of_levels() -> None:
    side = _side()
    assert len(side) == 3
    assert side[0] == OrderBookLevel(101.5, 3, None)
    assert side[-1].price == 100.5 and side[-1].volume == 7 and side[-1].yield_ is None
    assert list(side) == [
        OrderBookLevel(101.5, 3),
        OrderBookLevel(101.0, 5),
        OrderBookLevel(100.5, 7),
    ]
    price, volume, yield_ = side[1]
    assert (price, volume, yield_) == (101.0, 5, None)
    assert side[1:] == BookSide((101.0, 100.5), (5, 7))
    assert OrderBookLevel(101.0, 5) in side
    assert side.index(OrderBookLevel(100.5, 7)) == 2
    with pytest.raises(IndexError):
        side[3]


def test_book_side_keeps_yields_per_level() -> None:
    side = BookSide((70.589, 70.5), (146, 10), (16.21, None))
    assert side[0].yield_ == 16.21 and side[1].yield_ is None
    assert [level.yield_ for level in side] == [16.21, None]
    assert side[:1].yields == (16.21,)


def test_book_side_from_levels_round_trips() -> None:
    side = BookSide((70.589, 70.5), (146, 10), (16.21, None))
    assert BookSide.from_levels(side) == side
    assert BookSide.from_levels([OrderBookLevel(1.0, 2)]).yields is None
    assert BookSide.from_levels([]) == BookSide()


def test_book_side_rejects_columns_of_different_lengths() -> None:
    with pytest.raises(InvalidArgumentError):
        BookSide((1.0, 2.0), (1,))
    with pytest.raises(InvalidArgumentError):
        BookSide((1.0,), (1,), (None, None))


def test_order_book_helpers() -> None:
    book = OrderBook(bids=_side(), asks=BookSide((102.0,), (1,)), timestamp_ms=1702631123780)
    assert book.best_bid == OrderBookLevel(101.5, 3)
    assert book.best_ask == OrderBookLevel(102.0, 1)
    assert book.time == datetime(2023, 12, 15, 9, 5, 23, 780000, tzinfo=UTC)
    empty = OrderBook(bids=BookSide(), asks=BookSide())
    assert empty.best_bid is None and empty.best_ask is None and empty.time is None
    assert not empty.bids


# --- other models ----------------------------------------------------------------------------
def test_unix_times_stay_ints_with_datetime_properties() -> None:
    bar = Bar(timestamp_s=1537529040, open=1.0, high=2.0, low=0.5, close=1.5, volume=10)
    assert bar.time == datetime(2018, 9, 21, 11, 24, tzinfo=UTC)
    quote = Quote(
        symbol="SBER", last_price_timestamp_s=1703844426, order_book_timestamp_ms=1610982677578
    )
    assert quote.last_price_time == datetime(2023, 12, 29, 10, 7, 6, tzinfo=UTC)
    assert quote.order_book_time == datetime(2021, 1, 18, 15, 11, 17, 578000, tzinfo=UTC)
    assert Quote(symbol="SBER").last_price_time is None


def test_instrument_full_and_partial() -> None:
    full = Instrument(
        symbol="SBER",
        exchange="MOEX",
        board="TQBR",
        price_min=228.78,
        price_max=279.96,
        fields=frozenset({"symbol", "exchange", "board", "price_min", "price_max"}),
    )
    update = Instrument(
        symbol="SBER",
        price_max=281.0,
        trading_status_info=None,
        fields=frozenset({"symbol", "price_max", "trading_status_info"}),
    )
    assert full.is_full and not full.is_partial
    assert update.is_partial and not update.is_full
    merged = full.merged_with(update)
    assert merged.price_max == 281.0 and merged.price_min == 228.78
    assert merged.exchange == "MOEX" and merged.is_full
    assert merged.fields == full.fields | {"trading_status_info"}
    with pytest.raises(InvalidArgumentError):
        full.merged_with(Instrument(symbol="GAZP", fields=frozenset({"symbol"})))


# --- enums ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "member"),
    [
        ("LessOrEqual", Condition.LESS_OR_EQUAL),
        ("lessorequal", Condition.LESS_OR_EQUAL),
        ("MORE", Condition.MORE),
        ("Buy", Side.BUY),
        ("OneDay", TimeInForce.ONE_DAY),
        ("FILLED", OrderStatus.FILLED),
        ("moex", Exchange.MOEX),
    ],
)
def test_enums_parse_in_any_casing(text: str, member: object) -> None:
    assert type(member)(text) is member
    assert enum_coercer(type(member), strict=True)(text) is member


def test_enum_members_compare_as_their_schema_strings() -> None:
    assert Side.BUY == "buy" and Condition.LESS_OR_EQUAL == "lessorequal"
    assert TradingStatus.NORMAL_TRADING == 17
    with pytest.raises(ValueError):
        Side("short")


def test_unknown_enum_value_is_kept_raw_when_lenient_and_refused_when_strict() -> None:
    assert enum_coercer(Side, strict=False)("Short") == "Short"
    with pytest.raises(ValueError, match="Side"):
        enum_coercer(Side, strict=True)("Short")
    with pytest.raises(TypeError):
        enum_coercer(Side, strict=False)(1)


# --- value coercion ---------------------------------------------------------------------------
def test_to_int_is_exact_and_refuses_lossy_input() -> None:
    big = 2022426556961456082
    assert to_int(big) is big
    assert to_int(str(big)) == big
    assert to_int(3.0) == 3 and to_int(Decimal("12")) == 12
    for bad in (True, 1.5, "1.5", None, [], Decimal("NaN")):
        with pytest.raises((TypeError, ValueError)):
            to_int(bad)


def test_to_str_prints_integers_exactly() -> None:
    assert to_str(2006665023417483347) == "2006665023417483347"
    assert to_str(Side.BUY) == "buy"
    for bad in (True, 1.5, None, {}):
        with pytest.raises(TypeError):
            to_str(bad)


def test_numbers() -> None:
    assert to_float(6400) == 6400.0 and type(to_float(6400)) is float
    assert to_float("10.24500") == 10.245
    assert to_float(Decimal("1.5")) == 1.5
    assert to_decimal(10.245) == Decimal("10.245") and str(to_decimal(10.245)) == "10.245"
    assert str(to_decimal("10.24500")) == "10.24500"
    assert to_decimal(2**63) == Decimal(2**63)
    exact = Decimal("1.2300")
    assert to_decimal(exact) is exact
    for bad in (True, None, "abc", [1]):
        with pytest.raises((TypeError, ValueError, ArithmeticError)):
            to_float(bad)
        with pytest.raises((TypeError, ValueError, ArithmeticError)):
            to_decimal(bad)
    for not_finite in ("Infinity", "nan", Decimal("-Infinity"), 10**400):
        with pytest.raises((ValueError, OverflowError)):
            to_float(not_finite)
    with pytest.raises(ValueError):
        to_decimal("Infinity")


def test_to_bool_takes_only_booleans() -> None:
    assert to_bool(True) is True and to_bool(False) is False
    for bad in (0, 1, "false", None):
        with pytest.raises(TypeError):
            to_bool(bad)


@pytest.mark.parametrize(
    "text",
    ["2020-06-16T23:59:59.9990000Z", "2020-06-16T23:59:59.9990000", "2020-06-16T23:59:59.999Z"],
)
def test_iso_times_with_or_without_z_are_utc(text: str) -> None:
    assert to_datetime(text) == datetime(2020, 6, 16, 23, 59, 59, 999000, tzinfo=UTC)
    assert to_datetime(text).tzinfo is UTC


def test_iso_times_with_an_offset_are_converted_to_utc() -> None:
    value = to_datetime("2023-01-17T17:11:58.8950000+03:00")
    assert value == datetime(2023, 1, 17, 14, 11, 58, 895000, tzinfo=UTC)
    assert value.tzinfo is UTC
    local = datetime(2023, 1, 17, 17, 0, tzinfo=timezone(timedelta(hours=3)))
    assert to_datetime(local).tzinfo is UTC
    for bad in ("yesterday", 1702969208, None):
        with pytest.raises((TypeError, ValueError)):
            to_datetime(bad)


def test_wire_time_has_seven_digits_and_z() -> None:
    value = datetime(2024, 1, 8, 15, 57, 12, 291167, tzinfo=UTC)
    assert to_wire_time(value) == "2024-01-08T15:57:12.2911670Z"
    assert to_datetime(to_wire_time(value)) == value


def test_unix_ms_to_datetime_is_exact() -> None:
    assert datetime_from_unix_ms(1702969208987).microsecond == 987000
