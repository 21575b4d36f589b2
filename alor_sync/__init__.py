"""alor-sync: a synchronous, threaded client for the ALOR Broker WebSocket API."""

from __future__ import annotations

from alor_sync.errors import (
    AlorError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CommandTimeoutError,
    ConnectionLostError,
    DecodeError,
    InvalidArgumentError,
    MalformedFrameError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TokenRefreshError,
)
from alor_sync.wire import CommandOpcode, Format, Opcode

__all__ = [
    "APIError",
    "AlorError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "CommandOpcode",
    "CommandTimeoutError",
    "ConnectionLostError",
    "DecodeError",
    "Format",
    "InvalidArgumentError",
    "MalformedFrameError",
    "NotFoundError",
    "Opcode",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TokenRefreshError",
]
