"""What every ``subscribe_*`` method shares: callback types, the delivery options, the one rule
for naming the instrument, and the generic method every generated one forwards its call to.

Rules of this module:

* The typed ``subscribe_*`` modules are generated from the specs (:mod:`alor_sync.data.generate`)
  with their full signatures; their bodies hand ``locals()`` to :meth:`Subscriber._stream`,
  which forwards them to ``subscribe``. Validation lives
  in :mod:`alor_sync.protocol`, delivery in the session.
* No I/O, no state. The price type ``P`` of :class:`Subscriber` is the client's (``float`` by
  default, ``Decimal`` for ``exact=True``); it exists for type checkers only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeAlias, TypeVar

from alor_sync.data.subscriptions import Subscription
from alor_sync.errors import InvalidArgumentError
from alor_sync.events import GapNotice, StateChange
from alor_sync.models.values import P
from alor_sync.protocol.specs import SPECS, StreamSpec
from alor_sync.wire import Format, Opcode

__all__ = [
    "DELIVERY_OPTIONS",
    "Callback",
    "FormatArg",
    "GapHook",
    "RawCallback",
    "StateHook",
    "Subscriber",
    "described_by",
    "instrument_code",
]

Callback: TypeAlias = Callable[[Any], None]
RawCallback: TypeAlias = Callable[[dict[str, Any]], None]
"""The callback of a ``raw=True`` subscription: the payload ``dict`` exactly as sent."""
FormatArg: TypeAlias = Format | str
GapHook: TypeAlias = Callable[[GapNotice], None]
StateHook: TypeAlias = Callable[[StateChange], None]

DELIVERY_OPTIONS: tuple[tuple[str, Any, object], ...] = (
    ("raw", bool, False),
    ("silence_timeout", float | None, None),
    ("conflate", bool, True),
    ("on_gap", GapHook | None, None),
    ("on_state", StateHook | None, None),
)
"""(name, type, default) of the options every ``subscribe_*`` takes besides its stream's
parameters, in signature order; see :class:`~alor_sync.data.stream_methods.StreamMethods`."""


F = TypeVar("F", bound=Callable[..., Any])


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


def method_doc(spec: StreamSpec) -> str:
    """The docstring of ``subscribe_<name>``: the spec's, then a line per parameter."""
    lines = [f"* ``{p.name}``: {p.doc}" for p in spec.params if p.name != "code"]
    common = (
        "``raw``, ``silence_timeout``, ``conflate``, ``on_gap``, ``on_state``: see "
        ":class:`~alor_sync.data.stream_methods.StreamMethods`."
    )
    return f"{spec.doc}\n\nParameters:\n\n" + "\n".join(lines) + f"\n\n{common}"


def described_by(opcode: Opcode) -> Callable[[F], F]:
    """Give a generated ``subscribe_*`` its spec's full doc, a line per parameter (for help()
    and IDEs; the source keeps the one-line summary, within the line length)."""

    def describe(method: F) -> F:
        method.__doc__ = method_doc(SPECS[opcode])
        return method

    return describe


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

    def _stream(self, opcode: Opcode, frame_locals: dict[str, Any]) -> Subscription[Any]:
        """A ``subscribe_<name>`` call (its ``locals()``, bound by Python against the generated
        signature): the key resolved, forwarded to :meth:`subscribe`."""
        values = {k: v for k, v in frame_locals.items() if k != "self"}
        callback = values.pop("callback")
        options = {name: values.pop(name) for name, _, _ in DELIVERY_OPTIONS}
        if SPECS[opcode].key == "symbol":
            values["code"] = instrument_code(values.pop("symbol"), values.pop("code"))
        return self.subscribe(opcode, callback, **options, **values)
