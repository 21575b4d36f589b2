"""The drawing loop of the live market view: waits for data, redraws, stops cleanly.

Rules of this module:

* Runs on the calling thread (the CLI's main thread), which is the only one that touches the
  screen; subscription callbacks only update :class:`~alor_sync.cli.terminal.state.MarketState`.
* At most one frame per ``refresh_interval`` on a terminal, one line per ``line_interval``
  elsewhere, whatever the rate of market data (the state is latest-wins).
* Ctrl+C (and SIGTERM) is the normal way to stop: it ends :meth:`LiveView.run` without a
  traceback, after the screen was restored.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs

from alor_sync.cli.terminal.render import render_line, render_screen
from alor_sync.cli.terminal.screen import Screen
from alor_sync.cli.terminal.state import MarketState

__all__ = ["LiveView", "ViewOptions"]


@attrs.frozen
class ViewOptions:
    """How the view runs.

    ``duration``: seconds to show once data flows (None: until Ctrl+C); ``first_data_timeout``:
    seconds to wait for the first order book before giving up with :class:`TimeoutError`;
    ``levels``: price levels per side; ``chart_label``: shown in the chart title (e.g. ``5 s``).
    """

    levels: int = 10
    duration: float | None = None
    refresh_interval: float = 0.1
    line_interval: float = 1.0
    first_data_timeout: float = 30.0
    chart_label: str = ""


class LiveView:
    """Shows ``state`` on ``screen`` until the duration ends, :meth:`stop` or Ctrl+C.

    ``check`` is called before every frame on the drawing thread; it raises to end the view
    with an error (e.g. a subscription the server rejected).
    """

    def __init__(
        self,
        state: MarketState,
        screen: Screen,
        options: ViewOptions,
        *,
        check: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self.screen = screen
        self.options = options
        self._check = check or (lambda: None)
        self._stop = threading.Event()

    def stop(self) -> None:
        """End :meth:`run` at the next frame (callable from any thread)."""
        self._stop.set()

    def run(self) -> bool:
        """Draw until done; True if it ended with Ctrl+C. Raises what ``check`` raises, or
        :class:`TimeoutError` when no order book arrived in time."""
        interrupted = False
        try:
            with self.screen, self._stop_on_sigterm():
                self._wait_for_data()
                self._loop()
        except KeyboardInterrupt:
            interrupted = True
        # Leave the last state visible: the alternate screen is gone, and logs want an ending.
        self.screen.print_line(render_line(self.state.snapshot()))
        return interrupted

    @contextmanager
    def _stop_on_sigterm(self) -> Iterator[None]:
        """On the main thread, SIGTERM ends the view like :meth:`stop`, so the terminal is
        restored (elsewhere signals cannot be handled; nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGTERM, lambda *_: self.stop())
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _frame(self) -> None:
        if self.screen.interactive:
            width, height = self.screen.size()
            lines = render_screen(
                self.state.snapshot(),
                width,
                height,
                levels=self.options.levels,
                chart_label=self.options.chart_label,
            )
            self.screen.draw(lines, width)
        else:
            self.screen.print_line(render_line(self.state.snapshot()))

    def _wait_for_data(self) -> None:
        deadline = time.monotonic() + self.options.first_data_timeout
        while not self.state.wait_for_book(self.options.refresh_interval * 2):
            self._check()
            if self._stop.is_set():
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no order book for {self.state.symbol} within "
                    f"{self.options.first_data_timeout:g} s"
                )
            if self.screen.interactive:
                self._frame()

    def _loop(self) -> None:
        duration = self.options.duration
        deadline = None if duration is None else time.monotonic() + duration
        interval = (
            self.options.refresh_interval if self.screen.interactive else self.options.line_interval
        )
        while not self._stop.is_set():
            self._check()
            wait = interval
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                wait = min(wait, left)
            self._frame()
            self._stop.wait(wait)
