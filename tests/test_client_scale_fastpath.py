"""The per-frame fast path: frames cut from large reads, data routed by its guid before parsing."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alor_sync.auth import StaticTokenProvider
from alor_sync.data.session import DataSession, SessionHooks
from alor_sync.data.subscriptions import Subscription
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import OverflowPolicy, Route
from alor_sync.errors import DecodeError, MalformedFrameError
from alor_sync.events import GapNotice, ResubscribeReport
from alor_sync.models import OrderBook, Quote
from alor_sync.protocol import subscription_request
from alor_sync.protocol.frames import data_guid, data_payload
from alor_sync.transport.frame_reader import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameProtocolError,
    FrameReader,
    PeerClosedError,
)
from alor_sync.wire import Format, Opcode

# ------------------------------------------------------------------------------ FrameReader


def frame(payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True, first: int | None = None,
          mask: bytes = b"") -> bytes:  # fmt: skip
    """A server frame (unmasked unless ``mask`` is given)."""
    head = first if first is not None else (0x80 if fin else 0) | opcode
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        header = bytes((head, bit | size))
    elif size < 65536:
        header = bytes((head, bit | 126)) + struct.pack("!H", size)
    else:
        header = bytes((head, bit | 127)) + struct.pack("!Q", size)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + payload


class ChunkedSocket:
    """Hands out ``data`` in the given chunk sizes, then EOF."""

    def __init__(self, data: bytes, sizes: Callable[[int], int]) -> None:
        self._data = data
        self._pos = 0
        self._sizes = sizes
        self._reads = 0

    def recv_into(self, buffer: memoryview) -> int:
        size = min(len(buffer), self._sizes(self._reads), len(self._data) - self._pos)
        self._reads += 1
        buffer[:size] = self._data[self._pos : self._pos + size]
        self._pos += size
        return size


def read_all(data: bytes, sizes: Callable[[int], int], read_size: int = 64) -> list[Any]:
    reader = FrameReader(ChunkedSocket(data, sizes), read_size=read_size)  # type: ignore[arg-type]
    frames: list[Any] = []
    while True:
        while (got := reader.next_frame()) is not None:
            frames.append(got)
        try:
            reader.fill()
        except PeerClosedError:
            assert reader.next_frame() is None and reader.buffered == 0
            return frames


STREAM = (
    frame(b"short")
    + frame(b"m" * 300)  # 16-bit length
    + frame(b"b" * 70_000)  # 64-bit length, bigger than the buffer
    + frame(b"\x01\x02", OP_BINARY)
    + frame(b"are you there", OP_PING)
    + frame(b"frag-", fin=False)
    + frame(b"x" * 10, OP_PONG)  # a control frame between fragments is allowed
    + frame(b"ment", 0x0)
    + frame(b"\x03\xe8bye", OP_CLOSE)
)
EXPECTED = [
    (OP_TEXT, b"short"),
    (OP_TEXT, b"m" * 300),
    (OP_TEXT, b"b" * 70_000),
    (OP_BINARY, b"\x01\x02"),
    (OP_PING, b"are you there"),
    (OP_PONG, b"x" * 10),
    (OP_TEXT, b"frag-ment"),
    (OP_CLOSE, b"\x03\xe8bye"),
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000, 1 << 20])
def test_frames_come_out_whole_however_the_bytes_arrive(chunk: int) -> None:
    assert read_all(STREAM, lambda _: chunk) == EXPECTED


def test_irregular_reads_and_a_buffer_that_has_to_move_its_tail() -> None:
    sizes = [5, 61, 2, 127, 33, 900, 1, 64]
    assert read_all(STREAM, lambda n: sizes[n % len(sizes)], read_size=128) == EXPECTED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(b"x", mask=b"abcd"), "masked"),
        (frame(b"x", first=0x80 | 0x40 | OP_TEXT), "reserved bits"),
        (frame(b"x", 0x0), "continuation frame without"),
        (frame(b"a", fin=False) + frame(b"b"), "new message started inside"),
        (frame(b"x", OP_PING, fin=False), "control frame must be whole"),
        (frame(b"x" * 126, OP_PING), "control frame must be whole"),
        (frame(b"x", 0x3), "unknown data opcode"),
        (frame(b"x", 0xB), "unknown control opcode"),
    ],
)
def test_what_a_server_must_not_send_is_a_protocol_error(data: bytes, message: str) -> None:
    with pytest.raises(FrameProtocolError, match=message):
        read_all(data, lambda _: 1 << 20)


def test_eof_is_peer_closed() -> None:
    reader = FrameReader(ChunkedSocket(frame(b"abc")[:3], lambda _: 10))  # type: ignore[arg-type]
    assert reader.fill() == 3 and reader.next_frame() is None and reader.buffered == 3
    with pytest.raises(PeerClosedError):
        reader.fill()


# ------------------------------------------------------------------- routing by the guid

PROD = '{ "data": {"b":[],"a":[],"t":1,"h":false}, "guid":"ob-1" }'


@pytest.mark.parametrize(
    ("raw", "guid"),
    [
        (PROD, "ob-1"),
        ('{"data": {"x": 1}, "guid": "g 2"}', "g 2"),
        ('{"data":{},\n "guid" :\t"g3"\n}\n', "g3"),
        ('{"data": {"comment": "\\"guid\\":\\"evil\\" }"}, "guid":"real"}', "real"),
        ('{"requestGuid":"r","httpCode":200,"message":"Handled successfully"}', None),
        ('{"guid":"first","data":{}}', None),  # not last: classify() routes it
        ('{"data":{}, "guid":"a\\"b"}', None),  # escapes: classify() decides
        ('{"data":{}, "guid":""}', None),
        ('{"data":{}, "guid":"g", "seq":5}', None),
        ("not json at all", None),
        # Production's spelling ('" }' at the end) is read by slicing: the same answers.
        ('{ "data": {"guid":"inner" }, "guid":"outer" }', "outer"),
        ('{ "data": {}, "guid":"" }', None),
        ('{ "data": {}, "guid":"a\\"b" }', None),
        ('{ "data": {}, "guid":"g", "x":"y" }', None),
        ('{ "data": {}, "guid":"g", "seq":5 }', None),
        ('{ "data": {}, "guid":"a\\\\b" }', None),
    ],
)
def test_data_guid_reads_only_a_plain_last_guid_member(raw: str, guid: str | None) -> None:
    assert data_guid(raw) == guid


def test_data_payload_checks_the_whole_frame() -> None:
    assert data_payload(PROD, "ob-1") == {"b": [], "a": [], "t": 1, "h": False}
    for raw, reason in [
        ('{ "data": {"b":[}, "guid":"ob-1" }', "not JSON"),
        ('{ "data": [1], "guid":"ob-1" }', "an array, not an object"),
        ('{ "data": {}, "guid":"ob-2" }', "names another subscription"),
        ('{"requestGuid":"ob-1","httpCode":200,"message":"m", "guid":"ob-1"}', "confirmation"),
    ]:
        with pytest.raises(MalformedFrameError, match=reason):
            data_payload(raw, "ob-1")


# -------------------------------------------------------------- the session's lazy routing


class Manual:
    """An executor that runs nothing until told to: queued frames can be superseded at will."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        self.calls.append((fn, args))

    def run_all(self) -> None:
        while self.calls:
            fn, args = self.calls.pop(0)
            fn(*args)


