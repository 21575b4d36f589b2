"""``alor-sync``: help texts, usage errors, credentials, exit codes and token secrecy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alor_sync.cli import main
from alor_sync.emulator import Emulator
from tests.test_cli_support import run_cli, urls

SECRET = "cli-test-refresh-token-0123456789abcdef"
JWT_PREFIX = "eyJ"  # every JWT starts with the base64 of '{"'


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(speed=20, seed=3, refresh_token=SECRET) as emulator:
        yield emulator


@pytest.fixture
def env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALOR_REFRESH_TOKEN", SECRET)


COMMANDS = [
    [],
    ["demo"],
    ["stream"],
    ["book"],
    ["token"],
    ["order"],
    ["order", "limit"],
    ["order", "market"],
    ["order", "stop"],
    ["order", "cancel"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_exits_0_and_shows_examples(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    result = run_cli(capsys, [*command, "--help"])
    assert result.code == 0
    assert "examples:" in result.out
    assert "alor-sync " in result.out.split("examples:")[1]


def test_emulator_help_is_delegated(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, ["emulator", "--help"])
    assert result.code == 0
    assert "--port" in result.out


def test_emulator_bad_argument_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, ["emulator", "--port", "not-a-port"]).code == 2


def test_module_entry_point_runs_help() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "alor_sync.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "examples:" in completed.stdout
    assert "alor-sync demo" in completed.stdout


USAGE_ERRORS = [
    (["frobnicate"], "invalid choice"),
    (["stream", "volcanoes", "SBER"], "invalid choice"),
    (["stream", "quotes", "SBER", "--depth", "5"], "--depth does not apply to 'quotes'"),
    (["stream", "order-book", "SBER", "--depth", "500", "--emulator"], "depth must be between"),
    (["stream", "quotes", "SBER", "--count", "0"], "--count"),
    (["stream", "quotes", "SBER", "--duration", "soon"], "--duration"),
    (["stream", "bars", "SBER", "--from", "yesterday-ish"], "--from"),
    (["stream", "quotes", "SBER", "--format", "Huge", "--emulator"], "format must be one of"),
    (["stream", "quotes", "--emulator"], "needs a symbol"),
    (["stream", "quotes", "SBER", "--portfolio", "D1"], "--portfolio does not apply"),
    (["stream", "risks", "D1", "--portfolio", "D2"], "give the portfolio once"),
    ([], "required: COMMAND"),
    (["stream", "quotes", "SBER", "--emulator", "--ws-url", "ws://127.0.0.1:1/ws"], "--emulator"),
    (["stream", "quotes", "SBER", "--env", "mars"], "invalid choice"),
    (["book", "SBER", "--depth", "x"], "--depth"),
    (["order", "limit", "buy", "SBER", "1", "--portfolio", "D1"], "--price"),
    (["order", "limit", "hold", "SBER", "1", "--price", "1", "--portfolio", "D1"], "hold"),
    (["order", "limit", "buy", "SBER", "1", "--price", "-3", "--portfolio", "D1"], "> 0"),
    (["order", "market", "buy", "SBER", "1"], "--portfolio"),
    (["demo", "--symbol", "NOSUCH", "-q"], "does not list 'NOSUCH'"),
]


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS, ids=lambda v: str(v)[:40])
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("ALOR_REFRESH_TOKEN", SECRET)
    result = run_cli(capsys, argv)
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if "error" in line]
    assert len(errors) == 1, result.err
    assert errors[0].startswith("alor-sync: error: ")
    assert message in errors[0]
    assert "Traceback" not in result.err


def test_no_credentials_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALOR_REFRESH_TOKEN", raising=False)
    result = run_cli(capsys, ["stream", "quotes", "SBER"])
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "alor-sync: error: no refresh token: set ALOR_REFRESH_TOKEN, or pass "
        "--refresh-token-file PATH (or try everything offline with --emulator)"
    ]


def test_missing_token_file_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_cli(capsys, ["token", "--refresh-token-file", str(tmp_path / "absent")])
    assert result.code == 2
    assert "cannot read --refresh-token-file" in result.err


def test_token_shows_claims_never_the_token(
    capsys: pytest.CaptureFixture[str], emu: Emulator, env_token: None
) -> None:
    result = run_cli(capsys, ["token", *urls(emu)])
    assert result.code == 0, result.err
    assert "login:       P039004" in result.out
    assert "D39004 G39004 7500PUQ" in result.out
    assert "expires:" in result.out
    for text in (result.out, result.err):
        assert SECRET not in text
        assert JWT_PREFIX not in text


def test_token_from_file_as_json(
    capsys: pytest.CaptureFixture[str], emu: Emulator, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    result = run_cli(
        capsys, ["token", "--json", "-q", "--refresh-token-file", str(token_file), *urls(emu)]
    )
    assert result.code == 0, result.err
    assert '"portfolios":["D39004","G39004","7500PUQ"]' in result.out
    assert result.err == ""
    assert SECRET not in result.out and JWT_PREFIX not in result.out


@pytest.mark.parametrize("debug", [False, True])
def test_rejected_refresh_token_is_one_line_and_never_echoed(
    capsys: pytest.CaptureFixture[str], emu: Emulator, debug: bool
) -> None:
    wrong = "wrong-refresh-token-" + "x" * 20
    argv = ["token", "--refresh-token", wrong, *urls(emu)] + (["--debug"] if debug else [])
    result = run_cli(capsys, argv)
    assert result.code == 1
    assert result.err.strip().splitlines()[-1].startswith("alor-sync: error: ")
    assert ("Traceback" in result.err) is debug
    assert wrong not in result.out + result.err
    assert SECRET not in result.out + result.err


def test_unreachable_endpoint_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(
        capsys, ["token", "--refresh-token", SECRET, "--oauth-url", "http://127.0.0.1:9/refresh"]
    )
    assert result.code == 1
    assert result.err.strip().splitlines()[-1].startswith("alor-sync: error: ")
    assert SECRET not in result.err


def test_streams_and_orders_never_print_tokens(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    emu: Emulator,
    env_token: None,
) -> None:
    monkeypatch.setattr("builtins.input", lambda: "y")
    runs = [
        ["stream", "quotes", "SBER", "--count", "2", *urls(emu)],
        ["stream", "positions", "--typed", "--count", "1", *urls(emu)],
        ["order", "limit", "buy", "SBER", "1", "--price", "200", "--portfolio", "D39004",
         *urls(emu)],
        ["book", "SBER", "--duration", "0.5", *urls(emu)],
        ["token", "--debug", *urls(emu)],
    ]  # fmt: skip
    for argv in runs:
        result = run_cli(capsys, argv)
        assert result.code == 0, (argv, result.err)
        assert SECRET not in result.out + result.err
        assert JWT_PREFIX not in result.out + result.err


def test_ctrl_c_exits_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("alor_sync.cli.stream.run", interrupted)
    result = run_cli(capsys, ["stream", "quotes", "SBER"])
    assert result.code == 130
    assert result.err.strip() == "alor-sync: error: interrupted"


def test_unexpected_error_is_one_line_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("something odd")

    monkeypatch.setattr("alor_sync.cli.token.run", broken)
    result = run_cli(capsys, ["token"])
    assert result.code == 1
    assert result.err.strip() == (
        "alor-sync: error: RuntimeError: something odd (run with --debug for the traceback)"
    )


def test_main_without_argv_reads_sys_argv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["alor-sync", "--help"])
    assert main() == 0
    assert "examples:" in capsys.readouterr().out


def test_the_command_line_does_not_need_the_emulator_extra() -> None:
    code = (
        "import sys; from alor_sync.cli import build_parser; build_parser(); "
        "sys.exit('websockets' in sys.modules or 'alor_sync.emulator' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
