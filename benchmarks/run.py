"""alor-sync's benchmark: ``python benchmarks/run.py [--quick]``.

Measures the baselines (``raw``, ``naive``, ``inline``: plain websocket-client programs) and
alor-sync against a dedicated sender in another process on loopback, and the scale targets
against the emulator in another process; prints every target (issues 7 and 14) with its ratio and
PASS/FAIL and writes ``benchmarks/results/latest.json``. ``--quick`` is a smoke run of a few
seconds whose figures mean little. See ``docs/performance.md``.

Rules of this module:

* Orchestration only: consumers live in ``baselines.py`` and ``client_runs.py``, the sender in
  ``sender.py``, the scale run in ``scale.py``, judging and printing in ``report.py``.
* Each round runs every throughput scenario once, baselines first; ratios are taken per round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import attrs  # noqa: E402
import websocket  # noqa: E402

from benchmarks import baselines, client_runs, report  # noqa: E402
from benchmarks.report import Row, median_ratio, percentile  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"


@attrs.frozen
class Plan:
    count: int  # frames per throughput run
    rounds: int
    latency_count: int  # frames per latency run, paced at latency_rate
    latency_pairs: int  # (inline, alor-sync) runs back to back
    latency_rate: float
    scale_subs: int
    idle_seconds: float
    spread_subs: int
    spread_cap: int


FULL = Plan(50_000, 3, 2500, 8, 5000.0, 5000, 3.0, 12_000, 5000)
QUICK = Plan(8000, 3, 1500, 3, 5000.0, 300, 0.5, 25, 10)


class SenderProcess:
    """``benchmarks.sender`` in a child process; its port is :attr:`port`."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sender"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self._proc.stdout is not None
        self.port = int(self._proc.stdout.readline().split()[1])

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(30)


# ---------------------------------------------------------------------------- measurements

Measured = dict[str, list[dict[str, Any]]]


def _baseline(run: baselines.Run, kind: str) -> Callable[[int, int], dict[str, Any]]:
    def measure(port: int, count: int) -> dict[str, Any]:
        url = f"ws://127.0.0.1:{port}/ws?kind={kind}&subs=0&guids=1&count={count}"
        result = run(url, count, None)
        return {"rate": result.rate, "frames": result.frames, "seconds": result.seconds,
                "cpu_us_per_frame": result.cpu_us_per_frame}  # fmt: skip

    return measure


def _client(
    kind: str, subs: int, *, raw: bool = False, conflate: bool = True
) -> Callable[[int, int], dict[str, Any]]:
    def measure(port: int, count: int) -> dict[str, Any]:
        result = client_runs.throughput(port, kind, subs, count, raw=raw, conflate=conflate)
        return attrs.asdict(result, filter=lambda a, _: a.name != "lags_us") | {
            "rate": result.rate,
            "delivered_rate": result.delivered_rate,
            "cpu_us_per_delivered": result.cpu_us_per_delivered,
        }

    return measure


SCENARIOS: dict[str, Callable[[int, int], dict[str, Any]]] = {
    "raw": _baseline(baselines.raw, "book-simple"),
    "naive": _baseline(baselines.naive, "book-simple"),
    "inline": _baseline(baselines.inline, "book-simple"),
    "raw/book-slim": _baseline(baselines.raw, "book-slim"),
    "raw/quotes-simple": _baseline(baselines.raw, "quotes-simple"),
    "typed/book-simple/1/every-frame": _client("book-simple", 1, conflate=False),
    "typed/book-simple/4/every-frame": _client("book-simple", 4, conflate=False),
    "typed/book-simple/50/every-frame": _client("book-simple", 50, conflate=False),
    "typed/book-simple/1/latest-wins": _client("book-simple", 1),
    "typed/book-simple/4/latest-wins": _client("book-simple", 4),
    "typed/book-simple/50/latest-wins": _client("book-simple", 50),
    "typed/book-slim/1/every-frame": _client("book-slim", 1, conflate=False),
    "typed/quotes-simple/1/every-frame": _client("quotes-simple", 1, conflate=False),
    "dict/book-simple/1/every-frame": _client("book-simple", 1, raw=True, conflate=False),
    "dict/book-simple/1/latest-wins": _client("book-simple", 1, raw=True),
}


