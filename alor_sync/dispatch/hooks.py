"""The user's lifecycle hooks, run off the network threads and in the order events happened.

Rules of this module:

* A hook is user code, so it never runs on a network or control thread: :meth:`HookRunner.emit`
  queues the call on one dedicated dispatcher route, which also keeps hook calls in order and
  never concurrent with each other.
* A hook that raises is logged; it never stops later hooks or the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.dispatch.routes import OverflowPolicy, Route
from alor_sync.errors import APIError, DecodeError
from alor_sync.events import ConnectionChange, GapNotice, ResubscribeReport

__all__ = ["EVENTS_ROUTE", "HookRunner", "log_error"]

logger = logging.getLogger("alor_sync")

EVENTS_ROUTE = "alor-sync:events"

ErrorHook = Callable[[BaseException, "str | None"], None]


def log_error(error: BaseException, guid: str | None) -> None:
    """The default ``on_error``: log with the traceback, naming the subscription if any.

    A subscription the server refused (an :class:`~alor_sync.errors.APIError`: unknown symbol,
    no rights...) is one WARNING line without a traceback: it is the server's answer, not a
    failure in code, and ``wait_active``/``get_*`` raise the same error to the caller. It is
    still logged because a caller that never waits would otherwise not hear of it.
    """
    where = f" (subscription {guid})" if guid else ""
    if isinstance(error, APIError):
        logger.warning("alor-sync: request refused%s: %s", where, error)
        return
    logger.error("alor-sync error%s: %s", where, error, exc_info=error)


def _log_gap(notice: GapNotice) -> None:
    logger.warning(
        "alor-sync: gap in %s %s (%s, %d frames dropped); a fresh snapshot follows",
        notice.opcode,
        notice.guid,
        notice.reason.value,
        notice.dropped,
    )


class HookRunner:
    """Holds the user's hooks and runs them on the dispatcher (events route).

    ``emit_*`` may be called from any thread, the network threads included: they only queue.
    The hooks themselves run on a dispatcher worker (or the user's executor).
    """

    def __init__(
        self,
        *,
        on_connect: Callable[[ConnectionChange], None] | None = None,
        on_disconnect: Callable[[ConnectionChange], None] | None = None,
        on_resubscribed: Callable[[ResubscribeReport], None] | None = None,
        on_gap: Callable[[GapNotice], None] | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._on_resubscribed = on_resubscribed
        self._on_gap = on_gap or _log_gap
        self._on_error: ErrorHook = on_error or log_error
        self._route: Route | None = None

    def attach(self, dispatcher: Dispatcher) -> None:
        """Create the events route; hooks emitted before this are run inline (nothing runs)."""
        self._route = dispatcher.add_route(
            EVENTS_ROUTE, handler=self._run, policy=OverflowPolicy.LOSSLESS
        )
        self._dispatcher = dispatcher

    def _run(self, call: tuple[Callable[..., None], tuple[Any, ...]]) -> None:
        hook, args = call
        try:
            hook(*args)
        except Exception:
            logger.exception("alor-sync: a lifecycle hook raised")

    def _emit(self, hook: Callable[..., None] | None, *args: Any) -> None:
        if hook is None or self._route is None:
            return
        self._dispatcher.deliver(self._route, (hook, args))

    def emit_connection(self, change: ConnectionChange) -> None:
        self._emit(self._on_connect if change.connected else self._on_disconnect, change)

    def emit_resubscribed(self, report: ResubscribeReport) -> None:
        self._emit(self._on_resubscribed, report)

    def emit_error(self, error: BaseException, guid: str | None) -> None:
        """Report an error found on a network or control thread."""
        self._emit(self._on_error, error, guid)

    def gap(self, notice: GapNotice) -> None:
        """Run ``on_gap`` now: called on the subscription's own worker, in stream order."""
        try:
            self._on_gap(notice)
        except Exception:
            logger.exception("alor-sync: the on_gap hook raised")

    def worker_error(self, error: BaseException, route_key: object) -> None:
        """The dispatcher's ``on_error``: a decode or callback failure, already on a worker."""
        guid = route_key if isinstance(route_key, str) else None
        if isinstance(error, DecodeError) and error.guid is None and guid is not None:
            error = DecodeError(error.reason, opcode=error.opcode, format=error.format, guid=guid)
        try:
            self._on_error(error, guid)
        except Exception:
            logger.exception("alor-sync: the on_error hook raised")
