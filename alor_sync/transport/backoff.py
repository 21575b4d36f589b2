"""Exponential backoff with full jitter, for the reconnect loop.

Rules of this module:

* Pure arithmetic: no clocks, no sleeps, no threads. The caller decides when to wait.
* The delay for attempt ``n`` (0-based) is drawn uniformly from ``[0, min(maximum,
  initial * multiplier**n)]`` ("full jitter"), so many clients dropped at once do not come back at
  the same instant.
* A :class:`Backoff` belongs to one thread (the connection thread that owns it); it is not locked.
"""

from __future__ import annotations

import math
import random

from alor_sync.errors import InvalidArgumentError

__all__ = ["Backoff"]


class Backoff:
    """Delays for successive reconnect attempts: exponential growth, capped, fully jittered.

    Thread-safety: none; one owner thread calls :meth:`next_delay` and :meth:`reset`.
    ``rng`` is injectable so tests can seed it or pin the draw.
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        multiplier: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if not initial > 0:
            raise InvalidArgumentError(f"initial must be > 0 seconds, got {initial!r}")
        if not maximum >= initial:
            raise InvalidArgumentError(
                f"maximum must be >= initial ({initial!r}) seconds, got {maximum!r}"
            )
        if not multiplier >= 1:
            raise InvalidArgumentError(f"multiplier must be >= 1, got {multiplier!r}")
        self._initial = float(initial)
        self._maximum = float(maximum)
        self._multiplier = float(multiplier)
        self._rng = rng if rng is not None else random.Random()
        # Computed once: from this attempt on the ceiling is `maximum`, which also keeps
        # `multiplier ** attempts` from overflowing on a link that stays down for days.
        self._saturated_at = self._first_saturated_attempt()
        self._attempts = 0
        self._last_delay: float | None = None

    @property
    def initial(self) -> float:
        """The ceiling of the first delay, in seconds."""
        return self._initial

    @property
    def maximum(self) -> float:
        """The largest ceiling any delay can have, in seconds."""
        return self._maximum

    @property
    def attempts(self) -> int:
        """How many delays were drawn since the last :meth:`reset` (or creation)."""
        return self._attempts

    @property
    def last_delay(self) -> float | None:
        """The delay most recently returned by :meth:`next_delay`, or ``None`` after a reset."""
        return self._last_delay

    def ceiling(self, attempt: int | None = None) -> float:
        """The upper bound of the delay for ``attempt`` (default: the next one), in seconds."""
        n = self._attempts if attempt is None else attempt
        if n >= self._saturated_at:
            return self._maximum
        return min(self._maximum, self._initial * self._multiplier**n)

    def next_delay(self) -> float:
        """Draw the delay before the next attempt (seconds) and count the attempt."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self._attempts += 1
        self._last_delay = delay
        return delay

    def reset(self) -> None:
        """Start over from ``initial`` (call after a healthy connection)."""
        self._attempts = 0
        self._last_delay = None

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self._initial}, maximum={self._maximum}, "
            f"multiplier={self._multiplier}, attempts={self._attempts})"
        )

    def _first_saturated_attempt(self) -> int | float:
        if self._multiplier == 1 or self._maximum == self._initial:
            return 0 if self._maximum == self._initial else math.inf
        return math.ceil(math.log(self._maximum / self._initial, self._multiplier))
