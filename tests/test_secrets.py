"""Tokens never leak: not in logs (any level, any logger, tracebacks included), reprs, exception
texts, nor the command line's output; and the command line never needs one in its arguments.

The library test runs a whole client lifecycle against the emulator with every ``alor_sync``
logger (and websocket-client's) at DEBUG: start with a token refresh, subscriptions, order
commands answered 200, 400 and 401, a lost reply (outcome unknown), reconnects, a window of
rejected tokens (401 on every channel), forced refreshes, a refused refresh, and close. Then
every captured text is scanned for the refresh token and for anything shaped like a JWT.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alor_sync.cli import main
from alor_sync.client import AlorClient
from alor_sync.emulator import Emulator
from alor_sync.errors import AlorError, TokenRefreshError
from tests.client_helpers import WAIT, Recorder, client_for

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
ORDER: dict[str, Any] = {
    "portfolio": "D39004", "exchange": "MOEX", "symbol": "SBER", "side": "buy", "quantity": 1,
}  # fmt: skip


def _leaks(text: str, refresh_token: str) -> list[str]:
    found = JWT.findall(text)
    if refresh_token in text:
        found.append("<the refresh token>")
    return found


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in ("alor_sync", "websocket", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


class _Texts:
    """Everything the lifecycle showed: reprs, strs and tracebacks of objects and errors."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, *objects: object) -> None:
        for item in objects:
            self.items += [repr(item), str(item)]
            if isinstance(item, BaseException):
                self.items.append("".join(traceback.format_exception(item)))

    def call(self, function: Any, *args: Any, keep: bool = True, **kwargs: Any) -> Any:
        """Call and keep the result (unless ``keep`` is False: a token getter returns the secret
        itself) or the exception (expected errors are part of the run)."""
        try:
            result = function(*args, **kwargs)
        except AlorError as error:
            self.add(error)
            return error
        if keep:
            self.add(result)
        return result


def _lifecycle(emu: Emulator, texts: _Texts) -> None:
    errors, events = Recorder(), Recorder()
    client = client_for(
        emu, on_error=errors, on_gap=events, on_connect=events, on_disconnect=events,
        on_resubscribed=events,
    )  # fmt: skip
    texts.add(client, client.tokens, vars(client.tokens))
    with client:
        assert client.wait_connected(WAIT)
        quotes = client.subscribe_quotes("SBER", Recorder())
        trades = client.subscribe_all_trades("SBER", Recorder(), raw=True)
        for sub in (quotes, trades):
            sub.wait_active(WAIT)
        orders = client.commands
        placed = texts.call(orders.create_limit, **ORDER, price=Decimal("200"))
        texts.call(orders.delete_limit, order_id=placed.order_number, portfolio="D39004",
                   exchange="MOEX")  # fmt: skip
        texts.call(orders.create_limit, **ORDER, price=Decimal("200.001"))  # 400: price step
        emu.faults.drop_confirmations("command")
        texts.call(orders.create_limit, **ORDER, price=Decimal("200"), timeout=0.3)  # unknown
        emu.faults.restore_confirmations()
        emu.faults.drop_connections("reset")
        assert events.wait_for(
            lambda items: any(type(i).__name__ == "ResubscribeReport" for i in items)
        )
        emu.faults.reject_tokens(seconds=None)  # 401 everywhere until accepted again
        texts.call(orders.create_limit, **ORDER, price=Decimal("200"), timeout=2.0)
        emu.faults.drop_connections("eof", path="/ws")
        texts.call(quotes.wait_active, WAIT)  # AuthenticationError after the forced refresh
        emu.faults.accept_tokens()
        texts.call(client.tokens.force_refresh, keep=False)
        emu.faults.fail_refresh(403)
        assert isinstance(texts.call(client.tokens.force_refresh), TokenRefreshError)
        emu.faults.restore_refresh()
        texts.add(client, client.statistics(), quotes, trades, orders, orders.statistics())
        texts.add(*client.statistics().subscriptions, quotes.statistics())
    texts.add(client, *events.items)
    texts.add(*(error for error, _guid in errors.items))


def test_tokens_never_appear_in_logs_reprs_or_errors(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    texts = _Texts()
    with Emulator(speed=20) as emu:
        _lifecycle(emu, texts)
        refresh_token = emu.refresh_token
    assert debug_logs.records, "nothing was logged: the scan would prove nothing"
    assert any("401" in t for t in texts.items) and any("Outcome" in t for t in texts.items)
    logged = [debug_logs.text, *(r.getMessage() for r in debug_logs.records)]
    for text in [*logged, *texts.items]:
        assert not _leaks(text, refresh_token), text[:2000]


def test_a_rejected_refresh_token_is_not_repeated_in_the_error(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    wrong = "f" * 48
    with Emulator(speed=0) as emu:
        client = AlorClient(wrong, ws_url=emu.ws_url, cws_url=emu.cws_url, oauth_url=emu.oauth_url)
        with pytest.raises(TokenRefreshError) as refused:
            client.start()
        client.close()
    shown = [str(refused.value), repr(refused.value), debug_logs.text]
    shown.append("".join(traceback.format_exception(refused.value)))
    assert refused.value.status == 403
    assert all(wrong not in text for text in shown)


# --- the command line -----------------------------------------------------------------------


def _urls(emu: Emulator) -> list[str]:
    return ["--ws-url", emu.ws_url, "--cws-url", emu.cws_url, "--oauth-url", emu.oauth_url]


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=20) as emulator:
        yield emulator


def test_the_cli_reads_the_refresh_token_from_the_environment_or_a_file_and_never_shows_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    emu: Emulator,
) -> None:
    token_file = tmp_path / "refresh-token"
    token_file.write_text(emu.refresh_token + "\n", encoding="utf-8")
    monkeypatch.setattr("builtins.input", lambda: "y")
    from_file = ["--refresh-token-file", str(token_file)]
    runs = [
        ["token", "--debug", *_urls(emu), *from_file],
        ["stream", "quotes", "SBER", "--count", "2", "--debug", *_urls(emu), *from_file],
        ["order", "limit", "buy", "SBER", "1", "--price", "200.001", "--portfolio", "D39004",
         "--yes", "--debug", *_urls(emu), *from_file],  # refused by the server: 400
    ]  # fmt: skip
    for argv in runs:
        code, shown = _run(capsys, argv)
        assert code in (0, 1), (argv, shown)
        assert not _leaks(shown, emu.refresh_token), (argv, shown)
    monkeypatch.setenv("ALOR_REFRESH_TOKEN", emu.refresh_token)
    for argv in (["token", "--debug", *_urls(emu)], ["token", emu.refresh_token, *_urls(emu)]):
        code, shown = _run(capsys, argv)  # the second pastes the token by mistake: a usage error
        assert not _leaks(shown, emu.refresh_token), (argv, shown)
    assert _run(capsys, ["token", *_urls(emu)])[0] == 0  # the environment alone is enough


def test_a_bad_refresh_token_from_a_file_is_not_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emu: Emulator
) -> None:
    wrong = "0123456789abcdef" * 3
    token_file = tmp_path / "refresh-token"
    token_file.write_text(wrong, encoding="utf-8")
    code, shown = _run(capsys, ["token", "--debug", "--refresh-token-file", str(token_file),
                                *_urls(emu)])  # fmt: skip
    assert code == 1 and "403" in shown
    assert wrong not in shown
