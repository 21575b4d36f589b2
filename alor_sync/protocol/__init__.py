"""The wire protocol, sans-IO: request builders for ``/ws`` and ``/cws``, and the frame classifier.

Owns: the request of every opcode (built and checked from its spec) and the classification of
received frames; request wire names live here.

Never: opens a socket, starts a thread, reads a clock or logs.

Rules of this package:

* No sockets, threads, clocks or logging: Python values in, plain dicts (or frame values) out.
* Request wire names live here, payload wire names in :mod:`alor_sync.codec` only; every argument
  is snake_case and is checked before anything could be sent
  (:class:`~alor_sync.errors.InvalidArgumentError`).
* Requests never contain the access token; the transport adds it at send time (:func:`with_token`).

Wire spellings chosen (the server reads enums case-insensitively; the reference's examples mix
casings): ``format`` ``Simple``/``Slim``/``Heavy``; ``tf`` a string (``"60"``, ``"D"``);
``side``, ``timeInForce``, ``condition`` and order statuses in the lowercase spelling of the schema
enums (``buy``, ``oneday``, ``lessorequal``, ``filled``).

Modules: :mod:`~alor_sync.protocol.specs` (one spec per subscription opcode),
:mod:`~alor_sync.protocol.ws` (subscription requests, built from the specs),
:mod:`~alor_sync.protocol.command_specs` (one spec per order command),
:mod:`~alor_sync.protocol.command_requests` (the order command builders, generated from them),
:mod:`~alor_sync.protocol.cws` (``authorize``, commands by name, :func:`dumps`),
:mod:`~alor_sync.protocol.frames` (inbound frames).
"""

from __future__ import annotations

from alor_sync.protocol._checks import COMMENT_MAX_LENGTH
from alor_sync.protocol.command_requests import (
    create_limit_request,
    create_market_request,
    create_stop_limit_request,
    create_stop_request,
    delete_limit_request,
    delete_market_request,
    delete_stop_limit_request,
    delete_stop_request,
    update_limit_request,
    update_market_request,
    update_stop_limit_request,
    update_stop_request,
)
from alor_sync.protocol.cws import authorize_request, command_request, dumps
from alor_sync.protocol.frames import (
    Confirmation,
    DataFrame,
    Frame,
    MalformedFrame,
    classify,
    parse_json,
)
from alor_sync.protocol.ws import (
    ALL_TRADES_MAX_DEPTH,
    MIN_FREQUENCY_MS,
    ORDER_BOOK_MAX_DEPTH,
    all_trades_request,
    bars_request,
    instruments_request,
    order_book_request,
    orders_request,
    ping_request,
    positions_request,
    quotes_request,
    risks_request,
    spectra_risks_request,
    stop_orders_request,
    subscription_request,
    summaries_request,
    trades_request,
    unsubscribe_request,
    with_token,
)

__all__ = [
    "ALL_TRADES_MAX_DEPTH",
    "COMMENT_MAX_LENGTH",
    "MIN_FREQUENCY_MS",
    "ORDER_BOOK_MAX_DEPTH",
    "Confirmation",
    "DataFrame",
    "Frame",
    "MalformedFrame",
    "all_trades_request",
    "authorize_request",
    "bars_request",
    "classify",
    "command_request",
    "create_limit_request",
    "create_market_request",
    "create_stop_limit_request",
    "create_stop_request",
    "delete_limit_request",
    "delete_market_request",
    "delete_stop_limit_request",
    "delete_stop_request",
    "dumps",
    "instruments_request",
    "order_book_request",
    "orders_request",
    "parse_json",
    "ping_request",
    "positions_request",
    "quotes_request",
    "risks_request",
    "spectra_risks_request",
    "stop_orders_request",
    "subscription_request",
    "summaries_request",
    "trades_request",
    "unsubscribe_request",
    "update_limit_request",
    "update_market_request",
    "update_stop_limit_request",
    "update_stop_request",
    "with_token",
]
