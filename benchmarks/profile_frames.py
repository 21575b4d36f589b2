"""Where the time of one frame goes: the network thread and the worker, profiled separately.

Run ``python benchmarks/profile_frames.py [--frames N] [--kind ...]``. Both halves run in this
process, one after the other, with no socket and no other thread, so that each is measured
alone: the network half cuts frames out of a read buffer and routes them (``FrameReader`` ->
transport -> ``DataSession.on_frame`` -> ``Dispatcher.deliver_many``); the worker half drains the
queued frames (``Dispatcher`` -> parse -> decode -> callback). For each half it prints the wall
time per frame without the profiler, then cProfile's own time per frame of the costliest
functions (cProfile inflates Python-level calls; the wall figure is the one to trust).

This uses internals (the transport's frame loop, the dispatcher's drain) on purpose: it is a
measuring tool, not an example.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alor_sync.auth import StaticTokenProvider  # noqa: E402
from alor_sync.data.session import DataSession, SessionHooks  # noqa: E402
from alor_sync.dispatch.control_loop import ControlLoop  # noqa: E402
from alor_sync.dispatch.dispatcher import Dispatcher  # noqa: E402
from alor_sync.dispatch.routes import Route  # noqa: E402
from alor_sync.protocol import subscription_request  # noqa: E402
from alor_sync.transport import connection as transport_module  # noqa: E402
from alor_sync.transport.frame_loop import Liveness  # noqa: E402
from alor_sync.transport.frame_reader import FrameReader, PeerClosedError  # noqa: E402
from benchmarks.payloads import KINDS  # noqa: E402
from benchmarks.sender import _data_frame, _kind  # noqa: E402


class _Held:
    """An executor that keeps the drains for later: the worker half runs them."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        self.routes.append(args[0])


class _Buffer:
    """A socket whose reads return ``data`` in 256 KB pieces, like a busy connection."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def recv_into(self, buffer: memoryview) -> int:
        size = min(len(buffer), len(self._data) - self._pos)
        buffer[:size] = self._data[self._pos : self._pos + size]
        self._pos += size
        return size


def _token() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'sub': 'p', 'exp': 4102444800})}.x"


def _setup(
    kind: str, frames: int, raw: bool = False
) -> tuple[Any, Dispatcher, _Held, bytes, _Counter]:
    held = _Held()
    dispatcher = Dispatcher(executor=held)
    session = DataSession(
        name="ws", send=lambda data: None, reconnect=lambda reason: True,
        tokens=StaticTokenProvider(_token()), dispatcher=dispatcher, control=ControlLoop(),
        hooks=SessionHooks(on_error=print, on_gap=print, on_resubscribed=print),
        lossless_limit=frames * 100,  # no overflow and no catch-up pause: nothing drains here
    )  # fmt: skip
    opcode, fmt = KINDS[kind]
    extra = {"depth": 20} if opcode.value.startswith("OrderBook") else {}
    request = subscription_request(
        opcode, "profile", code="SBER", exchange="MOEX", format=fmt.value, **extra
    )
    delivered = _Counter()
    session.subscribe(opcode, fmt, request, delivered, raw=raw, conflate=False)
    one = _kind(kind)
    wire = b"".join(_data_frame(one, "profile", n, None) for n in range(frames))
    link = transport_module.ReconnectingWebSocket(
        "ws://127.0.0.1:1/ws", name="profile", on_open=lambda: None,
        on_frame=session.on_frame, on_frames_done=session.on_frames_done,
    )  # fmt: skip
    return link, dispatcher, held, wire, delivered


class _Counter:
    """The callback: counts what it gets and keeps only the last one. Keeping every frame would
    make the cyclic GC walk a growing heap (a raw depth-20 book is 43 dicts and lists), which the
    profile then charges to whatever allocates: ``orjson.loads`` measured 22 µs a frame so."""

    def __init__(self) -> None:
        self.count = 0
        self.last: object = None

    def __call__(self, item: object) -> None:
        self.count += 1
        self.last = item


class _Link:
    """What the transport's frame loop needs of a link: its frame reader."""

    def __init__(self, reader: FrameReader) -> None:
        self.frames = reader


