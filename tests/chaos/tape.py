"""Trade deliveries checked against the emulator's full trade tape.

Rules of this module:

* A :class:`TapeRecord` keeps what one trades subscription handed its callback, in order: trade
  ids and gap notices (with ``healed``). It is written on the subscription's worker only.
* :meth:`TapeRecord.check` runs after the run, on the chaos thread: every trade delivered once,
  in tape order, and every trade missing between two deliveries inside a gap the client did not
  call healed. Own trades have no public tape: for them only "never twice" is checked.
"""

from __future__ import annotations

from typing import Any

from alor_sync.events import GapNotice

__all__ = ["TapeRecord"]

_MAX_REPORTED = 20


class TapeRecord:
    """Trade ids and gap notices of one handle, in delivery order.

    Thread: :meth:`trade` and :meth:`gap` on the subscription's worker; the rest afterwards.
    """

    def __init__(self, label: str, symbol: str | None) -> None:
        self.label = label
        self.symbol = symbol  # None: own trades, no tape to compare with
        self.events: list[tuple[str, Any]] = []
        self.healed = 0
        self.unhealed = 0

    def trade(self, payload: Any) -> None:
        trade_id = payload.get("id") if isinstance(payload, dict) else payload.id
        if isinstance(trade_id, str) and trade_id.isdigit():
            trade_id = int(trade_id)
        if isinstance(trade_id, int):  # anything else is an injected frame, not a trade
            self.events.append(("id", trade_id))

    def gap(self, notice: GapNotice) -> None:
        self.events.append(("gap", notice.healed))
        if notice.healed:
            self.healed += 1
        else:
            self.unhealed += 1

    def check(self, tape: list[int] | None) -> list[str]:
        """What went wrong, at most a few lines (empty when the deliveries are sound)."""
        found: list[str] = []
        seen: set[Any] = set()
        position = {trade_id: n for n, trade_id in enumerate(tape or ())}
        previous: int | None = None
        loss_reported = False  # a notice that did not call the gap healed, since `previous`
        for kind, value in self.events:
            if kind == "gap":
                loss_reported = loss_reported or value is not True
                continue
            if value in seen:
                found.append(f"{self.label}: trade {value} delivered twice")
                continue
            seen.add(value)
            if tape is None:
                continue
            n = position.get(value)
            if n is None:
                found.append(f"{self.label}: trade {value} is not on the {self.symbol} tape")
                continue
            if previous is not None and n < previous:
                found.append(f"{self.label}: trade {value} came after a later one")
            elif previous is not None and n > previous + 1 and not loss_reported:
                found.append(
                    f"{self.label}: {n - previous - 1} trades between {tape[previous]} and "
                    f"{value} missing, and no gap notice said trades may be missing"
                )
            previous, loss_reported = n, False
        return found[:_MAX_REPORTED]
