"""The chaos run: every kind of subscription and a stream of orders under a seeded fault schedule.

Quick by default (a 30-second schedule that plays every fault at least once); see
``tests/chaos/conftest.py`` for longer runs. The summary is printed (``pytest -rA`` or ``-s``
shows it) and, with ``--chaos-report``, appended to a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.chaos.conftest import ChaosSettings
from tests.chaos.harness import ChaosRun
from tests.chaos.schedule import FAULTS, play


def test_chaos_run_keeps_every_invariant(
    chaos_settings: ChaosSettings, record_property: Callable[[str, object], None]
) -> None:
    run = ChaosRun(seconds=chaos_settings.seconds, seed=chaos_settings.seed)
    run.execute(play)
    summary = run.summary()
    print(summary)
    record_property("chaos_summary", summary)
    if chaos_settings.report:
        with Path(chaos_settings.report).open("a", encoding="utf-8") as report:
            report.write(summary + "\n\n")
    details = "\n".join([summary, "violations:", *run.violations, "faults:", *run.fault_log])
    assert not run.violations, details
    # The run proves something only if the faults really happened and were noticed.
    assert set(run.injected) == set(FAULTS), details
    gaps = {reason for checker in run.checkers() for reason in checker.gaps}
    assert {"overflow", "reconnect"} <= gaps, details
    assert run.final_stats["ws_reconnects"] >= run.injected["restart"], details
    assert run.errors.frame_errors() > 0 and run.commands.counts()["ok"] > 0, details
