"""The subscription lifecycle as a sans-IO machine: events in, actions out, no sockets.

Each test drives :class:`StreamLifecycle` the way the ``/ws`` session does and checks the actions
it must perform. The hostile cases come from production (reference 1.4, 2.7): 401 windows longer
than a refresh, 401s with an empty ``requestGuid``, unsubscribes refused, replies in any number.
"""

from __future__ import annotations

import random
from typing import Any

from alor_sync.data.lifecycle import StreamLifecycle
from alor_sync.data.lifecycle_types import (
    Action,
    EpochEnded,
    Failed,
    GapOnReconnect,
    Healthy,
    Reconnect,
    Refresh,
    ReplayLatest,
    RequestKind,
    Resubscribed,
    Send,
    StateChanged,
    StreamRecord,
    share_key,
)
from alor_sync.errors import APIError, error_for_reply
from alor_sync.events import SubscriptionState
from alor_sync.transport.backoff import Backoff
from alor_sync.wire import Format, Opcode

SUB, UNSUB = RequestKind.SUBSCRIBE, RequestKind.UNSUBSCRIBE
PENDING, ACTIVE, RETRYING = (
    SubscriptionState.PENDING,
    SubscriptionState.ACTIVE,
    SubscriptionState.RETRYING,
)
FAILED, CLOSED = SubscriptionState.FAILED, SubscriptionState.CLOSED
T1, T2 = "token-1", "token-2"


class MaxRange(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def machine(**options: Any) -> StreamLifecycle:
    options.setdefault("probe_backoff", Backoff(initial=0.1, maximum=1.0, rng=MaxRange()))
    return StreamLifecycle(**options)


def record(guid: str, opcode: Opcode = Opcode.ALL_TRADES) -> StreamRecord:
    request = {"opcode": opcode.value, "guid": guid, "code": "SBER", "exchange": "MOEX"}
    latest = opcode is Opcode.ORDER_BOOK
    return StreamRecord(
        guid=guid, opcode=opcode, format=Format.SIMPLE, request=request,
        share_key=share_key(opcode, request, False, latest), raw=False, latest_wins=latest,
    )  # fmt: skip


def sends(actions: list[Action]) -> list[tuple[str, RequestKind, str]]:
    return [(a.record.guid, a.kind, a.token) for a in actions if isinstance(a, Send)]


def states(actions: list[Action]) -> list[tuple[str, SubscriptionState]]:
    return [(a.record.guid, a.record.state) for a in actions if isinstance(a, StateChanged)]


def refusal(code: int, guid: str = "") -> APIError:
    return error_for_reply(code, "Invalid JWT token!" if code == 401 else "no", guid)


def active(m: StreamLifecycle, *guids: str) -> list[StreamRecord]:
    """Records added and confirmed on an open connection."""
    m.opened(T1)
    records = []
    for guid in guids:
        r = record(guid)
        m.add(r, object(), T1)
        m.reply(guid, 200, None, T1, 0.0)
        records.append(r)
    return records


def test_a_first_subscribe_is_sent_when_connected_and_confirmed() -> None:
    m = machine()
    r = record("a")
    assert m.add(r, "h", T1) == []  # not connected: sent on open
    actions = m.opened(T1)
    assert sends(actions) == [("a", SUB, T1)]
    actions = m.reply("a", 200, None, T1, 1.0)
    assert states(actions) == [("a", ACTIVE)]
    assert [type(a) for a in actions if not isinstance(a, StateChanged)] == [Healthy]


def test_a_rejection_window_longer_than_a_refresh_never_fails_a_stream() -> None:
    """1. Reconnect into a 401 window: one shared refresh, then probes with backoff, for as long
    as it lasts; the first confirmation releases every stream."""
    m = machine()
    a, b = active(m, "a", "b")
    m.disconnected()
    assert sends(m.opened(T1)) == [("a", SUB, T1), ("b", SUB, T1)]
    first = m.reply("a", 401, refusal(401, "a"), T1, 10.0)
    assert states(first) == [("a", RETRYING)]
    assert [x for x in first if isinstance(x, Refresh)] == [Refresh(T1)]
    second = m.reply("b", 401, refusal(401, "b"), T1, 10.0)
    assert not [x for x in second if isinstance(x, Refresh)]  # one refresh for all streams
    # The refresh lands while the window lasts: one probe (the oldest), as unsubscribe+subscribe.
    probe = m.refreshed(T2, 10.2)
    assert sends(probe) == [("a", UNSUB, T2), ("a", SUB, T2)]
    m.reply("a", 401, refusal(401, "a"), T2, 10.3)
    refused = m.reply("a", 401, refusal(401, "a"), T2, 10.3)
    assert not [x for x in refused if isinstance(x, Refresh | Failed)]
    delays = []
    now = 10.3
    for _ in range(5):  # the window goes on: one probe per backoff step, never a failure
        due = m.next_due()
        assert due is not None and due > now
        delays.append(round(due - now, 3))
        now = due
        probe = m.timer(now, T2)
        probe_guid = sends(probe)[0][0]
        for _ in sends(probe):
            out = m.reply(probe_guid, 401, refusal(401, probe_guid), T2, now)
            assert not [x for x in out if isinstance(x, Failed)]
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0]  # capped: rejoined within a second of its end
    assert a.state is RETRYING and b.state is RETRYING
    probe = m.timer(m.next_due() or 0.0, T2)
    guid = sends(probe)[0][0]
    m.reply(guid, 200, None, T2, 20.0)
    released = m.reply(guid, 200, None, T2, 20.0)
    other = "b" if guid == "a" else "a"
    assert sends(released) == [(other, UNSUB, T2), (other, SUB, T2)]
    m.reply(other, 200, None, T2, 20.1)
    done = m.reply(other, 200, None, T2, 20.1)
    assert a.state is ACTIVE and b.state is ACTIVE
    assert Healthy() in done and Resubscribed(2) in done


