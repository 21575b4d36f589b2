"""How production-like the emulator misbehaves: the ``production`` and ``polite`` profiles.

Rules of this module:

* A :class:`Profile` is plain data: one probability (or switch) per liberty production is
  documented to take. Nothing here draws random numbers; ``liberties.py`` does, from generators
  seeded with the emulator's ``seed``, so a run is repeatable for a seed.
* ``production`` is the default of every :class:`~alor_sync.emulator.EmulatorConfig`: tests written
  against the emulator meet what the real server does. ``polite`` takes no liberty (for demos and
  for tests that check the emulator's exact bytes).
* Every liberty and the reference section that allows it is listed in ``docs/emulator.md``.
"""

from __future__ import annotations

from typing import Any

import attrs

from alor_sync.errors import InvalidArgumentError

__all__ = ["POLITE", "PRODUCTION", "PROFILES", "Profile", "resolve_profile"]


def _probability(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"{attribute.name} must be in [0, 1], not {value!r}")


@attrs.frozen(kw_only=True)
class Profile:
    """The liberties one emulator takes; probabilities are per payload, frame or request.

    ``big_ids``: trade ids and exchange order numbers start above 2**53 (19 digits).
    ``decimal_text``: a payload's decimal fields are written with trailing zeros (``272.00``,
    ``10.24500``) and whole values as ``1.0``.
    ``extra_fields``: a payload or confirmation carries a field no schema mentions.
    ``enum_casing``: a payload's enum strings come in another casing (``Buy``, ``FILLED``).
    ``nulls``: a payload's optional (nullable) fields are ``null``.
    ``fragmented``: a text frame is split into continuation frames (at any byte, even inside a
    UTF-8 character).
    ``early_data``: a subscription's confirmation is held back behind its first live frames.
    ``empty_guid_401``: a 401 on ``/ws`` carries ``"requestGuid":""`` instead of the request's.
    ``drop_rate``: per data frame sent on a connection, the chance that the server ends it there
    (a clean close with 1000, 1001, 1011 or 1012, or a TCP reset).
    """

    name: str
    big_ids: bool = False
    decimal_text: float = attrs.field(default=0.0, validator=_probability)
    extra_fields: float = attrs.field(default=0.0, validator=_probability)
    enum_casing: float = attrs.field(default=0.0, validator=_probability)
    nulls: float = attrs.field(default=0.0, validator=_probability)
    fragmented: float = attrs.field(default=0.0, validator=_probability)
    early_data: float = attrs.field(default=0.0, validator=_probability)
    empty_guid_401: float = attrs.field(default=0.0, validator=_probability)
    drop_rate: float = attrs.field(default=0.0, validator=_probability)

    @property
    def rewrites_payloads(self) -> bool:
        """Whether any payload-level liberty can fire."""
        return any((self.decimal_text, self.extra_fields, self.enum_casing, self.nulls))

    @property
    def takes_liberties(self) -> bool:
        """Whether any payload, confirmation or reply liberty can fire."""
        return self.rewrites_payloads or bool(self.early_data or self.empty_guid_401)


POLITE = Profile(name="polite")
PRODUCTION = Profile(
    name="production",
    big_ids=True,
    decimal_text=0.5,
    extra_fields=0.2,
    enum_casing=0.3,
    nulls=0.2,
    fragmented=0.1,
    early_data=0.3,
    empty_guid_401=0.3,
    drop_rate=1e-6,
)
PROFILES = {profile.name: profile for profile in (PRODUCTION, POLITE)}


def resolve_profile(value: Profile | str) -> Profile:
    """A :class:`Profile` from itself or its name (``"production"``, ``"polite"``)."""
    if isinstance(value, Profile):
        return value
    found = PROFILES.get(str(value).lower())
    if found is None:
        raise InvalidArgumentError(
            f"profile must be one of {sorted(PROFILES)} or a Profile, not {value!r}"
        )
    return found
