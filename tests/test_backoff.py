"""Backoff: full-jitter bounds, the cap, reset, argument checks (pure, seeded rng)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from alor_sync.errors import InvalidArgumentError
from alor_sync.transport.backoff import Backoff


class _TopOfRange(random.Random):
    """Always draws the upper bound, so delays equal their ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_delays_stay_within_the_growing_ceiling() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, multiplier=2.0, rng=random.Random(7))
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    for attempt, ceiling in enumerate(ceilings):
        assert backoff.ceiling() == ceiling
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling
        assert backoff.attempts == attempt + 1
        assert backoff.last_delay == delay


def test_delays_are_jittered_over_the_whole_range() -> None:
    backoff = Backoff(initial=1.0, maximum=1.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(200)]
    assert min(delays) < 0.1
    assert max(delays) > 0.9
    assert len(set(delays)) == 200


def test_the_cap_holds_for_very_many_attempts() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, rng=_TopOfRange())
    for _ in range(5000):  # 2.0 ** 5000 would overflow a float
        assert backoff.next_delay() <= 30.0
    assert backoff.next_delay() == 30.0
    assert backoff.ceiling(10**6) == 30.0


def test_reset_starts_over_from_initial() -> None:
    backoff = Backoff(initial=0.25, maximum=4.0, rng=_TopOfRange())
    assert [backoff.next_delay() for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.last_delay is None
    assert backoff.next_delay() == 0.25


def test_a_multiplier_of_one_gives_a_constant_ceiling() -> None:
    backoff = Backoff(initial=2.0, maximum=10.0, multiplier=1.0, rng=_TopOfRange())
    assert [backoff.next_delay() for _ in range(4)] == [2.0, 2.0, 2.0, 2.0]


def test_same_seed_same_delays() -> None:
    first = Backoff(rng=random.Random(42))
    second = Backoff(rng=random.Random(42))
    assert [first.next_delay() for _ in range(10)] == [second.next_delay() for _ in range(10)]


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"initial": 0.0}, "initial"),
        ({"initial": -1.0}, "initial"),
        ({"initial": 2.0, "maximum": 1.0}, "maximum"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"initial": float("nan")}, "initial"),
    ],
)
def test_bad_arguments_fail_fast_naming_the_argument(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises(InvalidArgumentError, match=names):
        Backoff(**kwargs)
