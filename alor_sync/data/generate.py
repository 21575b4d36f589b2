"""Writes the typed facade modules from the stream specs: :mod:`alor_sync.data.stream_methods`
(market ``subscribe_*``), :mod:`alor_sync.data.portfolio_stream_methods` (portfolio
``subscribe_*``) and :mod:`alor_sync.data.snapshot_methods` (the ``get_*`` reads).

Rules of this module:

* The specs (:mod:`alor_sync.protocol.specs`) are the one place a parameter is declared; what is
  written here are only the typed overloads a type checker needs (the stream's model in the
  client's price type, or ``raw=True`` and the payload ``dict``) and a one-line runtime body per
  method that forwards to :meth:`~alor_sync.data.stream_options.Subscriber._stream`.
* :func:`render` is pure (specs in, source text out); only :func:`main` writes files. A test
  asserts the files equal a fresh rendering, so they cannot drift from the specs.

Regenerate with ``python -m alor_sync.data.generate``.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alor_sync.data.snapshot_reads import DEFAULT_SETTLE, READS, Read
from alor_sync.data.stream_options import DELIVERY_OPTIONS
from alor_sync.protocol.specs import REQUIRED, SPECS, StreamSpec

__all__ = ["FILES", "import_lines", "literal", "main", "render", "render_reads", "write"]

_HEADER = '''"""{title}

Generated from the stream specs (:mod:`alor_sync.protocol.specs`): do not edit; regenerate with
``python -m alor_sync.data.generate``.

Rules of this module:

* One method per opcode, two typed overloads each: the callback gets the stream's model in the
  client's price type (``Quote[float]``, or ``Quote[Decimal]`` with ``exact=True``), or with
  ``raw=True`` the payload ``dict``. Types only: the runtime body binds the call by the spec and
  forwards it to ``subscribe`` (:mod:`alor_sync.data.stream_options`).
