"""The public surface of ``alor_sync`` is deliberate: this pins it."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import alor_sync

EXPECTED = [
    "APIError", "AllTrade", "AlorClient", "AlorError", "AuthenticationError", "BadRequestError",
    "Bar", "BookSide", "ClientClosedError", "ChannelState", "ClientStatistics", "ClientType",
    "CommandChannel", "CommandFuture", "CommandStatistics", "Executor", "OrderResult",
    "CommandOpcode", "CommandNotSentError", "CommandQueueFullError", "NotAuthorizedError",
    "NotSentClosedError", "NotSentConnectionLostError", "NotSentTimeoutError",
    "CommandTimeoutError", "Condition", "ConnectFailedError", "ConnectionChange",
    "ConnectionLostError",
    "CurrencyBuyingPower", "DEV", "DecodeError", "Endpoints", "Exchange", "Format", "GapNotice",
    "GapReason", "Iceberg", "Instrument", "InvalidArgumentError", "JwtClaims",
    "MalformedFrameError", "NotFoundError", "Number", "Opcode", "Order", "OrderBook",
    "OrderBookLevel", "OrderStatus", "OrderType", "OutcomeUnknownError", "PRODUCTION",
    "PermissionDeniedError", "Position", "Quote", "RateLimitError", "RefreshTokenProvider",
    "RepoFields", "ResubscribeReport", "Risk", "RiskStatus", "ServerError", "Side", "SpectraRisk",
    "StateChange", "StaticTokenProvider", "StopOrder", "StopOrderType", "Subscription",
    "SubscriptionState", "SubscriptionStatistics", "Summary", "TimeInForce", "TokenProvider",
    "TokenRefreshError", "TokenStatistics", "Trade", "TradingStatus", "decode", "decoder_for",
    "to_frame",
]  # fmt: skip


def test_all_is_pinned() -> None:
    # ruff (RUF022) keeps __all__ in its canonical order; the contents are what is pinned here
    assert sorted(alor_sync.__all__) == sorted(EXPECTED)


def test_every_exported_name_exists() -> None:
    missing = [name for name in alor_sync.__all__ if not hasattr(alor_sync, name)]
    assert not missing


def test_importing_the_package_does_not_need_the_emulator_dependencies() -> None:
    code = "import sys, alor_sync; sys.exit('websockets' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_importing_the_package_does_not_import_pandas() -> None:
    """pandas is an optional extra: only to_frame imports it, on its first call."""
    code = "import sys, alor_sync; sys.exit('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_version_is_written_once_and_is_the_installed_one() -> None:
    setup_cfg = (Path(__file__).resolve().parents[1] / "setup.cfg").read_text(encoding="utf-8")
    assert "version = attr: alor_sync.__version__" in setup_cfg
    assert alor_sync.__version__ == importlib.metadata.version("alor-sync")
    assert re.fullmatch(r"\d+\.\d+\.\d+", alor_sync.__version__)