class Parts:
    def __init__(self) -> None:
        self.executor = Manual()
        self.errors: list[tuple[BaseException, Any]] = []
        self.dispatcher = Dispatcher(
            executor=self.executor, on_error=lambda e, key: self.errors.append((e, key))
        )
        self.control = ControlLoop()
        token = ".".join(
            _b64(part) for part in ({"alg": "none"}, {"sub": "t", "exp": 4102444800})
        ) + ".sig"  # fmt: skip
        self.session = DataSession(
            name="ws", send=lambda data: None, reconnect=lambda reason: True,
            tokens=StaticTokenProvider(token), dispatcher=self.dispatcher, control=self.control,
            hooks=SessionHooks(on_error=lambda e, g: self.errors.append((e, g)),
                               on_gap=self._gap, on_resubscribed=self._resubscribed),
            lossless_limit=100,
        )  # fmt: skip

    def _gap(self, notice: GapNotice) -> None:
        raise AssertionError(f"unexpected gap {notice}")

    def _resubscribed(self, report: ResubscribeReport) -> None:
        raise AssertionError(f"unexpected report {report}")

    def subscribe(
        self, opcode: Opcode, items: list[Any], *, conflate: bool = True, **params: Any
    ) -> Subscription:
        request = subscription_request(opcode, DataSession.new_guid(), **params)
        return self.session.subscribe(
            opcode, Format(request["format"]), request, items.append, raw=False,
            conflate=conflate,
        )  # fmt: skip

    def feed(self, *texts: str) -> None:
        for text in texts:
            self.session.on_frame(text)
        self.session.on_frames_done()


