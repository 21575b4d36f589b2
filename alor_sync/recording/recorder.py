"""Record what a live session receives, for the emulator to replay (``Emulator(replay=FILE)``).

``with Recorder(client, "session.jsonl.gz", [RecordedStream(0, "QuotesSubscribe", "SBER",
"MOEX", "Simple")]):`` subscribes to each stream in raw mode and writes every payload it receives,
stamped with the time it was delivered, until the block ends. The file format is
``alor_sync.recording.tape``'s.

Rules of this module:

* Public client API only (``AlorClient.subscribe(..., raw=True)``); the payloads are written as
  the client received them, so a replay serves the same values.
* Callbacks run on the client's dispatcher workers and only append to the writer (thread-safe);
  ``close()`` unsubscribes first, then writes the trailer, so nothing is written after it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from alor_sync.recording.tape import RecordedStream, RecordingWriter
from alor_sync.wire import Opcode

if TYPE_CHECKING:
    from alor_sync.client import AlorClient
    from alor_sync.data.subscriptions import Subscription

__all__ = ["PORTFOLIO_OPCODES", "Recorder"]

PORTFOLIO_OPCODES = frozenset(
    {
        Opcode.POSITIONS.value,
        Opcode.SUMMARIES.value,
        Opcode.RISKS.value,
        Opcode.SPECTRA_RISKS.value,
        Opcode.TRADES.value,
        Opcode.ORDERS.value,
        Opcode.STOP_ORDERS.value,
    }
)


class Recorder:
    """Subscribes to ``streams`` on ``client`` and records their payloads into ``path``.

    ``on_frame`` (optional) is called after each payload is written, on the dispatcher worker
    that delivered it, with the total written so far (the CLI stops at ``--count`` with it).
    Thread-safe; :meth:`close` is idempotent and may be called from any thread.
    """

    def __init__(
        self,
        client: AlorClient,
        path: str | os.PathLike[str],
        streams: Sequence[RecordedStream],
        *,
        on_frame: Callable[[int], None] | None = None,
    ) -> None:
        self._writer = RecordingWriter(path, list(streams))
        self._on_frame = on_frame
        self._lock = threading.Lock()
        self.subscriptions: list[Subscription] = []
        try:
            for stream in streams:
                self.subscriptions.append(self._subscribe(client, stream))
        except BaseException:
            self.close()
            raise

    @property
    def frames(self) -> int:
        """Payloads written so far."""
        return self._writer.frames

    def _subscribe(self, client: AlorClient, stream: RecordedStream) -> Subscription:
        key = "portfolio" if stream.opcode in PORTFOLIO_OPCODES else "code"
        params: dict[str, Any] = dict(stream.params)
        params.update({key: stream.key, "exchange": stream.exchange, "format": stream.format})

        def write(payload: Any) -> None:
            self._writer.write(stream.id, payload)
            if self._on_frame is not None:
                self._on_frame(self._writer.frames)

        # conflate=False: a recording keeps every frame, even of full-state streams whose
        # callback fell behind (the client would otherwise deliver only the newest).
        return client.subscribe(stream.opcode, write, raw=True, conflate=False, **params)

    def close(self) -> None:
        """Unsubscribe every stream, then finish the file (its trailer marks it complete)."""
        with self._lock:
            subscriptions, self.subscriptions = self.subscriptions, []
        for sub in subscriptions:
            sub.unsubscribe()
        self._writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
