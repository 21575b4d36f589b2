"""CommandSession without a network: a recording send, a manual control loop, scripted replies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from alor_sync import protocol
from alor_sync.auth import JwtClaims, TokenProvider, TokenStatistics
from alor_sync.commands.book import Command
from alor_sync.commands.results import ChannelState, CommandFuture
from alor_sync.commands.session import CommandSession
from alor_sync.errors import (
    ClientClosedError,
    ConnectionLostError,
    InvalidArgumentError,
    OutcomeUnknownError,
)
from alor_sync.transport.status import ConnectionEvent, ConnectionEventKind


class ManualControl:
    """Stands in for ControlLoop: a virtual clock; jobs run only when the test advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.jobs: list[tuple[float, Callable[[], None]]] = []  # (due, job)

    def call_soon(self, job: Callable[[], None]) -> None:
        self.call_later(0.0, job)

    def call_later(self, delay: float, job: Callable[[], None]) -> None:
        self.jobs.append((self.now + delay, job))

    def pending(self) -> list[float]:
        """Seconds until each scheduled job, soonest first."""
        return sorted(due - self.now for due, _ in self.jobs)

    def run(self, *, advance: float = 0.0) -> int:
        """Move the clock and run every job now due (and those they schedule); how many ran."""
        self.now += advance
        ran = 0
        while due := sorted((j for j in self.jobs if j[0] <= self.now), key=lambda j: j[0]):
            self.jobs.remove(due[0])
            due[0][1]()
            ran += 1
        return ran


class Tokens(TokenProvider):
    def __init__(self) -> None:
        super().__init__()
        self.number = 1
        self.left = 1800.0

    @property
    def token(self) -> str:
        return f"jwt-{self.number}"

    def get_token(self) -> str:
        return self.token

    def force_refresh(self, stale_token: str | None = None) -> str:
        if stale_token == self.token:
            self.number += 1
        return self.token

    def expires_in(self) -> float | None:
        return self.left

    def claims(self) -> JwtClaims:
        raise NotImplementedError

    def statistics(self) -> TokenStatistics:
        return TokenStatistics(self.number - 1, 0, self.left)