def measure_throughput(port: int, plan: Plan) -> Measured:
    measured: Measured = {name: [] for name in SCENARIOS}
    for round_number in range(plan.rounds):
        for name, measure in SCENARIOS.items():
            measured[name].append(measure(port, plan.count))
        print(f"  throughput round {round_number + 1}/{plan.rounds} done", flush=True)
    return measured


def measure_latency(port: int, plan: Plan) -> Measured:
    """Short runs in threes, inline then alor-sync typed on the every-frame path
    (``conflate=False``) and on the default latest-wins path, so that a change of load on the
    machine hits every side of each ratio; naive every fourth time, for orientation. The
    ``pooled`` entries hold every sample of a side (for p99 and max)."""
    measured: Measured = {name: [] for name in ("inline", "naive", "every-frame", "latest-wins")}
    pooled: dict[str, list[int]] = {name: [] for name in measured}
    count, rate = plan.latency_count, plan.latency_rate
    url = f"ws://127.0.0.1:{port}/ws?kind=book-simple&subs=0&guids=1&count={count}&rate={rate}"
    for pair in range(plan.latency_pairs):
        runs = [("inline", list(baselines.inline(url, count, "ms_timestamp").lags_us), 0.0)]
        for name, conflate in (("every-frame", False), ("latest-wins", True)):
            result = client_runs.latency(port, "book-simple", count, rate, conflate=conflate)
            runs.append((name, list(result.lags_us), result.conflated_share))
        if pair % 4 == 0:
            runs.append(("naive", list(baselines.naive(url, count, "ms_timestamp").lags_us), 0.0))
        for name, lags, conflated in runs:
            measured[name].append(_lag_summary(lags) | {"conflated_share": conflated})
            pooled[name].extend(lags)
    for name, lags in pooled.items():
        measured[f"pooled/{name}"] = [_lag_summary(lags)]
    return measured


def _lag_summary(lags: list[int]) -> dict[str, Any]:
    return {
        "samples": len(lags),
        "p50_us": percentile(lags, 0.50),
        "p90_us": percentile(lags, 0.90),
        "p99_us": percentile(lags, 0.99),
        "max_us": max(lags, default=0),
    }


def measure_sender_ceiling(port: int, count: int) -> dict[str, Any]:
    """Frames/s the sender writes into a socket whose reader only counts bytes (until EOF)."""
    url = f"ws://127.0.0.1:{port}/ws?kind=book-simple&subs=0&guids=1&count={count}&close=1"
    ws = websocket.create_connection(url, skip_utf8_validation=True)
    sock = ws.sock
    assert isinstance(sock, socket.socket)
    buffer = bytearray(1 << 20)
    started = 0.0
    total = 0
    while read := sock.recv_into(buffer):
        if not started:
            started = time.perf_counter()
        total += read
    seconds = time.perf_counter() - started
    ws.shutdown()  # type: ignore[no-untyped-call]
    return {"rate": count / seconds, "bytes": total, "seconds": seconds}


