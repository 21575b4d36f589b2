"""What every ``subscribe_*`` method shares: callback types, delivery options, the abstract
``subscribe`` they all forward to, and the one rule for naming the instrument.

Rules of this module:

* Types only, and the two helpers every ``subscribe_*`` / ``get_*`` uses; no I/O, no state.
* The price type ``P`` of :class:`Subscriber` is the client's (``float`` by default, ``Decimal``
  for ``exact=True``); it exists for type checkers only: at runtime nothing here is generic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeAlias, TypedDict

from alor_sync.data.subscriptions import Subscription
from alor_sync.errors import InvalidArgumentError
from alor_sync.events import GapNotice, StateChange
from alor_sync.models.values import P
from alor_sync.wire import Format, Opcode

__all__ = [
    "Callback",
    "DeliveryOptions",
    "FormatArg",
    "GapHook",
    "RawCallback",
    "StateHook",
    "Subscriber",
    "delivery",
    "instrument_code",
]

Callback: TypeAlias = Callable[[Any], None]
RawCallback: TypeAlias = Callable[[dict[str, Any]], None]
"""The callback of a ``raw=True`` subscription: the payload ``dict`` exactly as sent."""
FormatArg: TypeAlias = Format | str
GapHook: TypeAlias = Callable[[GapNotice], None]
StateHook: TypeAlias = Callable[[StateChange], None]


class DeliveryOptions(TypedDict, total=False):
    """The keyword options every ``subscribe_*`` takes besides its stream's parameters (see
    :class:`~alor_sync.data.stream_methods.StreamMethods`); named here once for the typed
    overloads."""

    format: FormatArg
    silence_timeout: float | None
    conflate: bool
    on_gap: GapHook | None
    on_state: StateHook | None


def delivery(
    raw: bool,
    silence_timeout: float | None,
    conflate: bool,
    on_gap: GapHook | None,
    on_state: StateHook | None,
) -> dict[str, Any]:
    """The delivery options every ``subscribe_*`` forwards to :meth:`Subscriber.subscribe`."""
    return {
        "raw": raw,
        "silence_timeout": silence_timeout,
        "conflate": conflate,
        "on_gap": on_gap,
        "on_state": on_state,
    }


def instrument_code(symbol: str | None, code: str | None) -> str:
    """The instrument a call names: ``symbol`` (the documented name, as in commands and
    models) or ``code`` (the wire name of the data requests, accepted too), not both."""
    if symbol is not None and code is not None and symbol != code:
        raise InvalidArgumentError(
            f"pass the instrument once: symbol={symbol!r} and code={code!r} disagree"
        )
    chosen = symbol if symbol is not None else code
    if chosen is None:
        raise InvalidArgumentError("the instrument is missing: pass symbol (or code=)")
    return chosen


class Subscriber(Generic[P]):
    """Base of the ``subscribe_*`` mixins: the generic subscribe they forward to."""

    def subscribe(
        self,
        opcode: Opcode | str,
        callback: Callback | None,
        *,
        raw: bool = False,
        silence_timeout: float | None = None,
        conflate: bool = True,
        on_gap: GapHook | None = None,
        on_state: StateHook | None = None,
        **params: Any,
    ) -> Subscription[Any]:
        """Subscribe by opcode name with the request's parameters in snake_case."""
        raise NotImplementedError
