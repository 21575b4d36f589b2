"""End to end: fuzzed bad frames from a scripted server through the real client.

One client, three subscriptions (raw event stream, typed event stream, typed full-state stream)
on one connection. Each generated bad frame is followed by a good "marker" frame for every
subscription; the properties:

* the connection stays up and the reading thread keeps reading (the markers arrive, in order,
  nothing lost or doubled on the event streams);
* each bad frame that belongs to a subscription reaches ``on_error`` as a ``DecodeError`` (or its
  subclass ``MalformedFrameError``) naming that subscription; frames that cannot be tied to one
  (not UTF-8, not JSON, not an object) reach it as a ``MalformedFrameError`` without a guid; data
  for an unknown guid is counted in ``unrouted_frames``; a raw subscription gets whatever valid
  JSON object the server sent, wrongly typed or not.

The emulator's own ``send_malformed`` fault is exercised the same way in the chaos run.
"""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alor_sync.client import AlorClient
from alor_sync.codec.converter import decode
from alor_sync.errors import DecodeError, MalformedFrameError
from tests.chaos.fake_broker import FakeBroker, unsigned_jwt
from tests.client_helpers import WAIT, Recorder

SAMPLES = Path(__file__).resolve().parent / "samples"
TRADE = orjson.loads((SAMPLES / "AllTradesGetAndSubscribe.Simple.data.json").read_bytes())["data"]
QUOTE = orjson.loads((SAMPLES / "QuotesSubscribe.Simple.data.json").read_bytes())["data"]

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=12)
values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),  # json.dumps(inf) is not JSON
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)  # fmt: skip

KINDS = (
    "not_utf8", "binary_not_utf8", "garbage_text", "truncated", "not_object", "data_not_object",
    "not_json_data", "wrong_types", "unknown_guid", "bad_confirmation", "stray_confirmation",
    "binary_data", "oversized",
)  # fmt: skip
BROKEN_JSON = st.sampled_from(
    ['{"x": Infinity}', '{"x": 01}', "{'x': 1}", '{"x": }', '{"x": 1,}', '{"x" 1}', "[1, 2",
     "tru", '{"x": "\\ud800"}', '{"x": NaN}']
) | st.text(alphabet='{}[],:0123456789 tfnrue"', max_size=20)  # fmt: skip


def _frame(data: Any, guid: str) -> str:
    return '{ "data": ' + json.dumps(data) + ', "guid":"' + guid + '" }'


def _is_data_frame(frame: str) -> bool:
    try:
        return isinstance(orjson.loads(frame)["data"], dict)
    except orjson.JSONDecodeError:
        return False


class _Errors:
    """``on_error`` recorder (runs on a dispatcher worker)."""

    def __init__(self) -> None:
        self.items: list[tuple[BaseException, str | None]] = []
        self._changed = threading.Condition()

    def __call__(self, error: BaseException, guid: str | None) -> None:
        with self._changed:
            self.items.append((error, guid))
            self._changed.notify_all()

    def wait_count(self, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.items) >= count, WAIT)


