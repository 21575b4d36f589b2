"""The twelve subscriptions in three formats: shapes, history then live, per-opcode semantics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peer import Peer, connect

from alor_sync.emulator import Emulator, ManualClock

START = 1_702_631_123.78
FORMATS = ("Simple", "Slim", "Heavy")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


# The exact replies and shapes of the reference are checked on the polite profile; the
# production profile's liberties are checked against these in test_emulator_profile.py.
@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(speed=0, clock=clock, conflation=False, profile="polite") as emulator:
        yield emulator


@pytest.fixture
def peer(emu: Emulator) -> Iterator[Peer]:
    with connect(emu.ws_url) as p:
        yield p


def sample_keys(samples_dir: Path, name: str) -> list[str]:
    return list(json.loads((samples_dir / name).read_text())["data"])


def data_of(frames: list[dict[str, Any]], guid: str) -> list[dict[str, Any]]:
    assert all(f["guid"] == guid for f in frames), frames
    return [f["data"] for f in frames]


# -- market streams: shapes follow the broker's examples key for key ----------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_order_book_snapshot_then_live_full_books(
    emu: Emulator, peer: Peer, fmt: str, samples_dir: Path
) -> None:
    token = emu.issue_token()
    sample = "OrderBookGetAndSubscribe.Slim.common.data.json" if fmt == "Slim" else None
    keys = sample_keys(samples_dir, sample or f"OrderBookGetAndSubscribe.{fmt}.data.json")
    (snapshot,) = data_of(
        peer.subscribe(
            token, opcode="OrderBookGetAndSubscribe", code="SBER", exchange="MOEX",
            format=fmt.lower(), guid="ob",
        ),
        "ob",
    )  # fmt: skip
    assert list(snapshot) == keys
    existing = "h" if fmt == "Slim" else "existing"
    bids, asks = ("b", "a") if fmt == "Slim" else ("bids", "asks")
    assert snapshot[existing] is True
    assert len(snapshot[bids]) == len(snapshot[asks]) == 20  # default depth
    emu.tick()
    live = peer.recv()["data"]
    assert list(live) == keys and live[existing] is False
    assert len(live[bids]) == 20
    price = "p" if fmt == "Slim" else "price"
    best_bid, best_ask = live[bids][0][price], live[asks][0][price]
    assert best_bid < best_ask
    assert [r[price] for r in live[bids]] == sorted((r[price] for r in live[bids]), reverse=True)
    assert [r[price] for r in live[asks]] == sorted(r[price] for r in live[asks])


def test_order_book_depth_up_to_50_and_bond_yields(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    (book,) = data_of(
        peer.subscribe(
            token, opcode="OrderBookGetAndSubscribe", code="SU26238RMFS4", exchange="MOEX",
            depth=50, format="Slim", guid="bond",
        ),
        "bond",
    )  # fmt: skip
    assert len(book["b"]) == len(book["a"]) == 50
    assert set(book["b"][0]) == {"p", "v", "y"}  # Slim rows carry yield for bonds only
    assert book["b"][-1]["y"] > book["a"][-1]["y"]  # a lower price yields more


@pytest.mark.parametrize("fmt", FORMATS)
def test_quotes_agree_with_book_and_trades(
    emu: Emulator, peer: Peer, fmt: str, samples_dir: Path
) -> None:
    token = emu.issue_token()
    keys = sample_keys(samples_dir, f"QuotesSubscribe.{fmt}.data.json")
    peer.subscribe(
        token, opcode="OrderBookGetAndSubscribe", code="GAZP", exchange="MOEX", depth=1,
        format="Heavy", guid="ob",
    )  # fmt: skip
    peer.subscribe(token, opcode="AllTradesGetAndSubscribe", code="GAZP", exchange="MOEX",
                   format="Heavy", guid="t")  # fmt: skip
    (quote,) = data_of(
        peer.subscribe(token, opcode="QuotesSubscribe", code="GAZP", exchange="MOEX",
                       format=fmt, guid="q"),
        "q",
    )  # fmt: skip
    assert list(quote) == keys
    emu.tick(20)
    books: dict[str, Any] = {}
    last_trade: dict[str, Any] = {}
    quote = {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame = peer.recv()
        books[frame["guid"]] = frame["data"]
        if frame["guid"] == "t":
            last_trade = frame["data"]
        if frame["guid"] == "q":
            quote = frame["data"]
            if "ob" in books and last_trade:
                break
    book = books["ob"]
    names = {
        "Simple": ("bid", "ask", "last_price"),
        "Slim": ("bid", "ask", "c"),
        "Heavy": ("bid", "ask", "lastPrice"),
    }[fmt]
    # The market sends book, then quote, after each step: the last quote matches the last book.
    assert quote[names[0]] == book["bids"][0]["price"]
    assert quote[names[1]] == book["asks"][0]["price"]
    assert quote[names[2]] == last_trade["price"]
    if fmt != "Slim":
        change = quote["change"]
        prev = quote["prev_close_price" if fmt == "Simple" else "prevClosePrice"]
        assert change == pytest.approx(quote[names[2]] - prev)


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_trades_history_then_live(
    emu: Emulator, peer: Peer, fmt: str, samples_dir: Path
) -> None:
    token = emu.issue_token()
    keys = sample_keys(samples_dir, f"AllTradesGetAndSubscribe.{fmt}.data.json")
    history = data_of(
        peer.subscribe(token, opcode="AllTradesGetAndSubscribe", code="SBER", exchange="MOEX",
                       depth=5, format=fmt, guid="t"),
        "t",
    )  # fmt: skip
    existing = "h" if fmt == "Slim" else "existing"
    assert len(history) == 5
    assert all(list(t) == keys and t[existing] is True for t in history)
    ids = [t["id"] for t in history]
    assert ids == sorted(ids)
    emu.tick(30)
    live = peer.recv()["data"]
    assert list(live) == keys and live[existing] is False and live["id"] > ids[-1]
    if fmt != "Slim":
        assert live["time"].endswith("Z") and len(live["time"].split(".")[1]) == 8


def test_all_trades_alias_and_skip_history(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    before = peer.subscribe(token, opcode="AllTradesSubscribe", code="SBER", exchange="MOEX",
                            depth=3, skipHistory=True, guid="t")  # fmt: skip
    assert before == []


def test_trades_print_at_book_prices_and_consume_volume(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    emu.set_book("MOEX", "SBER", bids=[("257.70", 5)], asks=[("257.71", 3), ("257.72", 100)])
    peer.subscribe(token, opcode="AllTradesGetAndSubscribe", code="SBER", exchange="MOEX",
                   format="Heavy", guid="t")  # fmt: skip
    with emu.venue() as venue:
        fills = venue.market.take_liquidity("MOEX", "SBER", "buy", 5, None)
    assert [(str(f.price), f.lots) for f in fills] == [("257.71", 3), ("257.72", 2)]
    prints = [peer.recv()["data"] for _ in range(2)]
    assert [(p["price"], p["qty"], p["side"]) for p in prints] == [
        (257.71, 3, "buy"),
        (257.72, 2, "buy"),
    ]
    with emu.venue() as venue:
        assert venue.market.best_bid_ask("MOEX", "SBER")[1] == fills[1].price


@pytest.mark.parametrize("fmt", FORMATS)
def test_bars_history_then_current_candle_resent_until_a_new_one(
    emu: Emulator, peer: Peer, fmt: str, clock: ManualClock, samples_dir: Path
) -> None:
    token = emu.issue_token()
    keys = sample_keys(samples_dir, f"BarsGetAndSubscribe.{fmt}.data.json")
    since = int(START) - 3600
    history = data_of(
        peer.subscribe(token, opcode="BarsGetAndSubscribe", code="SBER", exchange="MOEX",
                       tf="60", **{"from": since}, format=fmt, guid="b"),
        "b",
    )  # fmt: skip
    t = "t" if fmt == "Slim" else "time"
    times = [c[t] for c in history]
    assert all(list(c) == keys for c in history)
    assert times == sorted(set(times)) and all(x % 60 == 0 for x in times)
    assert times[0] == since - since % 60 and times[-1] == int(START) - int(START) % 60
    current = times[-1]
    emu.tick(10)
    again = peer.recv()["data"]
    assert again[t] == current  # the current candle, re-sent with the same time
    clock.advance(60)
    emu.tick(10)
    _, newer = peer.recv_until(lambda f: f["data"][t] != current)
    assert newer["data"][t] == current + 60


def test_bars_calendar_and_odd_timeframes(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    days = data_of(
        peer.subscribe(token, opcode="BarsGetAndSubscribe", code="SBER", exchange="MOEX",
                       tf="D", **{"from": int(START) - 10 * 86400}, guid="d"),
        "d",
    )  # fmt: skip
    assert 10 <= len(days) <= 11 and all(c["time"] % 86400 == 0 for c in days)
    weeks = data_of(
        peer.subscribe(token, opcode="BarsGetAndSubscribe", code="SBER", exchange="MOEX",
                       tf="W", **{"from": 0}, guid="w"),
        "w",
    )  # fmt: skip
    # Calendar weeks start on Monday (1970-01-05 was one).
    assert all((c["time"] - 345_600) % 604_800 == 0 for c in weeks)
    emu.tick(20)
    peer.subscribe(token, opcode="BarsGetAndSubscribe", code="SBER", exchange="MOEX",
                   tf=15, **{"from": 0}, guid="s")  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_instruments_full_then_partial(
    emu: Emulator, peer: Peer, fmt: str, samples_dir: Path
) -> None:
    token = emu.issue_token()
    full_keys = sample_keys(samples_dir, f"InstrumentsGetAndSubscribeV2.{fmt}.full.data.json")
    (full,) = data_of(
        peer.subscribe(token, opcode="InstrumentsGetAndSubscribeV2", code="SBER",
                       exchange="MOEX", instrumentGroup="TQBR", format=fmt, guid="i"),
        "i",
    )  # fmt: skip
    assert list(full) == full_keys
    status = "st" if fmt == "Slim" else "tradingStatus"
    assert full[status] == 17
    emu.set_trading_status("MOEX", "SBER", 2)
    partial = peer.recv()["data"]
    symbol = "sym" if fmt == "Slim" else "symbol"
    info = "sti" if fmt == "Slim" else "tradingStatusInfo"
    assert partial == {symbol: "SBER", status: 2, info: "перерыв в торгах"}


def test_future_by_alias_has_margins_and_open_interest(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    (full,) = data_of(
        peer.subscribe(token, opcode="InstrumentsGetAndSubscribeV2", code="Si-12.26",
                       exchange="MOEX", guid="i"),
        "i",
    )  # fmt: skip
    assert full["symbol"] == "SiZ6" and full["board"] == "RFUD"
    assert full["marginBuy"] > 0 and full["marginSell"] > 0
    (quote,) = data_of(
        peer.subscribe(token, opcode="QuotesSubscribe", code="SiZ6", exchange="MOEX", guid="q"),
        "q",
    )  # fmt: skip
    assert isinstance(quote["open_interest"], int) and isinstance(quote["last_price"], int)


def test_spbx_share(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    (quote,) = data_of(
        peer.subscribe(token, opcode="QuotesSubscribe", code="AAPL", exchange="SPBX",
                       instrumentGroup="SPBX", format="Heavy", guid="q"),
        "q",
    )  # fmt: skip
    assert quote["exchange"] == "SPBX" and quote["currency"] == "USD"


# -- portfolio streams -------------------------------------------------------------------------


def test_positions_history_then_live_after_a_fill(emu: Emulator, peer: Peer) -> None:
    token = emu.issue_token()
    history = data_of(
        peer.subscribe(token, opcode="PositionsGetAndSubscribeV2", portfolio="D39004",
                       exchange="MOEX", format="Heavy", guid="p"),
        "p",
    )  # fmt: skip
    assert history and all(p["existing"] is True for p in history)
    peer.subscribe(token, opcode="OrdersGetAndSubscribeV2", portfolio="D39004", exchange="MOEX",
                   skipHistory=True, guid="o")  # fmt: skip
    peer.subscribe(token, opcode="TradesGetAndSubscribeV2", portfolio="D39004", exchange="MOEX",
                   format="Slim", guid="tr")  # fmt: skip
    with connect(emu.cws_url) as cws:
        cws.send(opcode="authorize", guid="a", token=token)
        assert cws.recv()["httpCode"] == 200
        cws.send(opcode="create:market", guid="m", side="buy", quantity=1,
                 instrument={"symbol": "SBER", "exchange": "MOEX"},
                 user={"portfolio": "D39004"})  # fmt: skip
        assert cws.recv()["httpCode"] == 200
    seen: dict[str, dict[str, Any]] = {}
    while not {"p", "o", "tr"} <= set(seen):
        frame = peer.recv()
        seen[frame["guid"]] = frame["data"]
    assert seen["p"]["existing"] is False
    assert seen["o"]["existing"] is False
    assert seen["tr"]["h"] is False


@pytest.mark.parametrize(
    ("opcode", "portfolio"),
    [
        ("SummariesGetAndSubscribeV2", "D39004"),
        ("RisksGetAndSubscribe", "D39004"),
        ("SpectraRisksGetAndSubscribe", "7500PUQ"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_figures_streams_send_one_snapshot(
    emu: Emulator, peer: Peer, opcode: str, portfolio: str, fmt: str
) -> None:
    token = emu.issue_token()
    frames = peer.subscribe(token, opcode=opcode, portfolio=portfolio, exchange="MOEX",
                            format=fmt, guid="f")  # fmt: skip
    assert len(frames) == 1 and frames[0]["guid"] == "f"
    assert (
        peer.subscribe(
            token, opcode=opcode, portfolio=portfolio, exchange="MOEX", skipHistory=True, guid="g"
        )
        == []
    )


@pytest.mark.parametrize(
    "opcode",
    ["StopOrdersGetAndSubscribeV2", "StopOrdersGetAndSubscribe", "OrdersGetAndSubscribeV2"],
)
def test_order_streams_history_filtered_then_live(emu: Emulator, peer: Peer, opcode: str) -> None:
    token = emu.issue_token()
    stop = opcode.startswith("Stop")
    with connect(emu.cws_url) as cws:
        cws.send(opcode="authorize", guid="a", token=token)
        cws.recv()
        for n in (1, 2):
            command: dict[str, Any] = {
                "opcode": "create:stop" if stop else "create:limit", "guid": f"c{n}",
                "side": "buy", "quantity": 1, "instrument": {"symbol": "SBER", "exchange": "MOEX"},
                "user": {"portfolio": "D39004"}, "allowMargin": True,
            }  # fmt: skip
            if stop:
                command.update(condition="More", triggerPrice=999)
            else:
                command.update(price=100)
            cws.send(**command)
            assert cws.recv()["httpCode"] == 200, command
        history = peer.subscribe(token, opcode=opcode, portfolio="D39004", exchange="MOEX",
                                 orderStatuses=["working"], guid="s")  # fmt: skip
        assert len(history) == 2
        if opcode != "StopOrdersGetAndSubscribe":  # v1 has no orderStatuses parameter
            assert peer.subscribe(token, opcode=opcode, portfolio="D39004", exchange="MOEX",
                                  orderStatuses=["filled"], guid="f") == []  # fmt: skip
        order_id = history[0]["data"]["id"]
        kind = "stop" if stop else "limit"
        cws.send(opcode=f"delete:{kind}", guid="d", orderId=str(order_id), exchange="MOEX",
                 user={"portfolio": "D39004"})  # fmt: skip
        assert cws.recv()["httpCode"] == 200
    _, live = peer.recv_until(lambda f: f.get("guid") == "s")
    assert str(live["data"]["id"]) == str(order_id)
    assert live["data"]["status"] == "canceled"
