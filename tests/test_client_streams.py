"""AlorClient end to end against the emulator: every subscription kind in every format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alor_sync import models
from alor_sync.data.subscriptions import SubscriptionState
from alor_sync.emulator import Emulator
from alor_sync.errors import BadRequestError, ClientClosedError, InvalidArgumentError
from tests.client_helpers import WAIT, Recorder, running

FORMATS = ["Simple", "Slim", "Heavy"]

# method name, positional key, extra kwargs, model class of each callback item
MARKET_STREAMS: list[tuple[str, str, dict[str, Any], type]] = [
    ("subscribe_order_book", "SBER", {"depth": 5}, models.OrderBook),
    ("subscribe_bars", "SBER", {"tf": 60, "from_time": 0}, models.Bar),
    ("subscribe_quotes", "SBER", {}, models.Quote),
    ("subscribe_all_trades", "SBER", {"depth": 10}, models.AllTrade),
    ("subscribe_instruments", "SBER", {}, models.Instrument),
]
PORTFOLIO_STREAMS: list[tuple[str, str, dict[str, Any], type]] = [
    ("subscribe_positions", "D39004", {}, models.Position),
    ("subscribe_summaries", "D39004", {}, models.Summary),
    ("subscribe_risks", "D39004", {}, models.Risk),
    ("subscribe_spectra_risks", "7500PUQ", {}, models.SpectraRisk),
    ("subscribe_trades", "D39004", {}, models.Trade),
    ("subscribe_orders", "D39004", {}, models.Order),
    ("subscribe_stop_orders", "D39004", {}, models.StopOrder),
]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module, with a filled order and a working stop in the account."""
    with Emulator(speed=20, seed=7) as emulator:
        with emulator.venue() as hub:
            instrument = {"symbol": "SBER", "exchange": "MOEX"}
            user = {"portfolio": "D39004"}
            market = {"guid": "m1", "side": "buy", "quantity": 1}
            reply = hub.account.execute(
                "create:market", {**market, "instrument": instrument, "user": user}
            )
            assert reply.http_code == 200, reply
            reply = hub.account.execute(
                "create:stop",
                {
                    "guid": "s1", "side": "sell", "quantity": 1, "condition": "Less",
                    "triggerPrice": 1, "instrument": instrument, "user": user,
                },
            )  # fmt: skip
            assert reply.http_code == 200, reply
        yield emulator


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("method", "key", "kwargs", "model"), MARKET_STREAMS + PORTFOLIO_STREAMS)
def test_every_stream_delivers_typed_models(
    emu: Emulator, method: str, key: str, kwargs: dict[str, Any], model: type, fmt: str
) -> None:
    recorder = Recorder()
    with running(emu) as client:
        subscription = getattr(client, method)(key, recorder, format=fmt, **kwargs)
        subscription.wait_active(WAIT)
        assert subscription.state is SubscriptionState.ACTIVE
        assert recorder.wait_count(1), f"no {model.__name__} arrived"
        assert all(isinstance(item, model) for item in recorder.items)
        assert all(name.startswith("alor-sync-dispatch-") for name in recorder.threads)
        stats = subscription.statistics()
        assert stats.received >= 1 and stats.delivered >= 1


def test_raw_mode_gives_the_payload_dict(emu: Emulator) -> None:
    recorder = Recorder()
    with running(emu) as client:
        client.subscribe_quotes("SBER", recorder, format="Slim", raw=True).wait_active(WAIT)
        assert recorder.wait_count(1)
        payload = recorder.items[0]
        assert isinstance(payload, dict) and payload["sym"] == "SBER"


def test_rejected_subscription_raises_the_typed_error(emu: Emulator) -> None:
    errors = Recorder()
    with running(emu, on_error=errors) as client:
        subscription = client.subscribe_quotes("NO-SUCH-TICKER", Recorder())
        with pytest.raises(BadRequestError) as caught:
            subscription.wait_active(WAIT)
        assert caught.value.request_guid == subscription.guid
        assert subscription.state is SubscriptionState.FAILED
        assert errors.wait_count(1)


def test_bad_arguments_fail_fast_before_anything_is_sent(emu: Emulator) -> None:
    with running(emu) as client:
        with pytest.raises(InvalidArgumentError, match="depth"):
            client.subscribe_order_book("SBER", Recorder(), depth=51)
        with pytest.raises(InvalidArgumentError, match="format"):
            client.subscribe_quotes("SBER", Recorder(), format="Fat")
        with pytest.raises(InvalidArgumentError, match="callback"):
            client.subscribe_quotes("SBER", "not callable")  # type: ignore[arg-type]


def test_identical_requests_share_one_server_subscription(emu: Emulator) -> None:
    first, second = Recorder(), Recorder()
    with running(emu) as client:
        a = client.subscribe_quotes("GAZP", first)
        b = client.subscribe_quotes("GAZP", second)
        assert a.guid == b.guid
        a.wait_active(WAIT)
        assert first.wait_count(1) and second.wait_count(1)
        a.unsubscribe()
        assert a.state is SubscriptionState.CLOSED
        assert b.state is SubscriptionState.ACTIVE
        before = len(second.items)
        assert second.wait_count(before + 1), "the remaining handle kept receiving"


def test_unsubscribe_stops_delivery_and_tells_the_server(emu: Emulator) -> None:
    recorder = Recorder()
    with running(emu) as client:
        subscription = client.subscribe_quotes("SBER", recorder)
        subscription.wait_active(WAIT)
        assert recorder.wait_count(1)
        subscription.unsubscribe()
        subscription.unsubscribe()  # idempotent
        assert subscription.state is SubscriptionState.CLOSED

        def server_forgot() -> bool:
            return all(subscription.guid not in c.subscriptions for c in emu.connections())

        recorder_done = Recorder()
        probe = client.subscribe_quotes("GAZP", recorder_done)  # a later request: ordered after
        probe.wait_active(WAIT)
        assert server_forgot()


def test_subscribing_before_start_or_after_close_is_a_clear_error(emu: Emulator) -> None:
    from tests.client_helpers import client_for

    client = client_for(emu)
    with pytest.raises(ClientClosedError, match="start"):
        client.subscribe_quotes("SBER", Recorder())
    client.start()
    client.close()
    client.close()  # idempotent
    with pytest.raises(ClientClosedError):
        client.subscribe_quotes("SBER", Recorder())


def test_event_streams_are_not_shared_so_each_handle_gets_the_history(emu: Emulator) -> None:
    first, second = Recorder(), Recorder()
    with running(emu) as client:
        a = client.subscribe_positions("D39004", first)
        a.wait_active(WAIT)
        assert first.wait_count(1)
        b = client.subscribe_positions("D39004", second)
        assert a.guid != b.guid
        b.wait_active(WAIT)
        assert second.wait_count(len(first.items))
        assert any(p.existing for p in second.items)
