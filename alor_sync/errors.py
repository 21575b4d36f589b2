"""The one error tree of alor-sync, rooted at :class:`AlorError`.

Rules of this module:

* Every exception alor-sync raises on purpose is an ``AlorError``; where a builtin fits, the class
  also derives from it (``ValueError``, ``TimeoutError``, ``ConnectionError``) so that generic
  ``except`` clauses keep working.
* Foreign exceptions (websocket-client, urllib, orjson, cattrs) are translated at exactly one
  boundary each, never here.
* No message built here may contain an access or refresh token: messages carry server texts, guids
  and argument names only.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AlorError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "CommandNotSentError",
    "CommandQueueFullError",
    "CommandTimeoutError",
    "ConnectFailedError",
    "ConnectionLostError",
    "DecodeError",
    "InvalidArgumentError",
    "MalformedFrameError",
    "NotAuthorizedError",
    "NotFoundError",
    "NotSentClosedError",
    "NotSentConnectionLostError",
    "NotSentTimeoutError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TokenRefreshError",
    "error_for_reply",
]


class AlorError(Exception):
    """Base of every error alor-sync raises on purpose."""


class InvalidArgumentError(AlorError, ValueError):
    """A caller passed an argument the API cannot accept; nothing was sent.

    The message names the argument and says what would be accepted.
    """


class DecodeError(AlorError, ValueError):
    """A payload could not be turned into its typed model.

    Raised by :func:`alor_sync.decode`; inside the client it is never raised on a network thread but
    delivered to the ``on_error`` hook together with the subscription it belongs to.
    """

    def __init__(
        self,
        reason: str,
        *,
        opcode: str | None = None,
        format: str | None = None,
        guid: str | None = None,
    ) -> None:
        self.reason = reason
        self.opcode = opcode
        self.format = format
        self.guid = guid
        where = ", ".join(
            f"{name}={value}"
            for name, value in (("opcode", opcode), ("format", format), ("guid", guid))
            if value is not None
        )
        super().__init__(f"{reason} ({where})" if where else reason)


class MalformedFrameError(DecodeError):
    """An inbound frame is not a JSON object of a known shape (neither data nor confirmation)."""


class APIError(AlorError):
    """The server answered a request with a non-200 ``httpCode``.

    ``request_guid`` may be the empty string: the server sends ``"requestGuid": ""`` on some 401
    replies, so the error cannot always be tied to the request that caused it.
    """

    def __init__(self, http_code: int, message: str, request_guid: str = "") -> None:
        self.http_code = http_code
        self.message = message
        self.request_guid = request_guid
        super().__init__(f"{http_code}: {message} (requestGuid={request_guid!r})")

    def __reduce__(self) -> tuple[type[APIError], tuple[int, str, str]]:
        return (type(self), (self.http_code, self.message, self.request_guid))


class BadRequestError(APIError, ValueError):
    """400: the server rejected the request's content (missing field, invalid quantity, ...)."""


class AuthenticationError(APIError):
    """401: the access token was missing, invalid or expired (``Invalid JWT token!``)."""


class PermissionDeniedError(APIError):
    """403: the token does not cover the portfolio or resource asked for."""


class NotFoundError(APIError):
    """404: the instrument, order or portfolio does not exist."""


class RateLimitError(APIError):
    """429: too many requests or subscriptions."""


class ServerError(APIError):
    """5xx: the server failed; the request may be retried later."""


_ERRORS_BY_CODE: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_for_reply(http_code: int, message: str, request_guid: str = "") -> APIError:
    """Return the typed error for a non-200 confirmation (not raised: the caller decides)."""
    error_class = _ERRORS_BY_CODE.get(http_code)
    if error_class is None:
        error_class = ServerError if http_code >= 500 else APIError
    return error_class(http_code, message, request_guid)


class TokenRefreshError(AlorError):
    """The refresh token could not be exchanged for an access token.

    ``status`` is the HTTP status of the OAuth endpoint (403 for a malformed, revoked or expired
    refresh token), or ``None`` when the endpoint could not be reached.
    """

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(reason)


class ConnectionLostError(AlorError, ConnectionError):
    """The connection needed for an operation is down and the operation could not complete."""