def measure_scale(plan: Plan) -> dict[str, Any]:
    """``benchmarks.scale`` in a fresh interpreter (its memory and CPU are the client's alone)."""
    command = [
        sys.executable, "-m", "benchmarks.scale",
        "--subs", str(plan.scale_subs), "--idle-seconds", str(plan.idle_seconds),
        "--spread-subs", str(plan.spread_subs),
        "--spread-per-connection", str(plan.spread_cap),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the scale run failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------------- judging


def _rates(measured: Measured, name: str, key: str = "rate") -> list[float]:
    return [float(r[key]) for r in measured[name]]


def _med(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def throughput_rows(measured: Measured) -> list[Row]:
    raw = _rates(measured, "raw")
    rows = []
    for subs in (1, 4, 50):
        name = f"typed/book-simple/{subs}/every-frame"
        rows.append(
            _ratio_row(
                "1",
                f"typed book, {subs} sub(s), every frame decoded (conflate=False)",
                measured,
                name,
                raw,
                "raw",
                ">= 1.00x",
                1.0,
            )
        )
    for subs in (1, 4, 50):
        name = f"typed/book-simple/{subs}/latest-wins"
        runs = measured[name]
        decoded = _med(_rates(measured, name, "delivered_rate"))
        conflated = sum(r["conflated"] for r in runs) / max(1, sum(r["frames"] for r in runs))
        note = f"{decoded:,.0f} decoded/s, {conflated:.0%} conflated"
        rows.append(
            _ratio_row(
                "1",
                f"typed book, {subs} sub(s), frames taken (default latest-wins)",
                measured,
                name,
                raw,
                "raw",
                "",
                None,
                note,
            )
        )
    for kind in ("book-slim", "quotes-simple"):
        rows.append(
            _ratio_row(
                "1",
                f"typed {kind}, every frame decoded (conflate=False)",
                measured,
                f"typed/{kind}/1/every-frame",
                _rates(measured, f"raw/{kind}"),
                f"raw {kind}",
                "",
                None,
            )
        )
    rows.append(
        _ratio_row(
            "2",
            "raw dicts, every frame parsed (conflate=False)",
            measured,
            "dict/book-simple/1/every-frame",
            raw,
            "raw",
            ">= 1.50x",
            1.5,
        )
    )
    rows.append(
        _ratio_row(
            "2",
            "raw dicts, frames taken (default latest-wins)",
            measured,
            "dict/book-simple/1/latest-wins",
            raw,
            "raw",
            "",
            None,
        )
    )
    rows.append(cpu_row(measured))
    for name in ("naive", "inline"):
        rows.append(
            Row(
                "-",
                f"{name} baseline (orientation)",
                _med(_rates(measured, name)),
                "msg/s",
                _med(raw),
                "raw",
                median_ratio(_rates(measured, name), raw),
            )
        )
    return rows


def cpu_row(measured: Measured) -> Row:
    """CPU time of the whole client process per delivered typed book (every frame, 1 sub),
    against raw's CPU per frame (recv + orjson.loads, one thread)."""
    typed = _rates(measured, "typed/book-simple/1/every-frame", "cpu_us_per_delivered")
    raw = _rates(measured, "raw", "cpu_us_per_frame")
    return Row(
        "cpu",
        "CPU per delivered typed book, every frame, 1 sub (all threads)",
        _med(typed),
        "us",
        _med(raw),
        "raw per frame",
        median_ratio(typed, raw),
    )


def _ratio_row(
    target: str,
    title: str,
    measured: Measured,
    name: str,
    baseline: list[float],
    baseline_name: str,
    threshold: str,
    minimum: float | None,
    note: str = "",
) -> Row:
    values = _rates(measured, name)
    lost = sum(r.get("dropped", 0) + r.get("gaps", 0) for r in measured[name])
    if lost:
        note = (note + "; " if note else "") + f"{lost} dropped/gaps"
    ratio = median_ratio(values, baseline)
    return Row(
        target, title, _med(values), "msg/s", _med(baseline), baseline_name, ratio, threshold,
        None if minimum is None else ratio >= minimum, note,
    )  # fmt: skip


def latency_rows(measured: Measured, rate: float) -> list[Row]:
    inline_p50 = [float(r["p50_us"]) for r in measured["inline"]]
    inline = measured["pooled/inline"][0]
    rows = []
    for path, threshold in (("every-frame", 1.5), ("latest-wins", None)):
        p50 = [float(r["p50_us"]) for r in measured[path]]
        ratio = median_ratio(p50, inline_p50)
        conflated = statistics.median(float(r["conflated_share"]) for r in measured[path])
        label = "every frame, conflate=False" if path == "every-frame" else "default latest-wins"
        rows.append(Row(
            "3", f"latency p50 at {rate:,.0f} msg/s, typed, {label}", _med(p50), "us",
            _med(inline_p50), "inline", ratio,
            "" if threshold is None else f"<= {threshold:.2f}x",
            None if threshold is None else ratio <= threshold,
            f"median of {len(p50)} paired runs, {conflated:.1%} conflated",
        ))  # fmt: skip
        pooled = measured[f"pooled/{path}"][0]
        for quantile in ("p99", "max"):
            key = f"{quantile}_us"
            rows.append(Row("3", f"latency {quantile}, typed, {label}", pooled[key], "us",
                            inline[key], "inline",
                            pooled[key] / inline[key] if inline[key] else None))  # fmt: skip
    naive = _med([float(r["p50_us"]) for r in measured["naive"]])
    rows.append(Row("3", "latency p50, naive baseline", naive, "us", _med(inline_p50), "inline",
                    naive / _med(inline_p50) if inline_p50 else None))  # fmt: skip
    return rows


def scale_rows(scale: dict[str, Any], plan: Plan) -> list[Row]:
    one, spread = scale["scale"], scale["spread"]
    subs = one["subscriptions"]
    traced, rss = one["bytes_per_subscription_traced"], one["bytes_per_subscription_rss"]
    expected = -(-spread["subscriptions"] // spread["per_connection"])
    spread_ok = (
        spread["connections"] == expected
        and spread["server_subscriptions"] == spread["subscriptions"]
        and spread["server_connections"] == expected
    )
    return [
        Row("4", f"memory per subscription ({subs:,} subs, tracemalloc)", traced, "B",
            threshold="<= 4096 B", passed=traced <= 4096, note=f"RSS {rss:,.0f} B"),
        Row("4", f"idle CPU, {subs:,} quiet subs", one["idle_cpu_share"] * 100, "%",
            threshold="< 1 %", passed=one["idle_cpu_share"] < 0.01),
        Row("4", f"all {subs:,} re-established after a drop", one["resubscribe_seconds"], "s",
            threshold="<= 2 s",
            passed=one["resubscribe_seconds"] <= 2.0 and one["resubscribed"] == subs,
            note=f"incl. {one['reconnect_wait_seconds']:.2f} s backoff"),
        Row("4", f"{spread['subscriptions']:,} subs, {spread['per_connection']:,} per connection",
            spread["connections"], "connections", threshold=f"== {expected}",
            passed=spread_ok, note=f"per connection {spread['per_connection_counts']}"),
    ]  # fmt: skip


def ceiling_row(ceiling: dict[str, Any], measured: Measured) -> Row:
    fastest = max(max(_rates(measured, name)) for name in measured)
    ratio = ceiling["rate"] / fastest
    return Row("5", "sender ceiling (reader only counts bytes)", ceiling["rate"], "msg/s",
               fastest, "fastest consumer", ratio, ">= 1.50x", ratio >= 1.5)  # fmt: skip


# ------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    print(f"alor-sync benchmark ({'quick' if args.quick else 'full'}): {plan}", flush=True)
    sender = SenderProcess()
    try:
        ceiling = measure_sender_ceiling(sender.port, max(plan.count, 20_000))
        throughput = measure_throughput(sender.port, plan)
        latency = measure_latency(sender.port, plan)
    finally:
        sender.close()
    print("  scale run...", flush=True)
    scale = measure_scale(plan)
    rows = [
        *throughput_rows(throughput),
        *latency_rows(latency, plan.latency_rate),
        *scale_rows(scale, plan),
        ceiling_row(ceiling, throughput),
    ]
    print()
    print(report.render(rows))
    elapsed = time.monotonic() - started
    meta = {
        "quick": args.quick, "plan": attrs.asdict(plan), "seconds": elapsed,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip
    raw = {"meta": meta, "throughput": throughput, "latency": latency, "scale": scale,
           "sender_ceiling": ceiling}  # fmt: skip
    report.write_json(args.output, rows, raw)
    print(f"\nwritten to {args.output} in {elapsed:.0f} s")
    failed = [row.name for row in rows if row.passed is False]
    if failed:
        print(f"FAIL: {len(failed)} target(s) missed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
