"""The frames the benchmark sends: realistic payloads from the emulator's market, pre-serialised.

Rules of this module:

* Payloads come from the emulator's own market and wire code (``alor_sync.emulator``), so they
  have production's field names, key order and number spellings; nothing here invents a format.
* Every kind has several variants (the market moved between them) so that no run decodes the
  same bytes over and over; the variants of one kind have (nearly) the same size.
* A payload may carry a *stamp*: an integer field the sender overwrites per frame. For order books
  it is the book's millisecond timestamp field, which the benchmark fills with the send time in
  **microseconds** since the epoch (``time.time_ns() // 1000``); an ``END`` stamp marks the last
  frame of a subscription in a throughput run.
"""

from __future__ import annotations

import time

import attrs

from alor_sync.emulator import wire_market
from alor_sync.emulator.market import Market
from alor_sync.wire import Format, Opcode

__all__ = ["END_STAMP", "KINDS", "Kind", "build_kind"]

END_STAMP = 1  # the stamp of a subscription's last frame in a throughput run (never a real time)
_VARIANTS = 8
_DEPTH = 20
_PLACEHOLDER = 4_102_444_800_000  # 2100-01-01 in ms: a value no real stamp collides with


@attrs.frozen
class Kind:
    """One stream and format as the sender serves it.

    ``opcode``/``format``: what the client subscribes to; ``variants``: payloads with their stamp
    field split out (``head + str(stamp) + tail``), or no split (``tail`` empty) when the kind has
    no stamp field.
    """

    name: str
    opcode: Opcode
    format: Format
    variants: tuple[tuple[bytes, bytes], ...]

    def payload(self, variant: int, stamp: int | None) -> bytes:
        """Variant ``variant`` with ``stamp`` in its stamp field (None: a fixed made-up time)."""
        head, tail = self.variants[variant % len(self.variants)]
        if not tail:
            return head
        return head + str(_PLACEHOLDER if stamp is None else stamp).encode() + tail

    @property
    def size(self) -> int:
        return len(self.payload(0, _PLACEHOLDER))


def _split(payload: bytes, marker: bytes) -> tuple[bytes, bytes]:
    head, found, tail = payload.partition(marker)
    if not found:
        return payload, b""
    return head, tail


def build_kind(name: str) -> Kind:
    """The variants of kind ``name`` (one of :data:`KINDS`)."""
    opcode, fmt = KINDS[name]
    market = Market(seed=11, clock=time.time)
    state = market.lookup("MOEX", "SBER")
    assert state is not None
    variants = []
    for _ in range(_VARIANTS):
        market.step()
        state.book_ms = _PLACEHOLDER
        if opcode is Opcode.ORDER_BOOK:
            payload = wire_market.order_book(state, _DEPTH, fmt, False)
        else:
            payload = wire_market.quote(state, fmt)
        variants.append(_split(payload, str(_PLACEHOLDER).encode()))
    return Kind(name, opcode, fmt, tuple(variants))


KINDS: dict[str, tuple[Opcode, Format]] = {
    "book-simple": (Opcode.ORDER_BOOK, Format.SIMPLE),
    "book-slim": (Opcode.ORDER_BOOK, Format.SLIM),
    "quotes-simple": (Opcode.QUOTES, Format.SIMPLE),
}
