"""The converter's interface and its leniency rules, on the fast and the cattrs paths alike."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from alor_sync.codec import converter
from alor_sync.codec.converter import (
    STOP_ORDERS_V1,
    decode,
    decoder_for,
    encode,
    model_for,
    wire_names,
)
from alor_sync.errors import DecodeError, InvalidArgumentError
from alor_sync.models import (
    AllTrade,
    BookSide,
    Condition,
    Instrument,
    Order,
    OrderBook,
    OrderType,
    Quote,
    Side,
    StopOrder,
    Summary,
    TimeInForce,
)
from alor_sync.wire import SUBSCRIPTION_OPCODES

SAMPLES = Path(__file__).resolve().parent / "samples"


def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / name).read_bytes())["data"]
    return data


# --- interface --------------------------------------------------------------------------------
def test_every_subscription_has_a_model() -> None:
    for opcode in SUBSCRIPTION_OPCODES:
        assert model_for(opcode).__module__.startswith("alor_sync.models")
    assert model_for(STOP_ORDERS_V1) is StopOrder


@pytest.mark.parametrize(
    ("opcode", "fmt"),
    [
        ("orderbookgetandsubscribe", "simple"),
        ("ORDERBOOKGETANDSUBSCRIBE", "SIMPLE"),
        ("OrderBookGetAndSubscribe", "Simple"),
    ],
)
def test_opcode_and_format_in_any_casing(opcode: str, fmt: str) -> None:
    data = _data("OrderBookGetAndSubscribe.Simple.data.json")
    assert isinstance(decode(opcode, fmt, data), OrderBook)
    assert decoder_for(opcode, fmt) is decoder_for("OrderBookGetAndSubscribe", "Simple")


def test_undocumented_and_deprecated_opcode_aliases() -> None:
    trade = decode("AllTradesSubscribe", "slim", _data("AllTradesGetAndSubscribe.Slim.data.json"))
    assert isinstance(trade, AllTrade)
    assert model_for("alltradessubscribe") is AllTrade
    stop = decode("stopordersgetandsubscribe", "Slim", _data(f"{STOP_ORDERS_V1}.Slim.data.json"))
    assert isinstance(stop, StopOrder) and stop.quantity == 1 and stop.existing is True


@pytest.mark.parametrize(
    ("opcode", "fmt"), [("NoSuchSubscribe", "Simple"), ("unsubscribe", "Simple"), ("ping", "Slim")]
)
def test_unknown_or_payloadless_opcode_is_an_argument_error(opcode: str, fmt: str) -> None:
    with pytest.raises(InvalidArgumentError):
        decoder_for(opcode, fmt)


def test_unknown_format_is_an_argument_error() -> None:
    with pytest.raises(InvalidArgumentError, match="format"):
        decode("QuotesSubscribe", "Medium", {})


def test_wire_names_and_encode_type_check() -> None:
    assert wire_names("QuotesSubscribe", "Slim")["last_price"] == "c"
    assert "prev_close_price" not in wire_names("QuotesSubscribe", "Slim")
    with pytest.raises(InvalidArgumentError, match="Quote"):
        encode("QuotesSubscribe", "Slim", Order(id="1"))


def test_concurrent_first_use_builds_one_decoder() -> None:
    with converter._build_lock:
        converter._built.clear()
    barrier = threading.Barrier(4)
    results: list[Any] = []
    errors: list[BaseException] = []
    data = _data("OrdersGetAndSubscribeV2.Slim.data.json")

    def worker() -> None:
        try:
            barrier.wait(timeout=5)
            decoder = decoder_for("OrdersGetAndSubscribeV2", "Slim")
            results.append((decoder, decoder(data)))
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"decode-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert len({id(decoder) for decoder, _ in results}) == 1
    assert len({order for _, order in results}) == 1


# --- leniency ---------------------------------------------------------------------------------
def test_int64_ids_above_2_53_stay_exact() -> None:
    raw = b'{"id": 2022426556961456082, "sym": "SBER", "px": 1.5, "q": 1, "s": "buy"}'
    trade = decode("AllTradesGetAndSubscribe", "Slim", orjson.loads(raw))
    assert trade.id == 2022426556961456082
    raw = b'{"id": 2006665023417483347, "sym": "SBER", "p": "D39004"}'
    order = decode("OrdersGetAndSubscribeV2", "Slim", orjson.loads(raw))
    assert order.id == "2006665023417483347"


def test_ids_as_number_or_string() -> None:
    all_trade = decode("AllTradesGetAndSubscribe", "Simple", {"id": "159", "orderno": 0})
    assert all_trade.id == 159 and all_trade.order_id == "0"
    stop = decode("StopOrdersGetAndSubscribeV2", "Heavy", {"id": 8939, "exchangeOrderId": 425242})
    assert stop.id == "8939" and stop.exchange_order_id == "425242"
    trade = decode("TradesGetAndSubscribeV2", "Heavy", {"id": 4421925358, "orderNo": 42030831469})
    assert trade.id == "4421925358" and trade.order_id == "42030831469"


def test_decimals_with_trailing_zeros() -> None:
    raw = b'{"bids": [{"price": 10.24500, "volume": 1}], "asks": [], "ms_timestamp": 1}'
    book = decode("OrderBookGetAndSubscribe", "Simple", orjson.loads(raw))
    assert book.bids[0].price == 10.245
    exact = decode("OrderBookGetAndSubscribe", "Simple", orjson.loads(raw), exact=True)
    assert exact.bids.prices == (Decimal("10.245"),)
    as_text = {"bids": [{"price": "10.24500", "volume": "3"}], "asks": []}
    exact = decode("OrderBookGetAndSubscribe", "Simple", as_text, exact=True)
    assert str(exact.bids[0].price) == "10.24500" and exact.bids[0].volume == 3


def test_exact_mode_keeps_digits_of_decimals_parsed_by_the_caller() -> None:
    raw = '{"bids": [{"price": 10.24500, "volume": 1}], "asks": [], "ms_timestamp": 1}'
    data = json.loads(raw, parse_float=Decimal)
    book = decode("OrderBookGetAndSubscribe", "Simple", data, exact=True)
    assert str(book.bids[0].price) == "10.24500"
    assert decode("OrderBookGetAndSubscribe", "Simple", data).bids[0].price == 10.245


@pytest.mark.parametrize("text", ["2023-01-17T14:11:58.8950000Z", "2023-01-17T14:11:58.8950000"])
def test_iso_times_with_and_without_z(text: str) -> None:
    expected = datetime(2023, 1, 17, 14, 11, 58, 895000, tzinfo=UTC)
    trade = decode("AllTradesGetAndSubscribe", "Heavy", {"id": 1, "time": text})
    order = decode("OrdersGetAndSubscribeV2", "Slim", {"id": "1", "tt": text, "et": text})
    assert trade.time == expected and order.trans_time == expected and order.end_time == expected


def test_unix_times_are_kept_as_sent() -> None:
    quote = decode("QuotesSubscribe", "Slim", {"sym": "SBER", "tst": 1703844426, "tso": None})
    assert quote.last_price_timestamp_s == 1703844426 and quote.order_book_timestamp_ms is None
    assert quote.last_price_time == datetime(2023, 12, 29, 10, 7, 6, tzinfo=UTC)


def _optional_keys() -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(sample, opcode, format, payload, key) for every optional key of every sample."""
    cases = []
    for path in sorted(SAMPLES.glob("*.data.json")):
        opcode, fmt = path.name.split(".")[:2]
        data = _data(path.name)
        fields = attrs.fields(model_for(opcode))
        required = {f.name for f in fields if f.default is attrs.NOTHING}
        for field, wire in wire_names(opcode, fmt).items():
            if field not in required and wire in data:
                cases.append((path.name, opcode, fmt, data, wire))
    return cases


