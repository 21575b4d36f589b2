"""Pure rendering: a :class:`MarketSnapshot` and a terminal size in, lines of text out.

Rules of this module:

* No I/O, no clocks except for formatting times, no terminal queries: the caller passes the size,
  so every layout is testable with plain strings.
* A line is a tuple of ``(style, text)`` segments; :func:`paint` turns it into a string no wider
  than the terminal, with ANSI colours only when asked. Styles never change the text's width.
* Layout degrades in steps: side-by-side tape when wide, tape below the book when tall, then no
  chart, then a two-line summary for very small terminals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from alor_sync.cli.terminal.state import MarketSnapshot
from alor_sync.models import AllTrade, Bar, BookSide, Number

__all__ = ["Line", "paint", "render_line", "render_screen"]

Segment = tuple[str, str]
Line = tuple[Segment, ...]

_RESET = "\x1b[0m"
_STYLES = {
    "bid": "\x1b[32m",
    "ask": "\x1b[31m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
    "title": "\x1b[1;36m",
}
_EIGHTHS = " ▏▎▍▌▋▊▉█"  # horizontal volume bars, 1/8 cell resolution
_LEVELS = " ▁▂▃▄▅▆▇█"  # vertical chart cells, 1/8 cell resolution
_TRADES_WIDTH = 34  # width of the tape column when it sits beside the book
_MIN_WIDTH, _MIN_HEIGHT = 40, 8


def paint(line: Line, width: int, color: bool) -> str:
    """``line`` as text cut to ``width`` characters, coloured with ANSI codes when ``color``."""
    parts: list[str] = []
    room = width
    for style, text in line:
        if room <= 0:
            break
        text = text[:room]
        room -= len(text)
        code = _STYLES.get(style) if color else None
        parts.append(f"{code}{text}{_RESET}" if code and text else text)
    return "".join(parts)


def _width(line: Line) -> int:
    return sum(len(text) for _, text in line)


def _fit(line: Line, width: int) -> Line:
    """``line`` cut or padded with spaces to exactly ``width`` characters."""
    out: list[Segment] = []
    room = width
    for style, text in line:
        if room <= 0:
            break
        out.append((style, text[:room]))
        room -= min(len(text), room)
    if room > 0:
        out.append(("", " " * room))
    return tuple(out)


def _justify(left: Line, right: Line, width: int) -> Line:
    """``left`` and ``right`` on one line, ``right`` flush with the right edge when it fits."""
    gap = width - _width(left) - _width(right)
    return (*left, ("", " " * gap), *right) if gap >= 1 else left


# ---------------------------------------------------------------------------- numbers and times


def _decimals(value: Number) -> int:
    text = f"{value:.6f}".rstrip("0")
    return len(text) - text.index(".") - 1


def price_formatter(values: Sequence[Number]) -> Callable[[Number | None], str]:
    """A formatter showing every price with the decimals the most precise one needs (max 6)."""
    places = max((_decimals(v) for v in values), default=2)

    def fmt(value: Number | None) -> str:
        return "-" if value is None else f"{value:,.{places}f}".replace(",", " ")

    return fmt


def _local_time(ms: int | None) -> str:
    if ms is None:
        return "--:--:--"
    return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")


def _side_letter(trade: AllTrade) -> str:
    side = trade.side
    text = str(getattr(side, "value", side) or "")
    return text[:1].upper() or "?"


# ---------------------------------------------------------------------------- sections


def _header(snap: MarketSnapshot, width: int, fmt: Callable[[Number | None], str]) -> list[Line]:
    quote = snap.quote
    title: Line = (("title", f" {snap.symbol} "), ("dim", f"{snap.exchange}  "))
    if quote is not None and quote.description:
        title += (("", quote.description),)
    clock = ("dim", datetime.now().strftime("%H:%M:%S "))
    status: Line = ((("dim", f"{snap.status}  "),) if snap.status else ()) + (clock,)
    first = _justify(title, status, width)
    if quote is None:
        return [first, (("dim", " waiting for the first quote..."),)]
    change = quote.change_percent
    trend = "bid" if change is not None and change >= 0 else "ask"
    second: Line = (
        ("", " last "),
        ("bold", fmt(quote.last_price)),
        (trend, "" if change is None else f"  {change:+.2f}%"),
        ("", "   bid "),
        ("bid", f"{fmt(quote.bid)} x {quote.bid_volume or 0}"),
        ("", "   ask "),
        ("ask", f"{fmt(quote.ask)} x {quote.ask_volume or 0}"),
        ("dim", f"   high {fmt(quote.high_price)}  low {fmt(quote.low_price)}"),
    )
    return [first, second]


def _volume_bar(volume: int, largest: int, width: int) -> str:
    if largest <= 0 or width <= 0:
        return ""
    eighths = round(volume / largest * width * 8)
    full, rest = divmod(max(eighths, 1 if volume > 0 else 0), 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def _book(
    snap: MarketSnapshot, levels: int, width: int, fmt: Callable[[Number | None], str]
) -> list[Line]:
    book = snap.book
    title: Line = (("bold", " ORDER BOOK"), ("dim", f"  {levels} levels, {snap.books} updates"))
    if book is None:
        return [title, (("dim", " waiting for the first order book..."),)]
    asks, bids = book.asks[:levels], book.bids[:levels]
    largest = max((*asks.volumes, *bids.volumes), default=0)
    price_width = max((len(fmt(p)) for p in (*asks.prices, *bids.prices)), default=6) + 1
    bar_width = max(0, width - price_width - 11)

    def row(side: BookSide, index: int, style: str) -> Line:
        if index >= len(side):
            return (("", ""),)
        level = side[index]
        bar = _volume_bar(level.volume, largest, bar_width)
        return ((style, f"{fmt(level.price):>{price_width}} {level.volume:>8}  "), (style, bar))

    lines = [title]
    lines += [row(asks, i, "ask") for i in reversed(range(levels))]
    best_ask, best_bid = book.best_ask, book.best_bid
    spread = ""
    if best_ask is not None and best_bid is not None:
        spread = fmt(float(best_ask.price) - float(best_bid.price))
    lines.append((("dim", f"{'':>{price_width}} {'spread':>8}  {spread}"),))
    lines += [row(bids, i, "bid") for i in range(levels)]
    return lines


def _tape(snap: MarketSnapshot, rows: int, fmt: Callable[[Number | None], str]) -> list[Line]:
    lines: list[Line] = [(("bold", "LAST TRADES"),)]
    for trade in snap.trades[: max(0, rows - 1)]:
        style = "bid" if _side_letter(trade) == "B" else "ask"
        text = (
            f"{_local_time(trade.timestamp_ms)} {_side_letter(trade)} "
            f"{fmt(trade.price):>12} {trade.quantity or 0:>6}"
        )
        lines.append(((style, text),))
    if len(lines) == 1:
        lines.append((("dim", "waiting for trades..."),))
    return lines


def chart_cells(values: Sequence[float], rows: int) -> list[str]:
    """A block chart of ``values`` (one column each), ``rows`` high, top row first."""
    if not values or rows <= 0:
        return []
    low, high = min(values), max(values)
    steps = rows * 8
    heights = [
        steps // 2 if high == low else 1 + round((v - low) / (high - low) * (steps - 1))
        for v in values
    ]
    return [
        "".join(_LEVELS[min(8, max(0, h - r * 8))] for h in heights) for r in reversed(range(rows))
    ]


def _chart(
    bars: Sequence[Bar], rows: int, width: int, label: str, fmt: Callable[[Number | None], str]
) -> list[Line]:
    if rows <= 0:
        return []
    if not bars:
        return [(("bold", f" PRICE {label}"), ("dim", "  waiting for bars..."))]
    high = fmt(max(b.high for b in bars))
    low = fmt(min(b.low for b in bars))
    axis = max(len(high), len(low)) + 2
    shown = bars[-max(1, width - axis - 1) :]
    closes = [float(b.close) for b in shown]
    style = "bid" if closes[-1] >= closes[0] else "ask"
    title: Line = (
        ("bold", f" PRICE {label}"),
        ("dim", f"  {len(shown)} bars, close {fmt(shown[-1].close)}"),
    )
    cells = chart_cells(closes, rows)
    lines = [title]
    for i, cells_row in enumerate(cells):
        tick = fmt(max(closes)) if i == 0 else fmt(min(closes)) if i == rows - 1 else ""
        lines.append((("dim", f"{tick:>{axis - 1}} "), (style, cells_row)))
    return lines


# ---------------------------------------------------------------------------- screens


def _formatter(snap: MarketSnapshot) -> Callable[[Number | None], str]:
    values: list[Number] = []
    if snap.book is not None:
        values += [*snap.book.bids.prices[:5], *snap.book.asks.prices[:5]]
    if snap.quote is not None and snap.quote.last_price is not None:
        values.append(snap.quote.last_price)
    return price_formatter(values)


def _compact(snap: MarketSnapshot) -> list[Line]:
    """Very small terminals: the one-line summary, one part per line."""
    return [(("", part),) for part in render_line(snap).split(" | ")]


def render_screen(
    snap: MarketSnapshot, width: int, height: int, *, levels: int = 10, chart_label: str = ""
) -> list[Line]:
    """One full frame: header, book (with the tape beside or below it), chart and a hint.

    Returns at most ``height`` lines, each meant to be painted at ``width`` columns.
    """
    if width < _MIN_WIDTH or height < _MIN_HEIGHT:
        return _compact(snap)[:height]
    fmt = _formatter(snap)
    rule: Line = (("dim", "─" * width),)
    header = _header(snap, width, fmt)
    chart_rows = 4 if height >= 32 else 2 if height >= 22 else 0
    fixed = len(header) + 3 + (2 + chart_rows if chart_rows else 0) + 2  # rules, titles, hint
    shown = max(1, min(levels, (height - fixed) // 2))
    side_by_side = width >= 42 + _TRADES_WIDTH
    book_width = width - _TRADES_WIDTH - 3 if side_by_side else width
    body = _book(snap, shown, book_width, fmt)
    if side_by_side:
        tape = _tape(snap, len(body), fmt)
        tape += [(("", ""),)] * (len(body) - len(tape))
        body = [
            (*_fit(left, book_width), ("dim", " │ "), *right)
            for left, right in zip(body, tape, strict=True)
        ]
    chart = _chart(snap.bars, chart_rows, width, chart_label, fmt)
    lines = [*header, rule, *body]
    spare = height - len(lines) - (len(chart) + 1 if chart else 0) - 1
    if not side_by_side and spare >= 3:
        lines += [rule, *_tape(snap, spare - 1, fmt)]
    if chart:
        lines += [rule, *chart]
    lines.append((("dim", " Ctrl+C to quit"),))
    return lines[:height]


def render_line(snap: MarketSnapshot) -> str:
    """One plain line (no colours) summarising the state: the non-terminal fallback."""
    fmt = _formatter(snap)
    parts = [datetime.now().strftime("%H:%M:%S"), f"{snap.exchange}:{snap.symbol}"]
    book = snap.book
    if book is None:
        parts.append("waiting for the order book")
    else:
        bid, ask = book.best_bid, book.best_ask
        parts.append("bid " + ("-" if bid is None else f"{fmt(bid.price)} x {bid.volume}"))
        parts.append("ask " + ("-" if ask is None else f"{fmt(ask.price)} x {ask.volume}"))
        parts.append(f"depth {len(book.bids)}/{len(book.asks)}")
    if snap.quote is not None:
        parts.append(f"last {fmt(snap.quote.last_price)}")
    if snap.trades:
        last = snap.trades[0]
        parts.append(f"trade {_side_letter(last)} {fmt(last.price)} x {last.quantity or 0}")
    if snap.bars:
        parts.append(f"bars {len(snap.bars)} close {fmt(snap.bars[-1].close)}")
    if snap.status:
        parts.append(snap.status)
    return " | ".join(parts)
