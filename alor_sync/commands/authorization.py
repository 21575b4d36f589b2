"""When and with which token the ``/cws`` connection is authorized: the control-thread half of
:class:`~alor_sync.commands.session.CommandSession`.

Rules of this module:

* It is one object with :mod:`alor_sync.commands.session` (the session derives from
  :class:`AuthorizationFlow`): the same locks, the same state, the same rules. Split off only
  because authorization has its own timers and jobs.
* Jobs named ``_*_job`` run on the control thread and are the only code here that may wait for
  HTTP (a token refresh); they hand the ``authorize`` frame to the writer thread, never write.
* Methods marked ``_lock held`` expect the caller to hold the session's lock.
"""

from __future__ import annotations

import collections
import logging
import threading
import uuid
from collections.abc import Callable

import attrs

from alor_sync import protocol
from alor_sync.auth import Secret, TokenProvider
from alor_sync.commands.book import CommandBook, Settlement, settle
from alor_sync.commands.results import ChannelState
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.errors import AlorError, CommandNotSentError, NotAuthorizedError

__all__ = ["AuthAttempt", "AuthorizationFlow", "NotSent", "new_guid", "no_token_error"]

logger = logging.getLogger("alor_sync.commands")

UNAUTHORIZED = 401
_MIN_REAUTHORIZE_DELAY = 0.5  # seconds; a floor for tokens that are (nearly) expired on arrival
_REAUTHORIZE_RETRY_DELAY = 5.0  # seconds between attempts when a proactive re-authorize fails
CONNECTED = (ChannelState.AUTHORIZING, ChannelState.READY, ChannelState.UNAUTHORIZED)
FINAL = (ChannelState.CLOSED, ChannelState.FAILED)

NotSent = Callable[[str], CommandNotSentError]


@attrs.define(eq=False)
class AuthAttempt:
    """One ``authorize`` in flight (or in the writer's outbox) on connection ``epoch``."""

    guid: str
    token: Secret
    epoch: int
    retried: bool  # the one forced token refresh was already spent on it
    blocking: bool  # commands wait for it (a new connection, or after a 401)

    def frame(self) -> bytes:
        return protocol.dumps(protocol.authorize_request(self.guid, self.token.reveal()))


def new_guid() -> str:
    """A fresh request guid (the server accepts any unique string)."""
    return str(uuid.uuid4())