@pytest.mark.parametrize(
    ("name", "opcode", "fmt", "data", "key"),
    _optional_keys(),
    ids=lambda v: v if isinstance(v, str) and "." not in v else "",
)
def test_null_in_any_optional_field(
    name: str, opcode: str, fmt: str, data: dict[str, Any], key: str
) -> None:
    nulled = {**data, key: None}
    for strict in (False, True):
        model = decode(opcode, fmt, nulled, strict=strict)
        field = {wire: field for field, wire in wire_names(opcode, fmt).items()}[key]
        value = getattr(model, field)
        assert value is None or value == (), (name, key)


def test_enum_strings_in_any_casing() -> None:
    payload = {"id": "1", "cnd": "MoreOrEqual", "s": "SELL", "tf": "FillOrKill", "t": "StopLimit"}
    stop = decode("StopOrdersGetAndSubscribeV2", "Slim", payload, strict=True)
    assert stop.condition is Condition.MORE_OR_EQUAL and stop.side is Side.SELL
    assert stop.time_in_force is TimeInForce.FILL_OR_KILL and stop.type == "stoplimit"
    order = decode("OrdersGetAndSubscribeV2", "Heavy", {"id": "1", "type": "LIMIT"})
    assert order.type is OrderType.LIMIT


def test_unknown_enum_value_kept_raw_lenient_refused_strict() -> None:
    payload = {"id": "1", "side": "short", "status": "expired"}
    order = decode("OrdersGetAndSubscribeV2", "Simple", payload)
    assert order.side == "short" and order.status == "expired"
    assert not isinstance(order.side, Side)
    with pytest.raises(DecodeError, match="Side"):
        decode("OrdersGetAndSubscribeV2", "Simple", payload, strict=True)
    trade = decode("AllTradesGetAndSubscribe", "Slim", {"id": 1, "s": "cross"})
    assert trade.side == "cross"