class _Scenario:
    """The client, its three subscriptions and the expectations of one generated bad frame."""

    def __init__(self, broker: FakeBroker, client: AlorClient, errors: _Errors) -> None:
        self.broker, self.client, self.errors = broker, client, errors
        self.raw_trades, self.typed_trades, self.quotes = Recorder(), Recorder(), Recorder()
        self.subs = {
            "raw": client.subscribe_all_trades("SBER", self.raw_trades, raw=True),
            "typed": client.subscribe_all_trades("GAZP", self.typed_trades),
            "quotes": client.subscribe_quotes("SBER", self.quotes),
        }
        for sub in self.subs.values():
            sub.wait_active(WAIT)
        self.markers = itertools.count(1)
        # Trades that must be delivered carry ids of their own: a trade id already delivered is
        # a repeat, which the client rightly drops.
        self.fresh_ids = itertools.count(10**12)
        # The usable ids (int or str, as the dedupe keys them) each trade stream has delivered:
        # a fuzzed id that repeats one of them is rightly dropped, not lost.
        self.delivered_ids: dict[str, set[object]] = {"raw": set(), "typed": set()}

    def build(self, kind: str, draw: Any) -> tuple[str | bytes, bool, tuple[str, str | None]]:
        """(frame, binary, expectation); expectations: (malformed|decode|delivered|unrouted|
        nothing, guid)."""
        guids = {name: sub.guid for name, sub in self.subs.items()}
        target = draw(st.sampled_from(sorted(guids)))
        good = _frame(TRADE if target != "quotes" else QUOTE, guids[target])
        if kind == "not_utf8":
            return (
                b'{ "data": {"x": "\xff\xfe"}, "guid":"' + guids[target].encode() + b'" }',
                False,
                ("malformed", None),
            )
        if kind == "binary_not_utf8":
            return draw(st.binary(min_size=1, max_size=50)) + b"\xff", True, ("malformed", None)
        if kind == "garbage_text":
            text = draw(st.text(max_size=60).filter(lambda t: not t.strip().startswith("{")))
            return text, False, ("malformed", None)
        if kind == "truncated":
            cut = draw(st.integers(min_value=0, max_value=len(good) - 2))
            return good[:cut], False, ("malformed", None)
        if kind == "not_object":
            value = draw(values.filter(lambda v: not isinstance(v, dict)))
            return json.dumps(value), False, ("malformed", None)
        if kind == "data_not_object":
            value = draw(values.filter(lambda v: not isinstance(v, dict)))
            return _frame(value, guids[target]), False, ("malformed", guids[target])
        if kind == "not_json_data":  # the tail still names the subscription
            frame = '{ "data": ' + draw(BROKEN_JSON) + ', "guid":"' + guids[target] + '" }'
            assume(not _is_data_frame(frame))
            return frame, False, ("malformed", guids[target])
        if kind == "wrong_types":
            return self._wrong_types(draw, guids, next(self.fresh_ids))
        if kind == "unknown_guid":
            return _frame(TRADE, "no-such-subscription"), False, ("unrouted", None)
        if kind == "bad_confirmation":
            code = draw(values.filter(lambda v: not isinstance(v, int | float) or v != int(v)))
            reply = {"requestGuid": guids[target], "httpCode": code, "message": "?"}
            return json.dumps(reply), False, ("malformed", None)
        if kind == "stray_confirmation":
            reply = {"requestGuid": "nobody-asked", "httpCode": 200, "message": "ok"}
            return json.dumps(reply), False, ("nothing", None)
        if kind == "binary_data":
            trade = {**TRADE, "id": next(self.fresh_ids)}
            return _frame(trade, guids["raw"]).encode(), True, ("delivered", guids["raw"])
        assert kind == "oversized"
        big = {
            **TRADE,
            "id": next(self.fresh_ids),
            "pad": "x" * draw(st.integers(100_000, 2_000_000)),
        }
        return _frame(big, guids["raw"]), False, ("delivered", guids["raw"])

    def _wrong_types(
        self, draw: Any, guids: dict[str, str], trade_id: int
    ) -> tuple[str, bool, tuple[str, str]]:
        # Event streams only: a full-state stream may conflate a frame away before decoding it.
        target = draw(st.sampled_from(["raw", "typed"]))
        data = {**TRADE, "id": trade_id}
        for key in draw(st.lists(st.sampled_from(sorted(TRADE)), min_size=1, max_size=4)):
            data[key] = draw(values)
        frame = _frame(data, guids[target])
        if target == "raw":
            return frame, False, self._delivered_unless_repeat("raw", data["id"], guids["raw"])
        try:
            trade = decode("AllTradesGetAndSubscribe", "Simple", orjson.loads(frame)["data"])
        except DecodeError:
            return frame, False, ("decode", guids["typed"])
        return frame, False, self._delivered_unless_repeat("typed", trade.id, guids["typed"])

    def _delivered_unless_repeat(self, name: str, trade_id: object, guid: str) -> tuple[str, str]:
        """A trade is delivered unless its id is one the stream already delivered."""
        if trade_id.__class__ not in (int, str):
            return "delivered", guid  # no usable id: passed on as it came
        if trade_id in self.delivered_ids[name]:
            return "nothing", guid
        self.delivered_ids[name].add(trade_id)
        return "delivered", guid

    def send_markers(self) -> int:
        marker = next(self.markers)
        for ids in self.delivered_ids.values():
            ids.add(marker)
        self.broker.send(_frame({**TRADE, "id": marker}, self.subs["raw"].guid))
        self.broker.send(_frame({**TRADE, "id": marker}, self.subs["typed"].guid))
        self.broker.send(_frame({**QUOTE, "volume": marker}, self.subs["quotes"].guid))
        return marker

    def wait_markers(self, marker: int) -> None:
        assert self.raw_trades.wait_for(lambda items: bool(items) and items[-1]["id"] == marker)
        assert self.typed_trades.wait_for(lambda items: bool(items) and items[-1].id == marker)
        assert self.quotes.wait_for(lambda items: bool(items) and items[-1].volume == marker)


