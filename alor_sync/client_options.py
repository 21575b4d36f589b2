"""The keyword options of :class:`~alor_sync.client.AlorClient` as one typed dict, for the
typed overloads of its constructor (``exact=False`` -> ``AlorClient[float]``, ``exact=True`` ->
``AlorClient[Decimal]``). Types only: the constructor itself names every option, and
:mod:`alor_sync.client` documents them.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from alor_sync.auth import TokenProvider
from alor_sync.dispatch.dispatcher import Executor
from alor_sync.endpoints import Endpoints
from alor_sync.events import ConnectionChange, GapNotice, ResubscribeReport

if TYPE_CHECKING:
    from alor_sync.dispatch.hooks import ErrorHook

__all__ = ["ClientOptions"]


class ClientOptions(TypedDict, total=False):
    """Every keyword option of ``AlorClient(...)`` but ``exact``."""

    access_token: str | None
    token_provider: TokenProvider | None
    env: str | Endpoints
    ws_url: str | None
    cws_url: str | None
    oauth_url: str | None
    workers: int | None
    executor: Executor | None
    heartbeat_interval: float | None
    pong_timeout: float
    connect_timeout: float
    reconnect_delay: float
    max_reconnect_delay: float
    max_reconnect_attempts: int | None
    lossless_queue_limit: int
    max_subscriptions_per_connection: int
    max_connections: int
    ssl_context: ssl.SSLContext | None
    on_connect: Callable[[ConnectionChange], None] | None
    on_disconnect: Callable[[ConnectionChange], None] | None
    on_resubscribed: Callable[[ResubscribeReport], None] | None
    on_gap: Callable[[GapNotice], None] | None
    on_error: ErrorHook | None
