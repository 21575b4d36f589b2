"""The typed order commands (``create_*``, ``update_*``, ``delete_*``) of the command channel.

Generated from the command specs (:mod:`alor_sync.protocol.command_specs`): do not edit;
regenerate with ``python -m alor_sync.commands.generate``.

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

from alor_sync.commands.method_calls import (
    DEFAULT_EXCHANGE,
    CommandCalls,
    Price,
    UnixTime,
    command_arguments,
)
from alor_sync.commands.results import OrderResult
from alor_sync.models import Condition, Side, TimeInForce
from alor_sync.wire import CommandOpcode

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

    # ------------------------------------------------------------------ create

    def create_market(
        self,
        *,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        instrument_group: str | None = None,
        comment: str | None = None,
        time_in_force: TimeInForce | str | None = None,
        allow_margin: bool | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Buy or sell ``quantity`` lots at the market (``create:market``)."""
        return self._command(CommandOpcode.CREATE_MARKET, locals())

    def create_limit(
        self,
        *,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        price: Price,
        instrument_group: str | None = None,
        comment: str | None = None,
        time_in_force: TimeInForce | str | None = None,
        allow_margin: bool | None = None,
        iceberg_fixed: int | None = None,
        iceberg_variance: int | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """A limit order at ``price`` (``create:limit``); ``iceberg_*`` make it an iceberg."""
        return self._command(CommandOpcode.CREATE_LIMIT, locals())

    def create_stop(
        self,
        *,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        condition: Condition | str,
        trigger_price: Price,
        instrument_group: str | None = None,
        stop_end_unix_time: UnixTime | None = None,
        protecting_seconds: int | None = None,
        comment: str | None = None,
        allow_margin: bool | None = None,
        activate: bool | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """A market order placed when the last price meets ``condition`` against
        ``trigger_price`` (``create:stop``). ``stop_end_unix_time``: expiry, unix seconds or
        an aware datetime; ``activate=False`` creates it inactive."""
        return self._command(CommandOpcode.CREATE_STOP, locals())

    def create_stop_limit(
        self,
        *,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        price: Price,
        condition: Condition | str,
        trigger_price: Price,
        instrument_group: str | None = None,
        stop_end_unix_time: UnixTime | None = None,
        protecting_seconds: int | None = None,
        comment: str | None = None,
        time_in_force: TimeInForce | str | None = None,
        allow_margin: bool | None = None,
        iceberg_fixed: int | None = None,
        iceberg_variance: int | None = None,
        activate: bool | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """A limit order at ``price`` placed when the trigger condition holds
        (``create:stopLimit``)."""
        return self._command(CommandOpcode.CREATE_STOP_LIMIT, locals())

    # ------------------------------------------------------------------ update

    def update_market(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        instrument_group: str | None = None,
        comment: str | None = None,
        time_in_force: TimeInForce | str | None = None,
        allow_margin: bool | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Replace market order ``order_id`` (``update:market``); the result has the new number."""
        return self._command(CommandOpcode.UPDATE_MARKET, locals())

    def update_limit(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        price: Price,
        instrument_group: str | None = None,
        comment: str | None = None,
        allow_margin: bool | None = None,
        iceberg_fixed: int | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Replace limit order ``order_id`` (``update:limit``: the old order is cancelled and a
        new one placed; the result has the new number). The reference gives this command no
        ``time_in_force`` or ``iceberg_variance``."""
        return self._command(CommandOpcode.UPDATE_LIMIT, locals())

    def update_stop(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        condition: Condition | str,
        trigger_price: Price,
        instrument_group: str | None = None,
        stop_end_unix_time: UnixTime | None = None,
        protecting_seconds: int | None = None,
        comment: str | None = None,
        allow_margin: bool | None = None,
        activate: bool | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Replace stop order ``order_id`` (``update:stop``); the result has the new number."""
        return self._command(CommandOpcode.UPDATE_STOP, locals())

    def update_stop_limit(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        symbol: str | None = None,
        code: str | None = None,
        exchange: str = "MOEX",
        side: Side | str,
        quantity: int,
        price: Price,
        condition: Condition | str,
        trigger_price: Price,
        instrument_group: str | None = None,
        stop_end_unix_time: UnixTime | None = None,
        protecting_seconds: int | None = None,
        comment: str | None = None,
        time_in_force: TimeInForce | str | None = None,
        allow_margin: bool | None = None,
        iceberg_fixed: int | None = None,
        iceberg_variance: int | None = None,
        activate: bool | None = None,
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Replace stop-limit order ``order_id`` (``update:stopLimit``)."""
        return self._command(CommandOpcode.UPDATE_STOP_LIMIT, locals())

    # ------------------------------------------------------------------ delete (cancel)

    def delete_market(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        exchange: str = "MOEX",
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Cancel market order ``order_id`` (``delete:market``)."""
        return self._command(CommandOpcode.DELETE_MARKET, locals())

    def delete_limit(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        exchange: str = "MOEX",
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Cancel limit order ``order_id`` (``delete:limit``)."""
        return self._command(CommandOpcode.DELETE_LIMIT, locals())

    def delete_stop(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        exchange: str = "MOEX",
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Cancel stop order ``order_id`` (``delete:stop``)."""
        return self._command(CommandOpcode.DELETE_STOP, locals())

    def delete_stop_limit(
        self,
        *,
        order_id: str | int,
        portfolio: str,
        exchange: str = "MOEX",
        check_duplicates: bool | None = None,
        guid: str | None = None,
        timeout: float | None = None,
    ) -> OrderResult:
        """Cancel stop-limit order ``order_id`` (``delete:stopLimit``)."""
        return self._command(CommandOpcode.DELETE_STOP_LIMIT, locals())
