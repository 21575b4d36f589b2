"""Book sides that keep the decoded rows behave exactly like sides built from columns.

The one-pass decoder builds each :class:`BookSide` with only its rows and no columns; every way
a user can look at a side (index, iterate, compare, hash, print, pickle, copy) must give what a
side built from columns gives, in value and in type, and a side shared between threads must
fill its columns correctly whoever touches it first.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from alor_sync.codec import wire_tables
from alor_sync.codec.converter import frame_decoder_for
from alor_sync.codec.struct_decoding import frame_decoder
from alor_sync.models import BookSide, OrderBook
from alor_sync.models.market import SideColumns
from alor_sync.wire import Format
from tests.client_helpers import WAIT
from tests.test_frame_decoding import _types

SAMPLES = sorted((Path(__file__).resolve().parent / "samples").glob("OrderBook*.data.json"))
OPCODE = "OrderBookGetAndSubscribe"


def _refusing(raw: Any, guid: str) -> Any:
    raise AssertionError("the general path was taken")


def _decoders(path: Path, exact: bool) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(lazy, eager): fresh decodes of the sample, through the shipped decoder and through the
    same structs building columns at once."""
    frame = orjson.loads(path.read_bytes())
    raw, guid = orjson.dumps({**frame, "data": _deeper(frame["data"])}), frame["guid"]
    fmt = Format(path.name.split(".")[1])
    lazy = frame_decoder_for(OPCODE, fmt.value, exact=exact)
    model, rows = wire_tables.STREAMS[OPCODE]
    eager = frame_decoder(
        model,
        wire_tables.field_names(rows, fmt),
        wire_tables.field_names(wire_tables.LEVEL, fmt),
        exact=exact,
        fallback=_refusing,
        sides="columns",
    )
    return lambda: lazy(raw, guid), lambda: eager(raw, guid)


def _deeper(data: dict[str, Any], depth: int = 5) -> dict[str, Any]:
    """The sample's book with ``depth`` levels a side (each number moved on by the level's
    rank; every other level without its yield, where the format has one)."""
    out = dict(data)
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out[key] = [_level(value[0], rank) for rank in range(depth)]
    return out


def _level(level: dict[str, Any], rank: int) -> dict[str, Any]:
    moved = {k: v + rank if isinstance(v, int) else v + rank / 4 for k, v in level.items()}
    if rank % 2 and len(level) > 2:
        moved[next(k for k in level if k.startswith("y"))] = None
    return moved


def _columns_built(side: BookSide[Any]) -> bool:
    return type(inspect.getattr_static(BookSide, "_data").__get__(side, BookSide)) is SideColumns


