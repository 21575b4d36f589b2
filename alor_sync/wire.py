"""Names the wire protocol uses for opcodes and data formats, shared by every layer.

Rules of this module:

* Only constants and their parsing live here: no I/O, no state.
* Parsing is case-insensitive because the broker's own terminal sends ``simple``/``slim`` and
  ``create:stoplimit``; what we send is always the documented spelling.
"""

from __future__ import annotations

from enum import StrEnum

from alor_sync.errors import InvalidArgumentError

__all__ = [
    "COMMAND_OPCODES",
    "SUBSCRIPTION_OPCODES",
    "CommandOpcode",
    "Format",
    "Opcode",
    "parse_format",
    "parse_opcode",
]


class Format(StrEnum):
    """The three wire formats of every ``/ws`` subscription."""

    SIMPLE = "Simple"
    SLIM = "Slim"
    HEAVY = "Heavy"


class Opcode(StrEnum):
    """``/ws`` opcodes: the twelve subscriptions plus ``unsubscribe`` and ``ping``."""

    ORDER_BOOK = "OrderBookGetAndSubscribe"
    BARS = "BarsGetAndSubscribe"
    QUOTES = "QuotesSubscribe"
    ALL_TRADES = "AllTradesGetAndSubscribe"
    INSTRUMENTS = "InstrumentsGetAndSubscribeV2"
    POSITIONS = "PositionsGetAndSubscribeV2"
    SUMMARIES = "SummariesGetAndSubscribeV2"
    RISKS = "RisksGetAndSubscribe"
    SPECTRA_RISKS = "SpectraRisksGetAndSubscribe"
    TRADES = "TradesGetAndSubscribeV2"
    ORDERS = "OrdersGetAndSubscribeV2"
    STOP_ORDERS = "StopOrdersGetAndSubscribeV2"
    UNSUBSCRIBE = "unsubscribe"
    PING = "ping"


SUBSCRIPTION_OPCODES: tuple[Opcode, ...] = tuple(
    op for op in Opcode if op not in (Opcode.UNSUBSCRIBE, Opcode.PING)
)


class CommandOpcode(StrEnum):
    """``/cws`` opcodes, spelled as the documentation spells them."""

    AUTHORIZE = "authorize"
    CREATE_MARKET = "create:market"
    CREATE_LIMIT = "create:limit"
    CREATE_STOP = "create:stop"
    CREATE_STOP_LIMIT = "create:stopLimit"
    UPDATE_MARKET = "update:market"
    UPDATE_LIMIT = "update:limit"
    UPDATE_STOP = "update:stop"
    UPDATE_STOP_LIMIT = "update:stopLimit"
    DELETE_MARKET = "delete:market"
    DELETE_LIMIT = "delete:limit"
    DELETE_STOP = "delete:stop"
    DELETE_STOP_LIMIT = "delete:stopLimit"
    PING = "ping"


COMMAND_OPCODES: tuple[CommandOpcode, ...] = tuple(
    op for op in CommandOpcode if op not in (CommandOpcode.AUTHORIZE, CommandOpcode.PING)
)

_FORMATS_BY_LOWER = {f.value.lower(): f for f in Format}
_OPCODES_BY_LOWER = {o.value.lower(): o for o in Opcode}


def parse_format(value: str | Format) -> Format:
    """Return the :class:`Format` named by ``value`` in any casing, or raise a clear error."""
    if isinstance(value, Format):
        return value
    found = _FORMATS_BY_LOWER.get(str(value).lower())
    if found is None:
        raise InvalidArgumentError(
            f"format must be one of Simple, Slim, Heavy (any casing), not {value!r}"
        )
    return found


def parse_opcode(value: str | Opcode) -> Opcode:
    """Return the ``/ws`` :class:`Opcode` named by ``value`` in any casing, or raise."""
    if isinstance(value, Opcode):
        return value
    found = _OPCODES_BY_LOWER.get(str(value).lower())
    if found is None:
        known = ", ".join(o.value for o in SUBSCRIPTION_OPCODES)
        raise InvalidArgumentError(f"unknown opcode {value!r}; known subscriptions: {known}")
    return found