def test_one_empty_guid_401_answers_the_oldest_request_only() -> None:
    """2. After a reconnect every stream is pending; one anonymous 401 refuses one of them (the
    oldest unanswered: replies come in request order), not all."""
    m = machine()
    a, b, c = active(m, "a", "b", "c")
    m.disconnected()
    m.opened(T1)
    out = m.anonymous_reply(401, refusal(401), T1, 5.0)
    assert states(out) == [("a", RETRYING)]
    assert [x for x in out if isinstance(x, Refresh)] == [Refresh(T1)]
    assert states(m.anonymous_reply(401, refusal(401), T1, 5.0)) == [("b", RETRYING)]
    # c's confirmation says the server accepts again: the refused streams go at once.
    released = m.reply("c", 200, None, T1, 5.1)
    assert (a.state, b.state, c.state) == (RETRYING, RETRYING, ACTIVE)
    assert sends(released) == [("a", UNSUB, T1), ("a", SUB, T1), ("b", UNSUB, T1), ("b", SUB, T1)]
    assert sends(m.refreshed(T2, 5.2)) == []  # nothing left for the refresh to release
    for guid in ("a", "a", "b", "b"):
        m.reply(guid, 200, None, T1, 5.3)
    assert (a.state, b.state) == (ACTIVE, ACTIVE)


def test_definite_refusals_fail_first_subscribes_and_resubscribes_alike() -> None:
    m = machine()
    m.opened(T1)
    r = record("a")
    m.add(r, "h", T1)
    out = m.reply("a", 404, refusal(404, "a"), T1, 1.0)
    assert states(out) == [("a", FAILED)]
    failed = [x for x in out if isinstance(x, Failed)]
    assert [(f.record, f.error.http_code) for f in failed] == [(r, 404)]
    assert m.get("a") is None and r.error is not None
    active(m, "b")
    m.disconnected()
    m.opened(T1)
    assert states(m.reply("b", 403, refusal(403, "b"), T1, 2.0)) == [("b", FAILED)]
    for code in (401, 429, 500, 503, 408):  # everything else may pass
        m.opened(T1)
        c = record(f"c{code}")
        m.add(c, "h", T1)
        assert states(m.reply(c.guid, code, refusal(code, c.guid), T1, 3.0)) == [(c.guid, RETRYING)]


def test_an_unsubscribe_refused_401_is_retried_until_confirmed() -> None:
    """4. The server keeps streaming a guid (and holds a slot) until its unsubscribe is done."""
    m = machine()
    (r,) = active(m, "a")
    out = m.leave(r, r.handles[0], T1, 1.0)
    assert states(out) == [("a", CLOSED)] and sends(out) == [("a", UNSUB, T1)]
    assert m.get("a") is None
    m.reply("a", 401, refusal(401, "a"), T1, 1.1)
    due = m.next_due()
    assert due is not None
    retry = m.timer(due, T1)
    assert sends(retry) == [("a", UNSUB, T1)]
    m.reply("a", 200, None, T1, 1.5)
    assert m.next_due() is None  # confirmed: forgotten