def test_summaries_slim_accepts_bpv2_and_bp2v() -> None:
    data = _data("SummariesGetAndSubscribeV2.Slim.data.json")
    assert "bp2v" in data
    renamed = {("bpv2" if k == "bp2v" else k): v for k, v in data.items()}
    for payload in (data, renamed):
        summary = decode("SummariesGetAndSubscribeV2", "Slim", payload, strict=True)
        assert summary.buying_power_by_currency[0].currency == "RUB"
        assert summary.buying_power_by_currency[0].buying_power == 99186.21945092
    assert encode("SummariesGetAndSubscribeV2", "Slim", summary)["bpv2"][0]["cr"] == "RUB"
    empty = decode("SummariesGetAndSubscribeV2", "Slim", {"bpv2": None})
    assert empty == Summary()


@pytest.mark.parametrize(
    "name", ["QuotesSubscribe.Slim.data.json", "OrdersGetAndSubscribeV2.Heavy.data.json"]
)
def test_unknown_extra_fields_ignored_unless_strict(name: str) -> None:
    opcode, fmt = name.split(".")[:2]
    data = {**_data(name), "brandNewField": [1, 2]}
    assert decode(opcode, fmt, data) == decode(opcode, fmt, _data(name))
    with pytest.raises(DecodeError, match="brandNewField"):
        decode(opcode, fmt, data, strict=True)


def test_extra_fields_in_nested_objects() -> None:
    payload = {"id": "1", "i": {"cf": 100, "v": 5, "zz": 1}}
    assert decode("OrdersGetAndSubscribeV2", "Slim", payload).iceberg.visible_quantity == 5
    with pytest.raises(DecodeError):
        decode("OrdersGetAndSubscribeV2", "Slim", payload, strict=True)
    book = {"b": [{"p": 1.0, "v": 1, "zz": 0}], "a": []}
    assert decode("OrderBookGetAndSubscribe", "Slim", book).bids[0].price == 1.0
    with pytest.raises(DecodeError, match="zz"):
        decode("OrderBookGetAndSubscribe", "Slim", book, strict=True)


def test_bond_yields_only_where_sent() -> None:
    bonds = decode(
        "OrderBookGetAndSubscribe", "Slim", _data("OrderBookGetAndSubscribe.Slim.bonds.data.json")
    )
    assert bonds.bids.yields == (16.21,) and bonds.asks[0].yield_ == 16.14
    common = decode("OrderBookGetAndSubscribe", "Slim", {"b": [{"p": 1.0, "v": 1}], "a": []})
    assert common.bids.yields is None
    mixed = decode(
        "OrderBookGetAndSubscribe",
        "Slim",
        {"b": [{"p": 1, "v": 1, "y": 2}, {"p": 1.5, "v": 2, "y": None}], "a": []},
    )
    assert mixed.bids.yields == (2.0, None) and mixed.bids.prices == (1.0, 1.5)


def test_integer_prices_become_floats() -> None:
    book = decode(
        "OrderBookGetAndSubscribe", "Heavy", {"bids": [{"price": 6400, "volume": 1}], "asks": []}
    )
    assert type(book.bids[0].price) is float
    quote = decode("QuotesSubscribe", "Heavy", {"symbol": "SBER", "lastPrice": 272})
    assert type(quote.last_price) is float


