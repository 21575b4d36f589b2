"""Where frames go: redrawn in place on a terminal, or one line at a time anywhere else.

Rules of this module:

* The only module that writes ANSI control sequences. Entering hides the cursor and switches to
  the terminal's alternate screen; leaving always shows the cursor and switches back, also when
  the view ends with an exception or Ctrl+C.
* Not thread-safe on purpose: one thread (the CLI's main thread) owns the screen.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from types import TracebackType
from typing import TextIO

from alor_sync.cli.terminal.render import Line, paint

__all__ = ["Screen"]

_ENTER = "\x1b[?1049h\x1b[?25l"  # alternate screen on, cursor hidden
_LEAVE = "\x1b[?25h\x1b[?1049l"  # cursor shown, alternate screen off
_HOME = "\x1b[H"
_CLEAR_LINE = "\x1b[K"
_CLEAR_BELOW = "\x1b[J"


def _is_tty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


class Screen:
    """Draws frames on ``out`` (owned by one thread).

    ``interactive`` (default: ``out`` is a terminal) selects in-place redrawing; otherwise
    :meth:`draw` is not used and callers print lines with :meth:`print_line`. ``color`` defaults
    to interactive and no ``NO_COLOR`` in the environment (https://no-color.org).
    """

    def __init__(
        self, out: TextIO, *, interactive: bool | None = None, color: bool | None = None
    ) -> None:
        self.out = out
        self.interactive = _is_tty(out) if interactive is None else interactive
        if color is None:
            color = self.interactive and not os.environ.get("NO_COLOR")
        self.color = color
        self._entered = False

    def size(self) -> tuple[int, int]:
        """Columns and rows of the terminal now (it may have been resized)."""
        columns, rows = shutil.get_terminal_size()
        return max(columns, 1), max(rows, 1)

    def __enter__(self) -> Screen:
        if self.interactive:
            self.out.write(_ENTER)
            self.out.flush()
            self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._entered:
            self._entered = False
            self.out.write(_LEAVE)
            self.out.flush()

    def draw(self, lines: Sequence[Line], width: int) -> None:
        """Replace the screen's content with ``lines`` (in place, no scrolling, no flicker)."""
        text = f"{_CLEAR_LINE}\n".join(paint(line, width, self.color) for line in lines)
        self.out.write(f"{_HOME}{text}{_CLEAR_LINE}{_CLEAR_BELOW}")
        self.out.flush()

    def print_line(self, text: str) -> None:
        """Append one plain line (the non-terminal mode)."""
        self.out.write(text + "\n")
        self.out.flush()