def test_an_unsubscribe_that_cannot_be_confirmed_replaces_the_connection() -> None:
    m = machine(unsubscribe_deadline=10.0)
    (r,) = active(m, "a")
    m.leave(r, r.handles[0], T1, 100.0)
    assert not [x for x in m.timer(105.0, T1) if isinstance(x, Reconnect)]
    out = m.timer(110.0, T1)
    assert [type(x) for x in out] == [Reconnect]
    assert m.timer(111.0, T1) == []  # asked once
    m.disconnected()
    assert m.next_due() is None  # the server forgot it with the connection


def test_a_renewal_expects_both_replies_before_its_first_is_read() -> None:
    """6a. A renewal's unsubscribe confirmation is never taken for the subscription's."""
    m = machine()
    (r,) = active(m, "a")
    out = m.renew(r, T1, "renewing after a gap")
    assert sends(out) == [("a", UNSUB, T1), ("a", SUB, T1)]
    # The unsubscribe half: no state change, but the old subscription's frames are over.
    assert m.reply("a", 200, None, T1, 1.0) == [EpochEnded(r)]
    assert r.state is PENDING
    assert states(m.reply("a", 200, None, T1, 1.1)) == [("a", ACTIVE)]
    assert m.renew(r, T1, "again") != [] and m.renew(r, T1, "overlapping") == []


def test_joining_a_shared_stream_replays_its_latest_state_and_leaving_keeps_it() -> None:
    """6b/6c. A joiner gets the latest state at once; the stream ends with its last handle."""
    m = machine()
    m.opened(T1)
    book = record("book", Opcode.ORDER_BOOK)
    m.add(book, "first", T1)
    assert m.find_shared(book.share_key) is book
    assert m.join(book, "second") == [ReplayLatest(book, "second")]
    assert m.leave(book, "first", T1, 1.0) == []
    assert m.find_shared(book.share_key) is book
    out = m.leave(book, "second", T1, 1.0)
    assert sends(out) == [("book", UNSUB, T1)]
    assert m.find_shared(book.share_key) is None


def test_a_disconnect_reports_gaps_for_event_streams_that_saw_data() -> None:
    m = machine()
    trades, _quiet = active(m, "trades", "quiet")
    trades.received = 5
    book = record("book", Opcode.ORDER_BOOK)
    m.add(book, "h", T1)
    book.received = 3
    out = m.disconnected()
    gaps = [x.record.guid for x in out if isinstance(x, GapOnReconnect)]
    assert gaps == ["trades", "quiet"]  # quiet was active: events may have been lost anyway
    assert {g for g, s in states(out)} == {"trades", "quiet"} and book.state is PENDING


def test_a_send_that_failed_before_leaving_is_retried_soon() -> None:
    m = machine()
    m.opened(T1)
    r = record("a")
    m.add(r, "h", T1)
    m.send_failed(r, 3.0)
    assert m.next_due() == 3.0
    # Whether the first frame left is unknown: unsubscribe first, so the guid is never held twice.
    assert sends(m.timer(3.0, T1)) == [("a", UNSUB, T1), ("a", SUB, T1)]


def test_a_refusal_beyond_the_expected_replies_still_counts() -> None:
    """An anonymous reply taken for the wrong request must not leave a stream looking active."""
    m = machine()
    active(m, "a")
    out = m.reply("a", 401, refusal(401, "a"), T1, 1.0)
    assert states(out) == [("a", RETRYING)]


def test_refreshes_are_shared_and_rate_limited() -> None:
    m = machine(min_refresh_interval=10.0)
    m.opened(T1)
    for n in range(3):
        m.add(record(f"s{n}"), "h", T1)
    refreshes = []
    for n in range(3):
        refreshes += [
            x for x in m.reply(f"s{n}", 401, refusal(401), T1, 1.0) if isinstance(x, Refresh)
        ]
    assert refreshes == [Refresh(T1)]
    m.refreshed(T2, 1.1)
    later = m.reply("s0", 401, refusal(401), T2, 1.2)
    assert not [x for x in later if isinstance(x, Refresh)]  # within 10 s of the last one
