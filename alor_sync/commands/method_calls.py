"""What the typed order methods share: the conventions of their arguments and the one generic
call they forward to.

Rules of this module:

* The methods (:mod:`alor_sync.commands.methods`) are generated from the command specs; each
  hands its ``locals()`` to :meth:`CommandCalls._command`, which applies the conventions every
  entry point shares (:func:`command_arguments`) and calls ``_call``, implemented by
  :class:`~alor_sync.commands.channel.CommandChannel`, which checks, sends and waits.
* No I/O, no state, no threads of its own: it runs on the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias

from alor_sync.commands.results import OrderResult
from alor_sync.data.stream_options import instrument_code
from alor_sync.protocol.command_specs import DEFAULT_EXCHANGE
from alor_sync.wire import CommandOpcode

__all__ = ["DEFAULT_EXCHANGE", "Call", "CommandCalls", "Price", "UnixTime", "command_arguments"]

Price: TypeAlias = int | float | Decimal
UnixTime: TypeAlias = int | datetime

_LOCAL_NAMES = ("self", "timeout", "guid")


def command_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` of a command with the conventions every entry point shares (the methods and
    ``CommandChannel.submit``): the instrument under its one name ``symbol`` (``code=`` is
    accepted for it), ``exchange`` ``"MOEX"`` unless given."""
    arguments = dict(params)
    if "code" in arguments:
        arguments["symbol"] = instrument_code(arguments.get("symbol"), arguments.pop("code"))
    if arguments.get("exchange") is None:
        arguments["exchange"] = DEFAULT_EXCHANGE
    return arguments


Call: TypeAlias = Callable[[CommandOpcode, dict[str, Any], float | None, str | None], OrderResult]
"""``_call(opcode, arguments, timeout, guid)``: check, send, wait (``CommandChannel`` has it)."""


class CommandCalls:
    """Base of :class:`~alor_sync.commands.methods.OrderCommandMethods`: the generic call."""

    _call: Call  # a method of the class that sends: CommandChannel

    def _command(self, opcode: CommandOpcode, frame_locals: dict[str, Any]) -> OrderResult:
        """A typed method's call: its ``locals()`` minus ``self``, ``timeout`` and ``guid`` are
        the command's arguments."""
        params = {k: v for k, v in frame_locals.items() if k not in _LOCAL_NAMES}
        return self._call(
            opcode, command_arguments(params), frame_locals["timeout"], frame_locals["guid"]
        )
