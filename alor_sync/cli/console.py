"""Where the command's words go: data on stdout, progress and errors on stderr, no secrets.

Rules of this module:

* stdout carries only results (JSON lines, tables, the live view) so it can be piped; every
  progress message, warning and error goes to stderr.
* Every message passes through :meth:`Console.redact`, which hides each secret the command
  handled (the refresh token, the access tokens) even if some error text quoted one.
* Thread-safe: client hooks call in from dispatcher workers while the main thread writes too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from alor_sync.errors import APIError
from alor_sync.events import ConnectionChange, GapNotice
from alor_sync.transport.status import TransportState, TransportStatistics

__all__ = ["Console"]

_PREFIX = "alor-sync: "


class Console:
    """stdout/stderr of one command run, with progress hooks for :class:`~alor_sync.AlorClient`.

    The ``on_*`` methods are client hooks (they run on a dispatcher worker); progress can be
    redirected with :meth:`redirect_progress` (the live view shows it in its header instead).
    """

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool = False) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._progress: Callable[[str], None] | None = None
        self._urls: dict[str, str] = {}
        # Set by commands that watch their subscriptions and report a rejection themselves.
        self.rejections_reported = False
        # Set just before the command closes its client: the last disconnect is no news.
        self.closing = False
        self._polled_attempt = 0  # main thread only (watch_connection)

    # ------------------------------------------------------------------ secrets

    def add_secret(self, secret: str) -> None:
        """Never show ``secret`` in any message from now on."""
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------ output

    def write_out(self, line: str) -> None:
        """One line of results on stdout (may raise BrokenPipeError when the reader left)."""
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def tell(self, text: str) -> None:
        """Text the user must see even with ``--quiet`` (an order preview), on stderr."""
        self._write_err(self.redact(text))

    def ask(self, question: str) -> None:
        """Write ``question`` on stderr without a newline (the answer is read with ``input``)."""
        with self._lock:
            self.err.write(question)
            self.err.flush()

    def error(self, message: str) -> None:
        """The one line that ends a failed command."""
        self._write_err(f"{_PREFIX}error: {self.redact(message)}")

    def warn(self, message: str) -> None:
        """A warning: stderr, or the live view's header while it owns the terminal."""
        message = f"warning: {self.redact(message)}"
        with self._lock:
            sink = self._progress
        if sink is not None:
            sink(message)
        else:
            self._write_err(_PREFIX + message)

    def progress(self, message: str) -> None:
        """A progress message (stderr, or the live view's header), unless ``quiet``."""
        message = self.redact(message)
        with self._lock:
            sink = self._progress
        if sink is not None:
            sink(message)
        elif not self.quiet:
            self._write_err(f"{_PREFIX}{message}")

    def redirect_progress(self, sink: Callable[[str], None] | None) -> None:
        """Send progress to ``sink`` instead of stderr (None: back to stderr)."""
        with self._lock:
            self._progress = sink

    def _write_err(self, line: str) -> None:
        with self._lock:
            try:
                self.err.write(line + "\n")
                self.err.flush()
            except (OSError, ValueError):
                pass  # stderr is gone; nothing better to do with a progress message

    # ------------------------------------------------------------------ client hooks

    def name_connection(self, connection: str, url: str) -> None:
        """Remember the URL of ``ws``/``cws`` for the progress messages."""
        self._urls[connection] = url

    def on_connect(self, change: ConnectionChange) -> None:
        self.progress(f"connected to {self._urls.get(change.connection, change.connection)}")

    def on_disconnect(self, change: ConnectionChange) -> None:
        where = self._urls.get(change.connection, change.connection)
        reason = f" ({change.reason})" if change.reason else ""
        if self.closing:
            return
        if not change.will_retry:
            self.progress(f"disconnected from {where}{reason}; giving up")
            return
        delay = change.next_attempt_in
        after = "" if delay is None else f", next in {delay:.1f} s"
        attempt = max(change.attempt, 1)
        self.progress(f"disconnected{reason}; reconnecting (attempt {attempt}{after})")

    def watch_connection(self, stats: TransportStatistics) -> None:
        """Report each further reconnect attempt (called regularly by the main thread).

        The client's hook reports the first attempt after a loss; later failed attempts raise
        no hook, so they are read from the transport's statistics here.
        """
        if stats.state is TransportState.OPEN:
            self._polled_attempt = 0
            return
        attempt, delay = stats.failed_attempts, stats.next_attempt_in
        if stats.state is not TransportState.BACKOFF or delay is None or attempt < 2:
            return
        if attempt <= self._polled_attempt:
            return
        self._polled_attempt = attempt
        error = f": {stats.last_error}" if stats.last_error else ""
        self.progress(f"reconnecting (attempt {attempt}, next in {delay:.1f} s){error}")

    def on_gap(self, notice: GapNotice) -> None:
        self.progress(
            f"gap in {notice.opcode} ({notice.reason.value}, {notice.dropped} frames dropped); "
            "a fresh snapshot follows"
        )

    def on_error(self, error: BaseException, guid: str | None) -> None:
        if isinstance(error, APIError) and guid is not None and self.rejections_reported:
            return  # a rejected subscription: the command itself reports it and stops
        self.warn(f"{type(error).__name__}: {error}")
