"""Shared fixtures: every test is checked for threads it leaves behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# A copy of shared/alor-api/samples: the broker's example payloads, kept with the tests so they run
# from any checkout.
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

# How long a finished test may take to let its threads wind down before they count as leaked.
THREAD_GRACE_SECONDS = 5.0


def _leftover_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """Fail the test if it leaves a thread running (joined with a deadline, never slept)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_SECONDS
    for thread in _leftover_threads(before):
        thread.join(max(0.0, deadline - time.monotonic()))
    leaked = _leftover_threads(before)
    assert not leaked, f"threads left behind: {[t.name for t in leaked]}"


@pytest.fixture
def samples_dir() -> Path:
    """The broker's example payloads (``shared/alor-api/samples``)."""
    assert SAMPLES_DIR.is_dir(), f"sample payloads not found at {SAMPLES_DIR}"
    return SAMPLES_DIR