* Callbacks run on a dispatcher worker (or the client's executor), never on the network thread;
  one subscription's frames arrive in order and never concurrently.
"""

from __future__ import annotations

{imports}

__all__ = ["{cls}"]


class {cls}({base}[P]):
    """{class_doc}"""
'''

_MARKET_DOC = """Mixin: ``subscribe_<kind>(key, callback, ...) -> Subscription`` for every stream.

    The key of a market stream is ``symbol`` (as in commands and models); ``code=``, the wire's
    name, is accepted too. Portfolio streams take ``portfolio``.
    Common keyword arguments: ``format`` (``Simple`` default, ``Slim``, ``Heavy``), ``raw``
    (True: the callback gets the payload ``dict`` as sent; False: the typed model),
    ``silence_timeout`` (seconds without data after which the subscription is renewed; None:
    off), ``conflate`` (full-state streams only: True, the default, hands a slow callback only
    the newest state; False delivers every frame, losslessly up to a bound, then a gap; event
    streams are always lossless), ``on_gap(GapNotice)`` and ``on_state(StateChange)`` (this
    subscription's gap notices and state changes, on its worker in stream order). Every call
    may come from any thread, including from inside a callback.
    """

_PORTFOLIO_DOC = (
    "Mixin: ``subscribe_<kind>(portfolio, callback, ...)`` for the portfolio streams (see\n"
    "    :class:`~alor_sync.data.stream_methods.StreamMethods` for the options they share)."
)

# name in a written annotation -> the import that provides it
_IMPORTS = {
    "Iterable": ("collections.abc", "Iterable"),
    "datetime": ("datetime", "datetime"),
    "Format": ("alor_sync.wire", "Format"),
}


def annotation(value: Any) -> str:
    """The source text of a spec's annotation (classes, ``X | Y``, ``Iterable[X]``, None)."""
    if value is None or value is type(None):
        return "None"
    if isinstance(value, types.UnionType):
        return " | ".join(annotation(arg) for arg in value.__args__)
    if isinstance(value, types.GenericAlias):
        args = ", ".join(annotation(arg) for arg in value.__args__)
        return f"{value.__origin__.__name__}[{args}]"
    if isinstance(value, type):
        return value.__name__
    raise TypeError(f"cannot write the annotation {value!r}")


_DELIVERY_ANNOTATIONS: dict[str, str | None] = {
    "raw": None,
    "silence_timeout": "float | None",
    "conflate": "bool",
    "on_gap": "GapHook | None",
    "on_state": "StateHook | None",
}


def _parameters(spec: StreamSpec, raw: bool) -> list[str]:
    key = "symbol" if spec.key == "symbol" else "portfolio"
    callback = "RawCallback" if raw else f"Callable[[{spec.model.__name__}[P]], None]"
    lines = ["self", f"{key}: str", f"callback: {callback}", "*"]
    for p in spec.params:
        if p.name in ("code", "portfolio"):
            continue
        default = "" if p.method_default is REQUIRED else " = ..."
        lines.append(f"{p.name}: {annotation(p.annotation)}{default}")
    for name, _, _ in DELIVERY_OPTIONS:
        if name == "raw":
            lines.append("raw: Literal[True]" if raw else "raw: Literal[False] = ...")
        else:
            lines.append(f"{name}: {_DELIVERY_ANNOTATIONS[name]} = ...")
    return lines


def _indented(doc: str) -> str:
    """A docstring's text for a method body (blank lines stay empty)."""
    return "\n".join(
        f"        {line}" if line and i else line for i, line in enumerate(doc.split("\n"))
    )


def _method(spec: StreamSpec) -> str:
    name = f"subscribe_{spec.name}"
    member = f"Opcode.{spec.opcode.name}"
    parts = []
    for raw, result in ((False, f"{spec.model.__name__}[P]"), (True, "dict[str, Any]")):
        params = "".join(f"        {line},\n" for line in _parameters(spec, raw))
        parts.append(
            f"    @overload\n    def {name}(\n{params}    ) -> Subscription[{result}]: ...\n"
        )
    doc = _indented(spec.doc)
    params = "".join(f"        {line},\n" for line in _implementation_parameters(spec))
    parts.append(
        f"    @described_by({member})\n"
        f"    def {name}(\n{params}    ) -> Subscription[Any]:\n"
        f'        """{doc}"""\n'
        f"        return self._stream({member}, locals())\n"
    )
    return "\n".join(parts)


def _implementation_parameters(spec: StreamSpec) -> list[str]:
    """The runtime signature: Python binds the call, and help() shows the real defaults. A
    market key and its callback may be left out, to be refused with a message naming them."""
    if spec.key == "symbol":
        lines = ["self", "symbol: str | None = None", "callback: Callback | None = None", "*"]
        lines.append("code: str | None = None")
    else:
        lines = ["self", "portfolio: str", "callback: Callback", "*"]
    for p in spec.params:
        if p.name in ("code", "portfolio"):
            continue
        default = "" if p.method_default is REQUIRED else f" = {literal(p.method_default)}"
        lines.append(f"{p.name}: {annotation(p.annotation)}{default}")
    for name, _, option_default in DELIVERY_OPTIONS:
        written = _DELIVERY_ANNOTATIONS[name] or "bool"  # raw: Literal in the overloads
        lines.append(f"{name}: {written} = {literal(option_default)}")
    return lines


def _imports(body: str, specs: list[StreamSpec], base: tuple[str, str]) -> str:
    froms: dict[str, set[str]] = {
        "collections.abc": {"Callable"},
        "typing": {"Any", "Literal", "overload"},
        "alor_sync.data.stream_options": {
            "Callback",
            "GapHook",
            "RawCallback",
            "StateHook",
            "described_by",
        },
        "alor_sync.data.subscriptions": {"Subscription"},
        "alor_sync.models": {spec.model.__name__ for spec in specs},
        "alor_sync.models.values": {"P"},
        "alor_sync.wire": {"Opcode"},
    }
    froms.setdefault(base[0], set()).add(base[1])
    _add_used(body, froms)
    return import_lines(froms)


def _add_used(body: str, froms: dict[str, set[str]]) -> None:
    """Add the imports of the annotation names ``body`` uses."""
    for word, (module, name) in _IMPORTS.items():
        if f"{word}[" in body or f": {word}" in body or f"| {word}" in body:
            froms.setdefault(module, set()).add(name)


def import_lines(froms: dict[str, set[str]]) -> str:
    """isort's layout: the standard library, then this package, each sorted."""
    std = sorted(m for m in froms if not m.startswith("alor_sync"))
    ours = sorted(m for m in froms if m.startswith("alor_sync"))
    lines = [[_import(m, froms[m]) for m in group] for group in (std, ours)]
    return "\n\n".join("\n".join(group) for group in lines if group)


def _import(module: str, names: set[str]) -> str:
    ordered = sorted(names, key=_sort_key)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= 100:
        return line
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in ordered) + ")"


def _sort_key(name: str) -> tuple[int, str]:
    """isort's order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


_PORTFOLIO_MODULE = "alor_sync.data.portfolio_stream_methods"


def render(market: bool) -> str:
    """The source of the market (True) or the portfolio (False) methods module."""
    specs = [spec for spec in SPECS.values() if (spec.key == "symbol") == market]
    body = "\n".join(_method(spec) for spec in specs)
    client = ":class:`~alor_sync.client.AlorClient`"
    if market:
        cls, base = "StreamMethods", (_PORTFOLIO_MODULE, "PortfolioStreamMethods")
        title = (
            f"The ``subscribe_*`` methods of {client}: market data here,\n"
            f"portfolio streams in :mod:`{_PORTFOLIO_MODULE}`."
        )
        class_doc = _MARKET_DOC
    else:
        cls, base = "PortfolioStreamMethods", ("alor_sync.data.stream_options", "Subscriber")
        title = f"The seven portfolio ``subscribe_*`` methods of {client}."
        class_doc = _PORTFOLIO_DOC
    header = _HEADER.format(
        title=title, imports=_imports(body, specs, base), cls=cls, base=base[1], class_doc=class_doc
    )
    return f"{header}\n{body}"


_READS_HEADER = '''"""The one-shot ``get_*`` reads of the client: subscribe, collect, unsubscribe,
return (how each tells the end of its history: :mod:`alor_sync.data.snapshot_reads`).

Generated from the stream specs and :data:`~alor_sync.data.snapshot_reads.READS`: do not edit;
regenerate with ``python -m alor_sync.data.generate``.

Rules of this module:

* One typed method per read (two overloads where the symbol may be positional or ``code=``);
  the body hands its ``locals()`` to :meth:`~alor_sync.data.snapshot_reads.SnapshotReads._read`.
* Blocking: every get runs on the caller's thread and takes ``timeout`` (seconds).
"""

from __future__ import annotations

{imports}

__all__ = ["SnapshotMethods"]


class SnapshotMethods(SnapshotReads[P]):
    """Mixin of :class:`~alor_sync.client.AlorClient`: blocking one-shot reads (see
    :class:`~alor_sync.data.snapshot_reads.SnapshotReads` for what they raise)."""
'''


def literal(value: object) -> str:
    """A default's source text (strings in double quotes, as ruff writes them)."""
    if isinstance(value, enum.Enum):  # before str: Format is a StrEnum
        return f"{type(value).__name__}.{value.name}"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _read_tail(read: Read, stub: bool) -> list[str]:
    """The keyword-only parameters of a get after its positional ones."""
    lines = []
    for p in read.keywords():
        default = "..." if stub else literal(p.method_default)
        lines.append(f"{p.name}: {annotation(p.annotation)} = {default}")
    lines.append(f"timeout: float = {'...' if stub else literal(read.timeout)}")
    if read.many:
        lines.append(f"settle: float = {'...' if stub else literal(DEFAULT_SETTLE)}")
    return lines


def _positional(read: Read, optional: bool) -> list[str]:
    lines = []
    for p in read.positional:
        text = annotation(p.annotation)
        if p.method_default is not REQUIRED:
            lines.append(f"{p.name}: {text} = {literal(p.method_default)}")
        elif optional:
            lines.append(f"{p.name}: {text} | None = None")
        else:
            lines.append(f"{p.name}: {text}")
    return lines


def _signature(name: str, lines: list[str], result: str, stub: bool) -> str:
    params = "".join(f"        {line},\n" for line in lines)
    end = " ..." if stub else ""
    return f"    def {name}(\n{params}    ) -> {result}:{end}\n"


def _read_method(read: Read) -> str:
    spec = read.spec
    name = f"get_{read.name}"
    model = f"{spec.model.__name__}[P]"
    result = f"list[{model}]" if read.many else model
    parts = []
    if any(p.method_default is REQUIRED for p in read.positional):
        by_symbol = ["self", "symbol: str", *_positional(read, False), "*", *_read_tail(read, True)]
        by_code = ["self", "*", "code: str", *_positional(read, False), *_read_tail(read, True)]
        for lines in (by_symbol, by_code):
            parts.append("    @overload\n" + _signature(name, lines, result, stub=True))
    if spec.key == "symbol":
        symbol, code = "symbol: str | None = None", "code: str | None = None"
        key = [symbol, *_positional(read, True), "*", code]
    else:
        key = ["portfolio: str", "*"]
    doc = _indented(read.doc)
    parts.append(
        _signature(name, ["self", *key, *_read_tail(read, False)], result, stub=False)
        + f'        """{doc}"""\n'
        + f'        answer: {result} = self._read("{read.name}", locals())\n'
        + "        return answer\n"
    )
    return "\n".join(parts)


def render_reads() -> str:
    """The source of the ``get_*`` module."""
    body = "\n".join(_read_method(read) for read in READS)
    froms: dict[str, set[str]] = {
        "alor_sync.data.snapshot_reads": {"SnapshotReads"},
        "alor_sync.models": {SPECS[read.opcode].model.__name__ for read in READS},
        "alor_sync.models.values": {"P"},
    }
    if "@overload" in body:
        froms["typing"] = {"overload"}
    _add_used(body, froms)
    return _READS_HEADER.format(imports=import_lines(froms)) + "\n" + body


_HERE = Path(__file__).resolve().parent
FILES: dict[Path, Callable[[], str]] = {
    _HERE / "stream_methods.py": lambda: render(market=True),
    _HERE / "portfolio_stream_methods.py": lambda: render(market=False),
    _HERE / "snapshot_methods.py": render_reads,
}
"""Each generated file and what renders it."""


def write(files: dict[Path, Callable[[], str]]) -> None:
    """Render and write each of ``files`` (the generators' ``main``)."""
    for path, rendering in files.items():
        path.write_text(rendering(), encoding="utf-8")
        print(f"wrote {path}")


def main() -> None:
    write(FILES)


if __name__ == "__main__":
    main()