def _identical(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down and the same repr."""
    return bool(a == b) and _types(a) == _types(b) and repr(a) == repr(b)


def _error(action: Callable[[], Any]) -> tuple[type[BaseException], str]:
    try:
        action()
    except Exception as exc:
        return type(exc), str(exc)
    raise AssertionError("no error")


_READS: dict[str, Callable[[BookSide[Any]], Any]] = {
    "len": len,
    "bool": bool,
    "first": lambda s: s[0],
    "last": lambda s: s[-1],
    "every index": lambda s: [s[i] for i in range(len(s))],
    "iteration": list,
    "iterator type": lambda s: type(iter(s)),
    "unpacking": lambda s: [(p, v, y) for p, v, y in s],
    "reversed": lambda s: list(reversed(s)),
    "contains": lambda s: s[-1] in s,
    "index": lambda s: s.index(s[-1]),
    "count": lambda s: s.count(s[0]),
    "slice": lambda s: s[1:4],
    "empty slice": lambda s: s[:0],
    "reverse slice": lambda s: s[::-1],
    "index of another int type": lambda s: s[False],
    "prices": lambda s: s.prices,
    "volumes": lambda s: s.volumes,
    "yields": lambda s: s.yields,
    "columns twice": lambda s: (s.yields, s.prices, s.volumes, s.prices),
    "repr": repr,
    "hash": hash,
    "pickle": lambda s: pickle.loads(pickle.dumps(s)),
    "pickle then read": lambda s: list(pickle.loads(pickle.dumps(s))),
    "copy": copy.copy,
    "copy then index": lambda s: copy.copy(s)[0],
    "deepcopy": copy.deepcopy,
    "rebuilt from its columns": lambda s: BookSide(s.prices, s.volumes, s.yields),
    "best": lambda s: s.best(),
    "set an attribute": lambda s: _error(lambda: setattr(s, "prices", ())),
    "out of range": lambda s: _error(lambda: s[100]),
    "negative out of range": lambda s: _error(lambda: s[-100]),
    "bad index": lambda s: _error(lambda: s["x"]),  # type: ignore[call-overload]
    "unknown attribute": lambda s: _error(lambda: s.depth),  # type: ignore[attr-defined]
}


@pytest.mark.parametrize("read", _READS.values(), ids=_READS.keys())
@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_a_side_that_keeps_rows_reads_like_one_built_from_columns(
    path: Path, exact: bool, read: Callable[[BookSide[Any]], Any]
) -> None:
    lazy, eager = _decoders(path, exact)
    for name in ("bids", "asks"):
        kept, built = getattr(lazy(), name), getattr(eager(), name)
        assert not _columns_built(kept)  # what is read is the rows-only side
        assert _columns_built(built)
        assert _identical(read(kept), read(built))


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_books_of_kept_rows_compare_hash_print_and_pickle_alike(path: Path, exact: bool) -> None:
    lazy, eager = _decoders(path, exact)
    assert isinstance(lazy(), OrderBook)
    for read in (repr, hash, attrs.asdict, lambda b: pickle.loads(pickle.dumps(b))):
        assert _identical(read(lazy()), read(eager()))
    assert _identical(lazy(), eager())
    assert {lazy(), eager()} == {eager()}
    assert _identical((lazy().best_bid, lazy().best_ask), (eager().best_bid, eager().best_ask))


def test_reading_levels_does_not_build_the_columns_and_the_columns_build_once() -> None:
    lazy, _ = _decoders(SAMPLES[0], exact=False)
    side = lazy().bids
    assert (len(side), bool(side), side[0], side[-1], list(side)) and not _columns_built(side)
    prices = side.prices
    assert _columns_built(side) and side.prices is prices
    assert list(side) == list(zip(prices, side.volumes, [None] * len(side), strict=True))


def test_a_side_is_built_from_its_columns_and_keeps_no_dict() -> None:
    assert list(inspect.signature(BookSide).parameters) == ["prices", "volumes", "yields"]
    side = BookSide((1.0,), (2,))
    assert _columns_built(side) and not hasattr(side, "__dict__")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        side.prices = ()  # type: ignore[misc]
    assert side.best() == (1.0, 2, None) and BookSide().best() is None


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    """Switch threads as often as the interpreter can, so that first accesses interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


_THREAD_READS: list[Callable[[BookSide[Any]], Any]] = [
    lambda s: s.prices,
    lambda s: s.yields,
    lambda s: (s.volumes, s.prices),
    hash,
    repr,
    lambda s: s[0],
    list,
    lambda s: pickle.loads(pickle.dumps(s)),
]


@pytest.mark.usefixtures("fast_thread_switches")
@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
def test_threads_that_first_touch_a_shared_side_together_all_read_the_same(exact: bool) -> None:
    lazy, eager = _decoders(SAMPLES[-1], exact)  # Slim bonds: yields too
    reference = eager()
    books = [lazy() for _ in range(300)]
    start = threading.Barrier(len(_THREAD_READS))
    seen: dict[int, list[Any]] = {}

    def reader(n: int) -> None:
        start.wait(WAIT)
        seen[n] = [_THREAD_READS[n](side) for book in books for side in (book.bids, book.asks)]

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(len(_THREAD_READS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(seen) == list(range(len(_THREAD_READS)))
    for n, values in seen.items():
        expected = [_THREAD_READS[n](side) for side in (reference.bids, reference.asks)]
        assert all(_identical(v, expected[k % 2]) for k, v in enumerate(values)), n
    assert all(_identical(book, reference) for book in books)
