"""Writes the typed order commands from the command specs: the request builders
(:mod:`alor_sync.protocol.command_requests`) and the channel's methods
(:mod:`alor_sync.commands.methods`).

Rules of this module:

* The specs (:mod:`alor_sync.protocol.command_specs`) are the one place a command parameter is
  declared; what is written here are the signatures a type checker and ``help()`` need and a
  one-line body per function that forwards its ``locals()`` to the generic code.
* :func:`render_requests` and :func:`render_methods` are pure (specs in, source text out); only
  :func:`main` writes files. A test asserts the files equal a fresh rendering.

Regenerate with ``python -m alor_sync.commands.generate``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alor_sync.data.generate import import_lines, literal, write
from alor_sync.protocol.command_specs import COMMAND_SPECS, CommandParam, CommandSpec

__all__ = ["FILES", "main", "render_methods", "render_requests"]

_GENERATED = """\
Generated from the command specs (:mod:`alor_sync.protocol.command_specs`): do not edit;
regenerate with ``python -m alor_sync.commands.generate``."""

_REQUESTS_HEADER = f'''\
"""The request builders of the twelve ``/cws`` order commands, one typed function each.

{_GENERATED}

Rules of this module:

* Types and docs only: each builder hands its ``locals()`` to
  :func:`~alor_sync.protocol.command_specs.build_command`, which checks every value and lays the
  request out (prices, guids and serialising: :mod:`alor_sync.protocol.cws`).
"""

from __future__ import annotations

{{imports}}

__all__ = [
{{names}}]
'''

_METHODS_HEADER = f'''\
"""The typed order commands (``create_*``, ``update_*``, ``delete_*``) of the command channel.

{_GENERATED}

Rules of this module:

* One method per documented ``/cws`` command, with exactly the parameters the reference lists for
  it (snake_case; enums from :mod:`alor_sync.models` or strings in any casing), all keyword-only.
  As everywhere in alor-sync the instrument is ``symbol`` (``code=`` accepted too) and
  ``exchange`` defaults to ``"MOEX"``, as in subscriptions.
* No logic here: each method hands its ``locals()`` to ``_command``
  (:mod:`alor_sync.commands.method_calls`), which hands them to ``_call``, implemented by
  :class:`~alor_sync.commands.channel.CommandChannel`, which checks, sends and waits.
"""

from __future__ import annotations

{{imports}}

__all__ = ["DEFAULT_EXCHANGE", "OrderCommandMethods", "Price", "UnixTime", "command_arguments"]


class OrderCommandMethods(CommandCalls):
    """The blocking order commands. Each waits up to ``timeout`` seconds (None: the channel's
    ``default_timeout``) for its own reply and returns an :class:`OrderResult` or raises (see
    :mod:`alor_sync.commands.channel` for every outcome). Thread-safe; any thread may call them, a
    callback or a future's done-callback included.

    ``guid`` (optional, any unique string up to the server's limits): the command's idempotency
    key. A second call with the same guid is the same order: it gets the first call's reply and
    never places a second order. Default: a fresh UUID, which every error carries as
    ``request_guid``.
    """
'''

_SECTIONS = {"create": "create", "update": "update", "delete": "delete (cancel)"}
_METHOD_LEAD = ("order_id", "portfolio", "symbol", "exchange")  # the methods name these first


def _docstring(doc: str, indent: str) -> str:
    """``doc`` as the body of a docstring at ``indent`` (a trailing newline closes on its own
    line, as the written-out builders did)."""
    lines = doc.split("\n")
    text = "\n".join(f"{indent}{line}" if line and i else line for i, line in enumerate(lines))
    closing = indent if doc.endswith("\n") else ""
    return f'{indent}"""{text}{closing}"""\n'


def _signature(name: str, head: list[str], lines: list[str], result: str, indent: str) -> str:
    params = "".join(f"{indent}    {line},\n" for line in [*head, *lines])
    return f"{indent}def {name}(\n{params}{indent}) -> {result}:\n"


def _builder_line(param: CommandParam) -> str:
    default = "" if param.required else " = None"
    return f"{param.name}: {param.annotation}{default}"


def _request_function(spec: CommandSpec) -> str:
    lines = [_builder_line(p) for p in spec.params]
    member = f"CommandOpcode.{spec.opcode.name}"
    return (
        _signature(f"{spec.name}_request", ["guid: str", "*"], lines, "JsonDict", "")
        + _docstring(spec.request_doc, "    ")
        + f"    return build_command({member}, locals())\n"
    )


def render_requests() -> str:
    """The source of the builders module."""
    froms = {
        "alor_sync.protocol._checks": {"EnumLike", "JsonDict", "Price", "UnixTime"},
        "alor_sync.protocol.command_specs": {"build_command"},
        "alor_sync.wire": {"CommandOpcode"},
    }
    names = "".join(
        f'    "{name}",\n' for name in sorted(f"{s.name}_request" for s in COMMAND_SPECS.values())
    )
    header = _REQUESTS_HEADER.format(imports=import_lines(froms), names=names)
    body = "\n\n".join(_request_function(spec) for spec in COMMAND_SPECS.values())
    return f"{header}\n\n{body}"


def _method_params(spec: CommandSpec) -> list[CommandParam]:
    """The builder's parameters, the order, the account and the instrument first."""
    lead = [p for name in _METHOD_LEAD for p in spec.params if p.name == name]
    return [*lead, *(p for p in spec.params if p not in lead)]


def _method_lines(spec: CommandSpec) -> list[str]:
    lines = []
    for param in _method_params(spec):
        default = f" = {literal(param.facade_default)}" if param.has_method_default else ""
        lines.append(f"{param.facade_name}: {param.facade_annotation}{default}")
        if param.name == "symbol":
            lines.append("code: str | None = None")  # the wire name of the data requests
    return [*lines, "guid: str | None = None", "timeout: float | None = None"]


def _method(spec: CommandSpec) -> str:
    member = f"CommandOpcode.{spec.opcode.name}"
    return (
        _signature(spec.name, ["self", "*"], _method_lines(spec), "OrderResult", "    ")
        + _docstring(spec.doc, "        ")
        + f"        return self._command({member}, locals())\n"
    )


def render_methods() -> str:
    """The source of the order methods module."""
    froms = {
        "alor_sync.commands.method_calls": {
            "DEFAULT_EXCHANGE",
            "CommandCalls",
            "Price",
            "UnixTime",
            "command_arguments",
        },
        "alor_sync.commands.results": {"OrderResult"},
        "alor_sync.models": {"Condition", "Side", "TimeInForce"},
        "alor_sync.wire": {"CommandOpcode"},
    }
    parts = [_METHODS_HEADER.format(imports=import_lines(froms))]
    section = ""
    for spec in COMMAND_SPECS.values():
        verb = spec.opcode.value.split(":")[0]
        if verb != section:
            section = verb
            parts.append(f"    # {'-' * 66} {_SECTIONS[verb]}\n")
        parts.append(_method(spec))
    return "\n".join(parts)


_ROOT = Path(__file__).resolve().parent.parent
FILES: dict[Path, Callable[[], str]] = {
    _ROOT / "protocol" / "command_requests.py": render_requests,
    _ROOT / "commands" / "methods.py": render_methods,
}
"""Each generated file and what renders it."""


def main() -> None:
    write(FILES)


if __name__ == "__main__":
    main()
