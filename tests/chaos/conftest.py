"""Options of the chaos runs.

``pytest`` runs the quick chaos run (a 30-second schedule, seed 1). Longer runs::

    pytest tests/chaos --chaos-long                  # a 10-minute schedule, random seed
    pytest tests/chaos --chaos-seconds=120 --chaos-seed=7 --chaos-report=chaos.txt
    ALOR_CHAOS_SECONDS=600 pytest tests/chaos         # the same through the environment

The options are registered here, so they are accepted when ``tests/chaos`` is named on the
command line; the environment variables work with a plain ``pytest`` too.
"""

from __future__ import annotations

import os
import random

import attrs
import pytest

QUICK_SECONDS = 30.0
LONG_SECONDS = 600.0
QUICK_SEED = 1
# Setup, recoveries and final checks on top of the schedule, generously for a noisy machine.
TIMEOUT_MARGIN = 240.0


@attrs.frozen
class ChaosSettings:
    """How long the fault schedule runs, with which seed, and where to append the summary."""

    seconds: float
    seed: int
    report: str | None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "alor-sync chaos runs")
    group.addoption(
        "--chaos-seconds",
        type=float,
        default=None,
        help=f"length of the fault schedule (default {QUICK_SECONDS:g}; env ALOR_CHAOS_SECONDS)",
    )
    group.addoption(
        "--chaos-long",
        action="store_true",
        help=f"a {LONG_SECONDS:g}-second schedule with a random seed",
    )
    group.addoption(
        "--chaos-seed",
        type=int,
        default=None,
        help=f"seed of the schedule (default {QUICK_SEED}, random with --chaos-long; "
        "env ALOR_CHAOS_SEED)",
    )
    group.addoption(
        "--chaos-report",
        default=None,
        help="append the run's summary to this file (env ALOR_CHAOS_REPORT)",
    )


def settings_from(config: pytest.Config) -> ChaosSettings:
    long_run = bool(config.getoption("--chaos-long", default=False))
    seconds = config.getoption("--chaos-seconds", default=None)
    if seconds is None and os.environ.get("ALOR_CHAOS_SECONDS"):
        seconds = float(os.environ["ALOR_CHAOS_SECONDS"])
    if seconds is None:
        seconds = LONG_SECONDS if long_run else QUICK_SECONDS
    seed = config.getoption("--chaos-seed", default=None)
    if seed is None and os.environ.get("ALOR_CHAOS_SEED"):
        seed = int(os.environ["ALOR_CHAOS_SEED"])
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 31) if long_run else QUICK_SEED
    report = config.getoption("--chaos-report", default=None) or os.environ.get("ALOR_CHAOS_REPORT")
    return ChaosSettings(seconds=float(seconds), seed=int(seed), report=report or None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A chaos run may take longer than the suite's per-test timeout: give it its own."""
    settings = settings_from(config)
    for item in items:
        if "chaos_settings" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(settings.seconds + TIMEOUT_MARGIN))


@pytest.fixture
def chaos_settings(pytestconfig: pytest.Config) -> ChaosSettings:
    return settings_from(pytestconfig)
