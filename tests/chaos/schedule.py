"""The faults of a chaos run and the seeded schedule that plays them.

Rules of this module:

* A fault step injects one kind of trouble through the emulator's public fault switches (or the
  run's slow-callback switch), holds it for a random while, and returns; the schedule then calls
  ``run.recover``, which clears every fault and waits until every subscription is active again.
* Every random choice comes from the run's seeded ``random.Random``: the same seed plays the same
  schedule (thread timing still differs from run to run).
* The schedule plays rounds; each round is every fault once, in a shuffled order, so even the
  shortest run covers every kind of fault. Rounds repeat until the run's time is up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from alor_sync.emulator.faults import DropMode
from alor_sync.errors import CommandTimeoutError, InvalidArgumentError
from tests.chaos.harness import WAIT, ChaosRun

__all__ = ["FAULTS", "play"]

Step = Callable[[ChaosRun, random.Random], str]
_MALFORMED_ERRORS = ("invalid_json", "not_object", "missing_fields")  # become MalformedFrameError
_MALFORMED_KINDS = (*_MALFORMED_ERRORS, "wrong_types", "unknown_guid", "binary")
_FLOODABLE = ["positions/raw", "orders/raw", "stop-orders/raw", "instrument-SBER/raw"]


def drop(run: ChaosRun, rng: random.Random) -> str:
    """An abrupt drop (RST or FIN without a close frame) or a clean close, of one or both."""
    mode: DropMode = rng.choice(("close", "eof", "reset"))
    path = rng.choice((None, "/ws", "/cws"))
    count = run.emu.faults.drop_connections(mode, path=path)
    return f"drop {mode} {path or 'all'} ({count} connections)"


def freeze(run: ChaosRun, rng: random.Random) -> str:
    """Silence with TCP open: the client must notice by itself (pong deadline) and reconnect."""
    both = rng.random() < 0.5
    before = run.disconnect_count("ws")
    frozen = run.emu.faults.freeze("/ws")
    if both:
        run.emu.faults.freeze("/cws")
    detected = not frozen or run.wait_disconnects("ws", before + 1, WAIT)
    run.emu.faults.thaw()
    if not detected:
        run.violate(f"a frozen /ws connection was not replaced within {WAIT:g} s")
    return f"freeze {'all' if both else '/ws'} ({frozen} on /ws), detected: {detected}"


def restart(run: ChaosRun, rng: random.Random) -> str:
    """Server restart: every connection closed (1012), handshakes refused for a while."""
    downtime = round(rng.uniform(0.0, 1.5), 2)
    run.emu.faults.restart(downtime)
    run.hold(downtime)
    return f"restart, {downtime} s down"


def reject_tokens(run: ChaosRun, rng: random.Random) -> str:
    """Every token refused (401) for longer than a refresh takes (production has done this
    for seconds while /refresh worked), with a reconnect, and subscribes and unsubscribes,
    inside the window."""
    seconds = round(rng.uniform(0.5, 3.0), 2)
    run.errors.token_faults += 1
    run.emu.faults.reject_tokens(seconds)
    path = rng.choice(("/ws", None))
    run.emu.faults.drop_connections(rng.choice(("eof", "reset")), path=path)
    run.hold(rng.uniform(0.1, seconds / 2))
    churned = rng.sample(sorted(run.live), 2)
    for key in churned:  # an unsubscribe and a first subscribe, both answered 401
        run.replace(key)
    run.hold(seconds)
    return f"reject tokens {seconds} s, drop {path or 'all'}, churn {churned}"


def empty_guid_401s(run: ChaosRun, rng: random.Random) -> str:
    """A reconnect into 401s that name no request (``"requestGuid":""``, as production sends
    them): every stream is pending at once and no reply says which one was refused."""
    seconds = round(rng.uniform(0.5, 2.0), 2)
    share = rng.choice((1.0, 0.5))
    run.errors.token_faults += 1
    run.emu.faults.reject_tokens(seconds, empty_guid=share, seed=rng.randrange(1 << 30))
    run.emu.faults.drop_connections(rng.choice(("eof", "reset", "close")), path="/ws")
    run.hold(seconds)
    return f"empty-guid 401s ({share:.0%}) for {seconds} s after a drop"


def flapping(run: ChaosRun, rng: random.Random) -> str:
    """A fault every 0.7-2 s: each connection opens, resubscribes and streams before the next
    drop, so the client must rejoin at once every time (the recovery after the last one is
    measured and bounded by ``recover``)."""
    drops = rng.randint(3, 6)
    for n in range(drops):
        if n:
            run.hold(rng.uniform(0.7, 2.0))
        run.emu.faults.drop_connections(rng.choice(("eof", "reset", "close")), path="/ws")
    return f"flapping: {drops} drops 0.7-2 s apart"  # the recovery is timed from the last one


def delay_confirmations(run: ChaosRun, rng: random.Random) -> str:
    """Slow confirmations (subscribe, unsubscribe, command, authorize); a reconnect and new
    subscriptions while they are slow, then another drop while those are still unconfirmed
    (their snapshots have arrived: the server sends the snapshot first)."""
    kinds = rng.sample(["subscribe", "unsubscribe", "command", "authorize"], rng.randint(1, 4))
    seconds = round(rng.uniform(0.5, 1.5), 2)
    run.emu.faults.delay_confirmations(seconds, *kinds)
    path = rng.choice(("/ws", "/cws", None))
    run.emu.faults.drop_connections("reset", path=path)
    renewed = rng.sample(sorted(run.live), 2)
    for key in renewed:
        run.replace(key)
    run.hold(seconds / 2)
    second = rng.choice(("/ws", None))
    run.emu.faults.drop_connections("eof", path=second)
    run.hold(seconds + 0.5)
    return (
        f"delay {kinds} {seconds} s, drop {path or 'all'}, renew {renewed}, drop {second or 'all'}"
    )


def lose_command_replies(run: ChaosRun, rng: random.Random) -> str:
    """Replies to order commands never come: each such command must end outcome-unknown."""
    seconds = round(rng.uniform(0.5, 2.0), 2)
    run.emu.faults.drop_confirmations("command")
    run.hold(seconds)
    return f"lose command replies {seconds} s"


def malformed(run: ChaosRun, rng: random.Random) -> str:
    """Broken frames of every kind into random subscriptions; each must reach ``on_error``.

    A connection the server drops meanwhile (the production profile closes some by itself) takes
    unread frames with it: then the batch is sent again, up to three times, so that every run
    proves the frames are reported."""
    sent: list[str] = []
    for _attempt in range(3):
        before_disconnects = run.disconnect_count("ws")
        expected = run.errors.frame_errors() + _inject_malformed(run, rng, sent)
        if run.errors.wait_frame_errors(expected, WAIT / 6):
            break
        if run.disconnect_count("ws") == before_disconnects:
            if not run.errors.wait_frame_errors(expected, WAIT):
                run.violate(f"malformed frames were not all reported to on_error: {sent}")
            break
    return f"malformed {sent}"


def _inject_malformed(run: ChaosRun, rng: random.Random, sent: list[str]) -> int:
    """Send 3..8 broken frames; returns how many must reach on_error."""
    expected = 0
    for n in range(rng.randint(3, 8)):
        key = rng.choice(sorted(run.live))
        live = run.live[key]
        # The first is one that must reach on_error, so that even one round proves it does.
        kind = rng.choice(_MALFORMED_ERRORS if n == 0 else _MALFORMED_KINDS)
        try:
            run.emu.faults.send_malformed(live.handle.guid, kind)  # type: ignore[arg-type]
        except InvalidArgumentError:
            continue  # not on the server right now (being renewed): nothing was sent
        sent.append(f"{kind}->{key}")
        if kind in _MALFORMED_ERRORS:
            run.errors.injected_bad += 1
            expected += 1
            if kind == "invalid_json":  # truncated data: its tail still names the subscription
                run.errors.bad_targets[live.handle.guid] += 1
        elif kind in ("wrong_types", "binary") and not live.raw:
            # binary: the last payload again, or a dummy one if the subscription sent none yet
            run.errors.may_not_decode[live.handle.guid] += 1
    return expected


def slow_callbacks(run: ChaosRun, rng: random.Random) -> str:
    """Every callback slow while one event stream is flooded and the market prints a burst of
    real trades: bounded queues must overflow into gap notices and renewals, never into memory
    growth or a silent drop, and the trade streams' replays must heal or report what they lost.
    (A flood repeats one frame, which a trade stream drops as a duplicate, so the flood goes to a
    lossless stream without ids.)"""
    run.slow.set()
    sent, key = 0, ""
    # Lossless streams without ids; one may be between connections at this moment (the
    # emulator then takes no frames for it), so the next one is flooded instead.
    for key in rng.sample(_FLOODABLE, len(_FLOODABLE)) * 3:
        handle = run.live[key].handle
        try:
            handle.wait_active(WAIT)
            sent = run.emu.blast(handle.guid, rng.randint(2000, 4000), timeout=WAIT)
        except (InvalidArgumentError, CommandTimeoutError):
            sent = 0
        if sent:
            break
        run.hold(0.1)  # a connection closing under it: the next one is a moment away
    steps = rng.randint(300, 900)
    run.emu.tick(steps)
    run.hold(0.3)
    run.slow.clear()
    return f"slow callbacks, {sent} frames flooded into {key}, {steps} market steps at once"


def flood(run: ChaosRun, rng: random.Random) -> str:
    """Thousands of frames at full speed into one raw subscription (conflation or queueing)."""
    key = rng.choice(run.raw_keys())
    count = rng.randint(1000, 5000)
    try:
        sent = run.emu.blast(run.live[key].handle.guid, count, timeout=WAIT)
    except InvalidArgumentError:
        sent = 0  # no data yet, or being renewed
    return f"flood {key}: {sent}/{count} frames"


def churn(run: ChaosRun, rng: random.Random) -> str:
    """Unsubscribe and subscribe again (a new guid) while data flows."""
    keys = rng.sample(sorted(run.live), 3)
    for key in keys:
        run.replace(key)
    return f"churn {keys}"


FAULTS: dict[str, Step] = {
    "drop": drop,
    "freeze": freeze,
    "restart": restart,
    "reject_tokens": reject_tokens,
    "empty_guid_401s": empty_guid_401s,
    "flapping": flapping,
    "delay_confirmations": delay_confirmations,
    "lose_command_replies": lose_command_replies,
    "malformed": malformed,
    "slow_callbacks": slow_callbacks,
    "flood": flood,
    "churn": churn,
}


def play(run: ChaosRun) -> None:
    """Rounds of every fault in a seeded order until ``run.seconds`` have passed (at least one
    full round), with a recovery after each."""
    deadline = time.monotonic() + run.seconds
    first = True
    while first or time.monotonic() < deadline:
        order = sorted(FAULTS)
        run.rng.shuffle(order)
        for name in order:
            if not first and time.monotonic() >= deadline:
                break
            description = FAULTS[name](run, run.rng)
            run.note(name, description)
            run.recover(name)
        first = False
