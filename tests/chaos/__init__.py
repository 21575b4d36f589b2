"""Chaos runs: the client under a seeded schedule of emulator faults, checked by invariants."""