class Wire:
    """The send side: records every frame; can be told to fail the next sends."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.failure: Exception | None = None
        self.reconnects: list[str] = []
        self.healthy = 0  # mark_healthy() calls

    def mark_healthy(self) -> None:
        self.healthy += 1

    def reconnect(self, reason: str) -> bool:
        self.reconnects.append(reason)
        return True

    def send(self, data: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self.frames.append(json.loads(data))

    def opcodes(self) -> list[str]:
        return [f["opcode"] for f in self.frames]

    def last(self, opcode: str) -> dict[str, Any]:
        return next(f for f in reversed(self.frames) if f["opcode"] == opcode)


@pytest.fixture
def parts() -> tuple[CommandSession, Wire, ManualControl, Tokens]:
    wire, control, tokens = Wire(), ManualControl(), Tokens()
    sessions: list[CommandSession] = []
    session = CommandSession(
        name="test-cws",
        send=wire.send,
        reconnect=wire.reconnect,
        tokens=tokens,
        control=control,  # type: ignore[arg-type]
        reauthorize_margin=600.0,
        authorize_timeout=30.0,
        unknown_limit=2,
        max_queued=3,
        wake_writer=lambda: write_all(sessions[0]),  # the writer thread, done synchronously
        mark_healthy=wire.mark_healthy,
    )
    sessions.append(session)
    return session, wire, control, tokens


def write_all(session: CommandSession) -> None:
    while session.write_next():
        pass


def reply(session: CommandSession, guid: str, code: int = 200, **extra: Any) -> None:
    session.on_frame(json.dumps({"requestGuid": guid, "httpCode": code, "message": "m", **extra}))


def authorize(session: CommandSession, wire: Wire) -> None:
    session.on_open()
    reply(session, wire.last("authorize")["guid"])
    assert session.state is ChannelState.READY


_counter = iter(range(1_000_000))


def command(check_duplicates: bool = True) -> Command:
    guid = f"g-{next(_counter)}"
    request = protocol.create_market_request(
        guid, side="buy", quantity=1, symbol="SBER", exchange="MOEX", portfolio="D1"
    )
    return Command(guid, protocol.dumps(request), CommandFuture(guid), check_duplicates)


def dropped(reason: str = "gone") -> ConnectionEvent:
    return ConnectionEvent(ConnectionEventKind.DISCONNECTED, "test-cws", reason, will_retry=True)


Parts = tuple[CommandSession, Wire, ManualControl, Tokens]


def test_nothing_but_authorize_goes_out_before_the_authorization_is_confirmed(
    parts: Parts,
) -> None:
    session, wire, _, tokens = parts
    first = command()
    session.submit(first)  # no connection yet: it waits
    session.on_open()
    assert wire.opcodes() == ["authorize"] and wire.frames[0]["token"] == tokens.token
    second = command()
    session.submit(second)
    assert wire.opcodes() == ["authorize"]
    reply(session, wire.frames[0]["guid"])
    assert [f.get("guid") for f in wire.frames[1:]] == [first.guid, second.guid]
    reply(session, second.guid, orderNumber="2")
    reply(session, first.guid, orderNumber=1)
    assert first.future.result(0).order_number == "1"
    assert second.future.result(0).order_number == "2"


def test_replies_for_unknown_guids_and_garbage_are_counted_not_fatal(parts: Parts) -> None:
    session, wire, _, _ = parts
    authorize(session, wire)
    reply(session, "nobody-sent-this")
    session.on_frame("[1, 2")
    session.on_frame('{"data": {"x": 1}, "guid": "sub"}')
    stats = session.statistics(reconnects=0)
    assert (stats.unknown_replies, stats.malformed_frames, stats.replies) == (1, 2, 0)


def test_a_send_without_a_connection_keeps_the_command_waiting(parts: Parts) -> None:
    session, wire, _, _ = parts
    authorize(session, wire)
    wire.failure = ConnectionLostError("not connected")  # no __cause__: nothing left
    waiting = command()
    session.submit(waiting)
    assert session.statistics(reconnects=0).queued == 1 and not waiting.future.done()
    session.on_state(dropped())
    wire.failure = None
    authorize(session, wire)
    assert wire.frames[-1]["guid"] == waiting.guid


def _broken_pipe() -> ConnectionLostError:
    try:
        raise OSError("broken pipe")
    except OSError as cause:
        broken = ConnectionLostError("connection lost while sending")
        broken.__cause__ = cause
    return broken


def test_a_send_that_breaks_mid_frame_waits_for_the_next_connection(parts: Parts) -> None:
    session, wire, _, _ = parts
    authorize(session, wire)
    wire.failure = _broken_pipe()  # part of the frame never left: the server cannot act on it
    waiting = command()
    session.submit(waiting)
    assert not waiting.future.done() and session.statistics(reconnects=0).sent == 0
    session.on_state(dropped())
    wire.failure = None
    authorize(session, wire)
    assert wire.frames[-1]["guid"] == waiting.guid


def test_without_duplicate_check_a_broken_send_is_outcome_unknown(parts: Parts) -> None:
    session, wire, _, _ = parts
    authorize(session, wire)
    wire.failure = _broken_pipe()
    doubtful = command(check_duplicates=False)
    session.submit(doubtful)
    with pytest.raises(OutcomeUnknownError, match="broke while sending"):
        doubtful.future.result(0)
    assert session.retryable_guids() == (doubtful.guid,)


def test_a_drop_fails_sent_commands_as_unknown_and_keeps_queued_ones(parts: Parts) -> None:
    session, wire, _, _ = parts
    authorize(session, wire)
    sent = command()
    session.submit(sent)
    session.on_state(dropped("reset by peer"))
    queued = command()
    session.submit(queued)
    with pytest.raises(OutcomeUnknownError, match="reset by peer"):
        sent.future.result(0)
    assert not queued.future.done() and session.state is ChannelState.CONNECTING
    reply(session, sent.guid, orderNumber="7")  # cannot happen on a new link; counted if it does
    assert session.statistics(reconnects=0).late_replies == 1


def test_the_unknown_map_is_bounded_and_retry_resends_the_same_frame(parts: Parts) -> None:
    session, wire, _, _ = parts
    authorize(session, wire)
    commands = [command() for _ in range(3)]
    for c in commands:
        session.submit(c)
        session.expire(c.guid, c.future)
    assert session.retryable_guids() == (commands[1].guid, commands[2].guid)  # limit 2
    with pytest.raises(InvalidArgumentError):
        session.resubmit(commands[0].guid)
    again = session.resubmit(commands[2].guid)
    assert wire.frames[-1] == wire.frames[-2]  # the same command, same guid
    reply(session, commands[2].guid, orderNumber="9")
    assert again.result(0).order_number == "9"


def test_an_empty_guid_401_during_authorize_forces_one_refresh(parts: Parts) -> None:
    session, wire, control, tokens = parts
    session.on_open()
    session.on_frame('{"requestGuid": "", "httpCode": 401, "message": "Invalid JWT token!"}')
    assert control.run() == 1 and tokens.number == 2
    assert wire.last("authorize")["token"] == "jwt-2"
    reply(session, wire.last("authorize")["guid"])
    assert session.state is ChannelState.READY


def test_reauthorization_is_scheduled_before_expiry_and_does_not_hold_commands(
    parts: Parts,
) -> None:
    session, wire, control, tokens = parts
    authorize(session, wire)
    assert control.pending() == [30.0, 1200.0]  # authorize deadline; 1800 s left - 600 s margin
    control.run(advance=1200.0)
    renewal = wire.last("authorize")
    assert renewal["token"] == "jwt-2" and session.state is ChannelState.READY
    meanwhile = command()
    session.submit(meanwhile)
    assert wire.frames[-1]["guid"] == meanwhile.guid  # not held back by the renewal
    tokens.left = 10.0
    reply(session, renewal["guid"])
    assert control.pending() == [5.0, 30.0]  # the margin is capped at half the token's life


def test_an_unanswered_authorize_replaces_the_connection(parts: Parts) -> None:
    session, wire, control, _ = parts
    reconnects = wire.reconnects
    session.on_open()
    control.run(advance=29.0)
    assert reconnects == []
    control.run(advance=1.0)
    assert reconnects == ["authorize got no reply within 30 s"]
    session.on_state(dropped())
    authorize(session, wire)
    control.run(advance=30.0)
    assert len(reconnects) == 1  # answered in time: nothing to do


def test_a_new_token_from_the_provider_is_used_to_authorize_again(parts: Parts) -> None:
    session, wire, control, tokens = parts
    authorize(session, wire)
    tokens.number = 5
    session.on_new_token()
    control.run()
    assert wire.last("authorize")["token"] == "jwt-5"
    count = len(wire.frames)
    session.on_new_token()  # the same token again: nothing to do while that one is pending
    control.run()
    assert len(wire.frames) == count


def test_when_the_connection_gives_up_waiting_commands_fail_and_new_ones_are_refused(
    parts: Parts,
) -> None:
    session, _, _, _ = parts
    waiting = command()
    session.submit(waiting)
    session.on_state(ConnectionEvent(ConnectionEventKind.GAVE_UP, "test-cws", "too many"))
    with pytest.raises(ConnectionLostError, match="NOT placed"):
        waiting.future.result(0)
    assert session.state is ChannelState.FAILED
    with pytest.raises(ConnectionLostError):
        session.submit(command())


def test_close_settles_sent_commands_as_unknown_and_queued_ones_as_not_sent(
    parts: Parts,
) -> None:
    session, wire, control, _ = parts
    authorize(session, wire)
    sent, rejected, queued = command(), command(), command()
    session.submit(sent)
    session.submit(rejected)
    reply(session, rejected.guid, 401)  # authorization lost: later commands wait for a new one
    session.submit(queued)
    assert session.state is ChannelState.AUTHORIZING and not queued.future.done()
    session.close()
    with pytest.raises(OutcomeUnknownError, match="closed before the reply"):
        sent.future.result(0)
    with pytest.raises(ClientClosedError, match="NOT placed"):
        queued.future.result(0)
    with pytest.raises(ClientClosedError):
        session.submit(command())
    assert session.wait_authorized(0) is False
    control.run()  # the re-authorization job finds the session closed and does nothing
    assert wire.opcodes().count("authorize") == 1


def test_a_second_command_with_a_pending_guid_shares_its_one_frame_and_reply(
    parts: Parts,
) -> None:
    session, wire, _, _ = parts
    first = command()
    session.submit(first)
    again = Command(first.guid, first.frame, CommandFuture(first.guid), True)
    session.submit(again)  # not refused, not queued twice
    authorize(session, wire)
    assert [f["guid"] for f in wire.frames if f["opcode"] != "authorize"] == [first.guid]
    reply(session, first.guid, orderNumber="7")
    assert first.future.result(0) == again.future.result(0)
    assert first.future.result(0).order_number == "7"
    assert session.statistics(reconnects=0).joined == 1
