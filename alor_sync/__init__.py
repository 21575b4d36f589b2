"""alor-sync: a synchronous, threaded client for the ALOR Broker WebSocket API.

Start with :class:`AlorClient` (data subscriptions, and order commands through
``client.commands``); :func:`decode` turns a recorded payload into its typed model. The local
broker emulator lives in :mod:`alor_sync.emulator` (extra ``emulator``).
"""

from __future__ import annotations

import logging

from alor_sync.auth import (
    JwtClaims,
    RefreshTokenProvider,
    StaticTokenProvider,
    TokenProvider,
    TokenStatistics,
)
from alor_sync.client import AlorClient, ClientStatistics
from alor_sync.codec.converter import decode, decoder_for
from alor_sync.commands.channel import CommandChannel
from alor_sync.commands.results import ChannelState, CommandFuture, CommandStatistics, OrderResult
from alor_sync.data.subscriptions import Subscription, SubscriptionState, SubscriptionStatistics
from alor_sync.dataframes import to_frame
from alor_sync.dispatch.dispatcher import Executor
from alor_sync.endpoints import DEV, PRODUCTION, Endpoints
from alor_sync.errors import (
    AlorError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CommandNotSentError,
    CommandQueueFullError,
    CommandTimeoutError,
    ConnectFailedError,
    ConnectionLostError,
    DecodeError,
    InvalidArgumentError,
    MalformedFrameError,
    NotAuthorizedError,
    NotFoundError,
    NotSentClosedError,
    NotSentConnectionLostError,
    NotSentTimeoutError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TokenRefreshError,
)
from alor_sync.events import (
    ConnectionChange,
    GapNotice,
    GapReason,
    ResubscribeReport,
    StateChange,
)
from alor_sync.models import (
    AllTrade,
    Bar,
    BookSide,
    ClientType,
    Condition,
    CurrencyBuyingPower,
    Exchange,
    Iceberg,
    Instrument,
    Number,
    Order,
    OrderBook,
    OrderBookLevel,
    OrderStatus,
    OrderType,
    Position,
    Quote,
    RepoFields,
    Risk,
    RiskStatus,
    Side,
    SpectraRisk,
    StopOrder,
    StopOrderType,
    Summary,
    TimeInForce,
    Trade,
    TradingStatus,
)
from alor_sync.wire import CommandOpcode, Format, Opcode

# The one place the version is written: setup.cfg reads it (``version = attr: ...``).
__version__ = "0.1.0"

logging.getLogger("alor_sync").addHandler(logging.NullHandler())

__all__ = [
    "DEV",
    "PRODUCTION",
    "APIError",
    "AllTrade",
    "AlorClient",
    "AlorError",
    "AuthenticationError",
    "BadRequestError",
    "Bar",
    "BookSide",
    "ChannelState",
    "ClientClosedError",
    "ClientStatistics",
    "ClientType",
    "CommandChannel",
    "CommandFuture",
    "CommandNotSentError",
    "CommandOpcode",
    "CommandQueueFullError",
    "CommandStatistics",
    "CommandTimeoutError",
    "Condition",
    "ConnectFailedError",
    "ConnectionChange",
    "ConnectionLostError",
    "CurrencyBuyingPower",
    "DecodeError",
    "Endpoints",
    "Exchange",
    "Executor",
    "Format",
    "GapNotice",
    "GapReason",
    "Iceberg",
    "Instrument",
    "InvalidArgumentError",
    "JwtClaims",
    "MalformedFrameError",
    "NotAuthorizedError",
    "NotFoundError",
    "NotSentClosedError",
    "NotSentConnectionLostError",
    "NotSentTimeoutError",
    "Number",
    "Opcode",
    "Order",
    "OrderBook",
    "OrderBookLevel",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "Position",
    "Quote",
    "RateLimitError",
    "RefreshTokenProvider",
    "RepoFields",
    "ResubscribeReport",
    "Risk",
    "RiskStatus",
    "ServerError",
    "Side",
    "SpectraRisk",
    "StateChange",
    "StaticTokenProvider",
    "StopOrder",
    "StopOrderType",
    "Subscription",
    "SubscriptionState",
    "SubscriptionStatistics",
    "Summary",
    "TimeInForce",
    "TokenProvider",
    "TokenRefreshError",
    "TokenStatistics",
    "Trade",
    "TradingStatus",
    "decode",
    "decoder_for",
    "to_frame",
]