def _b64(value: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture
def parts() -> Iterator[Parts]:
    made = Parts()
    yield made
    made.dispatcher.close(timeout=5)


def quote_frame(guid: str, price: float) -> str:
    data = {"symbol": "SBER", "exchange": "MOEX", "last_price": price}
    return '{ "data": ' + json.dumps(data) + ', "guid":"' + guid + '" }'


def test_a_superseded_malformed_frame_is_still_reported(parts: Parts) -> None:
    quotes: list[Quote] = []
    sub = parts.subscribe(Opcode.QUOTES, quotes, code="SBER", exchange="MOEX")
    broken = '{ "data": {"symbol": "SB, "guid":"' + sub.guid + '" }'
    parts.feed(quote_frame(sub.guid, 1.0), broken, quote_frame(sub.guid, 3.0))
    # Nothing ran yet: the broken frame was superseded, parsed on the way out and reported.
    assert [type(e) for e, _ in parts.errors] == [MalformedFrameError]
    assert parts.errors[0][1] == sub.guid
    parts.executor.run_all()
    assert [q.last_price for q in quotes] == [3.0]
    stats = sub.statistics()
    assert (stats.received, stats.delivered, stats.conflated) == (3, 1, 2)
    assert parts.session.malformed_frames == 1


def test_every_frame_of_a_lossless_stream_is_parsed_by_its_worker(parts: Parts) -> None:
    books: list[OrderBook] = []
    sub = parts.subscribe(Opcode.ORDER_BOOK, books, code="SBER", exchange="MOEX", conflate=False)
    good = '{ "data": {"bids":[{"price":1.5,"volume":2}],"asks":[]}, "guid":"' + sub.guid + '" }'
    wrong = '{ "data": {"bids":"none","asks":[]}, "guid":"' + sub.guid + '" }'
    parts.feed(good, "{ broken" + good[1:], wrong, good)
    assert parts.errors == []  # nothing is parsed on the network thread
    parts.executor.run_all()
    assert [b.bids.prices for b in books] == [(1.5,), (1.5,)]
    kinds = [type(e) for e, _ in parts.errors]
    assert kinds == [MalformedFrameError, DecodeError]
    assert isinstance(parts.errors[0][0], MalformedFrameError)
    assert parts.errors[0][0].guid == sub.guid  # set where raised: hooks keep the type
    assert sub.statistics().delivered == 4 and parts.session.malformed_frames == 1


def test_frames_the_tail_scan_cannot_route_still_arrive(parts: Parts) -> None:
    quotes: list[Quote] = []
    sub = parts.subscribe(Opcode.QUOTES, quotes, code="SBER", exchange="MOEX")
    data = {"symbol": "SBER", "last_price": 2.5}
    parts.feed(json.dumps({"guid": sub.guid, "data": data}))  # guid first
    parts.feed(json.dumps({"data": data, "guid": "nobody"}))
    parts.executor.run_all()
    assert [q.last_price for q in quotes] == [2.5]
    assert parts.session.unrouted_frames == 1 and parts.errors == []


# ------------------------------------------------------------ dispatcher: batched hand-over


def test_deliver_later_holds_the_drain_until_submit_later() -> None:
    executor = Manual()
    dispatcher = Dispatcher(executor=executor)
    seen: list[Any] = []
    lossless = dispatcher.add_route("a", handler=seen.append, policy=OverflowPolicy.LOSSLESS)
    later: list[Route] = []
    assert [dispatcher.deliver(lossless, n, later) for n in range(3)] == [0, 2, 3]
    assert later == [lossless] and executor.calls == []  # one drain owed, none submitted
    dispatcher.submit_later(later)
    assert later == [] and len(executor.calls) == 1
    executor.run_all()
    assert seen == [0, 1, 2]
    dispatcher.close(timeout=5)


def test_a_replaced_latest_wins_item_goes_to_on_replaced_but_never_a_gap() -> None:
    executor = Manual()
    dispatcher = Dispatcher(executor=executor)
    seen: list[Any] = []
    replaced: list[Any] = []
    route = dispatcher.add_route(
        "b", handler=seen.append, policy=OverflowPolicy.LATEST_WINS, on_replaced=replaced.append
    )
    for item in ("first", "second", "third"):
        assert dispatcher.deliver(route, item) == 0
    assert replaced == ["first", "second"]  # nothing ran yet: each was superseded in turn
    executor.run_all()
    assert seen == ["third"] and route.statistics().conflated == 2
    dispatcher.report_gap(route, reason="test")  # a gap is a barrier, never "replaced"
    dispatcher.deliver(route, "fourth")
    dispatcher.deliver(route, "fifth")
    assert replaced == ["first", "second", "fourth"]
    executor.run_all()
    assert seen == ["third", "fifth"]
    dispatcher.close(timeout=5)


def test_a_deep_lossless_queue_makes_the_network_thread_pause_once_per_read(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("alor_sync.data.session.time.sleep", pauses.append)
    books: list[OrderBook] = []
    sub = parts.subscribe(Opcode.ORDER_BOOK, books, code="SBER", exchange="MOEX", conflate=False)
    book = '{ "data": {"bids":[],"asks":[]}, "guid":"' + sub.guid + '" }'
    parts.feed(*[book] * 24)  # the limit is 100: a quarter is 25
    assert pauses == []
    parts.feed(book)
    parts.feed(book, book)
    assert pauses == [0.001, 0.001]  # one pause per read while the queue stays deep
    parts.executor.run_all()
    parts.feed(book)
    assert pauses == [0.001, 0.001] and len(books) == 27


def test_a_reads_frames_come_before_what_a_confirmation_later_in_it_posts(parts: Parts) -> None:
    events: list[Any] = []
    parts.session.on_open()  # connected: the request leaves now and waits for its reply
    request = subscription_request(
        Opcode.ORDER_BOOK, DataSession.new_guid(), code="SBER", exchange="MOEX", format="Simple"
    )
    sub = parts.session.subscribe(
        Opcode.ORDER_BOOK, Format.SIMPLE, request, events.append, raw=True, conflate=False,
        on_state=lambda change: events.append(change.state.value),
    )  # fmt: skip
    parts.executor.run_all()
    events.clear()
    book = '{ "data": {"n": %d}, "guid":"' + sub.guid + '" }'
    confirmation = '{"requestGuid":"' + sub.guid + '","httpCode":200,"message":"Handled"}'
    parts.feed(book % 1, book % 2, confirmation, book % 3)  # one socket read
    parts.executor.run_all()
    assert events == [{"n": 1}, {"n": 2}, "active", {"n": 3}] and parts.errors == []
    stats = sub.statistics()
    assert (stats.received, stats.delivered) == (3, 3)