def test_instrument_updates_record_their_fields() -> None:
    for fmt in ("Simple", "Slim", "Heavy"):
        full = decode(
            "InstrumentsGetAndSubscribeV2",
            fmt,
            _data(f"InstrumentsGetAndSubscribeV2.{fmt}.full.data.json"),
        )
        update = decode(
            "InstrumentsGetAndSubscribeV2",
            fmt,
            _data(f"InstrumentsGetAndSubscribeV2.{fmt}.partial.data.json"),
        )
        assert full.is_full and update.is_partial
        assert update.fields == {"symbol", "price_min", "price_max"}
        assert update.exchange is None and update.trading_status is None
        assert full.merged_with(update) == full
    nulled = decode("InstrumentsGetAndSubscribeV2", "Slim", {"sym": "SBER", "sti": None})
    assert nulled.fields == {"symbol", "trading_status_info"}
    assert encode("InstrumentsGetAndSubscribeV2", "Slim", nulled) == {"sym": "SBER", "sti": None}


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("opcode", "fmt", "payload", "reason"),
    [
        ("OrderBookGetAndSubscribe", "Simple", {"asks": []}, "bids"),
        ("OrderBookGetAndSubscribe", "Slim", {"b": None, "a": []}, "array"),
        ("OrderBookGetAndSubscribe", "Slim", {"b": {"p": 1}, "a": []}, "array"),
        ("OrderBookGetAndSubscribe", "Slim", {"b": [{"v": 1}], "a": []}, "p"),
        (
            "OrderBookGetAndSubscribe",
            "Heavy",
            {"bids": [{"price": "abc", "volume": 1}], "asks": []},
            "abc",
        ),
        (
            "OrderBookGetAndSubscribe",
            "Heavy",
            {"bids": [{"price": 1.0, "volume": 1.5}], "asks": []},
            "integer",
        ),
        (
            "OrderBookGetAndSubscribe",
            "Heavy",
            {"bids": [{"price": True, "volume": 1}], "asks": []},
            "number",
        ),
        (
            "OrderBookGetAndSubscribe",
            "Heavy",
            {"bids": [], "asks": [], "existing": "yes"},
            "boolean",
        ),
        ("QuotesSubscribe", "Slim", {"ex": "MOEX"}, "sym"),
        ("QuotesSubscribe", "Slim", {"sym": "SBER", "c": [1]}, "number"),
        ("BarsGetAndSubscribe", "Slim", {"t": 1, "o": 1, "h": 1, "l": 1, "c": 1}, "v"),
        ("AllTradesGetAndSubscribe", "Heavy", {"id": 1, "time": "yesterday"}, "yesterday"),
        ("OrdersGetAndSubscribeV2", "Heavy", {"symbol": "SBER"}, "id"),
        ("OrdersGetAndSubscribeV2", "Heavy", {"id": "1", "iceberg": [1]}, "Iceberg"),
        ("OrdersGetAndSubscribeV2", "Heavy", {"id": "1", "qtyUnits": "many"}, "qtyUnits"),
        ("OrdersGetAndSubscribeV2", "Heavy", {"id": {"x": 1}}, "id"),
        ("SummariesGetAndSubscribeV2", "Heavy", {"buyingPowerByCurrency": {"RUB": 1}}, "array"),
        (
            "PositionsGetAndSubscribeV2",
            "Heavy",
            {"symbol": "SBER", "isCurrency": "no"},
            "isCurrency",
        ),
        ("RisksGetAndSubscribe", "Slim", {"t": 5}, "t"),
    ],
)
def test_garbage_raises_decode_error_with_context(
    opcode: str, fmt: str, payload: dict[str, Any], reason: str
) -> None:
    for strict in (False, True):
        with pytest.raises(DecodeError, match=reason) as info:
            decode(opcode, fmt, payload, strict=strict)
        assert info.value.opcode == opcode and info.value.format == fmt
        assert isinstance(info.value.__cause__, Exception)


@pytest.mark.parametrize("payload", [[1, 2], "text", None, 5])
def test_a_payload_that_is_not_an_object_raises_decode_error(payload: Any) -> None:
    for opcode in ("OrderBookGetAndSubscribe", "SummariesGetAndSubscribeV2"):
        with pytest.raises(DecodeError, match="JSON object"):
            decoder_for(opcode, "Heavy")(payload)


def test_exact_mode_gives_decimals_in_every_path() -> None:
    book = decode(
        "OrderBookGetAndSubscribe",
        "Slim",
        _data("OrderBookGetAndSubscribe.Slim.bonds.data.json"),
        exact=True,
    )
    assert book.bids.prices == (Decimal("70.589"),) and book.bids.yields == (Decimal("16.21"),)
    quote = decode("QuotesSubscribe", "Heavy", _data("QuotesSubscribe.Heavy.data.json"), exact=True)
    assert quote.bid == Decimal("271.99") and isinstance(quote, Quote)
    summary = decode(
        "SummariesGetAndSubscribeV2",
        "Heavy",
        _data("SummariesGetAndSubscribeV2.Heavy.data.json"),
        exact=True,
    )
    assert summary.buying_power_by_currency[0].buying_power == Decimal("99186.21945092")
    order = decode("OrdersGetAndSubscribeV2", "Heavy", {"id": "1", "price": 0.1}, exact=True)
    assert order.price == Decimal("0.1") and isinstance(order.price, Decimal)
    assert isinstance(
        decode("OrdersGetAndSubscribeV2", "Heavy", {"id": "1", "price": 0.1}).price, float
    )
    inst = decode(
        "InstrumentsGetAndSubscribeV2", "Heavy", {"symbol": "S", "priceMin": "1.10"}, exact=True
    )
    assert isinstance(inst, Instrument) and str(inst.price_min) == "1.10"


def test_book_sides_are_book_sides_on_every_path() -> None:
    data = _data("OrderBookGetAndSubscribe.Heavy.data.json")
    for strict in (False, True):
        book = decode("OrderBookGetAndSubscribe", "Heavy", data, strict=strict)
        assert isinstance(book.bids, BookSide) and book.bids[0].price == 257.7