def test_bad_frames_reach_on_error_and_every_stream_goes_on() -> None:
    errors = _Errors()
    with FakeBroker() as broker:
        client = AlorClient(
            access_token=unsigned_jwt(), ws_url=broker.url, cws_url=broker.url, on_error=errors
        )
        with client:
            assert client.wait_connected(WAIT)
            scenario = _Scenario(broker, client, errors)
            scenario.wait_markers(scenario.send_markers())

            @settings(
                max_examples=150,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            )
            @given(st.sampled_from(KINDS), st.data())
            def one_bad_frame(kind: str, data: Any) -> None:
                _check_one(scenario, kind, data.draw)  # fmt: skip

            one_bad_frame()
            examples = next(scenario.markers) - 2
            assert examples >= 100, f"only {examples} bad frames were tried"
            assert client.statistics().connection.connects == 1, "a bad frame cost the connection"
            assert client.wait_connected(0)


def _check_one(scenario: _Scenario, kind: str, draw: Any) -> None:
    frame, binary, (outcome, guid) = scenario.build(kind, draw)
    errors, client = scenario.errors, scenario.client
    before_errors, before_unrouted = len(errors.items), client.statistics().unrouted_frames
    counts = {"raw": len(scenario.raw_trades.items), "typed": len(scenario.typed_trades.items)}
    scenario.broker.send(frame, binary=binary)
    scenario.wait_markers(scenario.send_markers())
    expected_errors = before_errors + (outcome in ("malformed", "decode"))
    assert errors.wait_count(expected_errors), f"{kind}: no error reported for {frame[:200]!r}"
    new = errors.items[before_errors:]
    assert len(new) == expected_errors - before_errors, f"{kind}: {new}"
    if outcome == "malformed":
        error, named = new[0]
        assert isinstance(error, DecodeError), f"{kind}: {error!r}"
        if guid is None:
            assert isinstance(error, MalformedFrameError) and named is None, f"{kind}: {new[0]}"
        else:
            assert named == guid, f"{kind}: the error does not name the subscription: {new[0]}"
    elif outcome == "decode":
        error, named = new[0]
        assert isinstance(error, DecodeError) and named == guid and error.guid == guid, new[0]
    unrouted = client.statistics().unrouted_frames - before_unrouted
    assert unrouted == (outcome == "unrouted"), f"{kind}: {unrouted} unrouted frames"
    # Event streams: exactly the marker, plus the bad frame where it was valid data for them.
    for name in ("raw", "typed"):
        recorder = scenario.raw_trades if name == "raw" else scenario.typed_trades
        extra = outcome == "delivered" and guid == scenario.subs[name].guid
        assert len(recorder.items) == counts[name] + 1 + extra, f"{kind}: {name} lost or doubled"
