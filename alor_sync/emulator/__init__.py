"""A local ALOR-compatible server with a simulated market and fault injection (extra ``emulator``).

Owns: a local server that speaks ALOR's protocol (``/ws``, ``/cws``, ``/refresh``, the REST
history), a simulated market and account, the production profile's liberties and fault
injection.

Never: imports the client side of alor-sync; only this package imports ``websockets``.

``with Emulator(speed=0) as emu:`` serves ``emu.ws_url``, ``emu.cws_url`` and ``emu.oauth_url`` on
127.0.0.1 (a free port); ``emu.refresh_token`` gets access tokens; ``emu.tick()`` moves the market;
``emu.faults`` misbehaves on demand. See ``docs/emulator.md``.

Only this package imports ``websockets``; it never imports the client side of alor-sync.
"""

from __future__ import annotations

from alor_sync.emulator.config import EmulatorConfig, ManualClock
from alor_sync.emulator.emulator import Emulator
from alor_sync.emulator.faults import Faults
from alor_sync.emulator.stats import ConnectionInfo, EmulatorStatistics, SubscriptionInfo

__all__ = [
    "ConnectionInfo",
    "Emulator",
    "EmulatorConfig",
    "EmulatorStatistics",
    "Faults",
    "ManualClock",
    "SubscriptionInfo",
]
