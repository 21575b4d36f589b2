"""The production profile at work: payloads, confirmations, frames and connections as prod has them.

Rules of this module:

* Every liberty is drawn from a ``random.Random`` seeded with the emulator's seed (and, for what
  belongs to one connection, its number), so a deterministic test meets the same liberties on
  every run.
* Liberties change how a value is written, never what it is: a decimal keeps its value with
  trailing zeros, an enum its letters in another casing; an extra field is one no schema knows;
  a ``null`` replaces only an empty value (``""``, 0, ``[]``, ``{}``) and only where the schema or
  the broker's examples allow one (``wire_types.py``).
* Nothing here touches the market or the account; callers hold whatever lock guards the object
  (the venue lock for :class:`PayloadLiberties`, the writer thread for :class:`FrameSplitter`).
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, Literal

import orjson

from alor_sync.emulator.profile import Profile
from alor_sync.emulator.wire_types import field_kinds

__all__ = [
    "CLOSINGS",
    "ConnectionDrop",
    "DropPlan",
    "FrameSplitter",
    "PayloadLiberties",
    "confirmation_extra",
]

# Names no schema uses, for the fields production adds before the documentation knows them.
_EXTRA_NAMES = ("updateSource", "xRev", "channelId", "isDelayed", "traceTag")
_EXTRA_VALUES: tuple[Any, ...] = (None, 0, 1.5, "", "n/a", True, [], {"v": 1}, [1, "two"])

ConnectionDrop = tuple[Literal["close", "reset"], int, str]
CLOSINGS: tuple[ConnectionDrop, ...] = (
    ("close", 1000, ""),
    ("close", 1001, "Going away"),
    ("close", 1011, "Internal server error"),
    ("close", 1012, "Service restart"),
    ("reset", 1006, ""),
)


def _decimal_text(value: int | float, rng: random.Random) -> bytes | None:
    """``value`` with trailing zeros, as a .NET decimal with a larger scale prints it."""
    text = repr(value)
    if "e" in text or "E" in text or "inf" in text or "nan" in text:
        return None
    zeros = "0" * rng.randint(1, 3)
    return (text + zeros if "." in text else f"{text}.{zeros}").encode()


def _recased(value: str, rng: random.Random) -> str:
    for change in rng.sample((str.upper, str.capitalize, str.title, str.swapcase), 4):
        other = change(value)
        if other != value:
            return other
    return value


def _empty(value: Any) -> bool:
    """A value that says "nothing here" (``""``, 0, an empty list or object), never ``False``."""
    return value is not False and not value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PayloadLiberties:
    """Rewrites ``data`` payloads the way production may write them (decimals, casing, nulls,
    extra fields). Used under the venue lock, from whichever thread holds it."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self._profile = profile
        self._rng = random.Random(f"{seed}/payloads")

    def rewrite(self, opcode: str, fmt: str, payload: bytes) -> bytes:
        """``payload`` as production might have written it (often unchanged)."""
        p, rng = self._profile, self._rng
        decimals = rng.random() < p.decimal_text
        casing = rng.random() < p.enum_casing
        nulls = rng.random() < p.nulls
        extra = rng.random() < p.extra_fields
        if not (decimals or casing or nulls or extra):
            return payload
        body = orjson.loads(payload)
        if not isinstance(body, dict):
            return payload
        decimal_keys, enum_keys, nullable_keys = field_kinds(str(opcode), str(fmt))
        objects = [body] + [
            row for value in body.values() if isinstance(value, list) for row in value
        ]
        for obj in objects:
            if not isinstance(obj, dict):
                continue
            for key, value in obj.items():
                if nulls and key in nullable_keys and _empty(value) and rng.random() < 0.5:
                    obj[key] = None
                elif decimals and key in decimal_keys and _is_number(value):
                    text = _decimal_text(value, rng)
                    if text is not None:
                        obj[key] = orjson.Fragment(text)
                elif casing and key in enum_keys and isinstance(value, str):
                    obj[key] = _recased(value, rng)
        if extra:
            name = rng.choice([n for n in _EXTRA_NAMES if n not in body])
            body[name] = rng.choice(_EXTRA_VALUES)
        return orjson.dumps(body)

    def confirm_extra(self) -> bool:
        """Whether the next confirmation carries an extra field."""
        return self._rng.random() < self._profile.extra_fields

    def empty_rejection_guid(self) -> bool:
        """Whether the next 401 on ``/ws`` goes out with ``"requestGuid":""``."""
        return self._rng.random() < self._profile.empty_guid_401

    def hold_confirmation(self) -> int:
        """How many live frames a new subscription's confirmation waits behind (0: none)."""
        if self._rng.random() >= self._profile.early_data:
            return 0
        return self._rng.randint(1, 3)


def confirmation_extra(frame: bytes) -> bytes:
    """A confirmation (a JSON object) with a field no schema mentions added last."""
    return frame[:-1] + b',"serverTime":' + str(1_702_631_123_780).encode() + b"}"


class FrameSplitter:
    """Splits text frames into fragments (one per connection, used by its writer thread)."""

    def __init__(self, probability: float, seed: int, number: int) -> None:
        self._probability = probability
        self._rng = random.Random(f"{seed}/frames/{number}")

    def split(self, frame: bytes) -> list[bytes] | None:
        """None (send whole), or 2-4 non-empty parts cut at any byte, even inside a character."""
        if len(frame) < 2 or self._rng.random() >= self._probability:
            return None
        count = min(len(frame), self._rng.randint(2, 4))
        cuts = sorted(self._rng.sample(range(1, len(frame)), count - 1))
        bounds = [0, *cuts, len(frame)]
        return [frame[a:b] for a, b in itertools.pairwise(bounds)]


class DropPlan:
    """When the server ends one connection on its own, and how (a close code or a reset)."""

    def __init__(self, rate: float, seed: int, number: int) -> None:
        rng = random.Random(f"{seed}/drops/{number}")
        self.how: ConnectionDrop = rng.choice(CLOSINGS)
        if rate <= 0.0:
            self.after_frames = math.inf
        elif rate >= 1.0:
            self.after_frames = 1.0
        else:
            # Geometric: the number of data frames up to and including the one it happens at.
            self.after_frames = float(math.floor(math.log(1.0 - rng.random()) / math.log1p(-rate)))
            self.after_frames += 1.0