class ConnectFailedError(AlorError, ConnectionError):
    """A connection could not be made; ``kind`` says why, the message names the URL and cause.

    ``kind``: ``"refused"`` (nothing listens on the port), ``"dns"`` (the host name does not
    resolve), ``"tls"`` (the TLS handshake or certificate check failed), ``"http"`` (the server
    answered the upgrade with ``http_status``, e.g. 401 or 404), ``"timeout"`` (no answer
    within the connect timeout) or ``"other"``. ``__cause__`` is the original exception when
    there was one. Raised by ``AlorClient.start(wait=...)``; chained from the timeout error of
    ``Subscription.wait_active`` when the request could not be sent for lack of a connection.
    """

    KINDS = ("refused", "dns", "tls", "http", "timeout", "other")

    def __init__(self, message: str, *, kind: str, http_status: int | None = None) -> None:
        self.kind = kind if kind in self.KINDS else "other"
        self.http_status = http_status
        super().__init__(message)


class ClientClosedError(AlorError, RuntimeError):
    """The client (or one of its parts) was closed; the call cannot proceed."""


class CommandTimeoutError(AlorError, TimeoutError):
    """A wait with a ``timeout`` ran out before its condition held (nothing about orders)."""


class OutcomeUnknownError(AlorError, TimeoutError):
    """An order command was sent, but no reply came back (timeout or dropped connection).

    The order may or may not exist. alor-sync never re-sends it by itself: call
    ``commands.retry(error.request_guid)`` to re-send the same command with the same guid (the
    server executes a guid at most once) or look at the orders subscription first.
    """

    def __init__(self, request_guid: str, reason: str) -> None:
        self.request_guid = request_guid
        self.reason = reason
        super().__init__(f"outcome unknown for command {request_guid}: {reason}")

    def __reduce__(self) -> tuple[type[OutcomeUnknownError], tuple[str, str]]:
        return (type(self), (self.request_guid, self.reason))


# ---------------------------------------------------------------------- order commands
#
# Two families, never mixed up: the server's answer to a command is an APIError (its code says
# why; the server did not execute it), OutcomeUnknownError means the command was sent and no
# answer came, and CommandNotSentError means the command never left this process. Each carries
# the command's ``request_guid``. The subclasses also derive from the class that was raised for
# the same case before they existed, so ``except ConnectionLostError`` and friends keep working.


class CommandNotSentError(AlorError):
    """An order command was never sent: the order was NOT placed (its guid is unused).

    ``request_guid`` is the command's guid (re-sending the same arguments with it is safe);
    ``reason`` says why it was not sent. The subclasses name the cases.
    """

    def __init__(self, request_guid: str, reason: str) -> None:
        self.request_guid = request_guid
        self.reason = reason
        # Not super(): the subclasses also derive from classes with other constructors.
        Exception.__init__(
            self, f"command {request_guid} was not sent: {reason}; the order was NOT placed"
        )

    def __reduce__(self) -> tuple[type[CommandNotSentError], tuple[str, str]]:
        return (type(self), (self.request_guid, self.reason))


class NotSentTimeoutError(CommandNotSentError, CommandTimeoutError):
    """The command's ``timeout`` ran out while it waited for an authorized ``/cws`` connection."""


class NotSentClosedError(CommandNotSentError, ClientClosedError):
    """The channel (or the client) was closed before the command could be sent."""


class NotSentConnectionLostError(CommandNotSentError, ConnectionLostError):
    """The ``/cws`` connection gave up for good (``max_reconnect_attempts``) before sending it."""


class CommandQueueFullError(CommandNotSentError):
    """Too many commands already wait for the ``/cws`` connection (``max_queued``); retry later."""


class NotAuthorizedError(CommandNotSentError, AuthenticationError):
    """The ``/cws`` connection could not be authorized, so the command was never sent.

    The server refused the connection's ``authorize`` (``http_code``/``message`` are from that
    reply: 401 ``Invalid JWT token!``, say), or no access token could be obtained for it
    (``http_code`` 401). Unlike an :class:`AuthenticationError` answer *to the command*, the
    command itself never reached the server. It is an ``AuthenticationError`` too, so existing
    ``except AuthenticationError`` clauses keep catching it; test ``CommandNotSentError`` to tell
    the two apart.
    """

    def __init__(self, request_guid: str, reason: str, http_code: int = 401) -> None:
        CommandNotSentError.__init__(self, request_guid, reason)
        self.http_code = http_code
        self.message = reason

    def __reduce__(self) -> tuple[type[NotAuthorizedError], tuple[str, str, int]]:  # type: ignore[override]
        return (type(self), (self.request_guid, self.reason, self.http_code))