def _network_half(link: Any, wire: bytes, held: _Held) -> None:
    reader = FrameReader(_Buffer(wire))  # type: ignore[arg-type]
    stub = _Link(reader)
    live = Liveness(opened_at=0.0, next_ping_at=None)
    while True:
        try:
            reader.fill()
        except PeerClosedError:
            return
        link._handle_frames(stub, live)
        # What a worker would have taken by the next read. A queue left to grow to every frame
        # inflated this half's figure (the parent of this change: ~4.0 us a frame, ~2.3 us with
        # the queue emptied per read, as it is in a real run).
        for route in held.routes:
            route._queue.clear()
            route._scheduled = False
        held.routes.clear()


def _worker_half(
    link: Any, wire: bytes, dispatcher: Dispatcher, held: _Held, *, profile: Any = None
) -> float:
    """Seconds spent draining, one 256 KB read's worth of frames at a time (as they come off
    a busy socket, so the frames are still in the cache); the reading is not counted."""
    reader = FrameReader(_Buffer(wire))  # type: ignore[arg-type]
    stub = _Link(reader)
    live = Liveness(opened_at=0.0, next_ping_at=None)
    spent = 0.0
    while True:
        try:
            reader.fill()
        except PeerClosedError:
            return spent
        link._handle_frames(stub, live)
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        while held.routes:
            dispatcher._drain(held.routes.pop(0))
        if profile is not None:
            profile.disable()
        spent += time.perf_counter() - started


def _report(profile: cProfile.Profile, frames: int, top: int) -> str:
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)
    lines = []
    for (path, line, name), (_, calls, own, total, _) in rows[:top]:
        where = f"{Path(path).name}:{line}({name})" if line else name
        lines.append(
            f"  {own / frames * 1e6:6.2f} us own {total / frames * 1e6:7.2f} us cumulative "
            f"{calls / frames:5.2f}/frame  {where}"
        )
    return "\n".join(lines)


def profile(kind: str, frames: int, top: int, raw: bool = False) -> dict[str, Any]:
    """Wall time per frame of each half (best of three) and the profiles; prints them."""
    walls: dict[str, list[float]] = {"network": [], "worker": []}
    for _ in range(3):
        link, dispatcher, held, wire, delivered = _setup(kind, frames, raw)
        started = time.perf_counter()
        _network_half(link, wire, held)
        walls["network"].append((time.perf_counter() - started) / frames)
        link, dispatcher, held, wire, delivered = _setup(kind, frames, raw)
        walls["worker"].append(_worker_half(link, wire, dispatcher, held) / frames)
        assert delivered.count == frames, f"{delivered.count} of {frames} frames delivered"
    link, dispatcher, held, wire, _ = _setup(kind, frames, raw)
    network = cProfile.Profile()
    network.runcall(_network_half, link, wire, held)
    link, dispatcher, held, wire, _ = _setup(kind, frames, raw)
    worker = cProfile.Profile()
    _worker_half(link, wire, dispatcher, held, profile=worker)
    best = {name: min(values) * 1e6 for name, values in walls.items()}
    route = "raw" if raw else "typed"
    print(
        f"{kind}, {frames} frames of {len(wire) // frames} bytes, one lossless {route} subscription"
    )
    print(f"network thread: {best['network']:.2f} us a frame (wall, no profiler)")
    print(_report(network, frames, top))
    print(f"worker: {best['worker']:.2f} us a frame (wall, no profiler)")
    print(_report(worker, frames, top))
    return {"kind": kind, "frames": frames, "raw": raw, "us_per_frame": best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--kind", choices=sorted(KINDS), default="book-simple")
    parser.add_argument("--top", type=int, default=12, help="functions shown per half")
    parser.add_argument("--raw", action="store_true", help="a raw subscription (no decoding)")
    args = parser.parse_args(argv)
    profile(args.kind, args.frames, args.top, raw=args.raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
