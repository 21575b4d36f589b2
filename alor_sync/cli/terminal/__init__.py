"""Terminal rendering for the ``alor-sync`` command: a live order book, quote, tape and chart.

Rules of this package:

* Callbacks only store: :class:`MarketState` keeps the latest state under one lock, and every
  drawing happens on the thread that owns the terminal (the CLI's main thread).
* Rendering is pure: :mod:`alor_sync.cli.terminal.render` turns a :class:`MarketSnapshot` and a
  size into lines, so it is tested without a terminal.
* Only :mod:`alor_sync.cli.terminal.screen` writes ANSI control sequences, and it always restores
  the cursor (and the main screen) on the way out, however the view ends.
* It serves the command line only (hence its place under ``cli/``); the library never imports it.
"""

from __future__ import annotations

from alor_sync.cli.terminal.live import LiveView, ViewOptions
from alor_sync.cli.terminal.render import render_line, render_screen
from alor_sync.cli.terminal.screen import Screen
from alor_sync.cli.terminal.state import MarketSnapshot, MarketState

__all__ = [
    "LiveView",
    "MarketSnapshot",
    "MarketState",
    "Screen",
    "ViewOptions",
    "render_line",
    "render_screen",
]
