"""Candidate typed decode paths, measured against each other: ``python benchmarks/decode_paths.py``.

One thread, no socket: whole data frames (the sender's depth-20 books and quotes, as bytes
arrive on the worker) -> typed model, per candidate. CPU time of this thread (``thread_time``),
not wall time, so that the other work on a shared machine inflates the figures less; each
figure is the median of ``--repeats`` runs, interleaved (every candidate once per repeat), and
the spread (min-max) is printed too.

Rules of this module:

* Candidates use the library's own builders wherever they exist, so what is measured is what
  ships (``general``, ``one-pass``) or what it is made of (``*-only`` floors).
* Every candidate is checked to give a model equal to the general path's before it is timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
import orjson  # noqa: E402

from alor_sync.codec import wire_tables  # noqa: E402
from alor_sync.codec.converter import decoder_for, frame_decoder_for  # noqa: E402
from alor_sync.codec.struct_decoding import frame_decoder  # noqa: E402
from alor_sync.models import BookSide, OrderBook  # noqa: E402
from alor_sync.protocol.frames import data_payload  # noqa: E402
from benchmarks.payloads import build_kind  # noqa: E402

__all__ = ["candidates", "main", "measure"]

GUID = "bench-0"
Candidate = Callable[[bytes], Any]
SHIPPED = "one-pass (ships): structs, book sides keep the rows"
EAGER = "one-pass, sides gather their columns at once (before)"


def frames_of(kind_name: str) -> list[bytes]:
    kind = build_kind(kind_name)
    return [
        b'{"data":' + kind.payload(n, 1_700_000_000_000 + n) + b',"guid":"' + GUID.encode() + b'"}'
        for n in range(len(kind.variants))
    ]


def candidates(kind_name: str, exact: bool) -> dict[str, Candidate]:
    """name -> decode(frame bytes); ``general`` is the reference every other one must equal."""
    kind = build_kind(kind_name)
    opcode, fmt = kind.opcode.value, kind.format.value
    payload_decoder = decoder_for(opcode, fmt, exact=exact)
    one_pass = frame_decoder_for(opcode, fmt, exact=exact)
    untyped = msgspec.json.Decoder().decode
    found: dict[str, Candidate] = {
        "general: orjson dict + generated decoder": lambda raw: payload_decoder(
            data_payload(raw, GUID)
        ),
        SHIPPED: lambda raw: one_pass(raw, GUID),
        EAGER: _variant(kind, exact, "columns", "slots", "comprehension"),
        "one-pass, columns at once, BookSide(...)": _variant(
            kind, exact, "columns", "init", "comprehension"
        ),
        "one-pass, columns at once by one loop a side": _variant(
            kind, exact, "columns", "slots", "loop"
        ),
        "msgspec dict + generated decoder": lambda raw: payload_decoder(untyped(raw)["data"]),
        "floor: orjson.loads only": orjson.loads,
        "floor: msgspec structs only (no model)": _struct_only(one_pass),
    }
    if kind.opcode.value.startswith("OrderBook"):
        book = found["general: orjson dict + generated decoder"](frames_of(kind_name)[0])
        sides = (tuple(book.bids.prices), tuple(book.bids.volumes))
        found["models only: OrderBook + 2 BookSide from ready columns"] = lambda raw: OrderBook(
            BookSide(*sides), BookSide(*sides), 1, False, False, 2
        )
        for decoder, label in ((SHIPPED, "ships"), (EAGER, "before")):
            for use_name, use in READS.items():
                found[f"one-pass ({label}) {use_name}"] = _reading(found[decoder], use)
    return found


def _nothing(book: Any) -> Any:
    return book


def _best(book: Any) -> Any:
    book.best_bid  # noqa: B018 - what a typical callback reads
    book.best_ask  # noqa: B018
    return book


def _columns(book: Any) -> Any:
    for side in (book.bids, book.asks):
        side.prices  # noqa: B018 - the worst case: every column of the book
        side.volumes  # noqa: B018
        side.yields  # noqa: B018
    return book


READS: dict[str, Callable[[Any], Any]] = {
    "(a) + nothing read": _nothing,
    "(b) + best bid and ask": _best,
    "(c) + every column": _columns,
}
"""What a callback does with the book: one Python call each (a no-op in (a)), so the rows differ
only by what is read: sides that keep their rows make (b) and (c) differ."""


def _reading(decode: Candidate, use: Callable[[Any], Any]) -> Candidate:
    return lambda raw: use(decode(raw))


def _variant(kind: Any, exact: bool, sides: str, construct: str, columns: str) -> Candidate:
    """The one-pass decoder built another way (same structs, other construction code)."""
    model, rows = wire_tables.STREAMS[kind.opcode.value]
    decode = frame_decoder(
        model,
        wire_tables.field_names(rows, kind.format),
        wire_tables.field_names(wire_tables.LEVEL, kind.format),
        exact=exact,
        fallback=_no_fallback,
        sides=sides,
        construct=construct,
        columns=columns,
    )
    return lambda raw: decode(raw, GUID)


def _no_fallback(raw: Any, guid: str) -> Any:
    raise AssertionError("a benchmark frame went to the general path")


def _struct_only(one_pass: Any) -> Candidate:
    """The one-pass decoder's own msgspec decode of the frame, without building the model."""
    decode_frame: Candidate = one_pass.__globals__["decode_frame"]
    return decode_frame


def measure(fn: Candidate, frames: Sequence[bytes], loops: int) -> float:
    """CPU microseconds per frame of ``fn`` over ``loops`` frames (cycling through ``frames``)."""
    count = len(frames)
    started = time.thread_time_ns()
    for n in range(loops):
        fn(frames[n % count])
    return (time.thread_time_ns() - started) / loops / 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--loops", type=int, default=20_000)
    parser.add_argument("--kinds", nargs="+", default=["book-simple", "book-slim", "quotes-simple"])
    args = parser.parse_args(argv)
    for kind_name in args.kinds:
        frames = frames_of(kind_name)
        for exact in (False, True):
            found = candidates(kind_name, exact)
            reference = found["general: orjson dict + generated decoder"]
            for name, fn in found.items():
                if not name.startswith(("floor", "models")):
                    # repr too: == alone takes Decimal("257") == 257.0
                    assert all(repr(fn(raw)) == repr(reference(raw)) for raw in frames), name
                    assert all(fn(raw) == reference(raw) for raw in frames), name
            runs: dict[str, list[float]] = {name: [] for name in found}
            for _ in range(args.repeats):
                for name, fn in found.items():
                    runs[name].append(measure(fn, frames, args.loops))
            print(f"\n{kind_name}, {'exact (Decimal)' if exact else 'float'}:")
            for name, values in runs.items():
                print(
                    f"  {name:58s} {statistics.median(values):6.2f} us"
                    f"  (min {min(values):.2f}, max {max(values):.2f})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
