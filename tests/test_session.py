"""The /ws session's wiring: the machine's actions reach the link and the control thread.

A fake link records what is sent and when a reconnect is asked for; the control loop is real, so
timer-driven actions (retry probes, the unsubscribe deadline) run as in the client.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from alor_sync.auth import StaticTokenProvider
from alor_sync.data.lifecycle import StreamLifecycle
from alor_sync.data.session import DataSession, SessionHooks
from alor_sync.dispatch.control_loop import ControlLoop
from alor_sync.dispatch.dispatcher import Dispatcher
from alor_sync.protocol import subscription_request
from alor_sync.wire import Format, Opcode
from tests.client_helpers import WAIT


def _token() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'sub': 't', 'exp': 4102444800})}.sig"


def test_an_unsubscribe_never_confirmed_makes_the_session_replace_the_connection() -> None:
    sent: list[dict[str, Any]] = []
    reconnects: list[str] = []
    asked = threading.Event()

    def reconnect(reason: str) -> bool:
        reconnects.append(reason)
        asked.set()
        return True

    control = ControlLoop()
    control.start()
    dispatcher = Dispatcher(workers=1)
    try:
        session = DataSession(
            name="ws", send=lambda data: sent.append(json.loads(data)), reconnect=reconnect,
            tokens=StaticTokenProvider(_token()), dispatcher=dispatcher, control=control,
            hooks=SessionHooks(on_error=lambda e, g: None, on_gap=lambda n: None,
                               on_resubscribed=lambda r: None),
            lossless_limit=100, lifecycle=StreamLifecycle(unsubscribe_deadline=0.2),
        )  # fmt: skip
        session.on_open()
        request = subscription_request(Opcode.QUOTES, "q-1", code="SBER", exchange="MOEX")
        handle = session.subscribe(Opcode.QUOTES, Format.SIMPLE, request, lambda q: None, raw=True)
        session.on_frame('{"requestGuid":"q-1","httpCode":200,"message":"Handled successfully"}')
        handle.unsubscribe()  # its confirmation never comes
        assert [m["opcode"] for m in sent] == ["QuotesSubscribe", "unsubscribe"]
        assert asked.wait(WAIT), "the stuck unsubscribe did not replace the connection"
        assert reconnects == ["the unsubscribe of q-1 was not confirmed within 0.2 s"]
    finally:
        control.close(WAIT)
        dispatcher.close(WAIT)
