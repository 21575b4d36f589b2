"""Codec: payloads on the wire to the typed models and back.

Owns: the converter (one per client, float or Decimal prices), the structuring rules for every
payload in Simple, Slim and Heavy, and the one-pass typed decoders; this is the only place where
payload field names of the wire live, all in ``wire_tables`` (request names live in
``alor_sync.protocol``).

Never: does I/O, keeps state between payloads, or knows about threads.
"""