class AuthorizationFlow:
    """The authorization half of the session (see the module rules); not used on its own."""

    # Set by CommandSession.__init__; declared here for the type checker.
    _name: str
    _tokens: TokenProvider
    _control: ControlLoop
    _margin: float
    _authorize_timeout: float
    _lock: threading.Lock
    _changed: threading.Condition
    _book: CommandBook
    _outbox: collections.deque[AuthAttempt]
    _state: ChannelState
    _epoch: int
    _generation: int
    _auth: AuthAttempt | None
    _authorized: Secret | None
    _rejected: Secret | None
    _auth_job_scheduled: bool
    _wake_writer: Callable[[], None]
    _reconnect: Callable[[str], bool]

    def _set_state(self, state: ChannelState) -> None:  # _lock held
        self._state = state
        self._changed.notify_all()

    def _fail_queued(self, make_error: NotSent) -> list[Settlement]:  # _lock held
        settlements = self._book.fail_queued(make_error)
        self._book.counters["not_sent"] += len(settlements)
        return settlements

    def _authorize_refused(
        self, attempt: AuthAttempt, reply: protocol.Confirmation
    ) -> list[Settlement]:
        logger.warning(
            "%s: authorize was refused (%d: %s)", self._name, reply.http_code, reply.message
        )
        if attempt.blocking:
            return self._authorization_failed(
                attempt.epoch,
                lambda guid: NotAuthorizedError(
                    guid, f"the server refused authorize: {reply.message}", reply.http_code
                ),
                rejected=attempt.token,
            )
        # A proactive renewal: the current authorization still holds; try again shortly.
        with self._lock:
            self._book.counters["authorization_failures"] += 1
            generation = self._generation
        self._control.call_later(
            _REAUTHORIZE_RETRY_DELAY, lambda: self._refresh_authorization_job(generation)
        )
        return []

    # ------------------------------------------------------------------ control thread

    def _authorization_job(self, stale: Secret | None, blocking: bool) -> None:
        """Authorize the current connection with a fresh token (after a 401, or on demand)."""
        with self._lock:
            self._auth_job_scheduled = False
            if self._auth is not None or self._state not in CONNECTED:
                return
            epoch = self._epoch
        try:
            token = self._fresh_token(stale)
        except AlorError as exc:
            if blocking:
                settle(self._authorization_failed(epoch, no_token_error(exc)))
            else:
                logger.warning("%s: no fresh token to re-authorize with: %s", self._name, exc)
            return
        self._queue_authorize(epoch, token, retried=True, blocking=blocking)

    def _refresh_authorization_job(self, generation: int) -> None:
        """Proactive: authorize again with a fresh token before the current one expires."""
        with self._lock:
            if generation != self._generation or self._state is not ChannelState.READY:
                return
            if self._auth is not None:
                return
            epoch, stale = self._epoch, self._authorized
        try:
            token = self._fresh_token(stale)
        except AlorError as exc:
            left = self._tokens.expires_in()
            logger.warning("%s: token refresh for re-authorization failed: %s", self._name, exc)
            if left:  # keep trying while the current authorization lasts
                delay = min(_REAUTHORIZE_RETRY_DELAY, max(left / 2, _MIN_REAUTHORIZE_DELAY))
                self._control.call_later(delay, lambda: self._refresh_authorization_job(generation))
            return
        self._queue_authorize(epoch, token, retried=False, blocking=False)

    def _adopt_new_token_job(self) -> None:
        """The provider issued a token (for whatever reason): authorize with it."""
        with self._lock:
            if self._state is not ChannelState.READY or self._auth is not None:
                return
            epoch, current = self._epoch, self._authorized
        try:
            token = self._tokens.get_token()
        except AlorError:
            return  # the proactive refresh timer takes care of it
        if current is not None and token == current.reveal():
            return
        self._queue_authorize(epoch, token, retried=False, blocking=False)

    def _begin_authorize(
        self, epoch: int, token: str, *, retried: bool, blocking: bool
    ) -> AuthAttempt | None:
        """Make ``token``'s authorize the one in flight on connection ``epoch`` (or None)."""
        with self._changed:
            if epoch != self._epoch or self._auth is not None or self._state not in CONNECTED:
                return None
            attempt = AuthAttempt(new_guid(), Secret(token), epoch, retried, blocking)
            self._auth = attempt
            if blocking:
                self._set_state(ChannelState.AUTHORIZING)
            return attempt

    def _queue_authorize(self, epoch: int, token: str, *, retried: bool, blocking: bool) -> None:
        """Control thread: hand an ``authorize`` to the writer (it goes before any command)."""
        attempt = self._begin_authorize(epoch, token, retried=retried, blocking=blocking)
        if attempt is None:
            return
        with self._lock:
            self._outbox.append(attempt)
        self._wake_writer()
        self._watch_authorize(attempt)

    def _watch_authorize(self, attempt: AuthAttempt) -> None:
        self._control.call_later(self._authorize_timeout, lambda: self._authorize_overdue(attempt))

    def _authorize_overdue(self, attempt: AuthAttempt) -> None:
        """Control thread: an ``authorize`` went unanswered; a new connection starts over."""
        with self._lock:
            overdue = self._auth is attempt
        if overdue:
            seconds = self._authorize_timeout
            self._reconnect(f"authorize got no reply within {seconds:g} s")

    def _claim_authorization_job(self, *, force: bool = False) -> bool:  # _lock held
        """True when the caller must schedule an authorization job (at most one at a time)."""
        if self._auth_job_scheduled or not (force or self._state is ChannelState.UNAUTHORIZED):
            return False
        self._auth_job_scheduled = True
        return True

    def _begin_blocking_reauthorization(self) -> bool:  # _lock held
        """A 401 to a command: hold new commands back until authorized again."""
        if self._state is not ChannelState.READY:
            return False
        self._set_state(ChannelState.AUTHORIZING)
        if self._auth is not None:
            self._auth.blocking = True  # a renewal is already out: wait for that one
            return False
        return self._claim_authorization_job(force=True)

    def _schedule_authorization(self, stale: Secret | None, *, blocking: bool = True) -> None:
        self._control.call_soon(lambda: self._authorization_job(stale, blocking))

    def _schedule_refresh(self, generation: int) -> None:
        left = self._tokens.expires_in()
        if left is None:
            return
        delay = max(left - min(self._margin, left / 2), _MIN_REAUTHORIZE_DELAY)
        self._control.call_later(delay, lambda: self._refresh_authorization_job(generation))

    def _fresh_token(self, stale: Secret | None) -> str:
        """The provider's token, or a forced refresh when that is still the ``stale`` one."""
        token = self._tokens.get_token()
        if stale is not None and token == stale.reveal():
            token = self._tokens.force_refresh(token)
        return token

    def _authorization_failed(
        self, epoch: int, make_error: NotSent, rejected: Secret | None = None
    ) -> list[Settlement]:
        """No authorization on this connection: fail what waits; the next command retries."""
        with self._changed:
            if epoch != self._epoch or self._state in FINAL:
                return []
            self._book.counters["authorization_failures"] += 1
            self._rejected = rejected
            self._set_state(ChannelState.UNAUTHORIZED)
            return self._fail_queued(make_error)


def no_token_error(cause: AlorError) -> NotSent:
    def make(guid: str) -> CommandNotSentError:
        error = NotAuthorizedError(guid, f"no access token to authorize with: {cause}")
        error.__cause__ = cause
        return error

    return make
