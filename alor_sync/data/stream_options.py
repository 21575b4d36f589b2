"""What every ``subscribe_*`` method shares: callback types, the delivery options, the one rule
for naming the instrument, and the generic method that binds a call by its stream's spec.

Rules of this module:

* The typed ``subscribe_*`` modules are generated from the specs (:mod:`alor_sync.data.generate`);
  their runtime bodies forward here, to :meth:`Subscriber._stream`, which binds the call by the
  spec's signature (:func:`method_signature`) and forwards it to ``subscribe``. Validation lives
  in :mod:`alor_sync.protocol`, delivery in the session.
* No I/O, no state. The price type ``P`` of :class:`Subscriber` is the client's (``float`` by
  default, ``Decimal`` for ``exact=True``); it exists for type checkers only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeAlias, TypeVar

from alor_sync.data.subscriptions import Subscription
from alor_sync.errors import InvalidArgumentError
from alor_sync.events import GapNotice, StateChange
from alor_sync.models.values import P
from alor_sync.protocol.specs import REQUIRED, SPECS, StreamSpec
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
    "method_signature",
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

_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
_EMPTY = inspect.Parameter.empty

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


@functools.cache
def method_signature(opcode: Opcode) -> inspect.Signature:
    """``subscribe_<name>(self, key, callback, *, <spec params>, <delivery options>)``.

    A market stream's key is ``symbol`` (``code=`` accepted too) and, like the callback, may be
    left out of the call, to be refused with a message naming it; a portfolio is required.
    """
    spec = SPECS[opcode]
    optional = spec.key == "symbol"
    default, key, callback = (
        (None, str | None, Callback | None) if optional else (_EMPTY, str, Callback)
    )
    head = [
        inspect.Parameter("self", _POSITIONAL),
        inspect.Parameter(spec.key, _POSITIONAL, default=default, annotation=key),
        inspect.Parameter("callback", _POSITIONAL, default=default, annotation=callback),
    ]
    if optional:
        head.append(inspect.Parameter("code", _KEYWORD, default=None, annotation=str | None))
    params = [
        inspect.Parameter(
            p.name,
            _KEYWORD,
            default=_EMPTY if p.method_default is REQUIRED else p.method_default,
            annotation=p.annotation,
        )
        for p in spec.params
        if p.name not in ("code", "portfolio")
    ]
    options = [
        inspect.Parameter(n, _KEYWORD, default=d, annotation=t) for n, t, d in DELIVERY_OPTIONS
    ]
    return inspect.Signature([*head, *params, *options], return_annotation=Subscription[Any])


def method_doc(spec: StreamSpec) -> str:
    """The docstring of ``subscribe_<name>``: the spec's, then a line per parameter."""
    lines = [f"* ``{p.name}``: {p.doc}" for p in spec.params if p.name != "code"]
    common = (
        "``raw``, ``silence_timeout``, ``conflate``, ``on_gap``, ``on_state``: see "
        ":class:`~alor_sync.data.stream_methods.StreamMethods`."
    )
    return f"{spec.doc}\n\nParameters:\n\n" + "\n".join(lines) + f"\n\n{common}"


def described_by(opcode: Opcode) -> Callable[[F], F]:
    """Give a generated ``subscribe_*`` its spec's signature and doc (for help() and IDEs)."""

    def describe(method: F) -> F:
        method.__signature__ = method_signature(opcode)  # type: ignore[attr-defined]
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

    def _stream(
        self, opcode: Opcode, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Subscription[Any]:
        """A ``subscribe_<name>`` call: bound by its spec's signature (a TypeError as for any
        method called wrongly), the key resolved, forwarded to :meth:`subscribe`."""
        values = _binder(opcode).bind(args, kwargs)
        callback = values.pop("callback")
        options = {name: values.pop(name) for name, _, _ in DELIVERY_OPTIONS}
        if SPECS[opcode].key == "symbol":
            values["code"] = instrument_code(values.pop("symbol"), values.pop("code"))
        return self.subscribe(opcode, callback, **options, **values)


class _Binder:
    """Binds a call as :meth:`inspect.Signature.bind` would (the same TypeErrors), at a sixth of
    its cost: a client may open thousands of subscriptions in a loop."""

    def __init__(self, name: str, signature: inspect.Signature) -> None:
        params = list(signature.parameters.values())[1:]  # without self
        self._name = name
        self._positional = tuple(p.name for p in params if p.kind is _POSITIONAL)
        self._defaults = {p.name: p.default for p in params if p.default is not _EMPTY}
        self._order = tuple(p.name for p in params)
        self._names = frozenset(self._order)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if len(args) > len(self._positional):
            raise TypeError(f"{self._name}() takes {len(self._positional)} positional arguments")
        values = dict(self._defaults)
        for name, value in zip(self._positional, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{self._name}() got multiple values for argument {name!r}")
            values[name] = value
        for name in kwargs:
            if name not in self._names:
                raise TypeError(f"{self._name}() got an unexpected keyword argument {name!r}")
        values.update(kwargs)
        missing = [name for name in self._order if name not in values]
        if missing:
            raise TypeError(f"{self._name}() missing required argument(s): {', '.join(missing)}")
        return values


@functools.cache
def _binder(opcode: Opcode) -> _Binder:
    return _Binder(f"subscribe_{SPECS[opcode].name}", method_signature(opcode))
