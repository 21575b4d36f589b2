"""REST around the streams: server time, instrument info and bar history, as the OpenAPI file says.

Expected keys are those of the broker's examples in ``WarpOpenAPIv2.json``
(``components/examples/Security_Simple|Slim|Heavy``, ``History_Simple|Slim|Heavy``, ``Time``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from peer import connect

from alor_sync.emulator import Emulator, ManualClock

START = 1_702_631_123.78
SECURITY_KEYS = {
    "Simple": "symbol shortname description exchange market type lotsize facevalue cfiCode "
    "cancellation minstep rating marginbuy marginsell marginrate pricestep priceMax priceMin "
    "theorPrice theorPriceLimit volatility currency ISIN yield board primary_board tradingStatus "
    "tradingStatusInfo complexProductCategory priceMultiplier priceShownUnits",
    "Slim": "sym n desc ex t lot fv cfi stp cncl rt mgb mgs mgrt stppx pxmx pxmn pxt pxtl pxmu pxu "
    "vl cur isin yld bd pbd st sti cpct",
    "Heavy": "symbol shortName description exchange market type lotSize faceValue cfiCode "
    "cancellation minStep roundTo rating marginBuy marginSell marginRate priceStep priceMax "
    "priceMin theorPrice theorPriceLimit volatility currency nominalCurrency settlementCurrency "
    "underlyingCurrency ISIN yield board primaryBoard tradingStatus tradingStatusInfo "
    "complexProductCategory priceMultiplier priceShownUnits initialMarginLowRiskLong "
    "initialMarginLowRiskShort initialMarginStandardRiskLong initialMarginStandardRiskShort "
    "initialMarginHighRiskLong initialMarginHighRiskShort initialMarginSpecialRiskLong "
    "initialMarginSpecialRiskShort",
}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=0, clock=ManualClock(START)) as emulator:
        yield emulator


def get(emu: Emulator, target: str, token: str | None = None) -> tuple[int, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(f"http://127.0.0.1:{emu.port}{target}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = json.loads(error.read())
        error.close()
        return error.code, body


def test_server_time_is_the_emulator_clock(emu: Emulator) -> None:
    assert get(emu, "/md/v2/time") == (200, int(START))


@pytest.mark.parametrize("fmt", ["Simple", "Slim", "Heavy"])
def test_instrument_info_has_the_keys_of_the_examples_in_order(emu: Emulator, fmt: str) -> None:
    status, body = get(emu, f"/md/v2/Securities/MOEX/SBER?format={fmt}", emu.issue_token())
    assert status == 200
    assert list(body) == SECURITY_KEYS[fmt].split()


def test_instrument_info_agrees_with_the_streams(emu: Emulator) -> None:
    token = emu.issue_token()
    _, future = get(emu, "/md/v2/Securities/moex/Si-12.26", token)  # alias, any casing
    assert (future["symbol"], future["market"], future["board"]) == ("SiZ6", "FORTS", "RFUD")
    assert future["type"].startswith("Фьючерсный контракт") and future["marginbuy"] > 0
    _, bond = get(emu, "/md/v2/Securities/MOEX/SU26238RMFS4", token)
    assert (bond["type"], bond["ISIN"], bond["facevalue"]) == ("EUSOV", "SU26238RMFS4", 1000)
    _, share = get(emu, "/md/v2/Securities/MOEX/SBER", token)
    with connect(emu.ws_url) as peer:
        before = peer.subscribe(
            token, opcode="InstrumentsGetAndSubscribeV2", code="SBER", exchange="MOEX", guid="i"
        )
    streamed = next(f["data"] for f in before if f.get("guid") == "i")
    assert float(share["priceMin"]) == float(streamed["priceMin"])
    assert share["tradingStatus"] == streamed["tradingStatus"]
    assert get(emu, "/md/v2/Securities/SPBX/AAPL", token)[1]["market"] == "SPBX"


def test_instrument_info_errors(emu: Emulator) -> None:
    token = emu.issue_token()
    assert get(emu, "/md/v2/Securities/MOEX/SBER")[0] == 401  # documented: JWT required
    assert get(emu, "/md/v2/Securities/MOEX/SBER", "not-a-jwt")[0] == 401
    status, body = get(emu, "/md/v2/Securities/MOEX/NOPE", token)
    assert status == 404 and "NOPE" in body["message"]
    assert get(emu, "/md/v2/Securities/MOEX/SBER?instrumentGroup=TQCB", token)[0] == 404
    assert get(emu, "/md/v2/Securities/MOEX/SBER?format=Fat", token)[0] == 400
    assert get(emu, "/md/v2/Orders", token)[0] == 404  # the rest of REST is not served


@pytest.mark.parametrize(
    ("fmt", "key"), [("Simple", "history"), ("Slim", "h"), ("Heavy", "history")]
)
def test_history_is_the_bars_stream_history(emu: Emulator, fmt: str, key: str) -> None:
    until = int(START)
    since = until - until % 60 - 600  # a candle's start: both calls begin with that candle
    status, body = get(
        emu, f"/md/v2/history?symbol=SBER&exchange=MOEX&tf=60&from={since}&to={until}&format={fmt}"
    )
    assert status == 200 and list(body) == [key, "next", "prev"]
    candles = body[key]
    times = [c["t" if fmt == "Slim" else "time"] for c in candles]
    assert times == sorted(times) and all(since <= t <= until for t in times) and len(times) >= 10
    assert body["prev"] == times[0] - 60 and body["next"] is None  # nothing after the current one
    with connect(emu.ws_url) as peer:
        streamed = peer.subscribe(
            emu.issue_token(), opcode="BarsGetAndSubscribe", code="SBER", exchange="MOEX",
            tf=60, format=fmt, guid="b", **{"from": since},
        )  # fmt: skip
    streamed_candles = [f["data"] for f in streamed if f.get("guid") == "b"]
    # The stream takes production's liberties (extra fields...): compare the candle's own keys.
    assert [{k: c[k] for k in candles[0]} for c in streamed_candles] == candles


def test_history_count_back_moves_from_back(emu: Emulator) -> None:
    until = int(START)
    target = f"/md/v2/history?symbol=SBER&exchange=MOEX&tf=D&from={until - 86400}&to={until}"
    assert len(get(emu, target)[1]["history"]) == 1  # today's candle
    status, body = get(emu, target + "&countBack=5")
    assert status == 200 and len(body["history"]) == 5
    assert body["history"][-1]["time"] <= until


def test_history_errors(emu: Emulator) -> None:
    status, body = get(emu, "/md/v2/history?symbol=SBER&exchange=MOEX&tf=60&from=0")
    assert status == 400 and "'to'" in body["message"]
    assert get(emu, "/md/v2/history?symbol=SBER&exchange=MOEX&tf=X&from=0&to=1")[0] == 400
    assert get(emu, "/md/v2/history?symbol=NOPE&exchange=MOEX&tf=60&from=0&to=1")[0] == 404
    assert get(emu, "/md/v2/history?symbol=SBER&exchange=MOEX&tf=60&from=a&to=1")[0] == 400
